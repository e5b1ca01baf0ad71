"""A small generated world whose master data holds hostile names, run through the real pipeline
(ingest → Great Expectations → dbt → publish → reports, ``python -m pipelines run``), shared by
tests/test_reports_offline.py (made once per test session).

The tiny preset of the sample-data generator (seed 11), stretched to 100 days so that the first
quarter is over and rated (a credit-rating workbook exists). Before the run, every daily master
extract of the landing zone is rewritten: three customers, three reps and both branches get the
hostile names below (the same in every extract, so they are the names of the current versions and
of every version in force); everything else stays as generated, so the other customers and reps
keep their ordinary (Chinese) names."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE = (SCRIPT, IMG, FORMULA)

DAYS = 100
SEED = 11


@dataclass(frozen=True)
class World:
    home: Path
    customers: dict[str, str]   # code -> hostile name
    reps: dict[str, str]
    branches: dict[str, str]
    rep_names: dict[str, str]    # every rep code -> its name (as the master holds it)

    @property
    def serving(self) -> Path:
        return self.home / "serving" / "serving.duckdb"

    @property
    def reports(self) -> Path:
        return self.home / "reports"


def _rewrite(path: Path, key: str, column: str, names: dict[str, str]) -> None:
    """Set ``column`` of the rows whose ``key`` is in ``names``; same encoding, BOM and layout."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("gbk"), "gbk"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    k, c = header.index(key), header.index(column)
    for row in rows[1:]:
        if row and row[k] in names:
            row[c] = names[row[k]]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding))


def _codes(landing: Path, name: str, key: str) -> list[str]:
    latest = sorted(landing.glob(f"master/*/*/*/{name}.csv"))[-1]
    with open(latest, encoding="utf-8-sig", newline="") as fh:
        return sorted({r[key] for r in csv.DictReader(fh)})


def make_world(folder: Path) -> World:
    from sample_data import GeneratorConfig, generate
    from support.crash import fresh_home, run_pipeline

    generated = folder / "generated_world"
    generate(GeneratorConfig.from_preset("tiny", seed=SEED, days=DAYS), generated, clean=True)
    landing = generated / "landing"
    customers = dict(zip(_codes(landing, "customers", "customer_code")[:3], HOSTILE))
    reps = dict(zip(_codes(landing, "reps", "rep_code")[:3], HOSTILE))
    branch_codes = _codes(landing, "branches", "branch_code")
    # two branches in the tiny world: the HTML payloads in the first, the formula in the second
    branches = {branch_codes[0]: IMG + SCRIPT, branch_codes[-1]: FORMULA}
    for path in landing.glob("master/*/*/*/customers.csv"):
        _rewrite(path, "customer_code", "customer_name", customers)
    for path in landing.glob("master/*/*/*/reps.csv"):
        _rewrite(path, "rep_code", "rep_name", reps)
    for path in landing.glob("master/*/*/*/branches.csv"):
        _rewrite(path, "branch_code", "branch_name", branches)
    latest_reps = sorted(landing.glob("master/*/*/*/reps.csv"))[-1]
    with open(latest_reps, encoding="utf-8-sig", newline="") as fh:
        rep_names = {r["rep_code"]: r["rep_name"] for r in csv.DictReader(fh)}
    home = fresh_home(folder / "var", generated)
    run_pipeline(home)
    return World(home, customers, reps, branches, rep_names)


def hostile_world(tmp_path_factory) -> World:
    from support import session_cache

    return session_cache("reports_hostile_world", tmp_path_factory, make_world)
