"""Helpers of the dbt tests: a tiny generated dataset ingested into a DuckDB warehouse, dbt
run as the pipeline runs it (rules passed as vars), and the artifacts it writes.

dbt always runs with its own ``--target-path`` and ``--log-path`` under the test's temp
folder, so tests never touch ``dbt_project/target`` (Dagster's prepared manifest) that other
work in the same checkout relies on. Expensive results (the raw warehouse, the full DuckDB
build) are made once per test session and shared by the dbt test modules through
``session_cache``; a test that changes a warehouse works on a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO / "dbt_project"
GENERATOR_SEED = 7

# run_results statuses of a successful build: models/seeds "success", tests "pass" (or "warn"
# for warn-severity tests), exposures "no-op"
OK_STATUSES = ("success", "pass", "warn", "no-op")

_CACHE: dict[str, Any] = {}


def session_cache(name: str, tmp_path_factory, make: Callable[[Path], Any]) -> Any:
    """``make(folder)`` once per test session (per pytest base temp), then the cached result."""
    key = f"{tmp_path_factory.getbasetemp()}::{name}"
    if key not in _CACHE:
        _CACHE[key] = make(tmp_path_factory.mktemp(name))
    return _CACHE[key]


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@dataclass(frozen=True)
class DbtResult:
    returncode: int
    output: str
    target_path: Path

    def artifact(self, name: str) -> dict:
        return json.loads((self.target_path / name).read_text())

    @property
    def run_results(self) -> dict:
        return self.artifact("run_results.json")


def run_dbt(args: list[str], *, warehouse: Path | None, workdir: Path, target: str = "duckdb",
            run_vars: dict[str, Any] | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> DbtResult:
    """Run dbt like ``python -m pipelines dbt`` does (rules.yml as the var ``rules``, plus
    ``run_vars``), with artifacts and logs in ``workdir``."""
    from pipelines.rules import dbt_vars

    workdir.mkdir(parents=True, exist_ok=True)
    target_path = workdir / "target"
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
                "DWH_DBT_TARGET": target, **(env or {})}
    if warehouse is not None:
        full_env["DWH_WAREHOUSE_PATH"] = str(warehouse)
    cmd = [dbt_executable(), *args, "--target", target, "--vars", dbt_vars(run_vars),
           "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(target_path), "--log-path", str(workdir / "logs")]
    proc = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=full_env, capture_output=True, text=True, timeout=600)
    result = DbtResult(proc.returncode, proc.stdout + proc.stderr, target_path)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n{result.output[-6000:]}")
    return result


def ingest_generated(out: Path, seed: int = GENERATOR_SEED, preset: str = "tiny",
                warehouse_name: str = "raw_layer.duckdb") -> Path:
    """Generate a preset (tiny by default) into ``out`` and load every source, masters first, into
    a new DuckDB warehouse ``out/<warehouse_name>`` (the raw layer exactly as the ingest assets
    write it)."""
    import duckdb

    from sample_data import GeneratorConfig, generate
    from pipelines.ingest.assets import INGESTED_SOURCES
    from pipelines.ingest.load import load_window

    generate(GeneratorConfig.from_preset(preset, seed=seed), out, clean=True)
    warehouse = out / warehouse_name  # (a file named raw.duckdb would clash with the schema raw)
    con = duckdb.connect(str(warehouse))
    try:
        for source in INGESTED_SOURCES:
            result = load_window(con, source, out / "landing", date(2000, 1, 1), date(2099, 12, 31), out / "tmp")
            assert not result.errors, (source, result.errors)
    finally:
        con.close()
    return warehouse


@dataclass(frozen=True)
class BuiltWarehouse:
    """A warehouse after a full ``dbt build`` (and ``dbt docs generate``) on DuckDB."""

    raw: Path          # the raw layer only (never modified)
    path: Path         # raw + every dbt model
    build: DbtResult
    docs: DbtResult

    @property
    def manifest(self) -> dict:
        return self.docs.artifact("manifest.json")

    @property
    def catalog(self) -> dict:
        return self.docs.artifact("catalog.json")


def raw_warehouse(tmp_path_factory) -> Path:
    return session_cache("tiny_raw", tmp_path_factory, ingest_generated)


def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    raw = raw_warehouse(tmp_path_factory)

    def make(folder: Path) -> BuiltWarehouse:
        path = folder / "warehouse.duckdb"
        shutil.copyfile(raw, path)
        build = run_dbt(["build"], warehouse=path, workdir=folder / "build")
        docs = run_dbt(["docs", "generate"], warehouse=path, workdir=folder / "docs")
        return BuiltWarehouse(raw, path, build, docs)

    return session_cache("tiny_built", tmp_path_factory, make)


def model_nodes(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def sensitive_columns() -> set[str]:
    """Column names declared sensitive in pipelines/ingest/sources.yml."""
    from pipelines.ingest.config import load_sources

    return {c.name for s in load_sources().values() for c in s.columns.values() if c.sensitive}
