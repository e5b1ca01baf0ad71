"""Source configuration: parses ``sources.yml`` into typed objects and finds landing files.

Owns the mapping from a landing-zone file to its source, layout and partition date, and the one
safe listing of the landing zone (``list_landing``): an entry whose real path is outside the
landing zone (a symlink out of it), a dangling symlink or a non-regular file is refused, never
followed. Nothing here reads rows; see ``readers.py`` and ``load.py``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SOURCES_FILE = Path(__file__).with_name("sources.yml")
COLUMN_TYPES = {"text", "integer", "decimal", "date", "timestamp", "enum"}
FORMATS = {"csv", "parquet", "xlsx", "jsonl"}

_DATE_GLOB = {"%Y": "[0-9]" * 4, "%m": "[0-9]" * 2, "%d": "[0-9]" * 2}
_DATE_RE = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}"}
_LAYOUT_KEYS = {"name", "glob", "path_date_format", "format", "encoding", "headers", "columns", "constants", "rows",
                "join", "path_fields", "date_formats", "timestamp_formats", "thousands_separator",
                "decimal_separator"}


class ConfigError(ValueError):
    """sources.yml (or a company's layouts) is malformed; the message names the layout and the key."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    values: dict[str, list[str]] | None = None  # enum: canonical value -> accepted spellings
    references: str | None = None  # master entity the value must exist in
    sensitive: bool = False
    missing_reason: str = "missing_key"  # quarantine reason when a required value is empty
    invalid_reason: str | None = None  # reason when the value does not parse (default by type)
    max_abs: float | None = None  # numbers: |value| above this is quarantined as absurd_value
    enum: str | None = None  # name of the enumeration (sources.yml `enums`) an enum column takes


@dataclass(frozen=True)
class RowRule:
    reason: str
    when: str
    message: str


@dataclass(frozen=True)
class RowTemplate:
    """One canonical row a layout emits per source row (a layout with ``rows:`` emits several,
    e.g. one AR line -> an INVOICE event and a PAYMENT event)."""

    when: str | None  # SQL over the file's columns; the row is emitted where it is true
    exprs: dict[str, str]  # canonical column -> SQL (over the layout-level ones)


@dataclass(frozen=True)
class JoinSpec:
    """A header file joined to each detail file (orders + order details) on declared keys."""

    glob: str  # relative to the landing zone; ``{date}`` is the detail file's date
    on: tuple[str, ...]  # key columns, named alike in both files
    alias: str  # how expressions name the header file's columns (``o."OrderDate"``)
    format: str
    encoding: str


@dataclass(frozen=True)
class Layout:
    name: str
    glob: str
    path_date_format: str
    format: str
    encoding: str
    headers: dict[str, list[str]]  # canonical column -> accepted header spellings
    path_fields: dict[str, str]  # canonical column -> regex (one group) taking its value from the file path
    date_formats: list[str]
    timestamp_formats: list[str]
    thousands_separator: str
    decimal_separator: str
    exprs: dict[str, str] = field(default_factory=dict)  # canonical column -> SQL over the file's columns
    rows: tuple[RowTemplate, ...] = ()  # several canonical rows per source row (empty: one)
    join: JoinSpec | None = None
    spans_days: bool = False  # partitioned source, no {date} in the glob: each row's date is its partition

    def glob_pattern(self) -> str:
        """The layout's glob with the date placeholder widened to digits."""
        return widen_glob(self.glob, self.path_date_format)

    def path_regex(self) -> re.Pattern[str]:
        return glob_regex(self.glob, self.path_date_format)

    def header_lookup(self) -> dict[str, str]:
        """Normalised header spelling -> canonical column."""
        out: dict[str, str] = {}
        for canonical, spellings in self.headers.items():
            for s in spellings:
                out[normalise_header(s)] = canonical
        return out

    @property
    def provided(self) -> set[str]:
        """Canonical columns this layout can fill (a header, an expression or a path field)."""
        out = set(self.headers) | set(self.exprs) | set(self.path_fields)
        for t in self.rows:
            out |= set(t.exprs)
        return out


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    table: str
    partitioning: str
    columns: dict[str, Column]
    layouts: list[Layout]
    unique_key: list[str] = field(default_factory=list)
    partition_date_column: str | None = None
    partition_date_expr: str | None = None  # SQL over the typed columns, when not a single column
    master_entity: str | None = None
    unknown_reason: str | None = None  # quarantine reason for references to an unknown key
    row_rules: list[RowRule] = field(default_factory=list)
    freshness_days: tuple[int, int] | None = None  # (expected every, grace) in days
    delivered: bool = True  # false: the company does not have this source (company.yml)
    max_unparseable_share: float = 0.5  # a file with more unparseable rows than this is refused

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    @property
    def period_days(self) -> int:
        """Days one partition spans (0: not partitioned)."""
        return {"daily": 1, "weekly": 7, "none": 0}[self.partitioning]

    @property
    def provided_columns(self) -> set[str]:
        """Columns some layout of the source fills (none when the source is not delivered)."""
        if not self.delivered:
            return set()
        return set().union(*(l.provided for l in self.layouts)) if self.layouts else set()


@dataclass(frozen=True)
class LandingFile:
    """A landing-zone file recognised as belonging to a source."""

    source: str
    layout: Layout
    path: Path
    relpath: str  # relative to the landing zone, POSIX separators
    partition_date: date | None  # None for unpartitioned sources and for files whose rows span days
    path_values: dict[str, str] = field(default_factory=dict)  # values of the layout's path_fields
    refused: tuple[str, str] | None = None  # (error code, why) when path safety forbids reading it
    date_text: str | None = None  # the {date} part of the path as written
    landing: Path | None = None  # the landing zone it was listed from


def normalise_header(h: str) -> str:
    return h.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def widen_glob(glob: str, date_format: str) -> str:
    """A glob with ``{date}`` widened to the digits of ``date_format``."""
    if "{date}" not in glob:
        return glob
    fmt = date_format
    for k, v in _DATE_GLOB.items():
        fmt = fmt.replace(k, v)
    return glob.replace("{date}", fmt)


def glob_regex(glob: str, date_format: str) -> re.Pattern[str]:
    """A glob as an anchored regex (``*`` within one folder); ``{date}`` becomes group 1."""
    def piece(text: str) -> str:
        return re.escape(text).replace(r"\*", r"[^/]*").replace(r"\?", r"[^/]")

    if "{date}" not in glob:
        return re.compile("^" + piece(glob) + "$")
    parts = glob.split("{date}")
    fmt = re.escape(date_format)
    for k, v in _DATE_RE.items():
        fmt = fmt.replace(re.escape(k), v)
    return re.compile("^" + f"({fmt})".join(piece(p) for p in parts) + "$")


def sql_problem(sql: str) -> str | None:
    """Why ``sql`` is not one SQL expression DuckDB can parse, or None. Layout SQL is trusted
    configuration written by the data engineer; this catches typos and stray statements."""
    import duckdb

    try:
        statements = duckdb.extract_statements(f"SELECT ({sql}) AS v")
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    if len(statements) != 1:
        return "holds more than one SQL statement"
    return None


def referenced_columns(sql: str) -> set[tuple[str, ...]]:
    """Column references in a SQL expression, as name paths (``("o", "OrderDate")``)."""
    import json

    import duckdb

    con = duckdb.connect()
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({sql}) AS v"]).fetchall()[0][0])
    finally:
        con.close()
    found: set[tuple[str, ...]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                found.add(tuple(node.get("column_names") or ()))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tree)
    return found


def _sql_map(raw: Any, where: str, columns: dict[str, Column], key: str, constants: bool = False) -> dict[str, str]:
    """``columns:`` (SQL expressions) or ``constants:`` (values) of a layout as canonical -> SQL."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {key} must map canonical columns to {'values' if constants else 'SQL expressions'}")
    out: dict[str, str] = {}
    for col, value in raw.items():
        if col not in columns:
            raise ConfigError(f"{where}: {key}.{col}: no canonical column {col!r} (columns: {sorted(columns)})")
        if constants:
            if value is None:
                out[col] = "NULL"
                continue
            text = value.isoformat() if isinstance(value, date) else str(value)
            out[col] = "'" + text.replace("'", "''") + "'"
        else:
            if value is None or isinstance(value, (dict, list)):
                raise ConfigError(f"{where}: {key}.{col}: must be one SQL expression, e.g. \"CAST(Qty AS INTEGER)\"")
            text = str(value)
            if problem := sql_problem(text):
                raise ConfigError(f"{where}: {key}.{col}: the SQL {text!r} does not parse: {problem}")
            out[col] = text
    return out


def _layout(raw: dict[str, Any], defaults: dict[str, Any], columns: dict[str, Column], where: str,
            partitioned: bool) -> Layout:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a layout must be a mapping (name, glob, format, ...)")
    unknown = set(raw) - _LAYOUT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; a layout has {sorted(_LAYOUT_KEYS)}")
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {sorted(FORMATS)}, not {fmt!r}")
    if not raw.get("glob"):
        raise ConfigError(f"{where}: glob is required")
    if "**" in raw["glob"] or raw["glob"].startswith("/"):
        raise ConfigError(f"{where}: glob {raw['glob']!r} must be relative to the landing zone, without '**'")
    exprs = _sql_map(raw.get("columns"), where, columns, "columns")
    exprs.update(_sql_map(raw.get("constants"), where, columns, "constants", constants=True))
    explicit = "headers" in raw or bool(exprs) or "rows" in raw
    headers = raw.get("headers") or ({} if explicit else {c: [c] for c in columns})
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}: headers must map canonical columns to lists of header spellings")
    unknown = set(headers) - set(columns)
    if unknown:
        raise ConfigError(f"{where}: headers name unknown canonical columns {sorted(unknown)}")
    path_fields = dict(raw.get("path_fields") or {})
    for col, rx in path_fields.items():
        if col not in columns or re.compile(rx).groups != 1:
            raise ConfigError(f"{where}: path_fields.{col} must name a column and have exactly one group")
    templates = []
    for i, t in enumerate(raw.get("rows") or []):
        tw = f"{where} rows[{i}]"
        if not isinstance(t, dict) or set(t) - {"when", "columns", "constants"}:
            raise ConfigError(f"{tw}: a row template has `when`, `columns` and `constants`")
        when = t.get("when")
        if when is not None and (problem := sql_problem(str(when))):
            raise ConfigError(f"{tw}: when: the SQL {when!r} does not parse: {problem}")
        texprs = _sql_map(t.get("columns"), tw, columns, "columns")
        texprs.update(_sql_map(t.get("constants"), tw, columns, "constants", constants=True))
        templates.append(RowTemplate(None if when is None else str(when), texprs))
    join = None
    if raw.get("join") is not None:
        j = raw["join"]
        if isinstance(j, dict) and True in j and "on" not in j:  # YAML 1.1 reads a bare `on:` key as true
            j = {("on" if k is True else k): v for k, v in j.items()}
        if not isinstance(j, dict) or not j.get("glob") or not j.get("on"):
            raise ConfigError(f"{where}: join needs `glob` (the header file) and `on` (its key columns)")
        on = (j["on"],) if isinstance(j["on"], str) else tuple(str(k) for k in j["on"])
        jfmt = j.get("format", fmt)
        if jfmt not in FORMATS - {"jsonl"}:
            raise ConfigError(f"{where}: join.format must be csv, parquet or xlsx, not {jfmt!r}")
        alias = str(j.get("as", "header"))
        if not alias.isidentifier():
            raise ConfigError(f"{where}: join.as must be a plain name such as o or header, not {alias!r}")
        join = JoinSpec(glob=str(j["glob"]), on=on, alias=alias, format=jfmt,
                        encoding=str(j.get("encoding", raw.get("encoding", "utf-8"))))
    if join and fmt == "jsonl":
        raise ConfigError(f"{where}: join is supported for csv, parquet and xlsx detail files")
    if (exprs or templates) and fmt == "jsonl":
        for sql in [*exprs.values(), *(e for t in templates for e in t.exprs.values())]:
            if any(len(ref) > 1 for ref in referenced_columns(sql)):
                raise ConfigError(f"{where}: JSON Lines expressions name keys directly (no table prefix): {sql!r}")
    layout = Layout(
        name=str(raw.get("name") or ""),
        glob=raw["glob"],
        path_date_format=raw.get("path_date_format", "%Y%m%d"),
        format=fmt,
        encoding=raw.get("encoding", "utf-8"),
        headers={k: list(v) for k, v in headers.items() if k not in path_fields},
        path_fields=path_fields,
        date_formats=list(raw.get("date_formats", defaults["date_formats"])),
        timestamp_formats=list(raw.get("timestamp_formats", defaults["timestamp_formats"])),
        thousands_separator=raw.get("thousands_separator", defaults["thousands_separator"]),
        decimal_separator=raw.get("decimal_separator", defaults["decimal_separator"]),
        exprs=exprs,
        rows=tuple(templates),
        join=join,
        spans_days=partitioned and "{date}" not in raw["glob"],
    )
    if not layout.name:
        raise ConfigError(f"{where}: every layout needs a name")
    return layout


def _enums(doc: dict[str, Any], additions: dict[str, dict[str, list[str]]],
           company_file: str = "company.yml") -> dict[str, dict[str, list[str]]]:
    enums: dict[str, dict[str, list[str]]] = {}
    for name, values in (doc.get("enums") or {}).items():
        if isinstance(values, list):
            values = {v: [v] for v in values}
        enums[str(name)] = {str(k): [str(x) for x in v] for k, v in values.items()}
    for name, values in additions.items():
        if name not in enums:
            raise ConfigError(f"{company_file}: enums.{name}: no enumeration {name!r} in {SOURCES_FILE.name} "
                              f"(enumerations: {sorted(enums)})")
        for value, spellings in values.items():
            merged = enums[name].setdefault(value, [])
            merged.extend(s for s in spellings if s not in merged)
    for values in enums.values():  # a canonical value is always one of its own spellings
        for value, spellings in values.items():
            if value not in spellings:
                spellings.insert(0, value)
    return enums


def parse_sources(doc: dict[str, Any], company_sources: dict[str, dict[str, Any]] | None = None,
                  company_enums: dict[str, dict[str, list[str]]] | None = None,
                  company_file: str = "company.yml") -> dict[str, Source]:
    """The sources of ``sources.yml`` with a company's overrides (``company.yml``: delivered,
    layouts, freshness; added enum values) applied and every layout checked."""
    defaults = doc.get("defaults", {})
    company_sources = company_sources or {}
    unknown = set(company_sources) - set(doc.get("sources") or {})
    if unknown:
        raise ConfigError(f"{company_file}: sources.{sorted(unknown)[0]}: no such source in {SOURCES_FILE.name} "
                          f"(sources: {sorted(doc.get('sources') or {})})")
    enums = _enums(doc, company_enums or {}, company_file)
    out: dict[str, Source] = {}
    for name, raw in (doc.get("sources") or {}).items():
        where = f"{SOURCES_FILE.name}: source {name}"
        over = company_sources.get(name, {})
        columns: dict[str, Column] = {}
        for cname, c in raw["columns"].items():
            if c.get("type") not in COLUMN_TYPES:
                raise ConfigError(f"{where}: column {cname} has type {c.get('type')!r}")
            values = c.get("values")
            if c["type"] == "enum":
                if c.get("enum"):
                    if c["enum"] not in enums:
                        raise ConfigError(f"{where}: column {cname} names unknown enumeration {c['enum']!r}")
                    values = enums[c["enum"]]
                if not values:
                    raise ConfigError(f"{where}: enum column {cname} needs `enum:` (or values)")
                if isinstance(values, list):
                    values = {v: [v] for v in values}
            max_abs = c.get("max_abs")
            if max_abs is not None and (c["type"] not in {"integer", "decimal"} or isinstance(max_abs, bool)
                                        or not isinstance(max_abs, (int, float)) or max_abs <= 0):
                raise ConfigError(f"{where}: column {cname}: max_abs must be a positive number on a numeric column")
            columns[cname] = Column(
                name=cname,
                type=c["type"],
                required=bool(c.get("required", False)),
                values=values,
                references=c.get("references"),
                sensitive=bool(c.get("sensitive", False)),
                missing_reason=c.get("missing_reason", "missing_key"),
                invalid_reason=c.get("invalid_reason"),
                max_abs=max_abs,
                enum=c.get("enum"),
            )
        partitioning = raw.get("partitioning", "daily")
        if partitioning not in {"daily", "weekly", "none"}:
            raise ConfigError(f"{where}: partitioning must be daily, weekly or none")
        raw_layouts = over["layouts"] if "layouts" in over else raw["layouts"]
        lwhere = (f"{company_file}: sources.{name}.layouts" if "layouts" in over else where)
        if not isinstance(raw_layouts, list):
            raise ConfigError(f"{lwhere}: layouts must be a list of layouts")
        layouts = [_layout(l, defaults, columns, f"{lwhere} layout {l.get('name') if isinstance(l, dict) else i}",
                           partitioning != "none")
                   for i, l in enumerate(raw_layouts)]
        names = [l.name for l in layouts]
        if len(set(names)) != len(names):
            raise ConfigError(f"{lwhere}: two layouts are named {next(n for n in names if names.count(n) > 1)!r}")
        for l in layouts:
            if partitioning == "none" and "{date}" in l.glob:
                raise ConfigError(f"{where} layout {l.name}: an unpartitioned source's glob has no {{date}}")
            if l.spans_days and not (raw.get("partition_date_column") or raw.get("partition_date_expr")):
                raise ConfigError(f"{where} layout {l.name}: a glob without {{date}} takes each row's partition from "
                                  f"the source's partition date column, and {name} has none")
            if l.spans_days and partitioning == "weekly":
                raise ConfigError(f"{where} layout {l.name}: weekly sources need one file per week ({{date}} in the glob)")
        delivered = bool(over.get("delivered", True))
        if delivered:
            for l in layouts:
                missing = [c.name for c in columns.values() if c.required and c.name not in l.provided]
                if missing:
                    raise ConfigError(f"{where} layout {l.name}: required column(s) {missing} have neither a header "
                                      f"nor an expression")
        fresh = over["freshness"] if "freshness" in over else raw.get("freshness")
        if fresh is not None and (not isinstance(fresh, dict) or {"expected_every_days", "grace_days"} - set(fresh)):
            raise ConfigError(f"{where}: freshness needs expected_every_days and grace_days (or null for none)")
        out[name] = Source(
            name=name,
            description=raw.get("description", ""),
            table=raw["table"],
            partitioning=partitioning,
            columns=columns,
            layouts=layouts,
            unique_key=list(raw.get("unique_key", [])),
            partition_date_column=raw.get("partition_date_column"),
            partition_date_expr=raw.get("partition_date_expr"),
            master_entity=raw.get("master_entity"),
            unknown_reason=raw.get("unknown_reason") or (f"unknown_{raw['master_entity']}" if raw.get("master_entity") else None),
            row_rules=[RowRule(**r) for r in raw.get("row_rules", [])],
            freshness_days=(fresh["expected_every_days"], fresh["grace_days"]) if fresh else None,
            delivered=delivered,
            max_unparseable_share=float(raw.get("max_unparseable_share", defaults.get("max_unparseable_share", 0.5))),
        )
    masters = {s.master_entity for s in out.values() if s.master_entity}
    for s in out.values():
        for c in s.columns.values():
            if c.references and c.references not in masters:
                raise ConfigError(f"{SOURCES_FILE.name}: {s.name}.{c.name} references unknown entity {c.references!r}")
    check_overlaps(out, {n: (company_file if "layouts" in company_sources.get(n, {}) else SOURCES_FILE.name)
                         for n in out})
    return out


def check_overlaps(sources: dict[str, Source], origin: dict[str, str] | None = None) -> None:
    """Two layouts (of one source or of two) whose globs can match the same file are an error:
    every file would be read twice. The check is exact for ``*``, ``?``, ``[...]`` and
    ``{date}``, and ignores the case of letters (file systems and exports disagree on it)."""
    delivered = [(s.name, l) for s in sources.values() if s.delivered for l in s.layouts]
    for i, (sa, la) in enumerate(delivered):
        for sb, lb in delivered[i + 1:]:
            if globs_overlap(la.glob_pattern(), lb.glob_pattern()):
                files = sorted({(origin or {}).get(sa, SOURCES_FILE.name), (origin or {}).get(sb, SOURCES_FILE.name)})
                raise ConfigError(f"{' and '.join(files)}: layouts {sa}.{la.name} ({la.glob!r}) and {sb}.{lb.name} ({lb.glob!r}) can match "
                                  f"the same file; make their globs disjoint")


def _glob_tokens(glob: str) -> list[tuple]:
    """A glob as tokens: ('star',) or ('set', chars, negated) for one character (lower case)."""
    out: list[tuple] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        close = -1
        if ch == "[":
            first = i + 2 if glob[i + 1:i + 2] in ("!", "^") else i + 1
            close = glob.find("]", first + 1)
        if ch == "*":
            if not out or out[-1] != ("star",):
                out.append(("star",))
        elif ch == "?":
            out.append(("set", frozenset("/"), True))
        elif close > 0:
            body = glob[i + 1:close]
            neg = body[:1] in ("!", "^")
            body = body[1:] if neg else body
            chars: set[str] = set()
            k = 0
            while k < len(body):
                if k + 2 < len(body) and body[k + 1] == "-":
                    chars |= {chr(c) for c in range(ord(body[k]), ord(body[k + 2]) + 1)}
                    k += 3
                else:
                    chars.add(body[k])
                    k += 1
            chars = {c.lower() for c in chars}
            out.append(("set", frozenset(chars | ({"/"} if neg else set())), neg))
            i = close
        else:
            out.append(("set", frozenset({ch.lower()}), False))
        i += 1
    return out


def _sets_meet(a: tuple, b: tuple) -> bool:
    (_, ca, na), (_, cb, nb) = a, b
    if na and nb:
        return True
    if na:
        return bool(cb - ca)
    if nb:
        return bool(ca - cb)
    return bool(ca & cb)


def globs_overlap(a: str, b: str) -> bool:
    """Whether some path matches both globs (``*`` and ``?`` never match ``/``; case ignored)."""
    ta, tb = _glob_tokens(a), _glob_tokens(b)
    no_slash = ("set", frozenset("/"), True)

    @lru_cache(maxsize=None)
    def meet(i: int, j: int) -> bool:
        if i == len(ta) and j == len(tb):
            return True
        if i < len(ta) and ta[i] == ("star",):
            if meet(i + 1, j):
                return True
            if j < len(tb) and (tb[j] == ("star",) or _sets_meet(no_slash, tb[j])):
                return meet(i, j + 1) if tb[j] != ("star",) else meet(i, j + 1) or meet(i + 1, j)
            return False
        if j < len(tb) and tb[j] == ("star",):
            if meet(i, j + 1):
                return True
            return i < len(ta) and _sets_meet(no_slash, ta[i]) and meet(i + 1, j)
        if i == len(ta) or j == len(tb):
            return False
        return _sets_meet(ta[i], tb[j]) and meet(i + 1, j + 1)

    return meet(0, 0)


def undelivered(sources: dict[str, Source]) -> list[str]:
    """What the company does not deliver: source names, and ``source.column`` for the columns of
    a delivered source that no layout fills (dbt's var ``undelivered``; the credit rating marks
    the indicators built on them as not available)."""
    out: list[str] = []
    for s in sources.values():
        if not s.delivered:
            out.append(s.name)
            continue
        provided = s.provided_columns
        out += [f"{s.name}.{c}" for c in s.columns if c not in provided]
    return out


@lru_cache(maxsize=4)
def _load(sources_mtime: float, company_key: tuple) -> dict[str, Source]:
    from pipelines.company import load_company

    with open(SOURCES_FILE, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    c = load_company(Path(company_key[0]))
    return parse_sources(doc, c.sources, c.enums, str(c.file))


def load_sources(config_dir: Path | None = None) -> dict[str, Source]:
    """The sources of a company (sources.yml with its company.yml applied); by default the
    current company's (``$DWH_CONFIG``)."""
    from pipelines.company import company, load_company

    c = load_company(config_dir) if config_dir else company()
    return _load(SOURCES_FILE.stat().st_mtime, (str(c.config_dir), c.file.stat().st_mtime if c.file.exists() else 0))


@dataclass(frozen=True)
class ListedPath:
    """One landing-zone entry matching a glob: where it is, what to read, or why it is refused."""

    relpath: str  # relative to the landing zone, POSIX separators (the name it was delivered under)
    path: Path  # the resolved real path to read (the entry itself when refused)
    refused: tuple[str, str] | None  # (error code, why) or None when safe to read


def _check_entry(p: Path, rel: str, root: Path, root_prefix: str,
                 real_dirs: dict[str, str | None]) -> ListedPath:
    """One landing entry with its real path, or why path safety refuses it."""
    text = str(p)
    refused: tuple[str, str] | None = None
    real = p
    if any(part in ("", ".", "..") for part in rel.split("/")):
        refused = ("unsafe_path", f"the path has a {'..'!r} or empty component; landing paths must stay "
                                  "inside the landing zone")
    else:
        # Fast path (most entries): not a link itself, so its real path is its folder's real
        # path (resolved once per folder) plus its name. Links go through a full resolve.
        try:
            st = os.lstat(p)
        except OSError:
            st = None
        folder = os.path.dirname(text)
        if folder not in real_dirs:
            try:
                real_dirs[folder] = os.path.realpath(folder, strict=True)
            except (OSError, RuntimeError):
                real_dirs[folder] = None
        real_folder = real_dirs[folder]
        if st is not None and not stat.S_ISLNK(st.st_mode) and real_folder is not None:
            real_text = real_folder.rstrip("/") + "/" + p.name
            real = Path(real_text)
            if not real_text.startswith(root_prefix):
                refused = ("unsafe_path", f"resolves to {real}, outside the landing zone {root}; "
                                          "symlinks out of the landing zone are refused, not followed")
            elif not stat.S_ISREG(st.st_mode):
                refused = ("not_a_file", f"resolves to {real}, which is not a regular file")
        else:
            try:
                real = p.resolve(strict=True)
            except (OSError, RuntimeError) as exc:  # dangling link, loop, permission
                refused = ("broken_link", f"cannot be resolved ({type(exc).__name__}: "
                                          f"{getattr(exc, 'strerror', None) or exc}); "
                                          "a symlink whose target does not exist")
            else:
                if not real.is_relative_to(root):
                    refused = ("unsafe_path", f"resolves to {real}, outside the landing zone {root}; "
                                              "symlinks out of the landing zone are refused, not followed")
                elif not real.is_file():
                    refused = ("not_a_file", f"resolves to {real}, which is not a regular file")
    return ListedPath(rel, p if refused else real, refused)


def walk_landing(landing: Path, folder: str = "") -> list[ListedPath]:
    """Every file under ``folder`` (relative to the landing zone, recursively), each checked by
    path safety. Folders reached through symlinks are walked once (loops are cut); a file in a
    folder outside the landing zone is listed as refused, never read."""
    root = landing.resolve()
    root_prefix = str(root).rstrip("/") + "/"
    start = landing / folder if folder else landing
    real_dirs: dict[str, str | None] = {}
    seen: set[str] = set()
    out: list[ListedPath] = []
    stack = [(str(start), folder.rstrip("/") + "/" if folder else "")]
    while stack:
        where, rel = stack.pop()
        try:
            with os.scandir(where) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            try:
                is_dir = e.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                real = os.path.realpath(e.path)
                if real not in seen:
                    seen.add(real)
                    stack.append((e.path, rel + e.name + "/"))
                continue
            out.append(_check_entry(Path(e.path), rel + e.name, root, root_prefix, real_dirs))
    out.sort(key=lambda x: x.relpath)
    return out


def _glob_folder(glob: str) -> str:
    """The literal folder a glob starts in ('' for the landing root)."""
    parts = glob.split("/")[:-1]
    fixed = []
    for part in parts:
        if any(ch in part for ch in "*?[{"):
            break
        fixed.append(part)
    return "/".join(fixed)


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    """A glob (``*``, ``?``, ``[...]``; never across ``/``) as a case-insensitive anchored regex."""
    out, i = [], 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and (close := glob.find("]", i + 2)) > 0:
            body = glob[i + 1:close]
            out.append("[" + ("^" + body[1:] if body[:1] in "!^" else body).replace("\\", "\\\\") + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


def list_landing(landing: Path, pattern: str) -> list[ListedPath]:
    """The one listing of the landing zone (ingest, the sensor and freshness all go through it):
    entries matching ``pattern`` (letters in any case), each resolved (symlinks followed by the
    OS, ``..`` collapsed) and checked against the resolved landing root. Entries whose real path
    is inside the root are returned with that real path, so what is read is what was checked.
    Refused, with the reason: a real path outside the landing zone (``unsafe_path``: a symlink
    to a file or directory elsewhere), a dangling or looping symlink (``broken_link``), anything
    not a regular file (``not_a_file``). Names with spaces, quotes, ``..`` inside a name or
    non-ASCII characters are ordinary names."""
    rx = _glob_to_regex(pattern)
    return [e for e in walk_landing(landing, _glob_folder(pattern)) if rx.match(e.relpath)]


def find_files(source: Source, landing: Path, start: date | None = None, end: date | None = None,
               include_refused: bool = False, walked: dict[str, list[ListedPath]] | None = None) -> list[LandingFile]:
    """Landing files of a source whose partition date is in [start, end], sorted by date then path.

    A weekly source's files are dated by the Monday their week starts; an unpartitioned
    source's files, and files whose rows span many days (a layout without ``{date}``), have no
    date and are always returned (their rows are dated when read). Names match their layout's
    glob in any letter case. Entries refused by path safety (symlinks out of the landing zone,
    dangling links, non-files) are left out unless ``include_refused`` (ingest includes them, to
    fail their partition with the reason). A name whose date does not exist (``20230230``) is
    not a file of any partition: ``unseen_files`` reports it."""
    walked = {} if walked is None else walked
    found: list[LandingFile] = []
    for layout in source.layouts:
        rx = re.compile(layout.path_regex().pattern, re.IGNORECASE)
        path_rx = {col: re.compile(r) for col, r in layout.path_fields.items()}
        folder = _glob_folder(layout.glob_pattern())
        if folder not in walked:
            walked[folder] = walk_landing(landing, folder)
        for entry in walked[folder]:
            rel = entry.relpath
            m = rx.match(rel)
            if not m or (entry.refused and not include_refused):
                continue
            d: date | None = None
            if not layout.spans_days and source.partitioning != "none":
                try:
                    d = datetime.strptime(m.group(1), layout.path_date_format).date()
                except ValueError:
                    continue
                if (start and d < start) or (end and d > end):
                    continue
            values = {}
            for col, prx in path_rx.items():
                pm = prx.search(rel)
                values[col] = pm.group(1) if pm else None
            found.append(LandingFile(source.name, layout, entry.path, rel, d, values, entry.refused,
                                     m.group(1) if m.groups() else None, landing))
    found.sort(key=lambda f: (f.partition_date or date.min, f.relpath))
    return found


@dataclass(frozen=True)
class UnseenFile:
    relpath: str
    code: str  # unmatched_file | bad_file_date
    message: str


def unseen_files(sources: dict[str, Source], source: Source, landing: Path,
                 ignore: tuple[str, ...] = ()) -> list[UnseenFile]:
    """Files in the folders of ``source``'s layouts that no layout of any delivered source reads
    (nor a layout's joined header file, nor a company ``ignore`` glob), and files a layout would
    read but whose name holds a date that does not exist. Each would otherwise be skipped
    without a word, and a re-run of its day would empty the day."""
    if not source.delivered:
        return []
    folders = sorted({_glob_folder(l.glob_pattern()) for l in source.layouts})
    folders = [f for f in folders if not any(f != g and f.startswith(g + "/" if g else "") for g in folders)]
    readers: list[tuple[re.Pattern[str], Layout | None]] = []
    for s in sources.values():
        if not s.delivered:
            continue
        for l in s.layouts:
            readers.append((re.compile(l.path_regex().pattern, re.IGNORECASE), l if s.partitioning != "none" else None))
            if l.join:
                readers.append((_glob_to_regex(widen_glob(l.join.glob, l.path_date_format)), None))
    skip = [_glob_to_regex(g) for g in ignore]
    out: list[UnseenFile] = []
    for folder in folders:
        for entry in walk_landing(landing, folder):
            rel = entry.relpath
            if any(rx.match(rel) for rx in skip):
                continue
            hits = [(rx.match(rel), l) for rx, l in readers]
            hits = [(m, l) for m, l in hits if m]
            if not hits:
                out.append(UnseenFile(rel, "unmatched_file",
                                      f"{rel} is in the folder of source {source.name} but no layout reads it "
                                      f"(file names match layouts' globs in any letter case); add a layout for it, "
                                      f"or list it under `ignore:` in company.yml"))
                continue
            for m, l in hits:
                if l is not None and not l.spans_days and m.groups():
                    try:
                        datetime.strptime(m.group(1), l.path_date_format)
                    except ValueError:
                        out.append(UnseenFile(rel, "bad_file_date",
                                              f"{rel}: the date {m.group(1)!r} in the name (layout {l.name}, "
                                              f"{l.path_date_format}) is not a real date; the file belongs to no day"))
    return sorted(set(out), key=lambda u: u.relpath)


def date_ranges(days: list[date], step: int = 1) -> list[tuple[date, date]]:
    """Runs of days ``step`` days apart (1: consecutive days, 7: consecutive weeks) as
    (first, last) pairs, in date order."""
    out: list[tuple[date, date]] = []
    for d in sorted(days):
        if out and out[-1][1] + timedelta(days=step) == d:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out
