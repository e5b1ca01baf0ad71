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


class ConfigError(ValueError):
    """sources.yml is malformed."""


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


@dataclass(frozen=True)
class RowRule:
    reason: str
    when: str
    message: str


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

    def glob_pattern(self) -> str:
        """The layout's glob with the date placeholder widened to digits."""
        if "{date}" not in self.glob:
            return self.glob
        fmt = self.path_date_format
        for k, v in _DATE_GLOB.items():
            fmt = fmt.replace(k, v)
        return self.glob.replace("{date}", fmt)

    def path_regex(self) -> re.Pattern[str]:
        if "{date}" not in self.glob:
            return re.compile("^" + re.escape(self.glob).replace(r"\*", r"[^/]*") + "$")
        parts = self.glob.split("{date}")
        fmt = re.escape(self.path_date_format)
        for k, v in _DATE_RE.items():
            fmt = fmt.replace(re.escape(k), v)
        pieces = [re.escape(p).replace(r"\*", r"[^/]*") for p in parts]
        return re.compile("^" + f"({fmt})".join(pieces) + "$")

    def header_lookup(self) -> dict[str, str]:
        """Normalised header spelling -> canonical column."""
        out: dict[str, str] = {}
        for canonical, spellings in self.headers.items():
            for s in spellings:
                out[normalise_header(s)] = canonical
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

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    @property
    def period_days(self) -> int:
        """Days one partition spans (0: not partitioned)."""
        return {"daily": 1, "weekly": 7, "none": 0}[self.partitioning]


@dataclass(frozen=True)
class LandingFile:
    """A landing-zone file recognised as belonging to a source."""

    source: str
    layout: Layout
    path: Path
    relpath: str  # relative to the landing zone, POSIX separators
    partition_date: date | None  # None for unpartitioned sources
    path_values: dict[str, str] = field(default_factory=dict)  # values of the layout's path_fields
    refused: tuple[str, str] | None = None  # (error code, why) when path safety forbids reading it


def normalise_header(h: str) -> str:
    return h.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _layout(raw: dict[str, Any], defaults: dict[str, Any], columns: dict[str, Column], where: str) -> Layout:
    fmt = raw.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format must be one of {sorted(FORMATS)}, not {fmt!r}")
    headers = raw.get("headers") or {c: [c] for c in columns}
    unknown = set(headers) - set(columns)
    if unknown:
        raise ConfigError(f"{where}: headers name unknown canonical columns {sorted(unknown)}")
    if not raw.get("glob"):
        raise ConfigError(f"{where}: glob is required")
    for col, rx in (raw.get("path_fields") or {}).items():
        if col not in columns or re.compile(rx).groups != 1:
            raise ConfigError(f"{where}: path_fields.{col} must name a column and have exactly one group")
    return Layout(
        name=raw["name"],
        glob=raw["glob"],
        path_date_format=raw.get("path_date_format", "%Y%m%d"),
        format=fmt,
        encoding=raw.get("encoding", "utf-8"),
        headers={k: list(v) for k, v in headers.items() if k not in (raw.get("path_fields") or {})},
        path_fields=dict(raw.get("path_fields") or {}),
        date_formats=list(raw.get("date_formats", defaults["date_formats"])),
        timestamp_formats=list(raw.get("timestamp_formats", defaults["timestamp_formats"])),
        thousands_separator=raw.get("thousands_separator", defaults["thousands_separator"]),
        decimal_separator=raw.get("decimal_separator", defaults["decimal_separator"]),
    )


def parse_sources(doc: dict[str, Any]) -> dict[str, Source]:
    defaults = doc.get("defaults", {})
    out: dict[str, Source] = {}
    for name, raw in (doc.get("sources") or {}).items():
        where = f"{SOURCES_FILE.name}: source {name}"
        columns: dict[str, Column] = {}
        for cname, c in raw["columns"].items():
            if c.get("type") not in COLUMN_TYPES:
                raise ConfigError(f"{where}: column {cname} has type {c.get('type')!r}")
            values = c.get("values")
            if c["type"] == "enum":
                if not values:
                    raise ConfigError(f"{where}: enum column {cname} needs values")
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
            )
        layouts = [_layout(l, defaults, columns, f"{where} layout {l.get('name')}") for l in raw["layouts"]]
        partitioning = raw.get("partitioning", "daily")
        if partitioning not in {"daily", "weekly", "none"}:
            raise ConfigError(f"{where}: partitioning must be daily, weekly or none")
        for l in layouts:
            if ("{date}" in l.glob) != (partitioning != "none"):
                raise ConfigError(f"{where} layout {l.name}: glob needs {{date}} exactly when the source is partitioned")
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
            freshness_days=(raw["freshness"]["expected_every_days"], raw["freshness"]["grace_days"])
            if raw.get("freshness") else None,
        )
    masters = {s.master_entity for s in out.values() if s.master_entity}
    for s in out.values():
        for c in s.columns.values():
            if c.references and c.references not in masters:
                raise ConfigError(f"{SOURCES_FILE.name}: {s.name}.{c.name} references unknown entity {c.references!r}")
    return out


@lru_cache(maxsize=1)
def load_sources() -> dict[str, Source]:
    with open(SOURCES_FILE, encoding="utf-8") as fh:
        return parse_sources(yaml.safe_load(fh))


@dataclass(frozen=True)
class ListedPath:
    """One landing-zone entry matching a glob: where it is, what to read, or why it is refused."""

    relpath: str  # relative to the landing zone, POSIX separators (the name it was delivered under)
    path: Path  # the resolved real path to read (the entry itself when refused)
    refused: tuple[str, str] | None  # (error code, why) or None when safe to read


def list_landing(landing: Path, pattern: str) -> list[ListedPath]:
    """The one listing of the landing zone (ingest and the sensor both go through it).

    Every entry matching ``pattern`` is resolved (symlinks followed by the OS, ``..`` collapsed)
    and checked against the resolved landing root. Entries whose real path is inside the root are
    returned with that real path, so what is read is what was checked. Refused, with the reason:
    a real path outside the landing zone (``unsafe_path``: a symlink to a file or directory
    elsewhere), a dangling or looping symlink (``broken_link``), anything not a regular file
    (``not_a_file``). Names with spaces, quotes, ``..`` inside a name or non-ASCII characters are
    ordinary names."""
    root = landing.resolve()
    root_prefix = str(root).rstrip("/") + "/"
    base = str(landing).rstrip("/") + "/"
    real_dirs: dict[str, str | None] = {}  # folder as globbed -> its real path (None: unresolvable)
    out: list[ListedPath] = []
    for p in landing.glob(pattern):
        text = str(p)
        rel = text[len(base):] if text.startswith(base) else p.relative_to(landing).as_posix()
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
        out.append(ListedPath(rel, p if refused else real, refused))
    return out


def find_files(source: Source, landing: Path, start: date | None = None, end: date | None = None,
               include_refused: bool = False) -> list[LandingFile]:
    """Landing files of a source whose partition date is in [start, end], sorted by date then path.

    A weekly source's files are dated by the Monday their week starts; an unpartitioned
    source's files have no date and are always returned. Entries refused by ``list_landing``
    (symlinks out of the landing zone, dangling links, non-files) are left out unless
    ``include_refused`` (ingest includes them, to fail their partition with the reason)."""
    found: list[LandingFile] = []
    for layout in source.layouts:
        rx = layout.path_regex()
        path_rx = {col: re.compile(r) for col, r in layout.path_fields.items()}
        for entry in list_landing(landing, layout.glob_pattern()):
            rel = entry.relpath
            m = rx.match(rel)
            if not m or (entry.refused and not include_refused):
                continue
            d: date | None = None
            if source.partitioning != "none":
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
            found.append(LandingFile(source.name, layout, entry.path, rel, d, values, entry.refused))
    found.sort(key=lambda f: (f.partition_date or date.min, f.relpath))
    return found


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
