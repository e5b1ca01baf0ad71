"""End to end: the README's run command on a tiny generated dataset, in a temp DWH_HOME
(its own warehouse, serving database and Dagster home), through a real Dagster instance."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from conftest import REPO, subprocess_env


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "var"
    env = subprocess_env(home)
    proc = subprocess.run([sys.executable, "-m", "pipelines", "run", "--scale", "tiny", "--seed", "11"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return home, proc


def test_run_command_succeeds_and_prints_summary(pipeline_run):
    home, proc = pipeline_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = proc.stdout
    assert "Warehouse summary" in out
    assert str(home / "serving" / "serving.duckdb") in out
    assert "dwh.py ui" in out


def test_every_layer_has_rows(pipeline_run):
    home, _ = pipeline_run
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    for table in ("raw.sales_lines", "raw.master_customers", "raw.master_products",
                  "staging.stg_erp__sales_lines", "marts.fct_sales_lines", "marts.mart_sales_monthly"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
    # nothing lost: every row read is loaded or quarantined, per file
    bad = con.execute("SELECT count(*) FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined").fetchone()[0]
    assert bad == 0
    assert con.execute("SELECT count(*) FROM raw.load_log").fetchone()[0] > 0
    # the fact holds exactly the loaded sales rows
    raw_n = con.execute("SELECT count(*) FROM raw.sales_lines").fetchone()[0]
    assert con.execute("SELECT count(*) FROM marts.fct_sales_lines").fetchone()[0] == raw_n


def test_serving_database_is_published(pipeline_run):
    home, _ = pipeline_run
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"mart_sales_monthly", "fct_sales_lines", "_publish"} <= tables
    assert con.execute("SELECT count(*) FROM mart_sales_monthly").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM _publish").fetchone()[0] == 1


def test_reports_and_parquet_export_are_built(pipeline_run):
    home, _ = pipeline_run
    dashboard = home / "reports" / "dashboard.html"
    assert dashboard.exists() and "<svg" in dashboard.read_text(encoding="utf-8")
    assert list((home / "reports" / "branches").glob("branch_*.xlsx"))
    current = home / "serving" / "parquet" / "current"
    assert (current / "mart_sales_monthly" / "data.parquet").exists()
    assert (home / "data_docs" / "index.html").exists()


def test_run_is_recorded_in_the_dagster_instance(pipeline_run):
    home, _ = pipeline_run
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert {r.job_name for r in runs} == {"daily_pipeline", "weekly_stock", "reference_data"}
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)


def test_no_sensitive_value_reaches_serving_parquet_or_reports(pipeline_run):
    """Phones, legal representatives, tax ids, banks and accounts stay in the raw layer."""
    home, _ = pipeline_run
    secrets = {v for v in (home / "generated" / "sensitive_values.txt").read_text(encoding="utf-8").splitlines() if v}
    assert len(secrets) > 50
    found = []
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns").fetchall():
        values = {r[0] for r in con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}"').fetchall()}
        found += [f"serving {table}.{column}: {v}" for v in values & secrets]
    con.close()
    for pq in (home / "serving" / "parquet" / "current").rglob("*.parquet"):
        rel = duckdb.sql(f"SELECT * FROM '{pq}'")
        for column in rel.columns:
            values = {r[0] for r in duckdb.sql(f"SELECT DISTINCT CAST(\"{column}\" AS VARCHAR) FROM '{pq}'").fetchall()}
            found += [f"{pq.name} {column}: {v}" for v in values & secrets]
    from python_calamine import CalamineWorkbook

    for f in (home / "reports").rglob("*"):
        if f.suffix == ".html":
            text = f.read_text(encoding="utf-8")
            found += [f"{f.name}: {s}" for s in secrets if s in text]
        elif f.suffix == ".xlsx":
            wb = CalamineWorkbook.from_path(str(f))
            cells = {str(c) for name in wb.sheet_names for row in wb.get_sheet_by_name(name).to_python() for c in row}
            found += [f"{f.name}: {v}" for v in cells & secrets]
    # the raw layer does hold them (the scan would find them if they leaked)
    raw = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    phones = {r[0] for r in raw.execute("SELECT DISTINCT phone FROM raw.master_customers").fetchall()}
    raw.close()
    assert phones & secrets
    assert found == []
