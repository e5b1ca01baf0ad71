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

from pipelines.ingest.config import Column, LandingFile, Layout, Source, date_ranges, find_files, load_sources
from pipelines.ingest.readers import FileError, create_stage, lit, q, stage_files

RAW_SCHEMA = "raw"
SQL_TYPES = {"text": "VARCHAR", "enum": "VARCHAR", "integer": "BIGINT", "decimal": "DECIMAL(18,4)",
             "date": "DATE", "timestamp": "TIMESTAMPTZ"}
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

    @property
    def rows_read(self) -> int:
        return sum(f["rows_read"] for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f["rows_loaded"] for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f["rows_quarantined"] for f in self.files)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, sources: dict[str, Source] | None = None) -> None:
    sources = sources or load_sources()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for s in sources.values():
        cols = ", ".join(f"{q(c.name)} {SQL_TYPES[c.type]}" for c in s.columns.values())
        lineage = ", ".join(f"{n} {t}" for n, t in LINEAGE)
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{q(s.table)} ({cols}, {lineage})")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.quarantine (
        source VARCHAR, _source_file VARCHAR, _source_line BIGINT, _partition_date DATE,
        reason_code VARCHAR, message VARCHAR, raw_row VARCHAR, _load_id VARCHAR, _loaded_at TIMESTAMPTZ)""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.load_log (
        source VARCHAR, _source_file VARCHAR, _partition_date DATE, layout VARCHAR, rows_read BIGINT,
        rows_loaded BIGINT, rows_quarantined BIGINT, _load_id VARCHAR, _loaded_at TIMESTAMPTZ)""")


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


def _typed_sql(col: Column, layout: Layout) -> str:
    raw = q(col.name)
    blank = f"nullif(trim({raw}), '')"
    if col.type == "text":
        return blank
    if col.type == "integer":
        return f"TRY_CAST({_number_sql(blank, layout)} AS BIGINT)"
    if col.type == "decimal":
        return f"TRY_CAST({_number_sql(blank, layout)} AS DECIMAL(18,4))"
    if col.type == "date":
        digits = f"translate({blank}, {lit(_FULLWIDTH[0])}, {lit(_FULLWIDTH[1])})"
        fmts = "[" + ", ".join(lit(f) for f in layout.date_formats) + "]"
        return f"CAST(try_strptime({digits}, {fmts}) AS DATE)"
    if col.type == "timestamp":
        with_tz = [f for f in layout.timestamp_formats if "%z" in f]
        naive = [f for f in layout.timestamp_formats if "%z" not in f]
        parts = []
        if with_tz:
            parts.append(f"try_strptime({blank}, [{', '.join(lit(f) for f in with_tz)}])")
        if naive:  # naive timestamps are China Standard Time
            parts.append(f"timezone('Asia/Shanghai', try_strptime({blank}, [{', '.join(lit(f) for f in naive)}]))")
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


def _partition_day_sql(source: Source) -> str | None:
    """SQL (over ``t.`` typed columns) for the date a row belongs to, or None."""
    if source.partition_date_expr:
        expr = source.partition_date_expr
        for c in source.columns:
            expr = _qualify(expr, c)
        return f"CAST({expr} AS DATE)"
    pdc = source.partition_date_column
    if not pdc:
        return None
    if source.columns[pdc].type == "timestamp":  # the day in China Standard Time
        return f"CAST(timezone('Asia/Shanghai', t.{q(pdc)}) AS DATE)"
    return f"t.{q(pdc)}"


def _checks(source: Source) -> list[tuple[str, str, str]]:
    """(condition, reason SQL, message SQL) in precedence order; the first match wins."""
    out: list[tuple[str, str, str]] = [("r._parse_reason IS NOT NULL", "r._parse_reason", "r._parse_message")]
    for c in source.columns.values():
        if c.required:
            out.append((f"nullif(trim(r.{q(c.name)}), '') IS NULL", lit(c.missing_reason),
                        lit(f"required column {c.name} is empty")))
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
    day = _partition_day_sql(source)
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
              window: tuple[date, date], sources: dict[str, Source]) -> None:
    """Build ``_typed`` from ``_stage``: typed columns plus ``_reason`` / ``_message``."""
    # Typing may differ by layout (date formats, decimal separators): one CASE per layout.
    def typed(c: Column) -> str:
        if len(layouts) == 1:
            return _typed_sql(c, next(iter(layouts.values())))
        whens = " ".join(f"WHEN _layout = {lit(name)} THEN {_typed_sql(c, lay)}" for name, lay in layouts.items())
        return f"CASE {whens} END"

    typed_cols = ", ".join(f"{typed(c)} AS {q(c.name)}" for c in source.columns.values())
    checks = _checks(source)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {code}" for cond, code, _ in checks) + " END"
    message = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, _, msg in checks) + " END"
    raw_json = "to_json(struct_pack(" + ", ".join(f"{q(c)} := r.{q(c)}" for c in source.columns) + "))"
    con.execute("DROP TABLE IF EXISTS _typed")
    con.execute(
        f"""CREATE TEMP TABLE _typed AS
        WITH t AS (SELECT {typed_cols}, _source_file, _source_line FROM _stage r)
        SELECT t.*, r._partition_date, {raw_json} AS _raw_row, {reason} AS _reason, {message} AS _message
        FROM _stage r JOIN t USING (_source_file, _source_line)"""
    )
    # References to master data: the value must exist in any loaded extract of that entity.
    masters = {s.master_entity: s for s in sources.values() if s.master_entity}
    for c in source.columns.values():
        if not c.references:
            continue
        master = masters[c.references]
        key = master.unique_key[0]
        con.execute(
            f"""UPDATE _typed SET _reason = {lit(master.unknown_reason)},
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
            FROM (SELECT _source_file AS f, _source_line AS l,
                         first_value(_source_file || ':' || _source_line) OVER w AS first_at,
                         row_number() OVER w AS n
                  FROM _typed WHERE _reason IS NULL
                  WINDOW w AS (PARTITION BY {scope}{key} ORDER BY _partition_date, _source_file, _source_line)) d
            WHERE _typed._source_file = d.f AND _typed._source_line = d.l AND d.n > 1"""
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
                tmp_dir: Path, load_id: str | None = None) -> LoadResult:
    """Load every file of ``source_name`` dated in [start, end] into the raw layer.

    Partitions whose files all read cleanly are replaced atomically; a partition with an
    unreadable file keeps its previous rows and is reported in ``LoadResult.errors``.
    """
    sources = load_sources()
    source = sources[source_name]
    load_id = load_id or uuid.uuid4().hex
    result = LoadResult(source_name, (start, end), load_id)
    ensure_raw_tables(con, sources)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    files = find_files(source, landing, start, end, include_refused=True)  # refused ones fail their partition
    create_stage(con, source)
    # every file is read, so one run reports every unreadable file
    read_counts, errors = stage_files(con, files, source, tmp_dir)
    result.errors.extend(sorted(errors, key=lambda e: e.relpath))
    by_path = {lf.relpath: lf for lf in files}
    bad_partitions: set[date] = {by_path[e.relpath].partition_date for e in errors}
    if bad_partitions:
        conds = [f"_partition_date = DATE {lit(d.isoformat())}" for d in bad_partitions if d]
        if None in bad_partitions:
            conds.append("_partition_date IS NULL")
        con.execute(f"DELETE FROM _stage WHERE {' OR '.join(conds)}")
        for lf in files:
            if lf.partition_date in bad_partitions:
                read_counts.pop(lf.relpath, None)
    layouts = {l.name: l for l in source.layouts}
    _classify(con, source, layouts, (start, end), sources)
    now = datetime.now(timezone.utc)
    cols = ", ".join(q(c) for c in source.columns)
    if source.period_days:
        good_days = [d for d in _days(start, end) if d not in bad_partitions]
        scopes = [f"_partition_date BETWEEN DATE {lit(lo.isoformat())} AND DATE {lit(hi.isoformat())}"
                  for lo, hi in date_ranges(good_days)]
    else:  # an unpartitioned source is replaced whole, unless its file could not be read
        scopes = [] if bad_partitions else ["true"]
    con.execute("BEGIN")
    try:
        for scope in scopes:
            con.execute(f"DELETE FROM {RAW_SCHEMA}.{q(source.table)} WHERE {scope}")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.quarantine WHERE source = {lit(source_name)} AND {scope}")
            con.execute(f"DELETE FROM {RAW_SCHEMA}.load_log WHERE source = {lit(source_name)} AND {scope}")
        stamp = f"{lit(load_id)}, TIMESTAMPTZ {lit(now.isoformat())}"
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.{q(source.table)}
            SELECT {cols}, _source_file, _source_line, _partition_date, {stamp}
            FROM _typed WHERE _reason IS NULL ORDER BY _partition_date, _source_file, _source_line"""
        )
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.quarantine
            SELECT {lit(source_name)}, _source_file, _source_line, _partition_date, _reason, _message, _raw_row, {stamp}
            FROM _typed WHERE _reason IS NOT NULL ORDER BY _partition_date, _source_file, _source_line"""
        )
        per_file = con.execute(
            """SELECT _source_file, any_value(_partition_date), count(*) FILTER (WHERE _reason IS NULL),
                      count(*) FILTER (WHERE _reason IS NOT NULL)
               FROM _typed GROUP BY _source_file"""
        ).fetchall()
        counts = {f: (d, ok, bad) for f, d, ok, bad in per_file}
        for lf in files:
            if lf.relpath not in read_counts:
                continue
            _, ok, bad = counts.get(lf.relpath, (lf.partition_date, 0, 0))
            rec = {"file": lf.relpath, "partition_date": lf.partition_date.isoformat() if lf.partition_date else None,
                   "layout": lf.layout.name,
                   "rows_read": read_counts[lf.relpath], "rows_loaded": ok, "rows_quarantined": bad}
            if rec["rows_read"] != ok + bad:  # conservation: every row read is loaded or quarantined
                raise AssertionError(f"{lf.relpath}: {rec['rows_read']} rows read but {ok} loaded + {bad} quarantined")
            result.files.append(rec)
        if result.files:  # one statement for every file's log row
            import pyarrow as pa

            log = pa.table({"file": [r["file"] for r in result.files],
                            "day": pa.array([r["partition_date"] for r in result.files], pa.string()),
                            "layout": [r["layout"] for r in result.files],
                            "rows_read": pa.array([r["rows_read"] for r in result.files], pa.int64()),
                            "rows_loaded": pa.array([r["rows_loaded"] for r in result.files], pa.int64()),
                            "rows_quarantined": pa.array([r["rows_quarantined"] for r in result.files], pa.int64())})
            con.register("_load_log_rows", log)
            con.execute(f"""INSERT INTO {RAW_SCHEMA}.load_log
                SELECT {lit(source_name)}, file, CAST(day AS DATE), layout, rows_read, rows_loaded, rows_quarantined, {stamp}
                FROM _load_log_rows""")
            con.unregister("_load_log_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for reason, n in con.execute("SELECT _reason, count(*) FROM _typed WHERE _reason IS NOT NULL GROUP BY 1").fetchall():
        result.quarantined_by_reason[reason] = n
    con.execute("DROP TABLE IF EXISTS _typed")
    con.execute("DROP TABLE IF EXISTS _stage")
    return result


def _days(start: date, end: date) -> list[date]:
    from datetime import timedelta

    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
