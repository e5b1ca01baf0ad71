"""Shared fixtures: an isolated DWH_HOME (warehouse, landing, Dagster home) per test, and a
tiny generated landing zone made once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def dwh_home(tmp_path, monkeypatch) -> Path:
    """A fresh DWH_HOME for one test (test resources, own Dagster home)."""
    home = tmp_path / "var"
    (home / "dagster_home").mkdir(parents=True)
    monkeypatch.setenv("DWH_HOME", str(home))
    monkeypatch.setenv("DWH_ENV", "test")
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    monkeypatch.delenv("DWH_LANDING_DIR", raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_generated(tmp_path_factory) -> Path:
    """A tiny generated dataset (landing + generated side files), made once per session."""
    from sample_data import GeneratorConfig, generate

    out = tmp_path_factory.mktemp("tiny")
    generate(GeneratorConfig.from_preset("tiny", seed=7), out, clean=True)
    return out


@pytest.fixture(scope="session")
def reference(tmp_path_factory, tiny_generated):
    """The one whole-pipeline run of the session (tiny preset): read it, or copy its home."""
    from support.crash import reference_run

    return reference_run(tmp_path_factory, tiny_generated)


def subprocess_env(home: Path) -> dict[str, str]:
    """Environment for a pipeline subprocess using ``home`` as DWH_HOME (Dagster home created)."""
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    env.update({"DWH_HOME": str(home), "DWH_ENV": "test", "DAGSTER_HOME": str(home / "dagster_home"),
                "PYTHONPATH": str(REPO)})
    env.pop("DWH_LANDING_DIR", None)
    return env


def copy_landing(src_root: Path, home: Path) -> Path:
    shutil.copytree(src_root / "landing", home / "landing")
    return home / "landing"


# The modules that run the whole pipeline several times, longest first: the two test workers
# (pytest-xdist, a module each at a time, in collection order) start on them, so no long module
# is left running alone at the end of the session.
LONGEST_FIRST = ["test_crash_safety.py", "test_hostile_days.py", "test_idempotency.py", "test_examples.py",
                 "test_reports_offline.py", "test_quality_blocking.py", "test_metrics.py",
                 "test_credit_rating.py", "test_sample_world.py", "test_pipeline.py", "test_joins.py",
                 "test_dbt_postgres.py", "test_dbt_incremental.py", "test_credit_quarterly_job.py"]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the others keep their order
