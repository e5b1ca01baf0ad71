"""Where everything lives at run time, chosen by environment.

All generated state (landing zone, warehouse, serving copy, reports, Dagster home, logs) sits
under one git-ignored folder, ``DWH_HOME`` (default ``<repo>/var``). ``DWH_ENV`` selects the
resource set (``dev`` by default, ``test`` in the test suite, ``prod`` for a deployment).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.company import REPO_ROOT, company
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"


@dataclass(frozen=True)
class Paths:
    """Every run-time location, derived from one home folder (and the landing zone, which may
    lie elsewhere: company.yml's ``landing``)."""

    home: Path
    landing_dir: Path | None = None

    @property
    def landing(self) -> Path:
        return self.landing_dir or self.home / "landing"

    @property
    def generated(self) -> Path:
        return self.home / "generated"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "warehouse.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.home / "serving"

    @property
    def serving(self) -> Path:
        return self.serving_dir / "serving.duckdb"

    @property
    def parquet_export(self) -> Path:
        return self.serving_dir / "parquet"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs(self) -> Path:
        return self.home / "data_docs"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    def ensure(self) -> "Paths":
        for p in (self.warehouse.parent, self.serving_dir, self.reports, self.data_docs, self.tmp):
            p.mkdir(parents=True, exist_ok=True)
        return self


def dwh_home() -> Path:
    return Path(os.environ.get("DWH_HOME", REPO_ROOT / "var")).resolve()


def paths() -> Paths:
    """The current locations, from the environment (the command line, tests; Dagster assets get
    them from the ``settings`` resource instead): the landing zone is ``$DWH_LANDING_DIR``, else
    company.yml's ``landing``, else ``<home>/landing``."""
    landing = os.environ.get("DWH_LANDING_DIR")
    return Paths(dwh_home(), Path(landing) if landing else company().landing)


def environment() -> str:
    env = os.environ.get("DWH_ENV", "dev")
    if env not in {"dev", "test", "prod"}:
        raise ValueError(f"DWH_ENV must be dev, test or prod, not {env!r}")
    return env


# DuckDB's memory limit per environment and process (buffer memory; beyond it DuckDB spills to
# <warehouse dir>/duckdb_tmp), sized so that every process stays within 3 GiB at scale M: the
# pipeline process also holds Dagster, Great Expectations and the CLV libraries (~0.7 GB, and
# DuckDB's CSV reader goes a little past its limit), a dbt process only dbt (~300 MB).
DUCKDB_MEMORY = {
    "dev": {"pipeline": "1536MB", "dbt": "2GB"},
    "test": {"pipeline": "1GB", "dbt": "1GB"},
    "prod": {"pipeline": "1536MB", "dbt": "2GB"},
}


def duckdb_memory_limit(process: str = "pipeline") -> str:
    """Memory limit of DuckDB connections to the warehouse in the pipeline process or in a dbt
    process (``DWH_DUCKDB_MEMORY_LIMIT`` overrides both)."""
    return os.environ.get("DWH_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY[environment()][process]


def partitions_start() -> date:
    """First day of the daily partitions: ``company.first_day`` in company.yml."""
    return company().first_day


def rules_file() -> Path:
    """The business-rules file: the company folder's own rules.yml, else the repository's."""
    return company().rules_file
