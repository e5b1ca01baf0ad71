"""Dagster resources, chosen by environment (``DWH_ENV``): the DuckDB warehouse and dbt.

The warehouse is one DuckDB file that only the running pipeline opens read-write; BI reads
the published serving copy instead (see ``pipelines/publish``).
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
from dagster_dbt import DbtCliResource

from pipelines.settings import duckdb_memory_limit, paths
from pipelines.transform.project import dbt_project


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse (read-write, one connection per step). Without an explicit
    ``path`` it follows DWH_HOME at connection time."""

    path: str | None = None
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


def export_dbt_env() -> None:
    """Environment read by dbt_project/profiles.yml (call right before invoking dbt)."""
    p = paths().ensure()
    os.environ["DWH_WAREHOUSE_PATH"] = str(p.warehouse)
    os.environ["DWH_DBT_MEMORY_LIMIT"] = duckdb_memory_limit("dbt")


def dbt_executable() -> str:
    """dbt from this interpreter's environment (works without an activated venv), else PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def build_resources() -> dict[str, object]:
    """Resources for the current environment. dev/test: local files under DWH_HOME; prod: the
    same layout under the deployment's DWH_HOME; DuckDB's memory limit by environment."""
    export_dbt_env()
    return {
        "warehouse": WarehouseResource(memory_limit=duckdb_memory_limit()),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir),
                              target=os.environ.get("DWH_DBT_TARGET", "duckdb"),
                              dbt_executable=dbt_executable()),
    }
