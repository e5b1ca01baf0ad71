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

from pipelines.settings import RULES_FILE


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the rules file must be a YAML mapping")
    return data


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    """The rules as a nested dict (re-read when the file changes)."""
    return _load(str(path), path.stat().st_mtime)


def rule(dotted: str, path: Path = RULES_FILE) -> Any:
    """One value by dotted path, e.g. ``rule("r5_inventory.target_days")``."""
    node: Any = load_rules(path)
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{path.name}: no rule {dotted!r} (missing {part!r})")
        node = node[part]
    return node


def dbt_vars(extra: dict[str, Any] | None = None) -> str:
    """The JSON for ``dbt --vars``: the rules plus any run vars (e.g. the partition window)."""
    payload: dict[str, Any] = {"rules": load_rules()}
    if extra:
        payload.update(extra)
    return json.dumps(payload, ensure_ascii=False, default=str)
