"""Partition loads into the raw layer: type, classify, quarantine, replace — in SQL, atomically.

``load_window`` reads every landing file of a source whose partition date falls in a window,
types the staged text in one DuckDB statement, gives each bad row a quarantine reason code and
message, and then, in one transaction per window, replaces exactly the window's rows in
``raw.<table>``, ``raw.quarantine`` and ``raw.load_log``. A file that cannot be read fails its
partition: nothing of that partition is loaded, and the error names the file, line and problem.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from pipelines.company import Company, company, load_company
from pipelines.ingest.config import (Column, LandingFile, Layout, Source, date_ranges, find_files, load_sources,
                                     unseen_files)
from pipelines.ingest.readers import HEADER_NOTES, FileError, create_stage, drop_join_tables, lit, q, stage_files

RAW_SCHEMA = "raw"
RAW_DECIMAL_SCALE = 4  # at least this many decimals in the raw layer (more when amount_scale asks for more)


def sql_types(comp: Company | None = None) -> dict[str, str]:
    """SQL type of each column type in the raw layer (decimals keep the company's amount precision)."""
    scale = max(RAW_DECIMAL_SCALE, (comp or company()).amount_scale)
    return {"text": "VARCHAR", "enum": "VARCHAR", "integer": "BIGINT", "decimal": f"DECIMAL(18,{scale})",
            "date": "DATE", "timestamp": "TIMESTAMPTZ"}


SQL_TYPES = sql_types()  # the sample company's; call sql_types() for the current company
LINEAGE = [("_source_file", "VARCHAR"), ("_source_line", "BIGINT"), ("_partition_date", "DATE"),
           ("_load_id", "VARCHAR"), ("_loaded_at", "TIMESTAMPTZ")]
_FULLWIDTH = ("０１２３４５６７８９．－＋，", "0123456789.-+,")


@dataclass
class LoadResult:
    source: str
    window: tuple[date, date]
    load_id: str
    files: list[dict] = field(default_factory=list)  # per file: path, rows_read, rows_loaded, rows_quarantined
    quarantined_by_reason: Counter = field(default_factory=Counter)
    errors: list[FileError] = field(default_factory=list)
    delivered: bool = True  # False: the company does not deliver this source (company.yml); nothing read
    unseen: list = field(default_factory=list)  # UnseenFile: files in the source's folders no layout reads
    released: int = 0  # quarantined rows this load released (their master data arrived)
    releasable: dict = field(default_factory=dict)  # master loads: source -> partitions to re-run

    @property
    def rows_read(self) -> int:
        return sum(f["rows_read"] for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f["rows_loaded"] for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f["rows_quarantined"] for f in self.files)


# raw.quarantine: the master code an unknown_* row waits for, and when a later master extract
# released it (the row then loaded; this copy stays as the record).
QUARANTINE_EXTRA = [("quarantine", "blocked_by", "VARCHAR"), ("quarantine", "released_at", "TIMESTAMPTZ"),
                    ("quarantine", "released_by_load", "VARCHAR")]
# raw.load_log: what happened to the file (loaded | refused | unmatched_file | bad_file_date), why,
# and the file's headers no layout column uses and optional columns it lacks (JSON lists).
LOAD_LOG_EXTRA = [("load_log", "status", "VARCHAR"), ("load_log", "message", "VARCHAR"),
                  ("load_log", "ignored_headers", "VARCHAR"), ("load_log", "missing_columns", "VARCHAR")]
QUARANTINE_COLUMNS = ("source, _source_file, _source_line, _partition_date, reason_code, message, raw_row, _load_id, "
                      "_loaded_at, blocked_by, released_at, released_by_load")
LOAD_LOG_COLUMNS = ("source, _source_file, _partition_date, layout, rows_read, rows_loaded, rows_quarantined, _load_id, "
                    "_loaded_at, status, message, ignored_headers, missing_columns")
# Reasons that depend on other data, not on the row: a duplicate of a row another file holds, a
# code the master data lacks (yet). Every other reason says the row is not what its layout
# describes; a file made mostly of such rows is refused (sources.yml max_unparseable_share)
# instead of replacing its day (an HTML page, yesterday's file under today's name, a file of
# another layout).
OTHER_DATA_REASONS = ("duplicate_key", "unknown_customer", "unknown_sku", "unknown_rep", "unknown_territory",
                      "before_first_day")
EXCEL_ERRORS = ("#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, sources: dict[str, Source] | None = None,
                      comp: Company | None = None) -> None:
    sources = sources or load_sources()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for s in sources.values():
        types = sql_types(comp)
        cols = ", ".join(f"{q(c.name)} {types[c.type]}" for c in s.columns.values())
        lineage = ", ".join(f"{n} {t}" for n, t in LINEAGE)
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{q(s.table)} ({cols}, {lineage})")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.quarantine (
        source VARCHAR, _source_file VARCHAR, _source_line BIGINT, _partition_date DATE,
        reason_code VARCHAR, message VARCHAR, raw_row VARCHAR, _load_id VARCHAR, _loaded_at TIMESTAMPTZ)""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.load_log (
        source VARCHAR, _source_file VARCHAR, _partition_date DATE, layout VARCHAR, rows_read BIGINT,
        rows_loaded BIGINT, rows_quarantined BIGINT, _load_id VARCHAR, _loaded_at TIMESTAMPTZ)""")
    # added later; a warehouse made before gets them here
    for table, column, sql_type in QUARANTINE_EXTRA + LOAD_LOG_EXTRA:
        con.execute(f"ALTER TABLE {RAW_SCHEMA}.{table} ADD COLUMN IF NOT EXISTS {column} {sql_type}")


def _number_sql(raw: str, layout: Layout) -> str:
    s = f"translate(trim({raw}), {lit(_FULLWIDTH[0])}, {lit(_FULLWIDTH[1])})"
    ts, ds = layout.thousands_separator, layout.decimal_separator
    if ts:
        ets, eds = re.escape(ts), re.escape(ds)
        grouped = r"^[+-]?\d{1,3}(" + ets + r"\d{3})+(" + eds + r"\d+)?$"
        s = f"CASE WHEN regexp_matches({s}, {lit(grouped)}) THEN replace({s}, {lit(ts)}, '') ELSE {s} END"
    if ds != ".":
        s = f"replace({s}, {lit(ds)}, '.')"
    return s


def _typed_sql(col: Column, layout: Layout, comp: Company | None = None) -> str:
    comp = comp or company()
    raw = q(col.name)
    blank = f"nullif(trim({raw}), '')"
    if col.type == "text":
        return blank
    if col.type == "integer":  # taken as written: 2.5, 0x10, 1_000 are not integers (DuckDB would round or read them)
        n = _number_sql(blank, layout)
        return (f"CASE WHEN NOT contains({n}, '_') AND TRY_CAST({n} AS DECIMAL(38,18)) = TRY_CAST({n} AS BIGINT) "
                f"THEN TRY_CAST({n} AS BIGINT) END")
    if col.type == "decimal":
        n = _number_sql(blank, layout)
        return f"CASE WHEN NOT contains({n}, '_') THEN TRY_CAST({n} AS {sql_types(comp)['decimal']}) END"
    if col.type == "date":
        digits = f"translate({blank}, {lit(_FULLWIDTH[0])}, {lit(_FULLWIDTH[1])})"
        fmts = "[" + ", ".join(lit(f) for f in layout.date_formats) + "]"
        return f"CAST(try_strptime({digits}, {fmts}) AS DATE)"
    if col.type == "timestamp":
        with_tz = [f for f in layout.timestamp_formats if "%z" in f]
        naive = [f for f in layout.timestamp_formats if "%z" not in f]
        zulu = f"regexp_replace({blank}, '[Zz]$', '+00:00')"  # ISO 8601's Z is UTC
        parts = []
        if with_tz:
            parts.append(f"try_strptime({zulu}, [{', '.join(lit(f) for f in with_tz)}])")
        if naive:  # naive timestamps are in the business time zone (company.yml)
            parts.append(f"timezone({lit(comp.timezone)}, try_strptime({blank}, [{', '.join(lit(f) for f in naive)}]))")
        return f"coalesce({', '.join(parts)})"
    if col.type == "enum":
        whens = " ".join(
            f"WHEN {blank} IN ({', '.join(lit(s) for s in spellings)}) THEN {lit(canon)}"
            for canon, spellings in (col.values or {}).items()
        )
        return f"CASE {whens} ELSE NULL END"
    raise ValueError(col.type)


def quote_text(sql: str) -> str:
    """SQL that renders a text value in single quotes for messages."""
    return f"chr(39) || {sql} || chr(39)"


def _partition_day_sql(source: Source, comp: Company | None = None) -> str | None:
    """SQL (over ``t.`` typed columns) for the date a row belongs to, or None."""
    if source.partition_date_expr:
        expr = source.partition_date_expr
        for c in source.columns:
            expr = _qualify(expr, c)
        return f"CAST({expr} AS DATE)"
    pdc = source.partition_date_column
    if not pdc:
        return None
    if source.columns[pdc].type == "timestamp":  # the day in the business time zone
        return f"CAST(timezone({lit((comp or company()).timezone)}, t.{q(pdc)}) AS DATE)"
    return f"t.{q(pdc)}"


def _checks(source: Source, comp: Company | None = None) -> list[tuple[str, str, str]]:
    """(condition, reason SQL, message SQL) in precedence order; the first match wins."""
    out: list[tuple[str, str, str]] = [("r._parse_reason IS NOT NULL", "r._parse_reason", "r._parse_message")]
    for c in source.columns.values():
        if c.required:
            computed = [l.name for l in source.layouts if c.name in l.exprs or any(c.name in t.exprs for t in l.rows)]
            message = lit(f"required column {c.name} is empty")
            if computed:  # say which layout computed it: the file may well hold a value
                message = (f"CASE WHEN r._layout IN ({', '.join(lit(n) for n in computed)}) THEN "
                           f"{lit(f'required column {c.name} is empty (computed by layout ')} || r._layout || "
                           f"{lit('; a TRY_CAST there gives NULL for a value it cannot convert)')} ELSE {message} END")
            out.append((f"nullif(trim(r.{q(c.name)}), '') IS NULL", lit(c.missing_reason), message))
    errors = "[" + ", ".join(lit(e) for e in EXCEL_ERRORS) + "]"
    for c in source.columns.values():  # an Excel error cell (#DIV/0!, #REF!, #N/A …) is not a value
        out.insert(1, (f"list_contains({errors}, trim(r.{q(c.name)}))", "'excel_error'",
                       f"{lit(c.name + ' holds the Excel error ')} || trim(r.{q(c.name)})"))
    kinds = {"integer": "bad_number", "decimal": "bad_number", "date": "bad_date", "timestamp": "bad_timestamp",
             "enum": "bad_enum"}
    for c in source.columns.values():
        if c.type in kinds:
            reason = c.invalid_reason or kinds[c.type]
            what = {"bad_number": "a number", "bad_date": "a date in an accepted format",
                    "bad_timestamp": "a timestamp in an accepted format",
                    "bad_enum": f"one of {sorted(c.values or {})}"}[kinds[c.type]]
            out.append((f"nullif(trim(r.{q(c.name)}), '') IS NOT NULL AND t.{q(c.name)} IS NULL", lit(reason),
                        f"{lit(c.name + ' ')} || {quote_text('r.' + q(c.name))} || {lit(' is not ' + what)}"))
    for c in source.columns.values():  # sanity bounds from sources.yml (max_abs), not business rules
        if c.max_abs is not None:
            bound = format(c.max_abs, "g") if isinstance(c.max_abs, float) else str(c.max_abs)
            out.append((f"abs(t.{q(c.name)}) > {bound}", lit("absurd_value"),
                        f"{lit(c.name + ' ')} || CAST(t.{q(c.name)} AS VARCHAR) || "
                        f"{lit(' is beyond the sane bound of ' + bound + ' (max_abs in sources.yml)')}"))
    day = _partition_day_sql(source, comp)
    if day and source.period_days:
        what = source.partition_date_expr or source.partition_date_column
        out.append((f"{day} > current_date", lit("future_date"),
                    f"{lit(what + ' ')} || CAST({day} AS VARCHAR) || ' is in the future'"))
        last = f"r._partition_date + INTERVAL {source.period_days - 1} DAY"
        span = "day" if source.period_days == 1 else f"{source.period_days}-day period starting"
        out.append((f"{day} NOT BETWEEN r._partition_date AND CAST({last} AS DATE)", lit("date_outside_partition"),
                    f"{lit(what + ' ')} || CAST({day} AS VARCHAR) || ' is outside the file''s partition ({span} ' "
                    f"|| CAST(r._partition_date AS VARCHAR) || ')'"))
    for rule in source.row_rules:
        cond = rule.when
        for c in source.columns:
            cond = _qualify(cond, c)
        out.append((f"coalesce({cond}, false)", lit(rule.reason), lit(rule.message)))
    return out


def _qualify(expr: str, column: str) -> str:
    return re.sub(rf"(?<![\w.\"]){re.escape(column)}(?![\w\"])", f"t.{q(column)}", expr)


def _classify(con: duckdb.DuckDBPyConnection, source: Source, layouts: dict[str, Layout],
              window: tuple[date, date], sources: dict[str, Source], comp: Company | None = None) -> None:
    """Build ``_typed`` from ``_stage``: typed columns plus ``_reason`` / ``_message``, and the
    partition of rows from files that span many days (their row date; rows of other partitions
    are left out, counted in ``_outside``)."""
    # Typing may differ by layout (date formats, decimal separators): one CASE per layout.
    def typed(c: Column) -> str:
        if len(layouts) == 1:
            return _typed_sql(c, next(iter(layouts.values())), comp)
        whens = " ".join(f"WHEN _layout = {lit(name)} THEN {_typed_sql(c, lay, comp)}" for name, lay in layouts.items())
        return f"CASE {whens} END"

    typed_cols = ", ".join(f"{typed(c)} AS {q(c.name)}" for c in source.columns.values())
    comp = comp or company()
    checks = _checks(source, comp)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {code}" for cond, code, _ in checks) + " END"
    message = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, _, msg in checks) + " END"
    spanning = [name for name, lay in layouts.items() if lay.spans_days]
    day = _partition_day_sql(source, comp)
    row_day = (f"CASE WHEN r._layout IN ({', '.join(lit(n) for n in spanning)}) THEN {day} END"
               if spanning and day else "CAST(NULL AS DATE)")
    con.execute("DROP TABLE IF EXISTS _typed")
    con.execute(
        f"""CREATE TEMP TABLE _typed AS
        WITH t AS (SELECT rowid AS _rid, {typed_cols} FROM _stage r)
        SELECT t.*, r._source_file, r._source_line, coalesce(r._partition_date, {row_day}) AS _partition_date,
               r._partition_date IS NULL AND {row_day} IS NOT NULL AS _spans, r._delivered_at,
               r._raw AS _raw_row, {reason} AS _reason, {message} AS _message, CAST(NULL AS VARCHAR) AS _blocked_by
        FROM _stage r JOIN t ON t._rid = r.rowid"""
    )
    con.execute("DROP TABLE IF EXISTS _outside")
    con.execute("CREATE TEMP TABLE _outside (_source_file VARCHAR, n BIGINT)")
    if spanning:
        what = source.partition_date_expr or source.partition_date_column
        first = comp.first_day
        # A row of a many-day file is dated by its own date: one with no date, a date before the
        # company's first day or in the future has no partition and stays with its file.
        con.execute(f"""UPDATE _typed SET _reason = coalesce(_reason, 'no_partition_date'),
                _message = coalesce(_message, {lit('the row has no ' + what + ', so it has no partition')})
            WHERE _partition_date IS NULL AND _source_file IN
                  (SELECT _source_file FROM _stage WHERE _layout IN ({', '.join(lit(n) for n in spanning)}))""")
        con.execute(f"""UPDATE _typed SET _reason = 'before_first_day',
                _message = {lit(what + ' ')} || CAST(_partition_date AS VARCHAR) || {lit(' is before the first day ' + first.isoformat() + ' of the data (company.first_day in ' + str(comp.file) + '); set it earlier to load this row')},
                _partition_date = NULL
            WHERE _spans AND _partition_date < DATE {lit(first.isoformat())}""")
        con.execute("UPDATE _typed SET _partition_date = NULL WHERE _spans AND _reason = 'future_date'")
        lo, hi = (lit(d.isoformat()) for d in window)
        out_of_window = f"_spans AND _partition_date IS NOT NULL AND _partition_date NOT BETWEEN DATE {lo} AND DATE {hi}"
        con.execute(f"INSERT INTO _outside SELECT _source_file, count(*) FROM _typed WHERE {out_of_window} GROUP BY 1")
        con.execute(f"DELETE FROM _typed WHERE {out_of_window}")
    # References to master data: the value must exist in any loaded extract of that entity. A
    # master the company does not deliver is inferred from the facts instead (dbt).
    masters = {s.master_entity: s for s in sources.values() if s.master_entity}
    for c in source.columns.values():
        if not c.references or not masters[c.references].delivered:
            continue
        master = masters[c.references]
        key = master.unique_key[0]
        con.execute(
            f"""UPDATE _typed SET _reason = {lit(master.unknown_reason)}, _blocked_by = {q(c.name)},
                   _message = {lit(c.name + ' ')} || {quote_text(q(c.name))} || {lit(' is not in the ' + c.references + ' master data')}
            WHERE _reason IS NULL AND {q(c.name)} IS NOT NULL
              AND {q(c.name)} NOT IN (SELECT {q(key)} FROM {RAW_SCHEMA}.{q(master.table)})"""
        )
    if source.unique_key:
        key = ", ".join(q(k) for k in source.unique_key)
        scope = "_partition_date, " if source.master_entity else ""  # master keys are unique per extract
        con.execute(
            f"""UPDATE _typed SET _reason = 'duplicate_key',
                   _message = 'duplicate of key (' || concat_ws(', ', {key}) || ') already at ' || d.first_at
                              || CASE WHEN d.first_file <> _typed._source_file THEN ' (delivered later, so it wins)' ELSE '' END
            FROM (SELECT _rid, first_value(_source_file || ':' || _source_line) OVER w AS first_at,
                         first_value(_source_file) OVER w AS first_file, row_number() OVER w AS n
                  FROM _typed WHERE _reason IS NULL
                  -- one day's copies in two files: the later delivery wins; within a file, the first line
                  WINDOW w AS (PARTITION BY {scope}{key} ORDER BY _partition_date, _delivered_at DESC NULLS LAST,
                                                                  _source_file, _source_line, _rid)) d
            WHERE _typed._rid = d._rid AND d.n > 1"""
        )
        if not source.master_entity and source.period_days:  # also against rows loaded for other partitions
            con.execute(
                f"""UPDATE _typed SET _reason = 'duplicate_key',
                       _message = 'duplicate of key (' || concat_ws(', ', {', '.join('e.' + q(k) for k in source.unique_key)}) || ') already loaded from ' || e._source_file || ':' || e._source_line
                FROM {RAW_SCHEMA}.{q(source.table)} e
                WHERE _typed._reason IS NULL AND {' AND '.join(f'e.{q(k)} IS NOT DISTINCT FROM _typed.{q(k)}' for k in source.unique_key)}
                  AND e._partition_date NOT BETWEEN DATE {lit(window[0].isoformat())} AND DATE {lit(window[1].isoformat())}"""
            )


def load_window(con: duckdb.DuckDBPyConnection, source_name: str, landing: Path, start: date, end: date,
                tmp_dir: Path, load_id: str | None = None, config_dir: Path | None = None) -> LoadResult:
    """Load every file of ``source_name`` dated in [start, end] into the raw layer.

    Partitions whose files all read cleanly are replaced atomically; a partition with an
    unreadable file keeps its previous rows and is reported in ``LoadResult.errors``. Files whose
    rows span many days are read whole; their rows dated in the window replace those days, and
    their rows without a partition (no date, before the first day, in the future) replace what
    the same file left in quarantine before. A source the company does not deliver loads nothing
    (``LoadResult.delivered`` is False). ``config_dir``: the company's configuration folder
    (default: the current one, ``$DWH_CONFIG``).
    """
    sources = load_sources(config_dir)
    comp = load_company(config_dir) if config_dir else company()
    source = sources[source_name]
    load_id = load_id or uuid.uuid4().hex
    result = LoadResult(source_name, (start, end), load_id)
    ensure_raw_tables(con, sources, comp)
    if not source.delivered:
        result.delivered = False
        return result
    tmp_dir.mkdir(parents=True, exist_ok=True)
    files = find_files(source, landing, start, end, include_refused=True)  # refused ones fail their partition
    create_stage(con, source)
    # every file is read, so one run reports every unreadable file
    read_counts, errors = stage_files(con, files, source, tmp_dir)
    drop_join_tables(con)
    result.errors.extend(sorted(errors, key=lambda e: e.relpath))
    by_path = {lf.relpath: lf for lf in files}
    spanning_files = sorted(lf.relpath for lf in files if lf.layout.spans_days and lf.relpath in read_counts)
    if any(by_path[e.relpath].layout.spans_days for e in errors if e.relpath in by_path):
        # a file whose rows span days failed: no day of the window can be replaced whole
        bad_partitions: set[date | None] = set(_days(start, end)) | {None}
        con.execute("DELETE FROM _stage")
        read_counts.clear()
        spanning_files = []
    else:
        bad_partitions = {by_path[e.relpath].partition_date for e in errors if e.relpath in by_path}
    if bad_partitions and read_counts:
        conds = [f"_partition_date = DATE {lit(d.isoformat())}" for d in bad_partitions if d]
        if None in bad_partitions:
            conds.append("_partition_date IS NULL")
        con.execute(f"DELETE FROM _stage WHERE {' OR '.join(conds)}")
        for lf in files:
            if lf.partition_date in bad_partitions and not lf.layout.spans_days:
                read_counts.pop(lf.relpath, None)
    layouts = {l.name: l for l in source.layouts}
    _classify(con, source, layouts, (start, end), sources, comp)
    refused = _refuse_files(con, source, by_path, read_counts, result)
    for relpath in refused:
        lf = by_path[relpath]
        if lf.layout.spans_days:  # its rows may be in any day of the window: keep them all
            bad_partitions |= set(_days(start, end)) | {None}
            spanning_files = []
        else:
            bad_partitions.add(lf.partition_date)
    con.execute("DROP TABLE IF EXISTS _refused")
    con.execute("CREATE TEMP TABLE _refused AS SELECT * FROM _typed WHERE _source_file IN (SELECT unnest(?::VARCHAR[]))",
                [refused])
    if bad_partitions:  # rows of partitions that are kept as they were (a file error or a refused file)
        conds = [f"_partition_date = DATE {lit(d.isoformat())}" for d in bad_partitions if d]
        if None in bad_partitions:
            conds.append("_partition_date IS NULL")
        con.execute(f"DELETE FROM _typed WHERE {' OR '.join(conds)}")
    unseen = unseen_files(sources, source, landing, comp.ignore)
    result.unseen = unseen
    now = datetime.now(timezone.utc)
    cols = ", ".join(q(c) for c in source.columns)
    if source.period_days:
        good_days = [d for d in _days(start, end) if d not in bad_partitions]
        scopes = [f"_partition_date BETWEEN DATE {lit(lo.isoformat())} AND DATE {lit(hi.isoformat())}"
                  for lo, hi in date_ranges(good_days)]
        if spanning_files:  # what these files left without a partition last time
            scopes.append(f"_partition_date IS NULL AND _source_file IN ({', '.join(lit(f) for f in spanning_files)})")
    else:  # an unpartitioned source is replaced whole, unless its file could not be read
        scopes = [] if bad_partitions else ["true"]
    stamp = f"{lit(load_id)}, TIMESTAMPTZ {lit(now.isoformat())}"
    src = lit(source_name)
    con.execute("BEGIN")
    try:
        con.execute("DROP TABLE IF EXISTS _was_blocked")
        con.execute(f"CREATE TEMP TABLE _was_blocked AS SELECT * FROM {RAW_SCHEMA}.quarantine WHERE false")
        for scope in scopes:
            # rows that waited for master data and were released by this load stay on record
            con.execute(f"""INSERT INTO _was_blocked SELECT * FROM {RAW_SCHEMA}.quarantine
                            WHERE source = {src} AND {scope} AND blocked_by IS NOT NULL AND released_at IS NULL""")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.{q(source.table)} WHERE {scope}")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.quarantine WHERE source = {src} AND {scope} AND released_at IS NULL")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.load_log WHERE source = {src} AND {scope}")
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.{q(source.table)}
            SELECT {cols}, _source_file, _source_line, _partition_date, {stamp}
            FROM _typed WHERE _reason IS NULL ORDER BY _partition_date, _source_file, _source_line"""
        )
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.quarantine ({QUARANTINE_COLUMNS})
            SELECT {src}, _source_file, _source_line, _partition_date, _reason, _message, _raw_row, {stamp},
                   _blocked_by, NULL, NULL
            FROM _typed WHERE _reason IS NOT NULL ORDER BY _partition_date, _source_file, _source_line"""
        )
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.quarantine ({QUARANTINE_COLUMNS})
            SELECT w.source, w._source_file, w._source_line, w._partition_date, w.reason_code, w.message, w.raw_row,
                   w._load_id, w._loaded_at, w.blocked_by, TIMESTAMPTZ {lit(now.isoformat())}, {lit(load_id)}
            FROM _was_blocked w
            WHERE EXISTS (SELECT 1 FROM _typed t WHERE t._reason IS NULL AND t._source_file = w._source_file
                                                   AND t._source_line = w._source_line)"""
        )
        result.released = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.quarantine WHERE released_by_load = ?",
                                       [load_id]).fetchall()[0][0]
        # a refused file: its rows recorded in quarantine (replacing what an earlier refusal of the
        # same file recorded), its day kept as it was
        for relpath in refused:
            lf = by_path[relpath]
            before = f"""source = {src} AND _source_file = {lit(relpath)} AND _load_id IN (
                SELECT _load_id FROM {RAW_SCHEMA}.load_log WHERE source = {src} AND _source_file = {lit(relpath)}
                AND status = 'refused')"""
            con.execute(f"DELETE FROM {RAW_SCHEMA}.quarantine WHERE {before}")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.load_log WHERE source = {src} AND _source_file = {lit(relpath)} "
                        f"AND status = 'refused'")
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.quarantine ({QUARANTINE_COLUMNS})
            SELECT {src}, _source_file, _source_line, _partition_date, coalesce(_reason, 'file_refused'),
                   coalesce(_message, 'the row reads, but its file was refused: ' ||
                            (SELECT any_value(problem) FROM _refusals r WHERE r.relpath = _refused._source_file)),
                   _raw_row, {stamp}, _blocked_by, NULL, NULL
            FROM _refused ORDER BY _partition_date, _source_file, _source_line"""
        )
        per_part = con.execute(
            """SELECT _source_file, _partition_date, count(*) FILTER (WHERE _reason IS NULL),
                      count(*) FILTER (WHERE _reason IS NOT NULL)
               FROM (SELECT _source_file, _partition_date, _reason FROM _typed
                     UNION ALL SELECT _source_file, _partition_date, 'file_refused' FROM _refused)
               GROUP BY _source_file, _partition_date ORDER BY 1, 2 NULLS LAST"""
        ).fetchall()
        outside = dict(con.execute("SELECT _source_file, sum(n) FROM _outside GROUP BY 1").fetchall())
        parts: dict[str, list[tuple]] = defaultdict(list)
        for f, d, ok, bad in per_part:
            parts[f].append((d, ok, bad))
        problems = {r: p for r, p in con.execute("SELECT relpath, problem FROM _refusals").fetchall()}
        for lf in files:
            if lf.relpath not in read_counts:
                continue
            rows = parts.get(lf.relpath) or ([] if lf.layout.spans_days else [(lf.partition_date, 0, 0)])
            got = sum(ok + bad for _, ok, bad in rows) + int(outside.get(lf.relpath, 0))
            if lf.partition_date in bad_partitions and lf.relpath not in refused and not lf.layout.spans_days:
                continue  # its day is kept as it was (another file of the day failed): nothing of it was loaded
            if read_counts[lf.relpath] != got:  # conservation: every row read is loaded or quarantined
                raise AssertionError(f"{lf.relpath}: {read_counts[lf.relpath]} rows read but {got} loaded, "
                                     f"quarantined or dated outside the window")
            notes = HEADER_NOTES.get(lf.relpath, {})
            for d, ok, bad in rows:
                result.files.append({"file": lf.relpath, "partition_date": d.isoformat() if d else None,
                                     "layout": lf.layout.name, "rows_read": ok + bad, "rows_loaded": ok,
                                     "rows_quarantined": bad,
                                     "status": "refused" if lf.relpath in refused else "loaded",
                                     "message": problems.get(lf.relpath),
                                     "ignored_headers": notes.get("ignored") or [],
                                     "missing_columns": notes.get("missing") or []})
        con.execute(f"DELETE FROM {RAW_SCHEMA}.load_log WHERE source = {src} AND status IN ('unmatched_file', 'bad_file_date')")
        log_rows = [*result.files, *({"file": u.relpath, "partition_date": None, "layout": None, "rows_read": 0,
                                      "rows_loaded": 0, "rows_quarantined": 0, "status": u.code, "message": u.message,
                                      "ignored_headers": [], "missing_columns": []} for u in unseen)]
        if log_rows:  # one statement for every file's log row
            import json

            import pyarrow as pa

            log = pa.table({"file": [r["file"] for r in log_rows],
                            "day": pa.array([r["partition_date"] for r in log_rows], pa.string()),
                            "layout": pa.array([r["layout"] for r in log_rows], pa.string()),
                            "rows_read": pa.array([r["rows_read"] for r in log_rows], pa.int64()),
                            "rows_loaded": pa.array([r["rows_loaded"] for r in log_rows], pa.int64()),
                            "rows_quarantined": pa.array([r["rows_quarantined"] for r in log_rows], pa.int64()),
                            "status": [r["status"] for r in log_rows],
                            "message": pa.array([r["message"] for r in log_rows], pa.string()),
                            "ignored": [json.dumps(r["ignored_headers"], ensure_ascii=False) for r in log_rows],
                            "missing": [json.dumps(r["missing_columns"], ensure_ascii=False) for r in log_rows]})
            con.register("_load_log_rows", log)
            con.execute(f"""INSERT INTO {RAW_SCHEMA}.load_log ({LOAD_LOG_COLUMNS})
                SELECT {src}, file, CAST(day AS DATE), layout, rows_read, rows_loaded, rows_quarantined, {stamp},
                       status, message, ignored, missing
                FROM _load_log_rows""")
            con.unregister("_load_log_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for reason, n in con.execute("SELECT _reason, count(*) FROM _typed WHERE _reason IS NOT NULL GROUP BY 1").fetchall():
        result.quarantined_by_reason[reason] = n
    if source.master_entity:
        result.releasable = releasable_partitions(con, source, sources)
    for table in ("_typed", "_stage", "_outside", "_refused", "_refusals", "_was_blocked"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _refuse_files(con: duckdb.DuckDBPyConnection, source: Source, by_path: dict[str, LandingFile],
                  read_counts: dict[str, int], result: LoadResult) -> list[str]:
    """Files that are mostly not what they claim: rows read but none can be parsed, or a share of
    rows that cannot be parsed above ``max_unparseable_share`` (sources.yml). Rows quarantined
    for what other data says (a duplicate of another file's row, a code missing from the master
    data) were read fine and do not count. Each becomes a file
    error; its day keeps its last good rows (an HTML error page saved as a day's visits file
    must not empty the day). Fills ``_refusals`` (relpath, problem)."""
    limit = source.max_unparseable_share
    other_data = ", ".join(lit(r) for r in OTHER_DATA_REASONS)
    stats = con.execute(f"""SELECT _source_file, count(*), count(*) FILTER (WHERE _reason IS NULL),
                                   count(*) FILTER (WHERE _reason IS NOT NULL AND _reason NOT IN ({other_data})),
                                   string_agg(DISTINCT _reason, ', ' ORDER BY _reason) FILTER (WHERE _reason IS NOT NULL)
                            FROM _typed GROUP BY 1 ORDER BY 1""").fetchall()
    out: list[tuple[str, str, str]] = []
    for relpath, rows, good, bad, reasons in stats:
        if relpath not in read_counts or rows == 0:
            continue
        if bad == rows:
            out.append((relpath, "no_good_rows",
                        f"none of its {rows} rows can be read as layout {by_path[relpath].layout.name} describes "
                        f"({reasons}): not what its name claims; the file is refused and its day keeps its last "
                        f"good rows"))
        elif bad / rows > limit:
            out.append((relpath, "mostly_unparseable",
                        f"{bad} of its {rows} rows cannot be read as layout {by_path[relpath].layout.name} describes "
                        f"({reasons}), over the limit max_unparseable_share = {limit} of source {source.name} in "
                        f"sources.yml; the file is refused and its day keeps its last good rows"))
    con.execute("DROP TABLE IF EXISTS _refusals")
    con.execute("CREATE TEMP TABLE _refusals (relpath VARCHAR, problem VARCHAR)")
    if out:
        con.executemany("INSERT INTO _refusals VALUES (?, ?)", [(r, p) for r, _, p in out])
    for relpath, code, problem in out:
        result.errors.append(FileError(relpath, code, problem))
    result.errors.sort(key=lambda e: e.relpath)
    return [r for r, _, _ in out]


def releasable_partitions(con: duckdb.DuckDBPyConnection, master: Source,
                          sources: dict[str, Source]) -> dict[str, list[date]]:
    """Partitions of other sources holding rows quarantined for a code of this master entity
    that its extracts now hold: re-running them loads those rows (and marks them released)."""
    key = master.unique_key[0]
    rows = con.execute(f"""SELECT source, list(DISTINCT _partition_date ORDER BY _partition_date)
        FROM {RAW_SCHEMA}.quarantine
        WHERE reason_code = ? AND released_at IS NULL AND blocked_by IS NOT NULL
          AND blocked_by IN (SELECT {q(key)} FROM {RAW_SCHEMA}.{q(master.table)})
        GROUP BY 1 ORDER BY 1""", [master.unknown_reason]).fetchall()
    return {s: [d for d in days if d] for s, days in rows if s in sources}


def _days(start: date, end: date) -> list[date]:
    from datetime import timedelta

    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def row_date_range(files: list[LandingFile], tmp_dir: Path) -> tuple[date, date] | None:
    """First and last row date of files whose rows span many days (their partition dates), read
    with the same readers and typing as a load, in a private in-memory database. Unreadable
    files are skipped (the load reports them)."""
    if not files:
        return None
    sources = load_sources()
    source = sources[files[0].source]
    day = _partition_day_sql(source)
    if not day:
        return None
    con = duckdb.connect()
    try:
        create_stage(con, source)
        stage_files(con, files, source, tmp_dir)
        drop_join_tables(con)
        layouts = {l.name: l for l in source.layouts}

        def typed(c: Column) -> str:
            whens = " ".join(f"WHEN _layout = {lit(n)} THEN {_typed_sql(c, l)}" for n, l in layouts.items())
            return f"CASE {whens} END"

        cols = ", ".join(f"{typed(c)} AS {q(c.name)}" for c in source.columns.values())
        lo, hi = con.execute(f"WITH t AS (SELECT {cols} FROM _stage r) SELECT min({day}), max({day}) FROM t").fetchall()[0]
    finally:
        con.close()
    return (lo, hi) if lo else None
