"""Publishing to the serving database: atomic swap, publish id on every table, Parquet export,
a failed publish leaves the previous version, and sensitive columns are refused."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish.serving import publish


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.a AS SELECT range AS id FROM range(5)")
    con.execute("CREATE TABLE marts.b AS SELECT 'x' AS code")
    con.close()
    return path


def test_publish_swaps_in_a_complete_version(tmp_path, warehouse):
    serving, parquet = tmp_path / "serving" / "serving.duckdb", tmp_path / "serving" / "parquet"
    first = publish(warehouse, serving, [("marts", "a"), ("marts", "b")], "run-1", parquet_dir=parquet)
    reader = duckdb.connect(str(serving), read_only=True)  # a BI tool holding the old version
    second = publish(warehouse, serving, [("marts", "a"), ("marts", "b")], "run-2", parquet_dir=parquet)
    assert first.publish_id != second.publish_id
    # the old reader still sees one complete old version
    assert {r[0] for r in reader.execute("SELECT DISTINCT _publish_id FROM a UNION SELECT _publish_id FROM b").fetchall()} \
        == {first.publish_id}
    reader.close()
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("SELECT publish_id, source_run_id FROM _publish").fetchall() == [(second.publish_id, "run-2")]
    assert con.execute("SELECT count(*), min(_publish_id) FROM a").fetchall() == [(5, second.publish_id)]
    con.close()
    # Parquet: current points at the newest version, one folder per table
    current = parquet / "current"
    assert current.resolve().name == second.publish_id
    assert duckdb.sql(f"SELECT count(*) FROM '{current}/a/data.parquet'").fetchall() == [(5,)]
    assert not any(p.name.endswith(".building") for p in serving.parent.iterdir())


def test_failed_publish_leaves_previous_version(tmp_path, warehouse):
    serving = tmp_path / "serving.duckdb"
    good = publish(warehouse, serving, [("marts", "a")], "run-1")
    with pytest.raises(duckdb.Error):
        publish(warehouse, serving, [("marts", "a"), ("marts", "missing")], "run-2")
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("SELECT publish_id FROM _publish").fetchall() == [(good.publish_id,)]
    con.close()
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


def test_sensitive_columns_are_refused(tmp_path, warehouse):
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE marts.leaky AS SELECT 'C1' AS customer_code, '138' AS phone")
    con.close()
    serving = tmp_path / "serving.duckdb"
    with pytest.raises(ValueError, match="phone"):
        publish(warehouse, serving, [("marts", "leaky")], "run-1", forbidden_columns={"phone", "tax_id"})
    assert not serving.exists()
