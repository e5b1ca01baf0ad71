"""Great Expectations runtime (pipelines.quality.gx_runtime): real GX, real DuckDB files.

GX is imported once for the whole session (gx_runtime caches it); every test builds its own
small DuckDB file in tmp_path. The opt-in SQL-vs-pandas benchmark runs with
benchmarks/gx_engines.py (1 M rows; prints timings).
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipelines.quality import gx_runtime as gr  # noqa: E402  (cheap: GX is not imported)

DAY1, DAY2, DAY3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)
#: expectations handed to validate() besides the suite file's (the raw checks hand it the ones
#: derived from sources.yml, pipelines/quality/structural.py)
EXTRA = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "invoice_no"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "line_type", "value_set": ["SALE", "RETURN"]}},
    {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["invoice_no", "line_no"]}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "invoice_date", "min_value": {"$PARAMETER": "partition_start"},
                "max_value": {"$PARAMETER": "partition_end"}}},
]


def make_sales_db(path: Path, n_rows: int = 600, rows_per_day: int = 200,
                  start: str = "2024-01-01") -> Path:
    """``raw.sales_lines`` with the ingest columns; every row valid for the example suite."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute(f"""
        CREATE OR REPLACE TABLE raw.sales_lines AS
        WITH base AS (
            SELECT i, DATE '{start}' + CAST(i // {rows_per_day} AS INTEGER) AS d,
                   i % {rows_per_day} AS k
            FROM range({n_rows}) t(i))
        SELECT
            'INV' || strftime(d, '%Y%m%d') || lpad(CAST(k // 4 + 1 AS VARCHAR), 5, '0') AS invoice_no,
            CAST(k % 4 + 1 AS INTEGER) AS line_no,
            d AS invoice_date,
            CASE WHEN i % 50 = 0 THEN 'RETURN' ELSE 'SALE' END AS line_type,
            'C' || lpad(CAST(i % 500 AS VARCHAR), 5, '0') AS customer_code,
            'P' || lpad(CAST(i % 80 AS VARCHAR), 4, '0') AS sku,
            CAST(CASE WHEN i % 50 = 0 THEN -1 - i % 5 ELSE 1 + i % 20 END AS BIGINT) AS qty,
            CAST(5 + (i % 997) * 0.37 AS DECIMAL(18,2)) AS unit_price,
            CAST((i % 4) * 0.05 AS DECIMAL(18,4)) AS discount_rate,
            CAST(qty * unit_price * (1 - discount_rate) AS DECIMAL(18,2)) AS net_amount,
            ['PREPAY','COD','NET15','NET30','NET60','NET90','BILL'][1 + i % 7] AS payment_terms,
            'BR' || lpad(CAST(i % 6 AS VARCHAR), 2, '0') AS branch_code,
            'R' || lpad(CAST(i % 40 AS VARCHAR), 3, '0') AS rep_code,
            'sales/' || strftime(d, '%Y/%m') || '/sales_' || strftime(d, '%Y%m%d') || '.csv'
                AS _source_file,
            CAST(k + 2 AS BIGINT) AS _source_line,
            'load-' || strftime(d, '%Y%m%d') AS _load_id,
            TIMESTAMPTZ '2024-06-01 00:00:00+08' AS _loaded_at,
            d AS _partition_date
        FROM base""")
    finally:
        con.close()
    return path


def execute(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def write_suite(directory: Path, name: str, expectations: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return make_sales_db(tmp_path / "wh.duckdb")


@pytest.fixture
def suites(tmp_path) -> Path:
    return tmp_path / "suites"


# ---------------------------------------------------------------------------------- import


def test_importing_gx_runtime_does_not_import_great_expectations():
    code = ("import sys, pipelines.quality.gx_runtime as m; "
            "print(sorted(k for k in ('great_expectations', 'sqlalchemy', 'pandas', 'duckdb') "
            "if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    loaded = json.loads(out.stdout.strip().replace("'", '"'))
    assert "great_expectations" not in loaded, loaded
    assert loaded == [], f"gx_runtime should import nothing heavy at import time: {loaded}"


# ------------------------------------------------------------------------- the GX patch


def test_duckdb_patch_point_still_has_the_expected_shape():
    """Fails when a GX upgrade moves/reshapes what the #11579 patch relies on."""
    gr.gx_module()
    from great_expectations.execution_engine import sqlalchemy_execution_engine as sae

    dialects = sae._PERSISTED_CONNECTION_DIALECTS
    assert isinstance(dialects, tuple)
    assert "duckdb" in dialects
    assert sae._dialect_requires_persisted_connection(connection_string="duckdb:///w.duckdb")
    assert sae._dialect_requires_persisted_connection(url="duckdb:///w.duckdb")
    # the two readers of the tuple: startswith(d.value) and `dialect_name in tuple`
    assert "_PERSISTED_CONNECTION_DIALECTS" in inspect.getsource(
        sae._dialect_requires_persisted_connection)
    assert "_PERSISTED_CONNECTION_DIALECTS" in inspect.getsource(
        sae.SqlAlchemyExecutionEngine.get_connection)
    assert "_connection" in inspect.getsource(sae.SqlAlchemyExecutionEngine.get_connection)
    # idempotent
    gr._patch_gx_for_duckdb()
    assert sae._PERSISTED_CONNECTION_DIALECTS == dialects
    assert sum(1 for d in sae._PERSISTED_CONNECTION_DIALECTS if d == "duckdb") == 1


def test_duckdb_patch_makes_sql_validation_work_and_count(db, suites):
    """A real SQL validation on DuckDB: no exceptions, exact unexpected counts."""
    execute(db, "UPDATE raw.sales_lines SET customer_code = NULL "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line IN (2, 3, 4, 5, 6)")
    write_suite(suites, "patch_probe", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_code"}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 200}},
        {"type": "expect_column_max_to_be_between",
         "kwargs": {"column": "line_no", "min_value": 1, "max_value": 4}},
    ])
    out = gr.validate("patch_probe", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY1}, suites_dir=suites)
    assert out.evaluated == 3
    assert all(f["exception"] is None for f in out.failed), out.failed
    assert [f["expectation_type"] for f in out.failed] == ["expect_column_values_to_not_be_null"]
    assert out.failed[0]["unexpected_count"] == 5
    assert out.failed[0]["unexpected_percent"] == pytest.approx(2.5)


# --------------------------------------------------------------------- outcome semantics


def test_failing_error_expectation_blocks_with_counts_and_samples(db, suites):
    execute(db, "UPDATE raw.sales_lines SET payment_terms = 'NET45' "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line IN (10, 11, 12)",
            "UPDATE raw.sales_lines SET payment_terms = 'CASH' "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line = 13")
    write_suite(suites, "terms", [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "payment_terms",
                    "value_set": ["PREPAY", "COD", "NET15", "NET30", "NET60", "NET90", "BILL"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"},
         "meta": {"severity": "warn"}},
    ])
    out = gr.validate("terms", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY2}, suites_dir=suites)
    assert out.success_blocking is False and out.success is False
    assert out.evaluated == 2
    (f,) = out.failed
    assert f["expectation_type"] == "expect_column_values_to_be_in_set"
    assert f["column"] == "payment_terms"
    assert f["severity"] == "error"
    assert f["unexpected_count"] == 4
    assert f["unexpected_percent"] == pytest.approx(2.0)
    assert sorted(f["sample_unexpected_values"]) == ["CASH", "NET45", "NET45", "NET45"]
    assert f["kwargs"]["value_set"][0] == "PREPAY" and "batch_id" not in f["kwargs"]
    assert out.errors == [f] and out.warnings == []
    assert out.duration_s > 0
    # everything is JSON-serialisable, raw GX result included
    recorded = json.loads(json.dumps(out.to_dict()))
    assert recorded["raw"]["success"] is False
    assert len(recorded["raw"]["results"]) == 2


def test_samples_are_capped_at_ten_and_json_safe(db, suites):
    execute(db, "UPDATE raw.sales_lines SET unit_price = -1.25 "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line < 40")
    write_suite(suites, "prices", [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "unit_price", "min_value": 0}},
        {"type": "expect_compound_columns_to_be_unique",
         "kwargs": {"column_list": ["invoice_no", "line_no"]}},
    ])
    execute(db, "INSERT INTO raw.sales_lines SELECT * FROM raw.sales_lines "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line = 50")
    out = gr.validate("prices", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY1}, suites_dir=suites)
    by_type = {f["expectation_type"]: f for f in out.failed}
    prices = by_type["expect_column_values_to_be_between"]
    assert prices["unexpected_count"] == 38
    assert len(prices["sample_unexpected_values"]) == 10
    assert set(prices["sample_unexpected_values"]) == {-1.25}
    dup = by_type["expect_compound_columns_to_be_unique"]
    assert dup["column"] == "invoice_no,line_no"
    assert dup["unexpected_count"] == 2  # both copies of the duplicated line
    json.dumps(out.failed)


def test_failing_warn_only_expectation_does_not_block_but_is_listed(db, suites):
    write_suite(suites, "warn_only", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "invoice_no"}},
        {"type": "expect_column_mean_to_be_between",
         "kwargs": {"column": "unit_price", "min_value": 1000, "max_value": 2000},
         "meta": {"severity": "WARN"}},
    ])
    out = gr.validate("warn_only", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY1}, suites_dir=suites)
    assert out.success_blocking is True
    assert out.success is False
    (f,) = out.failed
    assert f["severity"] == "warn" and f["expectation_type"] == "expect_column_mean_to_be_between"
    assert isinstance(f["observed_value"], float) and f["observed_value"] < 1000
    assert out.warnings == [f] and out.errors == []


def test_an_expectation_that_raises_counts_as_failed(db, suites):
    write_suite(suites, "missing_col", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}}])
    out = gr.validate("missing_col", duckdb_path=db, query_or_table="raw.sales_lines",
                      suites_dir=suites, partition_filter={"_partition_date": DAY1})
    assert out.success_blocking is False
    assert out.failed[0]["exception"]


# ------------------------------------------------------------------ partitions, suite


def test_partition_filter_validates_only_that_partition(db):
    # day 2 is broken in many ways; day 1 and day 3 are clean
    execute(db, "UPDATE raw.sales_lines SET line_type = 'SWAP', discount_rate = 1.5 "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line < 30",
            "UPDATE raw.sales_lines SET invoice_no = NULL "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line = 40")
    common = dict(duckdb_path=db, query_or_table="raw.sales_lines", extra_expectations=EXTRA)
    day1 = gr.validate("raw_sales_lines", partition_filter={"_partition_date": DAY1}, **common)
    assert day1.success_blocking and day1.errors == [], day1.summary()
    # checks that read master tables are skipped here (this test database has none)
    suite = gr.load_suite("raw_sales_lines", extra_expectations=EXTRA)
    assert len(suite.expectations) == len(gr.load_suite("raw_sales_lines").expectations) + len(EXTRA)
    assert day1.evaluated + len(day1.skipped) == len(suite.expectations)
    assert day1.parameters == {"partition_start": "2024-01-01T00:00:00",
                               "partition_end": "2024-01-01T00:00:00"}

    day2 = gr.validate("raw_sales_lines", partition_filter={"_partition_date": DAY2}, **common)
    assert not day2.success_blocking
    failed = {(f["expectation_type"], f["column"]): f["unexpected_count"] for f in day2.errors}
    assert failed == {
        ("expect_column_values_to_be_in_set", "line_type"): 28,
        ("expect_column_values_to_be_between", "discount_rate"): 28,
        ("expect_column_values_to_not_be_null", "invoice_no"): 1,
    }

    # SQL-text filter and a query instead of a table name select the same batch
    day3 = gr.validate("raw_sales_lines", duckdb_path=db,
                       query_or_table="SELECT * FROM raw.sales_lines -- trailing comment",
                       partition_filter="_partition_date = DATE '2024-01-03'",
                       parameters={"partition_start": DAY3, "partition_end": DAY3}, extra_expectations=EXTRA)
    assert day3.success_blocking, day3.summary()


def test_invoice_date_outside_the_partition_window_is_an_error(db):
    execute(db, "UPDATE raw.sales_lines SET invoice_date = DATE '2023-12-31' "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line = 7")
    out = gr.validate("raw_sales_lines", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY1}, extra_expectations=EXTRA)
    (f,) = out.errors
    assert f["column"] == "invoice_date" and f["unexpected_count"] == 1
    assert f["sample_unexpected_values"] == ["2023-12-31"]


def test_example_suite_is_valid_for_gx():
    spec = gr.check_suite("raw_sales_lines")
    assert spec.parameters == {"partition_start", "partition_end"}
    severities = {e.severity for e in spec.expectations}
    assert severities == {"error", "warn"}
    types = {e.type for e in spec.expectations}
    assert {"expect_column_values_to_be_between", "expect_column_mean_to_be_between",
            "unexpected_rows_expectation"} <= types
    # extra expectations are checked like the file's and appended to them
    merged = gr.check_suite("raw_sales_lines", extra_expectations=EXTRA)
    assert [e.type for e in merged.expectations[-len(EXTRA):]] == [e["type"] for e in EXTRA]
    with pytest.raises(gr.SuiteFileError, match=r"raw_sales_lines\.json: extra_expectations\[1\].*meta.severity"):
        gr.load_suite("raw_sales_lines", extra_expectations=[
            EXTRA[0], {"type": "expect_column_to_exist", "kwargs": {"column": "sku"}, "meta": {"severity": "fatal"}}])


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"name": "other", "expectations": [{"type": "expect_column_to_exist", '
     '"kwargs": {"column": "a"}}]}', "'name' must be 'bad'"),
    ('{"name": "bad", "expectations": []}', "non-empty list"),
    ('{"name": "bad", "expectations": [{"kwargs": {}}]}', "'type' must be"),
    ('{"name": "bad", "expectations": [{"type": "expect_column_to_exist", '
     '"kwargs": {"column": "a"}, "meta": {"severity": "fatal"}}]}', "meta.severity"),
    ('{"name": "bad", "expectations": [{"type": "expect_column_to_exist", '
     '"kwargs": {"column": "a"}, "severity": "warn"}]}', "meta.severity"),
])
def test_malformed_suite_files_name_the_file(suites, content, message):
    suites.mkdir()
    (suites / "bad.json").write_text(content, encoding="utf-8")
    with pytest.raises(gr.SuiteFileError) as e:
        gr.load_suite("bad", suites)
    assert str(suites / "bad.json") in str(e.value) and message in str(e.value)


def test_unknown_expectation_type_or_bad_kwargs_name_the_file(db, suites):
    write_suite(suites, "typo", [
        {"type": "expect_column_values_to_be_nul", "kwargs": {"column": "sku"}}])
    with pytest.raises(gr.SuiteFileError, match=r"typo\.json.*expectations\[0\].*unknown"):
        gr.check_suite("typo", suites)
    write_suite(suites, "badkw", [
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sku"}}])
    with pytest.raises(gr.SuiteFileError, match=r"badkw\.json.*expectations\[0\]"):
        gr.validate("badkw", duckdb_path=db, query_or_table="raw.sales_lines",
                    suites_dir=suites)
    with pytest.raises(gr.SuiteFileError, match="not found"):
        gr.load_suite("nope", suites)


def test_missing_suite_parameters_are_reported_before_running(db):
    with pytest.raises(ValueError, match="partition_start"):
        gr.validate("raw_sales_lines", duckdb_path=db, query_or_table="raw.sales_lines",
                    partition_filter="_partition_date = DATE '2024-01-01'")


# ------------------------------------------------------------- connections, disposal


def test_engines_are_disposed_after_validation(db, suites):
    write_suite(suites, "rows", [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}}])
    first = gr.validate("rows", duckdb_path=db, query_or_table="raw.sales_lines",
                        partition_filter={"_partition_date": DAY1}, suites_dir=suites)
    assert first.success_blocking
    # a read-write connection in this same process works right after
    con = duckdb.connect(str(db))
    con.execute("UPDATE raw.sales_lines SET sku = NULL "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line = 2")
    con.close()
    second = gr.validate("rows", duckdb_path=db, query_or_table="raw.sales_lines",
                         partition_filter={"_partition_date": DAY1}, suites_dir=suites)
    assert not second.success_blocking and second.failed[0]["unexpected_count"] == 1
    duckdb.connect(str(db)).close()
    # no datasource is left behind in the process context
    assert list(gr._context().data_sources.all()) == []


def test_open_writer_connection_can_be_handed_over(db, suites):
    write_suite(suites, "skus", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}}])
    writer = duckdb.connect(str(db))
    try:
        writer.execute("UPDATE raw.sales_lines SET sku = NULL "
                       "WHERE _partition_date = DATE '2024-01-03' AND _source_line IN (2, 3)")
        with pytest.raises(RuntimeError, match="connection="):
            gr.validate("skus", duckdb_path=db, query_or_table="raw.sales_lines",
                        suites_dir=suites)
        out = gr.validate("skus", connection=writer, query_or_table="raw.sales_lines",
                          partition_filter={"_partition_date": DAY3}, suites_dir=suites)
        assert out.failed[0]["unexpected_count"] == 2
        pandas_out = gr.validate("skus", connection=writer, query_or_table="raw.sales_lines",
                                 partition_filter={"_partition_date": DAY3},
                                 suites_dir=suites, engine="pandas")
        assert pandas_out.failed[0]["unexpected_count"] == 2
        assert writer.execute("SELECT count(*) FROM raw.sales_lines").fetchone() == (600,)
        writer.execute("CREATE TABLE raw.after_validation AS SELECT 1 AS x")
    finally:
        writer.close()
    duckdb.connect(str(db)).close()


def test_pandas_engine_and_dataframes_give_the_same_failures(db):
    execute(db, "UPDATE raw.sales_lines SET qty = -2 "
                "WHERE _partition_date = DATE '2024-01-02' AND line_type = 'SALE' "
                "AND _source_line BETWEEN 100 AND 109")
    args = dict(duckdb_path=db, query_or_table="raw.sales_lines",
                partition_filter={"_partition_date": DAY2})
    sql = gr.validate("raw_sales_lines", **args)
    pandas = gr.validate("raw_sales_lines", engine="pandas", **args)
    assert pandas.engine == "pandas" and sql.engine == "sql"

    def key(o):
        return sorted((f["expectation_type"], f["column"], f["unexpected_count"])
                      for f in o.failed)

    # lines 100-109 hold one RETURN line (i % 50 == 0): 9 SALE lines broken
    assert key(sql) == key(pandas) == [("expect_column_values_to_be_between", "qty", 9)]
    con = duckdb.connect(str(db), read_only=True)
    df = con.execute("SELECT * FROM raw.sales_lines "
                     "WHERE _partition_date = DATE '2024-01-02'").fetch_df()
    con.close()
    frame = gr.validate_dataframe("raw_sales_lines", df,
                                  parameters={"partition_start": DAY2, "partition_end": DAY2})
    assert key(frame) == key(sql)


# -------------------------------------------------------------- no gx/, Data Docs


def test_no_gx_folder_and_data_docs_site(db, tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    out = gr.validate("raw_sales_lines", duckdb_path=db, query_or_table="raw.sales_lines",
                      partition_filter={"_partition_date": DAY1}, run_name="test-run")
    assert out.success_blocking
    site = tmp_path / "var" / "data_docs"
    index = gr.build_data_docs(site)
    assert index == site / "index.html" and index.is_file()
    html = index.read_text(encoding="utf-8")
    assert "raw_sales_lines" in html
    assert list((site / "validations").rglob("*.html"))
    # rebuild in place works; a foreign non-empty folder is refused
    assert gr.build_data_docs(site).is_file()
    foreign = tmp_path / "not_a_site"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="refusing"):
        gr.build_data_docs(foreign)
    assert (foreign / "keep.txt").exists()
    for root in (work, REPO, tmp_path):
        assert not (root / "gx").exists(), root
        assert not (root / "great_expectations").exists(), root
