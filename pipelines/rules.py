"""The business-rules file (``rules.yml``): loading it for Python and handing it to dbt.

Every threshold of the domain rules lives in ``rules.yml`` only. Python reads it here; dbt
receives it as the var ``rules`` on every invocation (``dbt_vars``) and reads it through the
``rule()`` macro.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.company import company, load_company
from pipelines.settings import rules_file


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the rules file must be a YAML mapping")
    return data


def load_rules(path: Path | None = None) -> dict[str, Any]:
    """The rules as a nested dict (re-read when the file changes); default: the company's."""
    path = path or rules_file()
    return _load(str(path), path.stat().st_mtime)


def rule(dotted: str, path: Path | None = None) -> Any:
    """One value by dotted path, e.g. ``rule("r5_inventory.target_days")``."""
    path = path or rules_file()
    node: Any = load_rules(path)
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{path.name}: no rule {dotted!r} (missing {part!r})")
        node = node[part]
    return node


def company_vars(config_dir: Path | None = None) -> dict[str, Any]:
    """The company's settings as dbt vars (see ``dbt_project.yml`` for what each means); by
    default the current company's (``$DWH_CONFIG``)."""
    from pipelines.ingest.config import load_sources, undelivered

    c = load_company(config_dir) if config_dir else company()
    sources = load_sources(config_dir)
    enums: dict[str, list[str]] = {}
    for s in sources.values():
        for col in s.columns.values():
            if col.enum:
                enums[col.enum] = list(col.values or {})
    return {"business_timezone": c.timezone, "currency": c.currency, "amount_scale": c.amount_scale,
            "first_day": c.first_day.isoformat(), "enums": enums, "undelivered": undelivered(sources)}


def dbt_vars(extra: dict[str, Any] | None = None, config_dir: Path | None = None) -> str:
    """The JSON for ``dbt --vars``: the rules, the company's settings and any run vars (e.g.
    the partition window), of the company in ``config_dir`` (default: the current one)."""
    rules_path = load_company(config_dir).rules_file if config_dir else None
    payload: dict[str, Any] = {"rules": load_rules(rules_path), **company_vars(config_dir)}
    if extra:
        payload.update(extra)
    return json.dumps(payload, ensure_ascii=False, default=str)
