"""Structural expectations of the raw tables, derived from ``sources.yml`` (``company.yml`` applied) so
"required", an enum, a key and a reference mean the same in ingest, the raw checks and dbt. All critical:
the exact column set and types (as ``ensure_raw_tables`` creates them); not-null on required and lineage
columns; enum values; the unique key (per extract for a master; a GROUP BY query when a key column may be
NULL); references to a delivered master; the partition date (business time zone) inside the window."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.company import company
from pipelines.ingest.config import Source, load_sources, referenced_columns
from pipelines.ingest.load import RAW_SCHEMA, ensure_raw_tables

if TYPE_CHECKING:  # pragma: no cover
    from pipelines.quality.gx_runtime import ValidationOutcome

DERIVED = "derived_from"  # meta key of a derived expectation; its value says from what
WINDOW_PARAMETERS = ("partition_start", "partition_end")
TIMEZONE_PARAMETER = "timezone"
PARTITION_COLUMN = "_partition_date"
LINEAGE_NOT_NULL = ("_source_file", "_source_line", "_partition_date", "_load_id", "_loaded_at")


@functools.lru_cache(maxsize=1)
def _reserved() -> frozenset[str]:
    with duckdb.connect() as con:
        return frozenset(r[0] for r in con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'").fetchall())


def _q(name: str) -> str:
    """An identifier for the suite's SQL: as is when plain (readable in Data Docs), else quoted."""
    plain = re.match(r"^[a-z_][a-z0-9_]*$", name) and name not in _reserved()
    return name if plain else '"' + name.replace('"', '""') + '"'


def _exp(etype: str, kwargs: dict[str, Any], why: str, derived: str, **meta: Any) -> dict[str, Any]:
    return {"type": etype, "kwargs": kwargs, "severity": "critical",
            "meta": {**meta, "why": why, DERIVED: f"sources.yml: {derived}"}}


def _sql(lines: list[str], column: str | None, why: str, derived: str) -> dict[str, Any]:
    return _exp("unexpected_rows_expectation", {"unexpected_rows_query": lines}, why, derived,
                **({"column": column} if column else {}))


def derived_expectations(source: Source, sources: Mapping[str, Source] | None = None) -> list[dict[str, Any]]:
    """The structural expectations of ``source``'s raw table; ``sources`` (default all) finds masters."""
    name, cols, sources = source.name, source.columns, load_sources() if sources is None else sources
    with duckdb.connect() as con:  # the raw table's (column, type), as the loader creates it
        ensure_raw_tables(con, {source.name: source})
        table = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                            "AND table_name = ? ORDER BY ordinal_position", [RAW_SCHEMA, source.table]).fetchall()
    out = [_exp("expect_table_columns_to_match_set", {"column_set": [c for c, _t in table], "exact_match": True},
                "exactly the canonical columns and the lineage columns", f"{name}.columns"),
           _sql(["WITH actual AS (",
                 "  UNPIVOT (SELECT typeof(COLUMNS(b.*)) FROM (SELECT 1) AS one LEFT JOIN {batch} AS b ON true LIMIT 1)",
                 "  ON COLUMNS(*) INTO NAME column_name VALUE actual_type)",
                 "SELECT e.column_name, e.expected_type, a.actual_type",
                 "FROM (VALUES", *",\n".join(f"  ('{c}', '{t}')" for c, t in table).split("\n"),
                 ") AS e(column_name, expected_type)",
                 "LEFT JOIN actual AS a USING (column_name)",
                 "WHERE a.actual_type IS DISTINCT FROM e.expected_type"], None,
                "column types of the raw table (pipelines/ingest/load.py); one row per missing or mistyped column",
                f"{name}.columns (types)")]
    out += [_exp("expect_column_values_to_not_be_null", {"column": c.name}, "required in sources.yml",
                 f"{name}.{c.name} required") for c in cols.values() if c.required]
    out += [_exp("expect_column_values_to_not_be_null", {"column": c}, "lineage: every loaded row records where it came "
                 "from", f"{name} lineage") for c, _t in table if c not in cols and c in LINEAGE_NOT_NULL
            and (c != PARTITION_COLUMN or source.partitioning != "none")]
    out += [_exp("expect_column_values_to_be_in_set", {"column": c.name, "value_set": list(c.values)},
                 f"enumeration {c.enum or c.name}: its canonical values", f"{name}.{c.name} enum {c.enum or ''}".rstrip())
            for c in cols.values() if c.type == "enum" and c.values]
    if source.unique_key:
        m = bool(source.master_entity)
        key = ([PARTITION_COLUMN] if m else []) + list(source.unique_key)
        why, derived = (("one row per key in each extract", f"{name}.unique_key (per extract)") if m
                        else ("the grain: one row per key", f"{name}.unique_key"))
        if nullable := [k for k in source.unique_key if not cols[k].required]:
            keys = ", ".join(_q(k) for k in key)
            out.append(_sql([f"SELECT {keys}, count(*) AS copies", "FROM {batch}", f"GROUP BY {keys}",
                             "HAVING count(*) > 1"], ",".join(key),
                            why + f" (a query, since {', '.join(nullable)} may be NULL: GROUP BY groups NULLs "
                                  "together, GX's uniqueness compares them with = and never matches)", derived))
        else:
            out.append(_exp("expect_column_values_to_be_unique", {"column": key[0]}, why, derived) if len(key) == 1
                       else _exp("expect_compound_columns_to_be_unique", {"column_list": key}, why, derived))
    masters = {s.master_entity: s for s in sources.values() if s.master_entity}
    for col, m in ((c, masters.get(c.references)) for c in cols.values() if c.references):
        if m is not None and m.delivered and m.unique_key:
            mkey, c = _q(m.unique_key[0]), _q(col.name)
            out.append(_sql([f"SELECT {c}, _source_file, _source_line", "FROM {batch}", f"WHERE {c} IS NOT NULL",
                             f"  AND {c} NOT IN (SELECT {mkey} FROM raw.{_q(m.table)} WHERE {mkey} IS NOT NULL)"],
                            col.name, f"referential integrity: every {col.name} exists in raw.{m.table} (any loaded "
                            "extract, as ingest checks it)", f"{name}.{col.name} references {col.references}"))
    window, partitioned = "{partition_start} AND {partition_end}", source.partitioning != "none"
    pdc, expr = (source.partition_date_column, source.partition_date_expr) if partitioned else (None, None)
    if expr:
        in_expr = list(filter({ref[-1] for ref in referenced_columns(expr)}.__contains__, cols))
        shown = ", ".join(_q(c) for c in [*source.unique_key, *[c for c in in_expr if c not in source.unique_key]])
        day = f"CAST({expr.replace('{', '{{').replace('}', '}}')} AS DATE)"
        out.append(_sql([f"SELECT {shown}, {day} AS partition_day, _source_file, _source_line", "FROM {batch}",
                         f"WHERE {day} NOT BETWEEN {window}"], ",".join(in_expr) or None,
                        f"each row's partition date ({expr}) lies in the validated window", f"{name}.partition_date_expr"))
    elif pdc and cols[pdc].type == "timestamp":
        out.append(_sql([f"SELECT {_q(pdc)}, _source_file, _source_line", "FROM {batch}",
                         f"WHERE CAST(timezone({{{TIMEZONE_PARAMETER}}}, {_q(pdc)}) AS DATE) NOT BETWEEN {window}"],
                        pdc, f"{pdc}'s date in the business time zone (company.yml) lies in the validated window",
                        f"{name}.partition_date_column"))
    elif pdc:
        start, end = ({"$PARAMETER": p} for p in WINDOW_PARAMETERS)
        out.append(_exp("expect_column_values_to_be_between", {"column": pdc, "min_value": start, "max_value": end},
                        f"{pdc} lies in the validated window (a row dated outside it is misfiled)",
                        f"{name}.partition_date_column"))
    return out


def suite_parameters(timezone: str | None = None) -> dict[str, Any]:
    """Suite parameters every validation gets from the company settings (``{timezone}``)."""
    return {TIMEZONE_PARAMETER: company().timezone if timezone is None else timezone}


def undelivered_tables(sources: Mapping[str, Source] | None = None) -> dict[str, str]:
    """``raw.<table>`` -> why, per undelivered source: SQL reading one is skipped, not failed."""
    return {f"raw.{s.table}": f"reads raw.{s.table}: {s.name} not delivered (company.yml)"
            for s in (load_sources() if sources is None else sources).values() if not s.delivered}


def source_of_table(table: str, sources: Mapping[str, Source] | None = None) -> Source:
    """The source whose raw table is ``table``."""
    if found := [s for s in (load_sources() if sources is None else sources).values() if s.table == table]:
        return found[0]
    raise KeyError(f"no source of sources.yml has the raw table {table!r}")


def validate_raw(table: str, *, window: tuple | None, connection: Any, run_name: str | None = None,
                 suites_dir: Any = None, sources: Mapping[str, Source] | None = None,
                 timezone: str | None = None) -> ValidationOutcome:
    """Validate ``raw.<table>`` (``_partition_date`` in ``window``, or all) on the open DuckDB ``connection``
    with the derived expectations and ``raw_<table>``, after writing the company's public holidays for the
    volume expectations (``business_calendar.load_holidays``: ``quality.public_holidays``)."""
    from pipelines.business_calendar import HOLIDAYS_TABLE, load_holidays
    from pipelines.quality import gx_runtime

    sources = load_sources() if sources is None else sources
    source, skip = source_of_table(table, sources), undelivered_tables(sources)
    if why := load_holidays(connection, timezone):
        skip[HOLIDAYS_TABLE] = why
    return gx_runtime.validate(
        f"raw_{table}", connection=connection, query_or_table=f"raw.{table}",
        partition_filter={PARTITION_COLUMN: tuple(window)} if window else None,
        parameters=suite_parameters(timezone), run_name=run_name, suites_dir=suites_dir,
        extra_expectations=derived_expectations(source, sources), skip_tables=skip)
