"""A BI reader querying the serving database in a loop while the pipeline republishes it
several times: zero errors, and every read sees one complete version (the publish id agrees
across every table and with the _publish record)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import duckdb

from conftest import REPO

READER = r"""
import json, sys, time, duckdb
path, seconds = sys.argv[1], float(sys.argv[2])
reads = errors = mixed = 0
versions = set()
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        con = duckdb.connect(path, read_only=True)
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name <> '_publish'").fetchall()]
        ids = {con.execute("SELECT publish_id FROM _publish").fetchall()[0][0]}
        for t in tables:
            ids |= {r[0] for r in con.execute(f'SELECT DISTINCT _publish_id FROM "{t}"').fetchall()}
        con.close()
        reads += 1
        mixed += len(ids) != 1
        versions |= ids
    except Exception as exc:
        errors += 1
        print(repr(exc), file=sys.stderr)
print(json.dumps({"reads": reads, "errors": errors, "mixed": mixed, "versions": len(versions)}))
"""


def test_reader_never_fails_and_sees_whole_versions(dwh_home, tmp_path):
    from pipelines.cli import execute
    from pipelines.publish.serving import publish
    from pipelines.settings import paths
    from pipelines.publish.assets import BI_TABLES

    p = paths()
    p.warehouse.parent.mkdir(parents=True, exist_ok=True)
    tables = [(schema, name) for schema, name, _ in BI_TABLES]
    con = duckdb.connect(str(p.warehouse))
    for schema, name in tables:  # stand-ins for the marts: the test is about the swap, not their content
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE {schema}.{name} AS SELECT range AS id, 'x' || range AS v FROM range(20000)")
    con.execute("CREATE TABLE marts.mart_sales_monthly_src AS SELECT 1")  # unrelated tables are not published
    con.close()
    publish(p.warehouse, p.serving, tables, "first")

    reader = subprocess.Popen([sys.executable, "-c", READER, str(p.serving), "25"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
    time.sleep(1)
    refreshes = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and refreshes < 6:
        # a real Dagster run of the publish step on the test instance
        assert execute("daily_pipeline", assets=["serving/database"])
        refreshes += 1
    out, err = reader.communicate(timeout=120)
    stats = json.loads(out.strip().splitlines()[-1])
    assert refreshes >= 3
    assert stats["errors"] == 0, err[-2000:]
    assert stats["mixed"] == 0
    assert stats["reads"] > 20
    assert stats["versions"] >= 2  # it really read across refreshes
