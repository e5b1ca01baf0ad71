"""BI tools read the serving database the way the README's recipes connect: SQLAlchemy through
duckdb-engine, read-only (Superset's URI ``duckdb:////…/serving.duckdb?access_mode=READ_ONLY``;
Metabase's and DBeaver's drivers open the file read-only the same way). A reader in its own
process, as a BI tool is, keeps connecting and querying while publishes swap the file in: it
never gets an error and never sees two versions in one connection (every table's rows carry
the ``_publish_id`` of the ``_publish`` record it reads beside them), and it sees new versions
arrive. Real DuckDB files, real publishes (``pipelines.publish.serving.publish``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from conftest import REPO

from pipelines.publish.serving import publish

READER = r'''
import json, sys, time
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

path, seconds = sys.argv[1], float(sys.argv[2])
engine = sa.create_engine(f"duckdb:///{path}?access_mode=READ_ONLY", poolclass=NullPool)
seen, errors, mixed, reads = [], [], [], 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        with engine.connect() as con:  # a new connection each time, as a dashboard refresh opens one
            publish_id, tables = con.execute(sa.text("SELECT publish_id, tables FROM _publish")).one()
            tables = tables if isinstance(tables, dict) else json.loads(tables)  # duckdb-engine decodes JSON
            ids = {row[0] for t in ("mart_sales_monthly", "dim_branch") for row in con.execute(
                sa.text(f"SELECT DISTINCT _publish_id FROM {t}"))}
            version = {row[0] for row in con.execute(sa.text("SELECT DISTINCT version FROM mart_sales_monthly"))}
            counts = {t: con.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
        reads += 1
        if ids != {publish_id} or len(version) != 1 or counts != tables:
            mixed.append([publish_id, sorted(ids), sorted(version), counts])
        if not seen or seen[-1] != publish_id:
            seen.append(publish_id)
    except Exception as e:  # what a BI tool would show its user
        errors.append(f"{type(e).__name__}: {e}")
print(json.dumps({"reads": reads, "seen": seen, "errors": errors[:5], "n_errors": len(errors), "mixed": mixed[:5]}))
'''


def _warehouse(path: Path, version: int) -> None:
    """Two marts whose content says which version wrote them (row counts change too)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE OR REPLACE TABLE marts.mart_sales_monthly AS SELECT range AS month_no, "
                    f"{version} AS version, range * 1.5 AS net_sales FROM range({1000 + 10 * version})")
        con.execute("CREATE OR REPLACE TABLE marts.dim_branch AS SELECT 'BR' || range AS branch_code, "
                    f"'Branch ' || range AS branch_name FROM range({5 + version})")
    finally:
        con.close()


def test_a_bi_reader_never_fails_nor_mixes_versions_while_publishes_swap_the_file(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving" / "serving.duckdb"
    tables = [("marts", "mart_sales_monthly"), ("marts", "dim_branch")]
    _warehouse(warehouse, 0)
    first = publish(warehouse, serving, tables, source_run_id="run-0")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving), "12"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    published = [first.publish_id]
    time.sleep(2)  # the reader has connected before the first swap
    for version in range(1, 9):
        _warehouse(warehouse, version)
        published.append(publish(warehouse, serving, tables, source_run_id=f"run-{version}").publish_id)
        time.sleep(0.5)
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n_errors"] == 0, result["errors"]
    assert result["mixed"] == [], result["mixed"]
    assert result["reads"] > 20, result
    # it saw the versions arrive, in publish order
    assert len(result["seen"]) >= 3, result
    assert set(result["seen"]) <= set(published)
    assert [published.index(p) for p in result["seen"]] == sorted(published.index(p) for p in result["seen"])
    assert result["seen"][-1] == published[-1]
