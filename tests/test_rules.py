"""The rules file is the one home of every threshold: loaded by Python, passed to dbt, and
not repeated as a literal anywhere in the code or the dbt models."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipelines.rules import dbt_vars, load_rules, rule

REPO = Path(__file__).resolve().parent.parent


def leaves(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, node


def test_rules_cover_r1_to_r7_and_are_commented():
    rules = load_rules()
    assert {k.split("_")[0] for k in rules} == {"r1", "r2", "r3", "r4", "r5", "r6", "r7"}
    assert rule("r1_abc.a_max_cumulative_share") == 0.75
    assert rule("r6_credit.score_weights.K4") == 25
    assert sum(rule("r6_credit.score_weights").values()) == 100
    text = (REPO / "rules.yml").read_text(encoding="utf-8")
    for key in rules:  # every rule group carries a comment
        line = next(l for l in text.splitlines() if l.startswith(f"{key}:"))
        assert "#" in line, f"rules.yml: {key} has no comment"


def test_dbt_receives_rules_as_vars():
    payload = json.loads(dbt_vars({"min_date": "2024-01-01"}))
    assert payload["rules"] == json.loads(json.dumps(load_rules()))
    assert payload["min_date"] == "2024-01-01"


def distinctive(value) -> bool:
    """Values specific enough that a literal copy elsewhere is almost surely a repeated threshold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float):
        return value not in (0.0, 1.0, -1.0, 0.5)
    return value >= 1000


def test_no_threshold_is_repeated_in_code_or_models():
    values = {v for _, v in leaves(load_rules()) if distinctive(v)}
    assert values, "expected distinctive thresholds"
    files = [*REPO.glob("pipelines/**/*.py"), *REPO.glob("dbt_project/models/**/*.sql"),
             *REPO.glob("dbt_project/macros/**/*.sql")]
    offenders = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        # The sample-data generator is left out: it draws probabilities and amounts (0.95,
        # 100_000 cents …) that coincide with thresholds without being rules; it derives the
        # customers' turnover and sizes from distributions, not from the rule bands.
        if "generate" in f.relative_to(REPO).parts:
            continue
        for v in values:
            literal = repr(v) if isinstance(v, float) else str(v)
            variants = {literal, f"{v:_}" if isinstance(v, int) else literal}
            for lit_ in variants:
                if re.search(rf"(?<![\w.]){re.escape(lit_)}(?![\w.])", text):
                    offenders.append(f"{f.relative_to(REPO)}: {lit_}")
    assert not offenders, "thresholds repeated outside rules.yml: " + ", ".join(offenders)
