"""Dagster resources, chosen by environment (``DWH_ENV``): where things are and which company
(``settings``), the DuckDB warehouse and dbt.

Assets take what they need from these resources, never from process globals: the environment
(``DWH_HOME``, ``DWH_CONFIG``, ``DWH_LANDING_DIR``, ``DWH_ENV``) is read once, when the
definitions load (``build_resources``), as resources by environment are in Dagster's own
projects. The warehouse is one DuckDB file that only the running pipeline opens read-write; BI
reads the published serving copy instead (see ``pipelines/publish``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr
from dagster_dbt import DbtCliResource

from pipelines.company import Company, config_dir, load_company
from pipelines.settings import Paths, duckdb_memory_limit, dwh_home, paths
from pipelines.transform.project import dbt_project


class SettingsResource(dg.ConfigurableResource):
    """Where this deployment keeps its files (``home``: landing zone, warehouse, serving copy,
    reports, Data Docs) and which company it serves (the folder of its company.yml). A field left
    unset is taken from the run's environment when the run starts (``DWH_HOME``, ``DWH_CONFIG``,
    ``DWH_LANDING_DIR``), as ``dg.EnvVar`` does, and fixed for the whole run."""

    home: str | None = None
    config_dir: str | None = None
    landing_dir: str | None = None  # when the landing zone is not <home>/landing (or company.yml's)
    _resolved: tuple[str, str, str | None] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._resolved = self._from_environment()

    def _from_environment(self) -> tuple[str, str, str | None]:
        return (self.home or str(dwh_home()), self.config_dir or str(config_dir()),
                self.landing_dir or os.environ.get("DWH_LANDING_DIR"))

    @property
    def folder(self) -> Path:
        """The company's configuration folder."""
        return Path((self._resolved or self._from_environment())[1])

    @property
    def paths(self) -> Paths:
        home, _, landing = self._resolved or self._from_environment()
        return Paths(Path(home), Path(landing) if landing else self.company.landing)

    @property
    def company(self) -> Company:
        return load_company(self.folder)

    def sources(self) -> dict:
        from pipelines.ingest.config import load_sources

        return load_sources(self.folder)


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse (read-write, one connection per step)."""

    path: str | None = None  # without it: the warehouse of the run's DWH_HOME
    memory_limit: str = "4GB"
    threads: int = 2

    def resolved_path(self) -> Path:
        return Path(self.path) if self.path else paths().warehouse

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.resolved_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), config={"memory_limit": self.memory_limit, "threads": self.threads,
                                                "temp_directory": str(path.parent / "duckdb_tmp")})
        try:
            yield con
        finally:
            con.close()


def export_dbt_env(warehouse: Path | None = None) -> None:
    """Environment read by dbt_project/profiles.yml, set right before a dbt process starts:
    dagster-dbt hands dbt this process's environment and has no other way in."""
    path = warehouse or paths().ensure().warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DWH_WAREHOUSE_PATH"] = str(path)
    os.environ["DWH_DBT_MEMORY_LIMIT"] = duckdb_memory_limit("dbt")


def dbt_executable() -> str:
    """dbt from this interpreter's environment (works without an activated venv), else PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_resources() -> dict[str, object]:
    """Resources for the current environment, read once: dev/test: local files under DWH_HOME;
    prod: the same layout under the deployment's DWH_HOME; DuckDB's memory limit by environment."""
    return {
        "settings": SettingsResource(),  # home and company from the run's environment, fixed per run
        "warehouse": WarehouseResource(memory_limit=duckdb_memory_limit()),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir),
                              target=os.environ.get("DWH_DBT_TARGET", "duckdb"),
                              dbt_executable=dbt_executable()),
    }
