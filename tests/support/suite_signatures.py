"""What an expectation checks, as far as the derivation from sources.yml is concerned
(``signature``), and the hand-written expectations of a suite file that repeat or contradict a
derived one (``repeats``): the tests' guard that no suite file restates pipelines/quality/structural.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pipelines.quality.structural import PARTITION_COLUMN, WINDOW_PARAMETERS, derived_expectations

_REF_RE = re.compile(r"NOT\s+IN\s*\(\s*SELECT\s+\"?(\w+)\"?\s+FROM\s+raw\.\"?(\w+)\"?", re.IGNORECASE)
_DUP_RE = re.compile(r"GROUP\s+BY\s+(.+?)\s+HAVING\s+count\(\*\)\s*>\s*1\s*$", re.IGNORECASE | re.DOTALL)
_WINDOW_RE = re.compile(r"NOT\s+BETWEEN\s+\{partition_start\}\s+AND\s+\{partition_end\}", re.IGNORECASE)


def signature(exp: Mapping[str, Any]) -> tuple | None:
    """``("columns",)``, ``("types",)``, ``("not_null", col)``, ``("in_set", col)``, ``("unique", cols)``,
    ``("references", col, master_table)``, ``("window", col)``; None for anything else (a
    ``row_condition``, bounds, cross-table checks, ...)."""
    etype, kwargs, meta = exp.get("type"), exp.get("kwargs") or {}, exp.get("meta") or {}
    if kwargs.get("row_condition"):
        return None
    if etype == "expect_table_columns_to_match_set":
        return ("columns",)
    if etype == "expect_column_values_to_not_be_null":
        return ("not_null", kwargs.get("column"))
    if etype == "expect_column_values_to_be_in_set":
        return ("in_set", kwargs.get("column"))
    if etype == "expect_column_values_to_be_unique":
        return ("unique", (kwargs.get("column"),))
    if etype == "expect_compound_columns_to_be_unique":
        return ("unique", tuple(sorted(c for c in kwargs.get("column_list", []) if c != PARTITION_COLUMN)))
    if etype == "expect_column_values_to_be_between":
        bounds = (kwargs.get("min_value"), kwargs.get("max_value"))
        if bounds == ({"$PARAMETER": WINDOW_PARAMETERS[0]}, {"$PARAMETER": WINDOW_PARAMETERS[1]}):
            return ("window", kwargs.get("column"))
        return None
    if etype == "unexpected_rows_expectation":
        query = kwargs.get("unexpected_rows_query")
        query = "\n".join(query) if isinstance(query, list) else str(query or "")
        if "typeof(COLUMNS(" in query:
            return ("types",)
        if (m := _REF_RE.search(query)) and meta.get("column"):
            return ("references", meta["column"], m.group(2))
        if m := _DUP_RE.search(query.strip()):
            cols = [c.strip().strip('"') for c in m.group(1).split(",")]
            return ("unique", tuple(sorted(c for c in cols if c != PARTITION_COLUMN)))
        if _WINDOW_RE.search(query):
            return ("window", meta.get("column"))
    return None


def repeats(source, expectations: list[Mapping[str, Any]],
            sources: Mapping | None = None) -> list[tuple[int, tuple, str]]:
    """Hand-written expectations (of a suite file) that repeat or contradict a derived one:
    (index, signature, why). A contradiction is a critical not-null on a column sources.yml says is
    optional, a value set on an enum column, or a second column-set or column-type check. A
    warning not-null on an optional column is not one (a column that should usually be filled)."""
    derived = {signature(e) for e in derived_expectations(source, sources)} - {None}
    out = []
    for i, exp in enumerate(expectations):
        sig = signature(exp)
        if sig is None:
            continue
        severity = str(exp.get("severity", "critical")).lower()
        if sig in derived:
            out.append((i, sig, "repeats a derived expectation"))
        elif sig[0] == "not_null" and severity == "critical" and sig[1] in source.columns:
            out.append((i, sig, f"{sig[1]} is optional in sources.yml"))
        elif sig[0] == "in_set" and sig[1] in source.columns and source.columns[sig[1]].type == "enum":
            out.append((i, sig, f"{sig[1]} is an enum: its values come from sources.yml/company.yml"))
        elif sig[0] in ("columns", "types"):
            out.append((i, sig, "the column set and types are derived from sources.yml"))
    return out
