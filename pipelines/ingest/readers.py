"""File readers: turn landing files into staged text rows in DuckDB, or a clear file error.

Reading has two steps, both SQL in DuckDB:

1. **The file's own columns.** Each format is read by DuckDB's readers into a relation of the
   file's columns under their header names, plus ``_line`` (the physical line in the file — blank
   lines and line breaks inside quoted CSV fields counted —, the sheet row for Excel, the row
   number for Parquet) and ``_file`` (the landing path): ``read_csv`` with every column typed
   VARCHAR, ``read_parquet`` (native types), python-calamine for ``.xlsx`` (one Arrow table per
   batch of workbooks), and JSON Lines read line by line (one malformed line quarantines as
   ``bad_json`` instead of failing the file). GBK is decoded to a UTF-8 temp file by streaming,
   since DuckDB's ``encodings`` extension is not available offline.
2. **The layout's mapping** (``sources.yml`` / ``company.yml``) turns that relation into the
   source's canonical columns, appended to the temp table ``_stage`` (all VARCHAR, plus lineage):
   a column named by one of its header spellings, a SQL expression over the file's columns
   (``columns:``), a constant (``constants:``), a value taken from the file path
   (``path_fields:``); a header file joined on declared keys (``join:``); and several canonical
   rows per source row (``rows:``, e.g. one AR line → an INVOICE and a PAYMENT event).

Typing and row rules happen later, in SQL (``load.py``), so a bad value quarantines its row
instead of failing the file. Landing paths and values from files never reach SQL text: paths
are quoted literals or rows of a parameter-filled table; only the data engineer's layout SQL is
spliced in (trusted configuration, checked to parse when it loads).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.ingest.config import LandingFile, Layout, Source, glob_regex, list_landing, normalise_header, widen_glob

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


STAGE_LINEAGE = ("_source_file", "_source_line", "_partition_date", "_layout", "_parse_reason", "_parse_message",
                 "_raw", "_delivered_at")


def create_stage(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    cols = ", ".join(f"{q(c)} VARCHAR" for c in source.columns)
    con.execute("DROP TABLE IF EXISTS _stage")
    con.execute(
        f"CREATE TEMP TABLE _stage ({cols}, _source_file VARCHAR, _source_line BIGINT, _partition_date DATE, "
        f"_layout VARCHAR, _parse_reason VARCHAR, _parse_message VARCHAR, _raw VARCHAR, _delivered_at TIMESTAMP)"
    )


def _stage_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM _stage").fetchall()[0][0]


# --- step 2: the layout's mapping ---------------------------------------------------------------


def _file_names(headers: list[str]) -> list[str]:
    """Column names a file's relation exposes: the header text (BOM and surrounding spaces
    removed), ``column<N>`` for an empty header, ``<name>_<N>`` for a repeated one."""
    names: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(headers):
        name = (h or "").strip().lstrip("\ufeff").strip() or f"column{i + 1}"
        base, n = name, 2
        while name.lower() in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name.lower())
        names.append(name)
    return names


# Per landing file read in this process: headers no layout column uses, and optional columns
# the layout maps by header that the file lacks (raw.load_log; a warning on the partition).
HEADER_NOTES: dict[str, dict[str, list[str]]] = {}


def _layout_refs(layout: Layout) -> set[str]:
    """File column names a layout's SQL mentions (lower case)."""
    from pipelines.ingest.config import referenced_columns

    sqls = [*layout.exprs.values(), *(e for t in layout.rows for e in t.exprs.values()),
            *(t.when for t in layout.rows if t.when)]
    return {ref[-1].lower() for sql in sqls for ref in referenced_columns(sql) if ref}


def _header_map(lf: LandingFile, source: Source, headers: list[str]) -> dict[int, str]:
    """File column position -> canonical column (by the layout's header spellings); error when
    a required column the layout maps by header is absent, or one column has two spellings.
    Records the file's ignored headers and missing optional columns in ``HEADER_NOTES``."""
    layout = lf.layout
    lookup = layout.header_lookup()
    mapping: dict[int, str] = {}
    for i, h in enumerate(headers):
        canonical = lookup.get(normalise_header(h or ""))
        if canonical and canonical in mapping.values():
            first = _index_of(mapping, canonical)
            raise FileError(
                lf.relpath, "ambiguous_header",
                f"columns {first + 1} ({headers[first]!r}) and {i + 1} ({h!r}) both map to {canonical} "
                f"in layout {layout.name}; keep one of them", 1,
            )
        if canonical:
            mapping[i] = canonical
    by_header = {c for c in layout.headers if c not in layout.exprs and c not in layout.path_fields}
    missing = [c for c in source.required_columns if c in by_header and c not in mapping.values()
               and not any(c in t.exprs for t in layout.rows)]
    if missing:
        raise FileError(
            lf.relpath, "no_header",
            f"no recognisable header for layout {layout.name}: required columns {missing} not found "
            f"among {headers[:20]}", 1,
        )
    refs = _layout_refs(layout) if (layout.exprs or layout.rows) else set()
    HEADER_NOTES[lf.relpath] = {
        "ignored": [h for i, h in enumerate(headers) if i not in mapping and (h or "").strip().lower() not in refs
                    and (h or "").strip()],
        "missing": [c for c in by_header if c not in mapping.values()],
    }
    return mapping


def _index_of(mapping: dict[int, str], canonical: str) -> int | None:
    for i, c in mapping.items():
        if c == canonical:
            return i
    return None


def _canonical_exprs(layout: Layout, source: Source, names: list[str], mapping: dict[int, str],
                     extra: dict[str, str] | None = None) -> dict[str, str]:
    """Canonical column -> SQL (VARCHAR) over the file relation ``src`` and the batch's file
    table ``f`` (path fields)."""
    exprs = {**layout.exprs, **(extra or {})}
    out: dict[str, str] = {}
    for c in source.columns:
        if c in layout.path_fields:
            out[c] = f"f.{q('_path_' + c)}"
        elif c in exprs:
            out[c] = f"CAST(({exprs[c]}) AS VARCHAR)"
        elif (i := _index_of(mapping, c)) is not None:
            out[c] = f"CAST(src.{q(names[i])} AS VARCHAR)"
        else:
            out[c] = "CAST(NULL AS VARCHAR)"
    return out


def _insert_mapped(con: duckdb.DuckDBPyConnection, source: Source, layout: Layout, rel_sql: str, names: list[str],
                   mapping: dict[int, str], join: tuple[str, str] | None = None) -> None:
    """``INSERT INTO _stage`` the canonical rows of a file relation ``rel_sql`` (columns
    ``names`` + ``_line``, ``_file``, ``_pr``, ``_pm``, ``_raw_text``), one per source row and
    row template. ``_batch_files`` (relpath, partition_date, _path_<col>) gives lineage.
    ``join``: (SQL of the header relation, its key list) joined ``LEFT JOIN ... USING``."""
    raw = ("coalesce(src._raw_text, CAST(to_json(struct_pack("
           + ", ".join(f"{q(n)} := src.{q(n)}" for n in names) + ")) AS VARCHAR))") if names else "src._raw_text"
    frm = f"({rel_sql}) AS src JOIN _batch_files f ON f.relpath = src._file"
    parse_reason, parse_message = "src._pr", "src._pm"
    if join:
        join_sql, keys = join
        alias = layout.join.alias
        frm = f"({rel_sql}) AS src LEFT JOIN ({join_sql}) AS {q(alias)} USING ({', '.join(q(k) for k in keys)}) " \
              f"JOIN _batch_files f ON f.relpath = src._file"
        key_text = " || ', ' || ".join(f"coalesce(CAST(src.{q(k)} AS VARCHAR), 'NULL')" for k in keys)
        parse_reason = f"coalesce(src._pr, CASE WHEN {q(alias)}._matched IS NULL THEN 'unmatched_join' END)"
        parse_message = (f"coalesce(src._pm, CASE WHEN {q(alias)}._matched IS NULL THEN "
                         f"{lit('no row of the joined file ' + layout.join.glob + ' has ' + ', '.join(keys) + ' = ')} "
                         f"|| {key_text} END)")
    lineage = ["src._file", "src._line", "f.partition_date", lit(layout.name), parse_reason, parse_message, raw,
               "f.delivered_at"]
    templates = layout.rows or ()
    if not templates:
        cols = _canonical_exprs(layout, source, names, mapping)
        con.execute(f"INSERT INTO _stage SELECT {', '.join(cols.values())}, {', '.join(lineage)} FROM {frm}")
        return
    # Templates: expressions are computed over every row of the file (window functions see the
    # whole file), then each template keeps the rows its `when` selects.
    aliased = ", ".join(f"{item} AS _l{i}" for i, item in enumerate(lineage))
    outer = ", ".join(f"_l{i}" for i in range(len(lineage)))
    parts = []
    for t in templates:
        cols = _canonical_exprs(layout, source, names, mapping, t.exprs)
        when = f"coalesce(({t.when}), false)" if t.when else "true"
        inner = ", ".join(f"{v} AS {q(c)}" for c, v in cols.items())
        parts.append(f"SELECT {', '.join(q(c) for c in cols)}, {outer} "
                     f"FROM (SELECT {inner}, {aliased}, {when} AS _keep FROM {frm}) WHERE _keep")
    if all(t.when for t in templates):  # a source row no template takes is kept, in quarantine
        none = " AND ".join(f"NOT coalesce(({t.when}), false)" for t in templates)
        nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS {q(c)}" for c in source.columns)
        parts.append(
            f"SELECT {nulls}, src._file, src._line, f.partition_date, {lit(layout.name)}, 'no_row_template', "
            f"{lit('no row template of layout ' + layout.name + ' applies to this row (every `when` is false)')}, "
            f"{raw}, f.delivered_at FROM {frm} WHERE {none}")
    con.execute("INSERT INTO _stage " + " UNION ALL ".join(parts))


def _batch_files(con: duckdb.DuckDBPyConnection, files: list[LandingFile], layout: Layout,
                 read_paths: list[str] | None = None) -> None:
    """The files of one statement with their lineage: relpath, read path, partition date and
    path-field values (inserted as parameters: file names never reach SQL text)."""
    fields = list(layout.path_fields)
    con.execute("DROP TABLE IF EXISTS _batch_files")
    con.execute("CREATE TEMP TABLE _batch_files (relpath VARCHAR, read_path VARCHAR, partition_date DATE, "
                "delivered_at TIMESTAMP" + "".join(f", {q('_path_' + c)} VARCHAR" for c in fields) + ")")
    rows = [(lf.relpath, (read_paths[i] if read_paths else None), lf.partition_date, _delivered_at(lf))
            + tuple(lf.path_values.get(c) for c in fields) for i, lf in enumerate(files)]
    con.executemany(f"INSERT INTO _batch_files VALUES ({', '.join('?' * (4 + len(fields)))})", rows)


def _delivered_at(lf: LandingFile) -> datetime | None:
    """When the file was delivered: its modification time (UTC, naive). Two copies of one line
    in two files are settled by it: the later delivery wins."""
    try:
        return datetime.utcfromtimestamp(lf.path.stat().st_mtime)
    except OSError:
        return None


def _run_mapped(con, lf_or_files, source: Source, rel_sql: str, names: list[str], mapping: dict[int, str],
                tmp_dir: Path, read_paths: list[str] | None = None) -> None:
    """Insert one file's (or one batch's) canonical rows; DuckDB errors become file errors."""
    files = lf_or_files if isinstance(lf_or_files, list) else [lf_or_files]
    layout = files[0].layout
    join = (_join_relation(con, files[0], tmp_dir), list(layout.join.on)) if layout.join else None
    _batch_files(con, files, layout, read_paths)  # after the join: reading a header file uses it too
    try:
        _insert_mapped(con, source, layout, rel_sql, names, mapping, join)
    except duckdb.Error as exc:
        raise _duck_error(files[0], exc) from None


# --- joined header files ------------------------------------------------------------------------


def _join_relation(con: duckdb.DuckDBPyConnection, lf: LandingFile, tmp_dir: Path) -> str:
    """SQL of the header file joined to ``lf`` (read once per load into a temp table), with
    ``_matched`` = true; a file error when it is missing, ambiguous or its keys repeat."""
    spec = lf.layout.join
    pattern = spec.glob.replace("{date}", lf.date_text) if "{date}" in spec.glob and lf.date_text else spec.glob
    found = [e for e in list_landing(lf.landing or lf.path.parent, widen_glob(pattern, lf.layout.path_date_format))
             if glob_regex(pattern, lf.layout.path_date_format).match(e.relpath)]
    if len(found) != 1:
        raise FileError(lf.relpath, "missing_join_file",
                        f"layout {lf.layout.name} joins the header file {pattern!r}, which "
                        + ("is not in the landing zone" if not found else
                           f"matches {len(found)} files ({', '.join(e.relpath for e in found[:5])})"))
    entry = found[0]
    if entry.refused:
        raise FileError(entry.relpath, entry.refused[0], f"refused by landing-zone path safety: {entry.refused[1]}")
    table = "_join_" + hashlib.sha1(entry.relpath.encode()).hexdigest()[:12]
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]).fetchall()[0][0]
    hf = LandingFile(lf.source, Layout(
        name=f"{lf.layout.name}.join", glob=pattern, path_date_format=lf.layout.path_date_format, format=spec.format,
        encoding=spec.encoding, headers={}, path_fields={}, date_formats=lf.layout.date_formats,
        timestamp_formats=lf.layout.timestamp_formats, thousands_separator=lf.layout.thousands_separator,
        decimal_separator=lf.layout.decimal_separator), entry.path, entry.relpath, None)
    if not exists:
        _precheck(hf)
        rel_sql, names = _file_relation(con, hf, tmp_dir)
        missing = [k for k in spec.on if k.lower() not in {n.lower() for n in names}]
        if missing:
            raise FileError(hf.relpath, "no_header", f"the header file joined by layout {lf.layout.name} has no "
                                                     f"key column {missing} (columns: {names[:20]})", 1)
        try:
            con.execute(f"CREATE TEMP TABLE {table} AS SELECT {', '.join(q(n) for n in names)}, _line AS _join_line "
                        f"FROM ({rel_sql})")
        except duckdb.Error as exc:
            raise _duck_error(hf, exc) from None
        keys = ", ".join(q(k) for k in spec.on)
        dup = con.execute(f"SELECT max(_join_line), {keys} FROM {table} GROUP BY {keys} HAVING count(*) > 1 "
                          f"ORDER BY 1 LIMIT 1").fetchall()
        if dup:
            con.execute(f"DROP TABLE {table}")
            raise FileError(hf.relpath, "duplicate_key",
                            f"key ({', '.join(spec.on)}) = ({', '.join(str(v) for v in dup[0][1:])}) appears more than "
                            f"once; layout {lf.layout.name} joins one header row per key", dup[0][0])
    return f"SELECT * EXCLUDE (_join_line), true AS _matched FROM {table}"


def drop_join_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the header files read for joins during a load (they are cached per load only)."""
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND "
                               "starts_with(table_name, '_join_')").fetchall():
        con.execute(f"DROP TABLE {q(name)}")


# --- step 1: each format's relation of the file's own columns -----------------------------------


def _decode_to_utf8(lf: LandingFile, tmp_dir: Path) -> Path:
    """Stream-decode a non-UTF-8 file into a UTF-8 temp file; error names the line."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
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
    head = msg.splitlines()[0] if msg else ""
    if head.startswith(("Binder Error", "Parser Error", "Catalog Error")) or "Referenced column" in msg:
        detail = re.sub(r"^[A-Za-z ]+ Error: ", "", head.strip())
        return FileError(lf.relpath, "no_header", f"layout {lf.layout.name}: its SQL does not fit this file: {detail}"
                                                  f"{' ' + first if first != detail else ''}"[:400], 1)
    if head.startswith(("Conversion Error", "Invalid Input Error: Could not convert", "Out of Range Error")):
        detail = re.sub(r"^[A-Za-z ]+ Error: ", "", head.strip())
        return FileError(lf.relpath, "bad_layout_sql",
                         f"layout {lf.layout.name}: an expression failed on a value of this file ({detail[:240]}); "
                         "use TRY_CAST in the layout so a bad value quarantines its row", line)
    if "unicode" in msg.lower() or "utf-8" in msg.lower():
        return FileError(lf.relpath, "undeclared_encoding",
                         f"not valid {lf.layout.encoding} (declared by layout {lf.layout.name})", line)
    if "Expected Number of Columns" in msg or "number of columns" in msg.lower():
        return FileError(lf.relpath, "bad_row_shape", first.strip(), line)
    if "magic bytes" in msg.lower():
        return FileError(lf.relpath, "unreadable", "not a readable Parquet file: no Parquet footer at the end "
                                                   "(the file is cut short, or is not Parquet)")
    if "unterminated quote" in msg.lower():
        if _has_backslash_quote(lf):
            return FileError(lf.relpath, "unterminated_quote",
                             "a quote inside a quoted value is escaped with a backslash (\\\"); this layout reads CSV "
                             "quotes doubled (\"\"), as Excel and most ERPs write them", line)
        return FileError(lf.relpath, "unterminated_quote",
                         "a quoted value is not closed before the end of the file (file cut short?)", line)
    return FileError(lf.relpath, "unreadable", first.strip()[:300], line)


MAX_HEADER_BYTES = 16 << 20  # a header line longer than this is not a header
MAX_LINE_BYTES = 2_000_000  # a JSON line longer than this is quarantined alone (line_too_long)
READER_LINE_BYTES = 64 << 20  # the longest line read at all (a file with a longer one is unreadable)
DUCKDB_DEFAULT_LINE_BYTES = 2 << 20  # read_csv's default max_line_size


def _first_line(path: Path) -> bytes:
    """The file's first line, ended by LF, CRLF or a lone CR (old Mac exports)."""
    out = bytearray()
    with open(path, "rb") as fh:
        while len(out) <= MAX_HEADER_BYTES:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
            if ends:
                out += chunk[:min(ends)]
                return bytes(out)
            out += chunk
    return bytes(out)


def _has_backslash_quote(lf: LandingFile) -> bool:
    try:
        with open(lf.path, "rb") as fh:
            return b'\\"' in fh.read(CHUNK * 8)
    except OSError:
        return False


def _csv_headers(lf: LandingFile, path: Path) -> list[str]:
    first = _first_line(path)
    if len(first) > MAX_HEADER_BYTES:
        raise FileError(lf.relpath, "no_header", f"the first line is over {MAX_HEADER_BYTES:,} bytes: not a header", 1)
    try:
        header_line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileError(lf.relpath, "undeclared_encoding",
                        f"header is not valid {lf.layout.encoding} (declared by layout {lf.layout.name})", 1) from None
    csv.field_size_limit(MAX_HEADER_BYTES)  # a long header field is still a field (the default stops at 128 KiB)
    try:
        return next(csv.reader(io.StringIO(header_line)), [])
    except csv.Error as exc:
        raise FileError(lf.relpath, "no_header", f"the header line is not CSV ({exc})", 1) from None


def _is_utf8(layout: Layout) -> bool:
    return layout.encoding.lower().replace("_", "-") in {"utf-8", "utf8"}


def _positional(names: list[str]) -> str:
    """Positional columns c0, c1, ... renamed to the file's column names."""
    return ", ".join(f"{q('c' + str(i))} AS {q(n)}" for i, n in enumerate(names))


def _csv_relation(read_paths: list[str], names: list[str], many: bool, largest: int = 0) -> str:
    """Relation of CSV files sharing one header: their columns as VARCHAR under the header's
    names, ``_line`` (record number + 1; renumbered later where it differs from the physical
    line) and ``_file`` (through ``_batch_files.read_path`` for a batch). Files bigger than
    DuckDB's default line limit are read with room for lines up to their size (at most
    READER_LINE_BYTES); a record longer than MAX_LINE_BYTES is quarantined alone (line_too_long)."""
    cols = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(names))) + "}"
    select = ", ".join(f"r.{q(f'c{i}')} AS {q(n)}" for i, n in enumerate(names))
    files = "[" + ", ".join(lit(p) for p in read_paths) + "]"
    room = min(largest + 1, READER_LINE_BYTES) if largest > DUCKDB_DEFAULT_LINE_BYTES else None
    sizes = f", max_line_size={room}, buffer_size={2 * room}" if room else ""
    reader = (f"read_csv({files}, header=false, skip=1, delim=',', quote='\"', escape='\"', columns={cols}, "
              f"strict_mode=true, null_padding=false, auto_detect=false, encoding='utf-8', filename=true{sizes})")
    if room:
        length = " + ".join(f"strlen(coalesce(r.{q(f'c{i}')}, ''))" for i in range(len(names))) or "0"
        parse = (f"CASE WHEN {length} > {MAX_LINE_BYTES} THEN 'line_too_long' END AS _pr, "
                 f"CASE WHEN {length} > {MAX_LINE_BYTES} THEN 'the record is ' || ({length}) || "
                 f"' bytes, over the limit of {MAX_LINE_BYTES:,}' END AS _pm, ")
    else:
        parse = "CAST(NULL AS VARCHAR) AS _pr, CAST(NULL AS VARCHAR) AS _pm, "
    if many:
        return (f"SELECT {select}, r._n - min(r._n) OVER (PARTITION BY r.filename) + 2 AS _line, b.relpath AS _file, "
                f"{parse}CAST(NULL AS VARCHAR) AS _raw_text "
                f"FROM (SELECT *, ordinality AS _n FROM {reader} WITH ORDINALITY) r "
                f"JOIN _batch_files b ON b.read_path = r.filename")
    return (f"SELECT {select}, r.ordinality + 1 AS _line, (SELECT relpath FROM _batch_files LIMIT 1) AS _file, "
            f"{parse}CAST(NULL AS VARCHAR) AS _raw_text "
            f"FROM {reader} WITH ORDINALITY r")


def _file_relation(con: duckdb.DuckDBPyConnection, lf: LandingFile, tmp_dir: Path) -> tuple[str, list[str]]:
    """(SQL, column names) of one file's own columns (CSV, GBK CSV or Parquet), for joins."""
    if lf.layout.format == "csv":
        path = lf.path if _is_utf8(lf.layout) else _decode_to_utf8(lf, tmp_dir)
        names = _file_names(_csv_headers(lf, path))
        _batch_files(con, [lf], lf.layout, [duck_path(path, tmp_dir)])
        return _csv_relation([duck_path(path, tmp_dir)], names, many=False, largest=path.stat().st_size), names
    if lf.layout.format == "parquet":
        read_path = duck_path(lf.path, tmp_dir)
        names = _parquet_names(con, lf, read_path)
        _batch_files(con, [lf], lf.layout, [read_path])
        return _parquet_relation(read_path, lf, names), names
    if lf.layout.format == "xlsx":
        headers, cols, lines = _xlsx_sheet(lf)
        names = _file_names(headers)
        import pyarrow as pa

        table = pa.table({**{f"c{i}": pa.array(cols[i], pa.string()) for i in range(len(names))},
                          "_line": pa.array(lines, pa.int64())})
        view = "_xlsx_join_" + hashlib.sha1(lf.relpath.encode()).hexdigest()[:12]
        con.register(view, table)
        return f"SELECT {_positional(names)}, _line FROM {view}", names
    raise FileError(lf.relpath, "unsupported_format", f"a joined file cannot be {lf.layout.format}")


def stage_csv(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    path = lf.path
    if not _is_utf8(lf.layout):
        path = _decode_to_utf8(lf, tmp_dir)
    headers = _csv_headers(lf, path)
    names = _file_names(headers)
    mapping = _header_map(lf, source, headers)
    before = _stage_count(con)
    read_path = duck_path(path, tmp_dir)
    _run_mapped(con, lf, source, _csv_relation([read_path], names, many=False, largest=path.stat().st_size), names,
                mapping, tmp_dir,
                read_paths=[read_path])
    n = _stage_count(con) - before
    if n and _physical_lines(path) != _data_records(con, lf) + 1:  # blank lines or quoted line breaks
        _renumber_csv_lines(con, lf, read_path)
    return n


def _data_records(con: duckdb.DuckDBPyConnection, lf: LandingFile) -> int:
    """Source records of a file staged so far (a row template may emit several rows per record)."""
    return con.execute("SELECT count(DISTINCT _source_line) FROM _stage WHERE _source_file = ?",
                       [lf.relpath]).fetchall()[0][0]


def _physical_lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts), by counting newline bytes (LF;
    CR in a file with no LF at all: old Mac line endings)."""
    lf_count, cr_count, last = 0, 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            lf_count += chunk.count(b"\n")
            cr_count += chunk.count(b"\r")
            last = chunk[-1:]
    if lf_count == 0 and cr_count:
        return cr_count + (1 if last not in (b"", b"\r") else 0)
    return lf_count + (1 if last not in (b"", b"\n") else 0)


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


def _parquet_names(con: duckdb.DuckDBPyConnection, lf: LandingFile, read_path: str) -> list[str]:
    try:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(read_path)})").fetchall()]
    except duckdb.Error as exc:
        raise _duck_error(lf, exc) from None


def _parquet_relation(read_path: str, lf: LandingFile, names: list[str]) -> str:
    cols = ", ".join(f"p.{q(n)}" for n in names)
    tail = ("(SELECT relpath FROM _batch_files LIMIT 1) AS _file, CAST(NULL AS VARCHAR) AS _pr, "
            "CAST(NULL AS VARCHAR) AS _pm, CAST(NULL AS VARCHAR) AS _raw_text")
    if "file_row_number" in {n.lower() for n in names}:  # the file has a column of that name: number rows apart
        return f"SELECT {cols}, p.ordinality AS _line, {tail} FROM read_parquet({lit(read_path)}) WITH ORDINALITY p"
    return (f"SELECT {cols}, p.file_row_number + 1 AS _line, {tail} "
            f"FROM read_parquet({lit(read_path)}, file_row_number=true) p")


def stage_parquet(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    read_path = duck_path(lf.path, tmp_dir)
    names = _parquet_names(con, lf, read_path)
    mapping = _header_map(lf, source, names)
    before = _stage_count(con)
    _run_mapped(con, lf, source, _parquet_relation(read_path, lf, names), names, mapping, tmp_dir,
                read_paths=[read_path])
    return _stage_count(con) - before


def _cell_text(v) -> str | None:
    """An Excel cell as the text a CSV export would hold (1300.0 -> '1300', dates ISO)."""
    if v is None or v == "":
        return None
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return str(v)


def _xlsx_sheet(lf: LandingFile) -> tuple[list[str], dict[int, list[str | None]], list[int]]:
    """A workbook's first sheet: header texts, cell texts per column, sheet row of each data row
    (blank rows dropped). Header on the first non-empty row. Raises FileError."""
    from python_calamine import CalamineWorkbook

    with open(lf.path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":
        what = ("an HTML page" if magic.lstrip()[:1] == b"<" else
                "an old binary .xls workbook" if magic == b"\xd0\xcf\x11\xe0" else "not a zip archive")
        raise FileError(lf.relpath, "not_xlsx", f"named .xlsx but it is {what}; an .xlsx workbook is a zip archive")
    try:
        rows = CalamineWorkbook.from_path(str(lf.path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken zips / XML
        raise FileError(lf.relpath, "truncated_xlsx" if "zip" in str(exc).lower() or "eof" in str(exc).lower()
                        else "unreadable", f"not a readable .xlsx workbook ({type(exc).__name__}: {str(exc)[:200]})") from None
    for (r, c), text in _xlsx_error_cells(lf.path).items():  # calamine reads error cells as blanks
        if r < len(rows) and c < len(rows[r]):
            rows[r][c] = text
    header_at = next((i for i, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
    if header_at is None:
        raise FileError(lf.relpath, "empty_file", "the workbook's first sheet has no rows")
    headers = [_cell_text(c) or "" for c in rows[header_at]]
    body = rows[header_at + 1:]
    cells = {i: [(_cell_text(r[i]) if i < len(r) else None) for r in body] for i in range(len(headers))}
    keep = [k for k in range(len(body)) if any(cells[i][k] is not None for i in cells)]
    return headers, {i: [col[k] for k in keep] for i, col in cells.items()}, [header_at + 2 + k for k in keep]


_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _xlsx_error_cells(path: Path) -> dict[tuple[int, int], str]:
    """(row, column) from 0 -> Excel error text (``#DIV/0!``, ``#REF!``, ``#N/A`` …) of the first
    sheet's error cells (``t="e"``), which python-calamine returns as blank cells. The sheet XML
    is only parsed when it holds an error cell at all."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace") if "xl/_rels/workbook.xml.rels" in names else ""
            book = zf.read("xl/workbook.xml").decode("utf-8", "replace") if "xl/workbook.xml" in names else ""
            first = re.search(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", book)
            target = re.search(r'Id="%s"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="%s"'
                               % ((re.escape(first.group(1)),) * 2), rels) if first else None
            sheet = (target.group(1) or target.group(2)) if target else "worksheets/sheet1.xml"
            sheet = sheet.lstrip("/") if sheet.startswith("/xl/") else "xl/" + sheet.lstrip("/")
            data = zf.read(sheet) if sheet in names else b""
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    if b't="e"' not in data:
        return {}
    import xml.etree.ElementTree as ET

    out: dict[tuple[int, int], str] = {}
    for _, el in ET.iterparse(io.BytesIO(data)):
        if el.tag.endswith("}c") and el.get("t") == "e":
            m = _CELL_REF.fullmatch(el.get("r") or "")
            v = next((child.text for child in el if child.tag.endswith("}v")), None)
            if m and v:
                col = 0
                for ch in m.group(1):
                    col = col * 26 + ord(ch) - 64
                out[(int(m.group(2)) - 1, col - 1)] = v
        if el.tag.endswith("}row"):
            el.clear()
    return out


def stage_xlsx(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    """First sheet of a workbook via python-calamine; header on the first non-empty row."""
    headers, cols, lines = _xlsx_sheet(lf)
    mapping = _header_map(lf, source, headers)
    return _insert_xlsx(con, source, [(lf, headers, mapping, cols, lines)], tmp_dir)[lf.relpath]


def _insert_xlsx(con: duckdb.DuckDBPyConnection, source: Source,
                 sheets: list[tuple[LandingFile, list[str], dict[int, str], dict[int, list], list[int]]],
                 tmp_dir: Path) -> dict[str, int]:
    """Append parsed workbooks to ``_stage``, one statement per layout and header; rows per file."""
    import pyarrow as pa

    counts: dict[str, int] = {}
    groups: dict[tuple, list] = {}
    for sheet in sheets:
        groups.setdefault((sheet[0].layout.name, tuple(sheet[1])), []).append(sheet)
    for (_, headers), members in groups.items():
        names = _file_names(list(headers))
        table = pa.table({
            **{f"c{i}": pa.array([v for m in members for v in m[3][i]], pa.string()) for i in range(len(names))},
            "_line": pa.array([v for m in members for v in m[4]], pa.int64()),
            "_file": pa.array([m[0].relpath for m in members for _ in m[4]], pa.string()),
        })
        con.register("_xlsx_rows", table)
        try:
            rel = (f"SELECT {_positional(names)}, _line, _file, "
                   f"CAST(NULL AS VARCHAR) AS _pr, CAST(NULL AS VARCHAR) AS _pm, CAST(NULL AS VARCHAR) AS _raw_text "
                   f"FROM _xlsx_rows")
            _run_mapped(con, [m[0] for m in members], source, rel, names, members[0][2], tmp_dir)
        finally:
            con.unregister("_xlsx_rows")
        staged = dict(con.execute("SELECT f.relpath, count(s._source_file) FROM _batch_files f LEFT JOIN _stage s "
                                  "ON s._source_file = f.relpath GROUP BY 1").fetchall())
        counts.update(staged)
    return counts


def json_key(spelling: str) -> str:
    return spelling if spelling.isidentifier() else '"' + spelling.replace('"', '\\"') + '"'


def stage_jsonl(con: duckdb.DuckDBPyConnection, lf: LandingFile, source: Source, tmp_dir: Path) -> int:
    """JSON Lines read line by line (so one malformed line quarantines as ``bad_json`` instead of
    failing the file); keys are extracted by DuckDB's JSON functions as the file's columns."""
    from pipelines.ingest.config import referenced_columns

    path = lf.path
    if not _is_utf8(lf.layout):
        path = _decode_to_utf8(lf, tmp_dir)
    layout = lf.layout
    keys: list[str] = []
    for canonical, spellings in layout.headers.items():
        keys += [normalise_header(s) for s in spellings]
    for sql in [*layout.exprs.values(), *(e for t in layout.rows for e in t.exprs.values()),
                *(t.when for t in layout.rows if t.when)]:
        keys += [ref[0] for ref in referenced_columns(sql) if ref]
    names = list(dict.fromkeys(keys))
    mapping: dict[int, str] = {}
    # a canonical column mapped by header takes the first of its spellings present in the line
    header_cols: dict[str, str] = {}
    for canonical, spellings in layout.headers.items():
        alts = [f"json_extract_string(j, {lit('$.' + json_key(normalise_header(s)))})" for s in spellings]
        header_cols[canonical] = f"coalesce({', '.join(alts)})" if len(alts) > 1 else alts[0]
    extracted = ", ".join(f"CASE WHEN ok THEN json_extract_string(j, {lit('$.' + json_key(n))}) END AS {q(n)}"
                          for n in names)
    limit = MAX_LINE_BYTES

    def relation(max_line_size: int | None) -> str:
        sizes = f", max_line_size={max_line_size}, buffer_size={2 * max_line_size}" if max_line_size else ""
        return (f"SELECT {extracted + ', ' if extracted else ''}"
                + "".join(f"CASE WHEN ok THEN {expr} END AS {q('_hdr_' + c)}, " for c, expr in header_cols.items())
                + f"n AS _line, (SELECT relpath FROM _batch_files LIMIT 1) AS _file, "
                  f"CASE WHEN too_long THEN 'line_too_long' WHEN NOT ok THEN 'bad_json' END AS _pr, "
                  f"CASE WHEN too_long THEN 'line ' || n || ' is ' || strlen(line) || ' bytes, over the limit of {limit:,}' "
                  f"WHEN NOT valid THEN 'line ' || n || ' is not valid JSON' "
                  f"WHEN NOT ok THEN 'line ' || n || ' is a JSON ' || lower(json_type(line)) || ', not an object' END AS _pm, "
                  f"line AS _raw_text "
                  f"FROM (SELECT line, n, too_long, NOT too_long AND coalesce(json_valid(line), false) AS valid, "
                  f"NOT too_long AND coalesce(CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' END, false) AS ok, "
                  f"CASE WHEN NOT too_long AND json_valid(line) THEN line ELSE '{{}}' END AS j "
                  f"FROM (SELECT line, ordinality AS n, strlen(line) > {limit} AS too_long "
                  f"FROM read_csv({lit(duck_path(path, tmp_dir))}, header=false, "
                  f"columns={{'line': 'VARCHAR'}}, delim='\x1f', quote='', escape='', auto_detect=false, "
                  f"strict_mode=false, encoding='utf-8'{sizes}) WITH ORDINALITY) WHERE trim(coalesce(line, '')) <> '')")

    all_names = names + [f"_hdr_{c}" for c in header_cols]
    mapping = {len(names) + i: c for i, c in enumerate(header_cols)}
    before = _stage_count(con)
    # DuckDB's reader refuses lines over 2 MiB by default; a bigger file may hold one, so it is
    # read with room for lines up to its own size (at most READER_LINE_BYTES)
    size = path.stat().st_size
    room = min(size + 1, READER_LINE_BYTES) if size > DUCKDB_DEFAULT_LINE_BYTES else None
    _run_mapped(con, lf, source, relation(room), all_names, mapping, tmp_dir)
    return _stage_count(con) - before


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
    """Append one file's rows to ``_stage``; returns rows staged. Raises FileError, whatever went
    wrong reading it."""
    try:
        _precheck(lf)
        return READERS[lf.layout.format](con, lf, source, tmp_dir)
    except FileError:
        raise
    except Exception as exc:  # noqa: BLE001 - every reader failure is this file's error, never a crash
        raise as_file_error(lf, exc) from None


def as_file_error(lf: LandingFile, exc: BaseException) -> FileError:
    """Any exception raised while reading ``lf`` as a file error naming it."""
    if isinstance(exc, FileError):
        return exc
    if isinstance(exc, PermissionError):
        return FileError(lf.relpath, "unreadable", "the file cannot be read: permission denied")
    if isinstance(exc, OSError):
        return FileError(lf.relpath, "unreadable", f"the file cannot be read: {exc.strerror or exc}")
    if isinstance(exc, duckdb.Error):
        return _duck_error(lf, exc)
    if isinstance(exc, UnicodeError):
        return FileError(lf.relpath, "undeclared_encoding", f"not valid {lf.layout.encoding}: {exc}")
    return FileError(lf.relpath, "unreadable", f"{type(exc).__name__}: {str(exc)[:240]}")


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
    staged per file and the files that could not be read."""
    counts: dict[str, int] = {}
    errors: list[FileError] = []
    groups: dict[tuple, list[tuple[LandingFile, list[str], dict[int, str]]]] = {}
    one_by_one: list[LandingFile] = []
    sheets: list = []

    def insert_sheets() -> None:
        if not sheets:
            return
        con.execute("BEGIN")
        try:
            counts.update(_insert_xlsx(con, source, sheets, tmp_dir))
            con.execute("COMMIT")
        except Exception:  # noqa: BLE001 - a layout expression failed on one workbook: find it
            con.execute("ROLLBACK")
            for sheet in sheets:
                con.execute("BEGIN")
                try:
                    counts.update(_insert_xlsx(con, source, [sheet], tmp_dir))
                    con.execute("COMMIT")
                except Exception as exc:  # noqa: BLE001
                    con.execute("ROLLBACK")
                    errors.append(as_file_error(sheet[0], exc))
        sheets.clear()

    for lf in files:
        if lf.layout.format == "xlsx":
            try:
                _precheck(lf)
                headers, cols, lines = _xlsx_sheet(lf)
                sheets.append((lf, headers, _header_map(lf, source, headers), cols, lines))
            except Exception as exc:  # noqa: BLE001
                errors.append(as_file_error(lf, exc))
            if len(sheets) >= XLSX_BATCH:
                insert_sheets()
            continue
        if lf.layout.format != "csv" or not _is_utf8(lf.layout) or lf.layout.join:
            one_by_one.append(lf)
            continue
        try:
            _precheck(lf)
            headers = _csv_headers(lf, lf.path)
            mapping = _header_map(lf, source, headers)
        except Exception as exc:  # noqa: BLE001
            errors.append(as_file_error(lf, exc))
            continue
        groups.setdefault((lf.layout.name, tuple(headers)), []).append((lf, headers, mapping))
    for (_, headers), members in groups.items():
        for i in range(0, len(members), BATCH_FILES):
            batch = members[i:i + BATCH_FILES]
            if len(batch) == 1:
                one_by_one.append(batch[0][0])
                continue
            con.execute("BEGIN")
            try:
                got = _stage_csv_batch(con, batch, source, tmp_dir)
                con.execute("COMMIT")
                counts.update(got)
            except Exception:  # noqa: BLE001 - re-read file by file to name the bad one
                con.execute("ROLLBACK")
                one_by_one.extend(lf for lf, _, _ in batch)
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


def _stage_csv_batch(con: duckdb.DuckDBPyConnection, batch: list[tuple[LandingFile, list[str], dict[int, str]]],
                     source: Source, tmp_dir: Path) -> dict[str, int]:
    """One read_csv over files that share a layout and header; per-file lineage joined in from
    ``_batch_files``. Raises when any file of the batch is unreadable."""
    files = [lf for lf, _, _ in batch]
    names = _file_names(batch[0][1])
    read_paths = [duck_path(lf.path, tmp_dir) for lf in files]
    largest = max(lf.path.stat().st_size for lf in files)
    _run_mapped(con, files, source, _csv_relation(read_paths, names, many=True, largest=largest), names, batch[0][2],
                tmp_dir,
                read_paths=read_paths)
    got = dict(con.execute("SELECT relpath, count(s._source_file) FROM _batch_files f LEFT JOIN "
                           "(SELECT _source_file FROM _stage) s ON s._source_file = f.relpath GROUP BY 1").fetchall())
    for lf, read_path in zip(files, read_paths):  # blank lines or quoted line breaks: record number != physical line
        if got[lf.relpath] and _physical_lines(lf.path) != _data_records(con, lf) + 1:
            _renumber_csv_lines(con, lf, read_path)
    return got


# Byte-order marks of encodings no text layout declares (UTF-32 first: its LE mark starts like UTF-16's).
_WIDE_BOMS = {"UTF-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "UTF-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)}
