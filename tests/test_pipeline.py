"""End to end: the README's run command on a tiny generated dataset, in a temp DWH_HOME
(its own warehouse, serving database and Dagster home), through a real Dagster instance."""

from __future__ import annotations

import re

import duckdb
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline_run(reference):
    """The session's one run of the whole pipeline (``python -m pipelines run``, tiny preset)."""
    return reference.home, reference.output


def test_run_command_prints_a_short_readable_summary(pipeline_run):
    """One progress line per stage, dbt's own lines in the run log (not on the terminal), and a
    summary: BI tables with aligned counts, quarantine, warnings, where the reports are."""
    home, out = pipeline_run  # (the run failing fails the fixture, with its output)
    lines = out.splitlines()
    assert len(lines) < 60, out
    assert not [l for l in lines if "PASS" in l or "START" in l or "OK created" in l], out  # no dbt lines
    assert any(re.match(r"  daily pipeline +dbt models and tests +\d+ s", l) for l in lines), out
    assert str(home / "serving" / "serving.duckdb") in out
    counts = [l for l in lines if re.match(r"  (dim|fct|mart)_\w+ +[\d,]+( |$)", l)]
    assert len(counts) >= 8, counts
    assert len({re.match(r"  \w+ +[\d,]+", l).end() for l in counts}) == 1, counts  # counts right-aligned in one column
    assert "Quarantined rows:" in out and "Dashboard:" in out and "Data Docs:" in out and "dwh.py ui" in out
    log = next(l.split(": ", 1)[1] for l in lines if l.startswith("Run log"))
    assert "PASS" in (home.parent / log if not log.startswith("/") else __import__("pathlib").Path(log)).read_text()


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


def _leaks(con, relation: str, label: str) -> list[str]:
    """Every (column, secret) where a value of any column of ``relation`` contains a secret
    (substring match in SQL, so a phone inside a longer text is found too; names, which are
    short and could occur inside unrelated words, must match a whole value)."""
    found = []
    for column in con.sql(f"SELECT * FROM {relation} LIMIT 0").columns:
        hits = con.execute(f"""SELECT DISTINCT s.v FROM (SELECT DISTINCT CAST("{column}" AS VARCHAR) AS x FROM {relation}) t
                               JOIN secrets s ON (length(s.v) >= 6 AND contains(t.x, s.v)) OR t.x = s.v""").fetchall()
        found += [f"{label}.{column}: {v}" for (v,) in hits]
    return found


def test_no_sensitive_value_reaches_serving_parquet_or_reports(pipeline_run):
    """Phones, legal representatives, tax ids, banks and accounts stay in the raw layer: every
    column of every serving table and Parquet file, and every report file, is scanned for every
    sensitive value the generator wrote (substring match)."""
    home, _ = pipeline_run
    secrets = sorted({v for v in (home / "generated" / "sensitive_values.txt").read_text(encoding="utf-8").splitlines() if v})
    assert len(secrets) > 50
    found: list[str] = []
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    scan = duckdb.connect()
    scan.execute("CREATE TABLE secrets (v VARCHAR)")
    scan.executemany("INSERT INTO secrets VALUES (?)", [(v,) for v in secrets])
    scan.execute(f"ATTACH '{home / 'serving' / 'serving.duckdb'}' AS serving (READ_ONLY)")
    tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    con.close()
    assert len(tables) >= 5
    for schema, table in tables:
        found += _leaks(scan, f'serving."{schema}"."{table}"', f"serving {schema}.{table}")
    parquets = list((home / "serving" / "parquet" / "current").rglob("*.parquet"))
    assert parquets
    for pq in parquets:
        found += _leaks(scan, f"read_parquet('{pq}')", pq.name)
    from python_calamine import CalamineWorkbook

    report_files = [f for f in (home / "reports").rglob("*") if f.is_file()]
    assert {f.suffix for f in report_files} >= {".html", ".xlsx"}
    for f in report_files:
        if f.suffix == ".xlsx":
            wb = CalamineWorkbook.from_path(str(f))
            text = "\n".join(str(c) for name in wb.sheet_names for row in wb.get_sheet_by_name(name).to_python() for c in row)
        else:
            text = f.read_bytes().decode("utf-8", errors="replace")
        cells = set(re.split(r"[\s<>\"',;:()\[\]{}|=]+", text))
        found += [f"{f.name}: {s}" for s in secrets if (len(s) >= 6 and s in text) or s in cells]
    # the raw layer does hold them (the scan would find them if they leaked)
    scan.execute(f"ATTACH '{home / 'warehouse' / 'warehouse.duckdb'}' AS wh (READ_ONLY)")
    assert _leaks(scan, "wh.raw.master_customers", "raw customers")
    scan.close()
    assert found == []


def test_the_serving_database_carries_its_data_dictionary(pipeline_run):
    """Every served table and column has its description as a DuckDB comment (what DBeaver,
    Metabase and Superset show), from the YAML dbt uses: the marts' models, and the python_marts
    source for the CLV mart that Python writes."""
    from pipelines.publish.dictionary import from_manifest
    from pipelines.transform.project import dbt_project

    home, _ = pipeline_run
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main' AND NOT internal").fetchall())
        columns = {(t, c): x for t, c, x in con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal").fetchall()}
    finally:
        con.close()
    assert len(tables) >= 15 and "mart_customer_lifetime_value" in tables and "_publish" in tables
    assert sorted(t for t, text in tables.items() if not text) == []
    assert sorted(f"{t}.{c}" for (t, c), text in columns.items() if not text) == []
    yaml = from_manifest(dbt_project.manifest_path)
    for table, column in [("mart_sales_monthly", "net_sales"), ("dim_customer", "customer_code"),
                          ("mart_customer_lifetime_value", "p_alive")]:
        assert columns[(table, column)] == " ".join(yaml[table][1][column].split())
    assert tables["mart_customer_lifetime_value"].startswith("Customer lifetime value (rule R7)")


def test_dbt_docs_are_built_with_every_publish_and_work_offline(pipeline_run):
    """dbt docs beside the reports, named in the run's summary: one self-contained page with the
    marts, the CLV mart (the dbt source python_marts), the exposures and their owners, and the
    warehouse's catalog; nothing a browser would load from the network."""
    from pipelines.reports.dbt_docs import network_references

    home, out = pipeline_run
    page = home / "reports" / "dbt_docs" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert network_references(html) == []
    for expected in ("mart_credit_rating", "mart_customer_lifetime_value", "python_marts", "distributor_dashboard",
                     "data-engineering@example.com", "Probability the customer is still active"):
        assert expected in html, expected
    assert '"catalog"' in html or "catalog" in html
    assert re.search(r"dbt docs: +\S*reports/dbt_docs/index\.html", out), out
