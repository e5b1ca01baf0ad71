"""File readers: turn one landing file into staged text rows in DuckDB, or a clear file error.

Every reader appends to the temp table ``_stage`` (all canonical columns as VARCHAR, plus
``_source_file``, ``_source_line`` and ``_partition_date``) through DuckDB's own readers
(``read_csv`` with explicit column types, ``read_parquet``). Typing and row rules happen later,
in SQL (``load.py``), so a bad value quarantines its row instead of failing the file. GBK is
decoded to a UTF-8 temp file by streaming, since DuckDB's ``encodings`` extension is not
available offline. ``_source_line`` is the physical line in the file (blank lines and line
breaks inside quoted CSV fields counted), the sheet row for Excel, the row number for Parquet.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.ingest.config import LandingFile, Source, normalise_header

CHUNK = 1 << 20


class FileError(Exception):
    """A landing file that cannot be read at all. Names the file, the line and the problem."""

    def __init__(self, relpath: str, code: str, problem: str, line: int | None = None):
        self.relpath, self.code, self.problem, self.line = relpath, code, problem, line
        where = f"{relpath}, line {line}" if line else relpath
        super().__init__(f"{where}: {problem} [{code}]")


def q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_GLOB_CHARS = re.compile(r"[*?\[\]{}]")


def duck_path(path: Path, tmp_dir: Path) -> str:
    """The path to hand to a DuckDB reader. DuckDB expands glob characters (``* ? [ ] { }``) in
    file names, so a name holding one is read through a plainly named symlink in ``tmp_dir``
    (quotes, spaces and non-ASCII names need nothing: ``lit`` quotes the SQL literal)."""
    text = str(path)
    if not _GLOB_CHARS.search(text):
        return text
    tmp_dir.mkdir(parents=True, exist_ok=True)
    alias = tmp_dir / ("alias_" + hashlib.sha1(text.encode()).hexdigest()[:16] + "".join(path.suffixes[-1:]))
    if alias.is_symlink() or alias.exists():
        alias.unlink()
    os.symlink(path, alias)
    return str(alias)


def create_stage(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    cols = ", ".join(f"{q(c)} VARCHAR" for c in source.columns)
    con.execute("DROP TABLE IF EXISTS _stage")
    con.execute(
        f"CREATE TEMP TABLE _stage ({cols}, _source_file VARCHAR, _source_line BIGINT, _partition_date DATE, "
        f"_layout VARCHAR, _parse_reason VARCHAR, _parse_message VARCHAR)"
    )


def _decode_to_utf8(lf: LandingFile, tmp_dir: Path) -> Path:
    """Stream-decode a non-UTF-8 file into a UTF-8 temp file; error names the line."""
    out = tmp_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", lf.relpath) + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(lf.layout.encoding)(errors="strict")
    lines_done = 0
    with open(lf.path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = lines_done + chunk[: exc.start].count(b"\n") + 1
                raise FileError(
                    lf.relpath, "undeclared_encoding",
                    f"bytes {chunk[exc.start:exc.start + 4]!r} are not valid {lf.layout.encoding} "
                    f"(the layout {lf.layout.name} declares {lf.layout.encoding})", line,
                ) from None
            dst.write(text)
            lines_done += chunk.count(b"\n")
            if not chunk:
                break
    return out


def _header_map(lf: LandingFile, source: Source, headers: list[str]) -> dict[int, str]:
    """File column position -> canonical column; error if the header is not recognisable."""
    lookup = lf.layout.header_lookup()
    mapping: dict[int, str] = {}
    for i, h in enumerate(headers):
        canonical = lookup.get(normalise_header(h))
        if canonical and canonical in mapping.values():
            first = _index_of(mapping, canonical)
            raise FileError(
                lf.relpath, "ambiguous_header",
                f"columns {first + 1} ({headers[first]!r}) and {i + 1} ({h!r}) both map to {canonical} "
                f"in layout {lf.layout.name}; keep one of them", 1,
            )
        if canonical:
            mapping[i] = canonical
    missing = [c for c in source.required_columns if c not in mapping.values() and c not in lf.layout.path_fields]
    if missing:
        raise FileError(
            lf.relpath, "no_header",
            f"no recognisable header for layout {lf.layout.name}: required columns {missing} not found "
            f"among {headers[:20]}", 1,
        )
    return mapping


_DUCK_LINE = re.compile(r"Line: (\d+)")


def _duck_error(lf: LandingFile, exc: Exception, line_offset: int = 0) -> FileError:
    msg = str(exc)
    m = _DUCK_LINE.search(msg)
    line = int(m.group(1)) + line_offset if m else None
    body = [l for l in msg.splitlines()[1:]
            if l.strip() and not l.startswith(("Original Line", "LINE ")) and set(l.strip()) != {"^"}]
    first = body[0] if body else msg.splitlines()[0]
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first.strip())
    first = re.sub(r"'/[^']*'", lit(lf.relpath), first)  # name the landing file, not an absolute or temp path
    if "unicode" in msg.lower() or "utf-8" in msg.lower():
        return FileError(lf.relpath, "undeclared_encoding",
                         f"not valid {lf.layout.encoding} (declared by layout {lf.layout.name})", line)
    if "Expected Number of Columns" in msg or "number of columns" in msg.lower():
        return FileError(lf.relpath, "bad_row_shape", first.strip(), line)
    if "magic bytes" in msg.lower():
        return FileError(lf.relpath, "unreadable", "not a readable Parquet file: no Parquet footer at the end "
                                                   "(the file is cut short, or is not Parquet)")
    if "unterminated quote" in msg.lower():
        return FileError(lf.relpath, "unterminated_quote",
                         "a quoted value is not closed before the end of the file (file cut short?)", line)
    return FileError(lf.relpath, "unreadable", first.strip()[:300], line)


def _csv_headers(lf: LandingFile, path: Path) -> list[str]:
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        header_line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(lf.relpath, "undeclared_encoding",
                        f"header is not valid {lf.layout.encoding} (declared by layout {lf.layout.name})", 1) from None
    return next(csv.reader(io.StringIO(header_line)), [])


def _is_utf8(lf: LandingFile) -> bool:
    return lf.layout.encoding.lower().replace("_", "-") in {"utf-8", "utf8"}


def stage_csv(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    path = lf.path
    if not _is_utf8(lf):
        path = _decode_to_utf8(lf, tmp_dir)
    headers = _csv_headers(lf, path)
    mapping = _header_map(lf, source, headers)
    cols = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(headers))) + "}"
    select = _select_list(lf, source, mapping, lambda i: q(f"c{i}"))
    before = con.execute("SELECT count(*) FROM _stage").fetchall()[0][0]
    read_path = duck_path(path, tmp_dir)
    try:
        con.execute(
            f"""INSERT INTO _stage
            SELECT {select}, {_tail(lf, "ordinality + 1")}
            FROM read_csv({lit(read_path)}, header=false, skip=1, delim=',', quote='"', escape='"',
                          columns={cols}, strict_mode=true, null_padding=false, auto_detect=false,
                          encoding='utf-8') WITH ORDINALITY"""
        )
    except duckdb.Error as exc:
        raise _duck_error(lf, exc) from None
    n = con.execute("SELECT count(*) FROM _stage").fetchall()[0][0] - before
    if n and _physical_lines(path) != n + 1:  # blank lines or quoted line breaks: record number != line
        _renumber_csv_lines(con, lf, read_path)
    return n


def _physical_lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts), by counting newline bytes."""
    lines, last = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (1 if last not in (b"", b"\n") else 0)


def _renumber_csv_lines(con: duckdb.DuckDBPyConnection, lf: LandingFile, read_path: str) -> None:
    """Set ``_source_line`` of the file's staged records to their physical first line.

    DuckDB numbers records, skipping blank lines, and a quoted value may span lines. The file is
    read again as plain lines: a line starts a record when it is not blank and the quote
    characters before it are balanced (doubled quotes inside values keep the balance)."""
    con.execute(
        f"""UPDATE _stage SET _source_line = s.line_no
        FROM (SELECT n AS line_no, row_number() OVER (ORDER BY n) + 1 AS record_line
              FROM (SELECT n, line, coalesce(sum(length(line) - length(replace(line, '"', ''))) OVER
                                        (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS quotes_before
                    FROM (SELECT line, ordinality AS n
                          FROM read_csv({lit(read_path)}, header=false, columns={{'line': 'VARCHAR'}}, delim='\x1f',
                                        quote='', escape='', auto_detect=false, strict_mode=false,
                                        encoding='utf-8') WITH ORDINALITY))
              WHERE n > 1 AND line IS NOT NULL AND trim(line, chr(13)) <> '' AND quotes_before % 2 = 0) s
        WHERE _stage._source_file = {lit(lf.relpath)} AND _stage._source_line = s.record_line"""
    )


def stage_parquet(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    read_path = duck_path(lf.path, tmp_dir)
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(read_path)})").fetchall()]
    except duckdb.Error as exc:
        raise _duck_error(lf, exc) from None
    mapping = _header_map(lf, source, names)
    select = _select_list(lf, source, mapping, lambda i: f"CAST({q(names[i])} AS VARCHAR)")
    before = con.execute("SELECT count(*) FROM _stage").fetchall()[0][0]
    try:
        con.execute(
            f"""INSERT INTO _stage
            SELECT {select}, {_tail(lf, "file_row_number + 1")}
            FROM read_parquet({lit(read_path)}, file_row_number=true)"""
        )
    except duckdb.Error as exc:
        raise _duck_error(lf, exc) from None
    return con.execute("SELECT count(*) FROM _stage").fetchall()[0][0] - before


def _index_of(mapping: dict[int, str], canonical: str) -> int | None:
    for i, c in mapping.items():
        if c == canonical:
            return i
    return None


def _select_list(lf: LandingFile, source: Source, mapping: dict[int, str], expr) -> str:
    """Canonical columns in order: a path field's value, the mapped file column (``expr(i)``), or NULL."""
    out = []
    for c in source.columns:
        if c in lf.layout.path_fields:
            v = lf.path_values.get(c)
            out.append(f"{lit(v) if v is not None else 'NULL'} AS {q(c)}")
        elif (i := _index_of(mapping, c)) is not None:
            out.append(f"{expr(i)} AS {q(c)}")
        else:
            out.append(f"NULL AS {q(c)}")
    return ", ".join(out)


def _tail(lf: LandingFile, line_expr: str, parse_reason: str = "NULL", parse_message: str = "NULL") -> str:
    """Lineage and parse columns appended to every staged row."""
    day = f"DATE {lit(lf.partition_date.isoformat())}" if lf.partition_date else "CAST(NULL AS DATE)"
    return f"{lit(lf.relpath)}, {line_expr}, {day}, {lit(lf.layout.name)}, {parse_reason}, {parse_message}"


def _cell_text(v) -> str | None:
    """An Excel cell as the text a CSV export would hold (1300.0 -> '1300', dates ISO)."""
    if v is None or v == "":
        return None
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return str(v)


def stage_xlsx(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    """First sheet of a workbook via python-calamine; header on the first non-empty row."""
    return _insert_xlsx(con, source, [_xlsx_columns(lf, source)])[lf.relpath]


def _xlsx_columns(lf: LandingFile, source: Source) -> tuple[str, dict[str, list]]:
    """A workbook's first sheet as canonical text columns plus lineage (blank rows dropped);
    raises FileError. Pure Python (no statement), so many workbooks go into one INSERT."""
    from python_calamine import CalamineWorkbook

    try:
        rows = CalamineWorkbook.from_path(str(lf.path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken zips / XML
        raise FileError(lf.relpath, "truncated_xlsx" if "zip" in str(exc).lower() or "eof" in str(exc).lower()
                        else "unreadable", f"not a readable .xlsx workbook ({type(exc).__name__}: {str(exc)[:200]})") from None
    header_at = next((i for i, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
    if header_at is None:
        raise FileError(lf.relpath, "empty_file", "the workbook's first sheet has no rows")
    headers = [_cell_text(c) or "" for c in rows[header_at]]
    mapping = _header_map(lf, source, headers)
    cells = {i: [(_cell_text(r[i]) if i < len(r) else None) for r in rows[header_at + 1:]] for i in mapping}
    keep = [k for k in range(len(rows) - header_at - 1) if any(cells[i][k] is not None for i in mapping)]
    n = len(keep)
    out: dict[str, list] = {}
    for c in source.columns:
        if c in lf.layout.path_fields:
            out[c] = [lf.path_values.get(c)] * n
        elif (i := _index_of(mapping, c)) is not None:
            out[c] = [cells[i][k] for k in keep]
        else:
            out[c] = [None] * n
    out["_source_file"] = [lf.relpath] * n
    out["_source_line"] = [header_at + 2 + k for k in keep]
    out["_partition_date"] = [lf.partition_date] * n
    out["_layout"] = [lf.layout.name] * n
    return lf.relpath, out


def _insert_xlsx(con: duckdb.DuckDBPyConnection, source: Source, sheets: list[tuple[str, dict[str, list]]]) -> dict[str, int]:
    """Append parsed workbooks to ``_stage`` in one statement; rows per file."""
    import pyarrow as pa

    text = pa.string()
    types = {**{c: text for c in source.columns}, "_source_file": text, "_source_line": pa.int64(),
             "_partition_date": pa.date32(), "_layout": text}
    table = pa.table({name: pa.array([v for _, cols in sheets for v in cols[name]], type=t) for name, t in types.items()})
    con.register("_xlsx_rows", table)
    try:
        con.execute(f"INSERT INTO _stage SELECT *, NULL, NULL FROM _xlsx_rows")
    finally:
        con.unregister("_xlsx_rows")
    return {relpath: len(cols["_source_line"]) for relpath, cols in sheets}


def stage_jsonl(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    """JSON Lines read line by line (so one malformed line quarantines as ``bad_json`` instead of
    failing the file); fields are extracted by DuckDB's JSON functions."""
    path = lf.path
    if lf.layout.encoding.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        path = _decode_to_utf8(lf, tmp_dir)
    lookup = lf.layout.header_lookup()
    keys: dict[str, list[str]] = {}
    for spelling, canonical in lookup.items():
        keys.setdefault(canonical, []).append(spelling)
    def field(c: str) -> str:
        if c in lf.layout.path_fields:
            v = lf.path_values.get(c)
            return lit(v) if v is not None else "NULL"
        alts = [f"json_extract_string(j, {lit('$.' + json_key(k))})" for k in keys.get(c, [c])]
        return f"coalesce({', '.join(alts)})" if len(alts) > 1 else alts[0]
    select = ", ".join(f"CASE WHEN ok THEN {field(c)} END AS {q(c)}" for c in source.columns)
    before = con.execute("SELECT count(*) FROM _stage").fetchall()[0][0]
    try:
        con.execute(
            f"""INSERT INTO _stage
            SELECT {select}, {_tail(lf, "n", "CASE WHEN ok THEN NULL ELSE 'bad_json' END",
                                    "CASE WHEN ok THEN NULL ELSE 'line is not a JSON object: ' || left(line, 120) END")}
            FROM (SELECT line, n, coalesce(CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' END, false) AS ok,
                         CASE WHEN json_valid(line) THEN line ELSE '{{}}' END AS j
                  FROM (SELECT line, ordinality AS n
                        FROM read_csv({lit(duck_path(path, tmp_dir))}, header=false, columns={{'line': 'VARCHAR'}}, delim='\x1f',
                                      quote='', escape='', auto_detect=false, strict_mode=false,
                                      encoding='utf-8') WITH ORDINALITY)
                  WHERE trim(coalesce(line, '')) <> '')"""
        )
    except duckdb.Error as exc:
        raise _duck_error(lf, exc) from None
    return con.execute("SELECT count(*) FROM _stage").fetchall()[0][0] - before


def json_key(spelling: str) -> str:
    return spelling if spelling.isidentifier() else '"' + spelling.replace('"', '\\"') + '"'


READERS = {"csv": stage_csv, "parquet": stage_parquet, "xlsx": stage_xlsx, "jsonl": stage_jsonl}


def _precheck(lf: LandingFile) -> None:
    """File-level refusals before any reading: path safety, empty file, unknown format, a wide BOM."""
    if lf.refused:
        code, why = lf.refused
        raise FileError(lf.relpath, code, f"refused by landing-zone path safety: {why}")
    if lf.path.stat().st_size == 0:
        raise FileError(lf.relpath, "empty_file", "the file is empty (0 bytes)")
    if lf.layout.format not in READERS:
        raise FileError(lf.relpath, "unsupported_format", f"no reader for format {lf.layout.format!r} yet")
    if lf.layout.format in {"csv", "jsonl"} and not lf.layout.encoding.lower().startswith(("utf-16", "utf-32")):
        with open(lf.path, "rb") as fh:
            head = fh.read(4)
        bom = next((name for name, marks in _WIDE_BOMS.items() if any(head.startswith(m) for m in marks)), None)
        if bom:
            raise FileError(lf.relpath, "undeclared_encoding",
                            f"starts with a {bom} byte-order mark, but layout {lf.layout.name} declares "
                            f"{lf.layout.encoding}; re-export the file as {lf.layout.encoding}", 1)


def stage_file(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    """Append one file's rows to ``_stage``; returns rows read. Raises FileError."""
    _precheck(lf)
    return READERS[lf.layout.format](con, lf, source, tmp_dir)


# UTF-8 CSV files with the same layout and header are read by one read_csv call over the list
# of files (DuckDB reads them in parallel; per-file statements cost ~10 ms each, and a weekly
# stock delivery is thousands of small files). A batch that fails is re-read file by file, so
# errors still name their file and line. Workbooks are parsed one by one (calamine) and
# inserted XLSX_BATCH at a time: their values are Python objects until inserted (all 22,891
# workbooks of scale M held at once took the process past 3 GiB).
BATCH_FILES = 2000
XLSX_BATCH = 500


def stage_files(con: duckdb.DuckDBPyConnection, files: list[LandingFile], source: Source,
                tmp_dir: Path) -> tuple[dict[str, int], list[FileError]]:
    """Stage every file (each file, or batch of files, in its own transaction); returns rows
    read per file and the files that could not be read."""
    counts: dict[str, int] = {}
    errors: list[FileError] = []
    groups: dict[tuple, list[tuple[LandingFile, dict[int, str]]]] = {}
    one_by_one: list[LandingFile] = []
    sheets: list[tuple[str, dict[str, list]]] = []
    def insert_sheets() -> None:
        if sheets:
            con.execute("BEGIN")
            counts.update(_insert_xlsx(con, source, sheets))
            con.execute("COMMIT")
            sheets.clear()

    for lf in files:
        if lf.layout.format == "xlsx":
            try:
                _precheck(lf)
                sheets.append(_xlsx_columns(lf, source))
            except FileError as err:
                errors.append(err)
            if len(sheets) >= XLSX_BATCH:
                insert_sheets()
            continue
        if lf.layout.format != "csv" or not _is_utf8(lf):
            one_by_one.append(lf)
            continue
        try:
            _precheck(lf)
            headers = _csv_headers(lf, lf.path)
            mapping = _header_map(lf, source, headers)
        except FileError as err:
            errors.append(err)
            continue
        groups.setdefault((lf.layout.name, tuple(headers)), []).append((lf, mapping))
    for (_, headers), members in groups.items():
        for i in range(0, len(members), BATCH_FILES):
            batch = members[i:i + BATCH_FILES]
            con.execute("BEGIN")
            try:
                got = _stage_csv_batch(con, batch, len(headers), source, tmp_dir)
                con.execute("COMMIT")
                counts.update(got)
            except duckdb.Error:
                con.execute("ROLLBACK")
                one_by_one.extend(lf for lf, _ in batch)
    insert_sheets()
    for lf in sorted(one_by_one, key=lambda f: f.relpath):
        con.execute("BEGIN")
        try:
            counts[lf.relpath] = stage_file(con, lf, source, tmp_dir)
            con.execute("COMMIT")
        except FileError as err:
            con.execute("ROLLBACK")
            errors.append(err)
    return counts, errors


def _stage_csv_batch(con: duckdb.DuckDBPyConnection, batch: list[tuple[LandingFile, dict[int, str]]],
                     n_cols: int, source: Source, tmp_dir: Path) -> dict[str, int]:
    """One read_csv over files that share a layout and header; per-file lineage joined in from
    a small table of the files. Raises duckdb.Error when any file of the batch is unreadable."""
    first, mapping = batch[0]
    layout = first.layout
    path_fields = [c for c in source.columns if c in layout.path_fields]
    con.execute("DROP TABLE IF EXISTS _batch_files")
    con.execute("CREATE TEMP TABLE _batch_files (read_path VARCHAR, relpath VARCHAR, partition_date DATE"
                + "".join(f", {q(c)} VARCHAR" for c in path_fields) + ")")
    rows = [(duck_path(lf.path, tmp_dir), lf.relpath, lf.partition_date) + tuple(lf.path_values.get(c) for c in path_fields)
            for lf, _ in batch]
    con.executemany(f"INSERT INTO _batch_files VALUES ({', '.join('?' * (3 + len(path_fields)))})", rows)
    cols = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(n_cols)) + "}"
    select = []
    for c in source.columns:
        if c in layout.path_fields:
            select.append(f"f.{q(c)} AS {q(c)}")
        elif (i := _index_of(mapping, c)) is not None:
            select.append(f"r.{q(f'c{i}')} AS {q(c)}")
        else:
            select.append(f"NULL AS {q(c)}")
    files_list = "[" + ", ".join(lit(r[0]) for r in rows) + "]"
    con.execute(
        f"""INSERT INTO _stage
        SELECT {', '.join(select)}, f.relpath, r._n - min(r._n) OVER (PARTITION BY r.filename) + 2, f.partition_date,
               {lit(layout.name)}, NULL, NULL
        FROM (SELECT *, ordinality AS _n
              FROM read_csv({files_list}, header=false, skip=1, delim=',', quote='"', escape='"', columns={cols},
                            strict_mode=true, null_padding=false, auto_detect=false, encoding='utf-8',
                            filename=true) WITH ORDINALITY) r
        JOIN _batch_files f ON f.read_path = r.filename"""
    )
    got = dict(con.execute("SELECT relpath, count(r.relpath) FROM _batch_files f LEFT JOIN "
                           "(SELECT _source_file AS relpath FROM _stage) r USING (relpath) GROUP BY 1").fetchall())
    for lf, _ in batch:  # blank lines or quoted line breaks: record number != physical line
        if got[lf.relpath] and _physical_lines(lf.path) != got[lf.relpath] + 1:
            _renumber_csv_lines(con, lf, duck_path(lf.path, tmp_dir))
    con.execute("DROP TABLE _batch_files")
    return got


# Byte-order marks of encodings no text layout declares (UTF-32 first: its LE mark starts like UTF-16's).
_WIDE_BOMS = {"UTF-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "UTF-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)}
