"""Company settings: what differs from one manufacturer to the next, in one file, ``company.yml``.

A company's configuration is a folder (``DWH_CONFIG``; default: the repository root) holding
``company.yml`` and, optionally, its own ``rules.yml`` (else the repository's). ``company.yml``
has these sections, all optional except ``company``:

``company``   business time zone, currency code, amount precision, first day of the data, name
``landing``   the landing-zone folder (relative to company.yml), when it is not ``$DWH_HOME/landing``
``sources``   per source of ``pipelines/ingest/sources.yml``: ``delivered: false`` for a source the
              company does not have, ``layouts:`` replacing the default file layouts,
              ``freshness:`` (or ``null`` to turn the freshness check off)
``enums``     values added to an enumeration (channel types, payment terms, …), with spellings
``ignore``    globs of landing files no source reads on purpose (others in a source's folder are
              reported as ``unmatched_file`` and fail the load's file check)

Nothing else of the project needs editing to onboard a company: ingest, the quality checks, dbt
(through its vars) and the reports read these settings. Errors name the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ENV = "DWH_CONFIG"
COMPANY_FILE = "company.yml"
RULES_FILE = "rules.yml"

_SECTIONS = {"company", "landing", "sources", "enums", "ignore"}
_COMPANY_KEYS = {"name", "timezone", "currency", "amount_scale", "first_day", "report_language"}
_SOURCE_KEYS = {"delivered", "layouts", "freshness"}


class CompanyConfigError(ValueError):
    """company.yml is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Company:
    """The settings of ``company.yml`` (defaults in brackets)."""

    config_dir: Path
    name: str = "Sample distributor network"
    timezone: str = "Asia/Shanghai"  # business time zone: every date of the warehouse is a date here
    currency: str = "CNY"  # ISO 4217 code of every amount; reports label amounts with it
    amount_scale: int = 2  # decimals kept on amounts (net amount, cost, margin, receivables)
    first_day: date = date(2023, 1, 1)  # first day of the daily partitions (the earliest data)
    report_language: str = "en"  # en | zh; DWH_REPORT_LANGUAGE overrides it
    landing: Path | None = None  # landing zone, when not $DWH_HOME/landing
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-source overrides
    enums: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # added enum values
    ignore: tuple[str, ...] = ()  # landing-file globs no source reads on purpose

    @property
    def file(self) -> Path:
        return self.config_dir / COMPANY_FILE

    @property
    def rules_file(self) -> Path:
        """The company's own rules.yml when its folder has one, else the repository's."""
        own = self.config_dir / RULES_FILE
        return own if own.exists() else REPO_ROOT / RULES_FILE

    def delivered(self, source: str) -> bool:
        return bool(self.sources.get(source, {}).get("delivered", True))


def config_dir() -> Path:
    """The company configuration folder: ``$DWH_CONFIG`` or the repository root."""
    return Path(os.environ.get(CONFIG_ENV) or REPO_ROOT).resolve()


def parse_company(doc: Any, folder: Path) -> Company:
    where = folder / COMPANY_FILE

    def bad(key: str, problem: str) -> CompanyConfigError:
        return CompanyConfigError(f"{where}: {key}: {problem}")

    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise CompanyConfigError(f"{where}: must be a YAML mapping with the sections {sorted(_SECTIONS)}")
    unknown = set(doc) - _SECTIONS
    if unknown:
        raise bad(sorted(unknown)[0], f"unknown section; known sections are {sorted(_SECTIONS)}")
    raw = doc.get("company") or {}
    if not isinstance(raw, dict):
        raise bad("company", "must be a mapping")
    unknown = set(raw) - _COMPANY_KEYS
    if unknown:
        raise bad(f"company.{sorted(unknown)[0]}", f"unknown setting; known settings are {sorted(_COMPANY_KEYS)}")
    kw: dict[str, Any] = {}
    if "name" in raw:
        kw["name"] = str(raw["name"])
    if "timezone" in raw:
        try:
            ZoneInfo(str(raw["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise bad("company.timezone", f"{raw['timezone']!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        kw["timezone"] = str(raw["timezone"])
    if "currency" in raw:
        cur = str(raw["currency"])
        if len(cur) != 3 or not cur.isalpha() or not cur.isupper():
            raise bad("company.currency", f"{cur!r} is not an ISO 4217 code such as CNY, USD or GBP")
        kw["currency"] = cur
    if "amount_scale" in raw:
        scale = raw["amount_scale"]
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 6:
            raise bad("company.amount_scale", f"{scale!r} must be a whole number of decimals from 0 to 6")
        kw["amount_scale"] = scale
    if "first_day" in raw:
        value = raw["first_day"]
        try:
            kw["first_day"] = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise bad("company.first_day", f"{value!r} is not a date written YYYY-MM-DD") from None
    if "report_language" in raw:
        if raw["report_language"] not in {"en", "zh"}:
            raise bad("company.report_language", f"{raw['report_language']!r} must be en or zh")
        kw["report_language"] = raw["report_language"]
    if doc.get("landing") is not None:
        kw["landing"] = (folder / str(doc["landing"])).resolve()
    sources = doc.get("sources") or {}
    if not isinstance(sources, dict):
        raise bad("sources", "must map source names to their settings")
    for name, over in sources.items():
        if not isinstance(over, dict):
            raise bad(f"sources.{name}", "must be a mapping (delivered, layouts, freshness)")
        unknown = set(over) - _SOURCE_KEYS
        if unknown:
            raise bad(f"sources.{name}.{sorted(unknown)[0]}", f"unknown key; known keys are {sorted(_SOURCE_KEYS)}")
        if "delivered" in over and not isinstance(over["delivered"], bool):
            raise bad(f"sources.{name}.delivered", "must be true or false")
    kw["sources"] = {str(k): dict(v) for k, v in sources.items()}
    enums = doc.get("enums") or {}
    if not isinstance(enums, dict):
        raise bad("enums", "must map enumeration names to added values")
    parsed_enums: dict[str, dict[str, list[str]]] = {}
    for name, values in enums.items():
        if isinstance(values, list):
            values = {str(v): [str(v)] for v in values}
        if not isinstance(values, dict):
            raise bad(f"enums.{name}", "must be a list of values or a mapping value -> accepted spellings")
        parsed_enums[str(name)] = {str(k): [str(s) for s in (v or [k])] for k, v in values.items()}
    kw["enums"] = parsed_enums
    ignore = doc.get("ignore") or []
    if not isinstance(ignore, list) or not all(isinstance(g, str) and g for g in ignore):
        raise bad("ignore", "must be a list of globs relative to the landing zone, e.g. [README.md, 'archive/*']")
    kw["ignore"] = tuple(ignore)
    return Company(config_dir=folder, **kw)


@lru_cache(maxsize=8)
def _load(folder: str, mtime: float) -> Company:
    path = Path(folder) / COMPANY_FILE
    if not path.exists():
        raise CompanyConfigError(f"{path}: no company.yml in the configuration folder ({CONFIG_ENV}={folder})")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise CompanyConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValueError as exc:  # PyYAML builds dates while parsing: 2024-13-01 fails there
        raise CompanyConfigError(f"{path}: company.first_day or another date: {exc} (dates are written "
                                 f"YYYY-MM-DD)") from None
    return parse_company(doc, Path(folder))


def load_company(folder: Path) -> Company:
    """The settings of the company whose company.yml is in ``folder`` (re-read when it changes)."""
    path = folder / COMPANY_FILE
    return _load(str(folder.resolve()), path.stat().st_mtime if path.exists() else 0.0)


def company() -> Company:
    """The current company's settings (``$DWH_CONFIG``; Dagster assets get them from the
    ``settings`` resource instead)."""
    return load_company(config_dir())
