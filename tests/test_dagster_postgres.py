"""The Dagster instance on PostgreSQL (dagster.postgres.yaml, ``DWH_DAGSTER_STORAGE=postgres``),
against a real PostgreSQL server the fixture starts: a command-line run is stored there (runs,
event log, its materializations), under its code location, and one run at a time still holds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, subprocess_env
from support.postgres import postgres_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out


def test_the_instance_runs_on_postgres_storage(postgres_server, tmp_path):  # noqa: F811
    home = tmp_path / "var"
    (home / "landing").mkdir(parents=True)
    env = subprocess_env(home)
    env.update({"DWH_DAGSTER_STORAGE": "postgres", "DWH_DAGSTER_PG_HOST": postgres_server.host,
                "DWH_DAGSTER_PG_PORT": str(postgres_server.port), "DWH_DAGSTER_PG_USER": postgres_server.user,
                "DWH_DAGSTER_PG_PASSWORD": "", "DWH_DAGSTER_PG_DB": postgres_server.database})
    for _ in range(2):  # two runs one after the other: the second finds the first in the same storage
        proc = subprocess.run([sys.executable, "-m", "pipelines", "job", "weekly_stock", "--start", "2023-01-02"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert ": success" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "postgres" in (home / "dagster_home" / "dagster.yaml").read_text()
    assert not list((home / "dagster_home").rglob("*.db"))  # nothing in SQLite files
    con = postgres_server.connect()
    try:
        with con.cursor() as cur:
            cur.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
            assert cur.fetchall() == [("weekly_stock", "SUCCESS"), ("weekly_stock", "SUCCESS")]
            cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
                        "AND asset_key = %s", ['["raw", "stock_reports"]'])
            assert cur.fetchone()[0] == 2
            cur.execute("SELECT count(DISTINCT value) FROM run_tags WHERE key = '.dagster/repository'")
            assert cur.fetchone()[0] == 1  # recorded under the code location
    finally:
        con.close()
