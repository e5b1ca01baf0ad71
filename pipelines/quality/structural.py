"""Structural expectations of the raw tables, derived from ``sources.yml`` (with ``company.yml``
applied), so that "required", "optional", an enum's values, a key and a reference mean the same
thing in ingest, in the raw-load checks and in dbt.

For a source, ``derived_expectations(source)`` gives GX expectation dicts in the form of the
suite files (``{"type", "kwargs", "severity", "meta"}``), all of GX severity ``critical``
(blocking):

* **columns** — the raw table has exactly the canonical columns plus the lineage columns
  (``expect_table_columns_to_match_set``, ``exact_match``);
* **types** — each column has the raw table's SQL type, as ``pipelines.ingest.load`` creates it
  (the types are read by creating the table in a scratch in-memory DuckDB with
  ``ensure_raw_tables``, so a change of ``SQL_TYPES`` — a DECIMAL scale following the company's
  amount_scale — is followed here without an edit); one SQL expectation, one row per missing or
  mistyped column;
* **not null** — every ``required`` column and the lineage columns (``_partition_date`` only for
  a partitioned source: an unpartitioned source's rows have none). An optional column gets no
  critical not-null; a suite may still *warn* when one that should usually be filled is empty;
* **value set** — an enum column's values are the enumeration's canonical values, company
  additions included (NULL is allowed unless the column is required);
* **unique key** — ``unique_key``; a master source's key is unique per extract, i.e. together
  with ``_partition_date``. GX's uniqueness when every key column is required; a
  ``GROUP BY ... HAVING count(*) > 1`` query when one may be NULL (GX compares keys with ``=``,
  so rows with a NULL in the key would never count as duplicates);
* **references** — a ``references: <entity>`` value exists in the raw table of the master source
  of that entity (any loaded extract, as ingest checks it); left out when the company does not
  deliver that master (its members are inferred in dbt);
* **partition window** — the partition date column (or ``partition_date_expr``) lies inside the
  validated window, the suite parameters ``partition_start`` / ``partition_end``; for a
  timestamp column, its date in the business time zone (``company.yml``), the suite parameter
  ``timezone`` (``suite_parameters()``). Not for unpartitioned sources.

**The business calendar.** The hand-written volume expectations of the facts (sales lines,
receivables, visits, stock reports) neither judge a public holiday nor count it in a baseline.
They read the company's holidays from ``quality.public_holidays`` (``HOLIDAYS_TABLE``: holiday_date,
holiday_name), which ``validate_raw`` (re)writes on the check's connection before every
validation (``load_holidays``) from the CSV files that dbt seeds and ``dim_date`` reads:
``dbt_project/seeds/public_holidays.csv`` (calendar, date, names) and ``holiday_calendars.csv``
(which calendar a business time zone follows: CN for the mainland China zones; a zone not listed
has none). Not the dbt seed tables: the raw checks run before dbt in a run, and on a first run
before any seed is in the warehouse. So a day is a holiday in the checks exactly when
``dim_date.is_holiday`` says so, and a company elsewhere (Northwind, America/Los_Angeles) is not
judged by Chinese holidays. On a read-only connection the table is left as the last check wrote
it; when there is none, the expectations reading it are skipped with the reason. (A validation
of a suite file alone, ``gx_runtime.validate``, writes nothing: on a warehouse without the table
those warnings fail as not evaluable.)

Hand-written suites ``expectations/raw_<table>.json`` hold only what this cannot derive:
bounds, warn-level checks, cross-table and volume checks. ``validate_raw`` validates the two
together as one suite; ``signature`` tells what an expectation checks, so a test can make sure
no suite file repeats (or contradicts) a derived expectation.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pipelines.ingest.config import Source
    from pipelines.quality.gx_runtime import ValidationOutcome

#: meta key marking an expectation as derived (its value says from what)
DERIVED = "derived_from"
#: the window parameters of a partitioned raw suite, and the time-zone parameter
WINDOW_PARAMETERS = ("partition_start", "partition_end")
TIMEZONE_PARAMETER = "timezone"
#: the business calendar: its CSV files (dbt seeds of dim_date too, relative to the dbt project)
#: and the checks' copy of the company's public holidays (see the module docstring)
HOLIDAYS_CSV = Path("seeds") / "public_holidays.csv"
CALENDARS_CSV = Path("seeds") / "holiday_calendars.csv"
HOLIDAYS_TABLE = "quality.public_holidays"
PARTITION_COLUMN = "_partition_date"
LINEAGE_NOT_NULL = ("_source_file", "_source_line", "_partition_date", "_load_id", "_loaded_at")


_PLAIN_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


@functools.lru_cache(maxsize=1)
def _reserved() -> frozenset[str]:
    import duckdb

    con = duckdb.connect()
    try:
        return frozenset(r[0] for r in con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'").fetchall())
    finally:
        con.close()


def _q(name: str) -> str:
    """An identifier for the suite's SQL: as is when plain (readable in Data Docs), else quoted."""
    if _PLAIN_RE.match(name) and name not in _reserved():
        return name
    return '"' + name.replace('"', '""') + '"'


def _braces(sql: str) -> str:
    """Literal braces of configured SQL, doubled for the suite query format."""
    return sql.replace("{", "{{").replace("}", "}}")


def raw_columns(source: Source) -> list[tuple[str, str]]:
    """(column, DuckDB type name) of the source's raw table, in table order, as the loader
    creates it (``pipelines.ingest.load.ensure_raw_tables``; canonical and lineage columns)."""
    import duckdb

    from pipelines.ingest.load import RAW_SCHEMA, ensure_raw_tables

    con = duckdb.connect()
    try:
        ensure_raw_tables(con, {source.name: source})
        return [(name, dtype) for name, dtype in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [RAW_SCHEMA, source.table]).fetchall()]
    finally:
        con.close()


def _exp(etype: str, kwargs: dict[str, Any], why: str, derived: str, **meta: Any) -> dict[str, Any]:
    return {"type": etype, "kwargs": kwargs, "severity": "critical",
            "meta": {**meta, "why": why, DERIVED: f"sources.yml: {derived}"}}


def _sql(lines: list[str], column: str | None, why: str, derived: str) -> dict[str, Any]:
    meta = {"column": column} if column else {}
    return _exp("unexpected_rows_expectation", {"unexpected_rows_query": lines}, why, derived, **meta)


def derived_expectations(source: Source, sources: Mapping[str, Source] | None = None) -> list[dict[str, Any]]:
    """The structural expectations of ``source``'s raw table (see the module docstring).
    ``sources``: every source of the company (default ``load_sources()``), to find masters."""
    if sources is None:
        from pipelines.ingest.config import load_sources

        sources = load_sources()
    name = source.name
    out: list[dict[str, Any]] = []
    table = raw_columns(source)
    lineage = [c for c, _t in table if c not in source.columns]

    # the exact column set
    out.append(_exp("expect_table_columns_to_match_set",
                    {"column_set": [c for c, _t in table], "exact_match": True},
                    "exactly the canonical columns and the lineage columns", f"{name}.columns"))

    # types: one query, one row per missing or mistyped column
    values = ",\n".join(f"  ('{c}', '{t}')" for c, t in table)
    out.append(_sql([
        "WITH actual AS (",
        "  UNPIVOT (SELECT typeof(COLUMNS(b.*)) FROM (SELECT 1) AS one LEFT JOIN {batch} AS b ON true LIMIT 1)",
        "  ON COLUMNS(*) INTO NAME column_name VALUE actual_type)",
        "SELECT e.column_name, e.expected_type, a.actual_type",
        "FROM (VALUES",
        *values.split("\n"),
        ") AS e(column_name, expected_type)",
        "LEFT JOIN actual AS a USING (column_name)",
        "WHERE a.actual_type IS DISTINCT FROM e.expected_type",
    ], None, "column types of the raw table (pipelines/ingest/load.py); one row per missing or mistyped column",
        f"{name}.columns (types)"))

    # not null: required columns and lineage
    for col in source.columns.values():
        if col.required:
            out.append(_exp("expect_column_values_to_not_be_null", {"column": col.name},
                            "required in sources.yml", f"{name}.{col.name} required"))
    for col in lineage:
        if col in LINEAGE_NOT_NULL and (col != PARTITION_COLUMN or source.partitioning != "none"):
            out.append(_exp("expect_column_values_to_not_be_null", {"column": col},
                            "lineage: every loaded row records where it came from", f"{name} lineage"))

    # enums: the canonical values (company additions included)
    for col in source.columns.values():
        if col.type == "enum" and col.values:
            out.append(_exp("expect_column_values_to_be_in_set",
                            {"column": col.name, "value_set": list(col.values)},
                            f"enumeration {col.enum or col.name}: its canonical values",
                            f"{name}.{col.name} enum {col.enum or ''}".rstrip()))

    # the unique key (per extract for a master source)
    if source.unique_key:
        key = ([PARTITION_COLUMN] if source.master_entity else []) + list(source.unique_key)
        nullable = [k for k in source.unique_key if not source.columns[k].required]
        why = ("one row per key in each extract" if source.master_entity else "the grain: one row per key")
        derived = f"{name}.unique_key" + (" (per extract)" if source.master_entity else "")
        if nullable:
            cols = ", ".join(_q(k) for k in key)
            out.append(_sql([f"SELECT {cols}, count(*) AS copies", "FROM {batch}",
                             f"GROUP BY {cols}", "HAVING count(*) > 1"], ",".join(key),
                            why + f" (a query, since {', '.join(nullable)} may be NULL: GROUP BY groups NULLs "
                                  "together, GX's uniqueness compares them with = and never matches)", derived))
        elif len(key) == 1:
            out.append(_exp("expect_column_values_to_be_unique", {"column": key[0]}, why, derived))
        else:
            out.append(_exp("expect_compound_columns_to_be_unique", {"column_list": key}, why, derived))

    # references to master data (only masters the company delivers)
    masters = {s.master_entity: s for s in sources.values() if s.master_entity}
    for col in source.columns.values():
        master = masters.get(col.references) if col.references else None
        if master is None or not master.delivered or not master.unique_key:
            continue
        mkey, c = _q(master.unique_key[0]), _q(col.name)
        out.append(_sql([
            f"SELECT {c}, _source_file, _source_line",
            "FROM {batch}",
            f"WHERE {c} IS NOT NULL",
            f"  AND {c} NOT IN (SELECT {mkey} FROM raw.{_q(master.table)} WHERE {mkey} IS NOT NULL)",
        ], col.name, f"referential integrity: every {col.name} exists in raw.{master.table} (any loaded extract, "
                     "as ingest checks it)", f"{name}.{col.name} references {col.references}"))

    # the partition date inside the validated window
    if source.partitioning != "none":
        window = "{partition_start} AND {partition_end}"
        pdc = source.partition_date_column
        if source.partition_date_expr:
            from pipelines.ingest.config import referenced_columns

            expr = source.partition_date_expr
            used = {ref[-1] for ref in referenced_columns(expr)}
            cols = [c for c in source.columns if c in used]
            shown = ", ".join(_q(c) for c in [*source.unique_key, *[c for c in cols if c not in source.unique_key]])
            out.append(_sql([
                f"SELECT {shown}, CAST({_braces(expr)} AS DATE) AS partition_day, _source_file, _source_line",
                "FROM {batch}",
                f"WHERE CAST({_braces(expr)} AS DATE) NOT BETWEEN {window}",
            ], ",".join(cols) or None, f"each row's partition date ({expr}) lies in the validated window",
                f"{name}.partition_date_expr"))
        elif pdc and source.columns[pdc].type == "timestamp":
            c = _q(pdc)
            out.append(_sql([
                f"SELECT {c}, _source_file, _source_line",
                "FROM {batch}",
                f"WHERE CAST(timezone({{{TIMEZONE_PARAMETER}}}, {c}) AS DATE) NOT BETWEEN {window}",
            ], pdc, f"{pdc}'s date in the business time zone (company.yml) lies in the validated window",
                f"{name}.partition_date_column"))
        elif pdc:
            out.append(_exp("expect_column_values_to_be_between",
                            {"column": pdc, "min_value": {"$PARAMETER": WINDOW_PARAMETERS[0]},
                             "max_value": {"$PARAMETER": WINDOW_PARAMETERS[1]}},
                            f"{pdc} lies in the validated window (a row dated outside it is misfiled)",
                            f"{name}.partition_date_column"))
    return out


def _seed_files() -> tuple[Path, Path]:
    from pipelines.settings import DBT_PROJECT_DIR

    return DBT_PROJECT_DIR / HOLIDAYS_CSV, DBT_PROJECT_DIR / CALENDARS_CSV


@functools.lru_cache(maxsize=4)
def _calendars(holidays_csv: str, calendars_csv: str, _stamp: tuple) -> tuple[dict[str, str], dict[str, dict[date, str]]]:
    with open(calendars_csv, newline="", encoding="utf-8") as f:
        zones = {r["timezone"].strip(): r["calendar"].strip() for r in csv.DictReader(f)}
    days: dict[str, dict[date, str]] = {}
    with open(holidays_csv, newline="", encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            try:
                day = date.fromisoformat(r["holiday_date"].strip())
            except (TypeError, ValueError):
                raise ValueError(f"{holidays_csv}:{i}: holiday_date {r.get('holiday_date')!r} is not a "
                                 f"date written YYYY-MM-DD") from None
            days.setdefault(r["calendar"].strip(), {})[day] = r["holiday_name"]
    return zones, days


def public_holidays(timezone: str | None = None) -> dict[date, str]:
    """Date -> name of the public holidays of the company whose business time zone is
    ``timezone`` (default: the current company's): the rows of ``public_holidays.csv`` of the
    calendar that ``holiday_calendars.csv`` gives the zone, none when it gives none. The files
    are re-read when they change."""
    if timezone is None:
        from pipelines.company import company

        timezone = company().timezone
    files = _seed_files()
    zones, days = _calendars(*map(str, files), tuple(p.stat().st_mtime_ns for p in files))
    return dict(days.get(zones.get(timezone, ""), {}))


def load_holidays(connection: Any, timezone: str | None = None) -> str | None:
    """(Re)write ``HOLIDAYS_TABLE`` on the DuckDB ``connection`` with ``public_holidays(timezone)``
    (one statement: readers see the old or the new calendar). On a read-only connection the table
    is left as it is; returns why the calendar cannot be read when there is none, else None."""
    import duckdb

    days = public_holidays(timezone)
    dates = sorted(days)
    schema, _, _table = HOLIDAYS_TABLE.partition(".")
    try:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        connection.execute(
            f"CREATE OR REPLACE TABLE {HOLIDAYS_TABLE} AS SELECT CAST(unnest(CAST(? AS DATE[])) AS DATE) AS holiday_date, "
            "CAST(unnest(CAST(? AS VARCHAR[])) AS VARCHAR) AS holiday_name", [dates, [days[d] for d in dates]])
        return None
    except duckdb.Error:
        exists = connection.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                                    [schema, _table]).fetchone()[0]
        if exists:
            return None
        return (f"reads {HOLIDAYS_TABLE}: no business calendar in this warehouse, and the connection cannot write "
                f"it (read-only)")


def suite_parameters(timezone: str | None = None) -> dict[str, Any]:
    """Suite parameters every validation gets from the company settings (``{timezone}``)."""
    if timezone is None:
        from pipelines.company import company

        timezone = company().timezone
    return {TIMEZONE_PARAMETER: timezone}


def undelivered_tables(sources: Mapping[str, Source] | None = None) -> dict[str, str]:
    """``raw.<table>`` -> why, for every source the company does not deliver: SQL expectations
    reading one (a hand-written reference to an undelivered master) are skipped, not failed."""
    if sources is None:
        from pipelines.ingest.config import load_sources

        sources = load_sources()
    return {f"raw.{s.table}": f"reads raw.{s.table}: {s.name} not delivered (company.yml)"
            for s in sources.values() if not s.delivered}


def source_of_table(table: str, sources: Mapping[str, Source] | None = None) -> Source:
    """The source whose raw table is ``table``."""
    if sources is None:
        from pipelines.ingest.config import load_sources

        sources = load_sources()
    for s in sources.values():
        if s.table == table:
            return s
    raise KeyError(f"no source of sources.yml has the raw table {table!r}")


def validate_raw(table: str, *, window: tuple | None, connection: Any, run_name: str | None = None,
                 suites_dir: Any = None, sources: Mapping[str, Source] | None = None,
                 timezone: str | None = None) -> ValidationOutcome:
    """Validate ``raw.<table>`` (the rows of ``_partition_date`` in ``window``, or the whole table)
    on the open DuckDB ``connection`` with the derived expectations and the hand-written suite
    ``raw_<table>`` together, after writing the company's public holidays for the volume
    expectations (``load_holidays``). SQL expectations reading the raw table of a source the
    company does not deliver are skipped."""
    from pipelines.ingest.config import load_sources
    from pipelines.quality import gx_runtime

    sources = sources if sources is not None else load_sources()
    source = source_of_table(table, sources)
    skip = undelivered_tables(sources)
    if why := load_holidays(connection, timezone):
        skip[HOLIDAYS_TABLE] = why
    return gx_runtime.validate(
        f"raw_{table}", connection=connection, query_or_table=f"raw.{table}",
        partition_filter={PARTITION_COLUMN: tuple(window)} if window else None,
        parameters=suite_parameters(timezone), run_name=run_name,
        suites_dir=suites_dir, extra_expectations=derived_expectations(source, sources),
        skip_tables=skip,
    )


# ------------------------------------------------------------------ what an expectation checks

_REF_RE = re.compile(r"NOT\s+IN\s*\(\s*SELECT\s+\"?(\w+)\"?\s+FROM\s+raw\.\"?(\w+)\"?", re.IGNORECASE)
_DUP_RE = re.compile(r"GROUP\s+BY\s+(.+?)\s+HAVING\s+count\(\*\)\s*>\s*1\s*$", re.IGNORECASE | re.DOTALL)
_WINDOW_RE = re.compile(r"NOT\s+BETWEEN\s+\{partition_start\}\s+AND\s+\{partition_end\}", re.IGNORECASE)


def signature(exp: Mapping[str, Any]) -> tuple | None:
    """What an expectation dict checks, as far as the derivation is concerned: ``("columns",)``,
    ``("types",)``, ``("not_null", col)``, ``("in_set", col)``, ``("unique", cols)``,
    ``("references", col, master_table)``, ``("window", col)``; None for anything else
    (conditional checks — a ``row_condition`` —, bounds, cross-table checks, ...)."""
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


def repeats(source: Source, expectations: list[Mapping[str, Any]],
            sources: Mapping[str, Source] | None = None) -> list[tuple[int, tuple, str]]:
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
