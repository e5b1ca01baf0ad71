"""Great Expectations runtime (pipelines.quality.gx_runtime) and the Data Docs site
(pipelines.quality.data_docs): real GX, real DuckDB files.

GX is imported once for the whole session (gx_runtime caches it); every test builds its own
small DuckDB file in tmp_path and validates through an open connection to it, as the checks do.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipelines.quality import data_docs  # noqa: E402  (cheap: GX is not imported)
from pipelines.quality import gx_runtime as gr  # noqa: E402

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
#: the master tables raw_sales_lines.json reads, absent from this test database
NO_MASTERS = {f"raw.master_{t}": f"no raw.master_{t} here" for t in ("customers", "products", "reps", "branches")}


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


def validate(db: Path, suite: str, day: dt.date | None = DAY1, **kw) -> gr.ValidationOutcome:
    """Validate ``raw.sales_lines`` of ``day`` through an open connection, as the checks do."""
    con = duckdb.connect(str(db))
    try:
        return gr.validate(suite, connection=con, query_or_table=kw.pop("query_or_table", "raw.sales_lines"),
                           partition_filter={"_partition_date": (day, day)} if day else None, **kw)
    finally:
        con.close()


@pytest.fixture
def db(tmp_path) -> Path:
    return make_sales_db(tmp_path / "wh.duckdb")


@pytest.fixture
def suites(tmp_path) -> Path:
    return tmp_path / "suites"


# ---------------------------------------------------------------------------------- import


def test_importing_gx_runtime_does_not_import_great_expectations():
    code = ("import sys, pipelines.quality.gx_runtime, pipelines.quality.data_docs; "
            "print(sorted(k for k in ('great_expectations', 'sqlalchemy', 'pandas', 'duckdb') "
            "if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    loaded = json.loads(out.stdout.strip().replace("'", '"'))
    assert loaded == [], f"gx_runtime should import nothing heavy at import time: {loaded}"


# ------------------------------------------------------------ the one DuckDB workaround


def test_duckdb_connections_without_transactions_are_needed(db, monkeypatch):
    """GX issue #11579: through plain duckdb_engine connections every expectation fails (the
    pool's rollback invalidates results GX has not fetched); through the runtime's connections
    without transactions the same validation passes. When this test fails on its first assert,
    GX fixed it: drop ``_Autocommit``."""
    import duckdb_engine

    with monkeypatch.context() as m:
        m.setattr(gr, "_autocommit_wrapper", lambda: duckdb_engine.ConnectionWrapper)
        plain = validate(db, "raw_sales_lines", extra_expectations=EXTRA, skip_tables=NO_MASTERS)
    assert not plain.success_blocking
    assert any("list index out of range" in (f["exception"] or "") for f in plain.failed), plain.summary()
    ours = validate(db, "raw_sales_lines", extra_expectations=EXTRA, skip_tables=NO_MASTERS)
    assert ours.success_blocking and ours.errors == [], ours.summary()


def test_a_failing_query_fails_alone(db, suites):
    """A SQL expectation whose query raises (a missing table) fails, and the others of the same
    validation still run and pass: no aborted transaction takes them down."""
    write_suite(suites, "one_broken", [
        {"type": "unexpected_rows_expectation",
         "kwargs": {"unexpected_rows_query": "SELECT * FROM {batch} WHERE sku NOT IN (SELECT sku FROM raw.nope)"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 200}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}},
    ])
    out = validate(db, "one_broken", suites_dir=suites)
    assert out.evaluated == 4 and not out.success_blocking
    assert sorted((f["column"] or f["expectation_type"]) for f in out.failed) == ["no_such_column",
                                                                                  "unexpected_rows_expectation"]
    assert all(f["exception"] for f in out.failed)
    assert "raw.nope" in out.failed[0]["exception"] or "raw.nope" in out.failed[1]["exception"]


# --------------------------------------------------------------------- outcome semantics


def test_failing_critical_expectation_blocks_with_counts_and_samples(db, suites):
    execute(db, "UPDATE raw.sales_lines SET payment_terms = 'NET45' "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line IN (10, 11, 12)",
            "UPDATE raw.sales_lines SET payment_terms = 'CASH' "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line = 13")
    write_suite(suites, "terms", [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "payment_terms",
                    "value_set": ["PREPAY", "COD", "NET15", "NET30", "NET60", "NET90", "BILL"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}, "severity": "warning"},
    ])
    out = validate(db, "terms", DAY2, suites_dir=suites)
    assert out.success_blocking is False and out.success is False
    assert out.evaluated == 2
    (f,) = out.failed
    assert f["expectation_type"] == "expect_column_values_to_be_in_set"
    assert f["column"] == "payment_terms"
    assert f["severity"] == "critical"
    assert f["unexpected_count"] == 4
    assert f["unexpected_percent"] == pytest.approx(2.0)
    assert sorted(f["sample_unexpected_values"]) == ["CASH", "NET45", "NET45", "NET45"]
    assert f["kwargs"]["value_set"][0] == "PREPAY" and "batch_id" not in f["kwargs"]
    assert out.errors == [f] and out.warnings == []
    assert out.duration_s > 0
    json.dumps(dataclass_dict(out))  # recorded as JSON


def dataclass_dict(out: gr.ValidationOutcome) -> dict:
    import dataclasses

    return dataclasses.asdict(out)


def test_samples_are_capped_at_ten_and_json_safe(db, suites):
    execute(db, "UPDATE raw.sales_lines SET unit_price = -1.25 "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line < 40",
            "INSERT INTO raw.sales_lines SELECT * FROM raw.sales_lines "
            "WHERE _partition_date = DATE '2024-01-01' AND _source_line = 50")
    write_suite(suites, "prices", [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "unit_price", "min_value": 0}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["invoice_no", "line_no"]}},
        {"type": "unexpected_rows_expectation",
         "kwargs": {"unexpected_rows_query": ["SELECT invoice_no, line_no, unit_price FROM {batch}",
                                              "WHERE unit_price < 0"]},
         "meta": {"column": "unit_price"}},
    ])
    out = validate(db, "prices", suites_dir=suites)
    by_type = {f["expectation_type"]: f for f in out.failed}
    prices = by_type["expect_column_values_to_be_between"]
    assert prices["unexpected_count"] == 38
    assert len(prices["sample_unexpected_values"]) == 10
    assert set(prices["sample_unexpected_values"]) == {-1.25}
    dup = by_type["expect_compound_columns_to_be_unique"]
    assert dup["column"] == "invoice_no,line_no"
    assert dup["unexpected_count"] == 2  # both copies of the duplicated line
    # a SQL expectation: the count of rows its query returned, its first 10 rows as samples
    # (GX's COMPLETE result format), the query's columns kept
    sql = by_type["unexpected_rows_expectation"]
    assert sql["unexpected_count"] == 38 and sql["column"] == "unit_price"
    assert len(sql["sample_unexpected_values"]) == 10
    assert set(sql["sample_unexpected_values"][0]) == {"invoice_no", "line_no", "unit_price"}
    assert sql["sample_unexpected_values"][0]["unit_price"] == -1.25
    json.dumps(out.failed)


def test_failing_warning_only_does_not_block_but_is_listed(db, suites):
    write_suite(suites, "warn_only", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "invoice_no"}},
        {"type": "expect_column_mean_to_be_between",
         "kwargs": {"column": "unit_price", "min_value": 1000, "max_value": 2000}, "severity": "warning"},
    ])
    out = validate(db, "warn_only", suites_dir=suites)
    assert out.success_blocking is True
    assert out.success is False
    (f,) = out.failed
    assert f["severity"] == "warning" and f["expectation_type"] == "expect_column_mean_to_be_between"
    assert isinstance(f["observed_value"], float) and f["observed_value"] < 1000
    assert out.warnings == [f] and out.errors == []


def test_sql_expectations_reading_a_skipped_table_are_skipped_with_the_reason(db, suites):
    write_suite(suites, "refs", [
        {"type": "unexpected_rows_expectation", "meta": {"column": "branch_code"},
         "kwargs": {"unexpected_rows_query": "SELECT * FROM {batch} WHERE branch_code NOT IN "
                                             "(SELECT branch_code FROM raw.master_branches)"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "branch_code"}},
    ])
    out = validate(db, "refs", suites_dir=suites, skip_tables={"raw.master_branches": "branches not delivered"})
    assert out.success and out.evaluated == 1
    assert out.skipped == [{"expectation_type": "unexpected_rows_expectation", "column": "branch_code",
                            "severity": "critical", "reason": "branches not delivered"}]
    assert gr._reads('SELECT 1 FROM raw."master_branches"', "raw.master_branches")
    assert not gr._reads("SELECT 1 FROM raw.master_branches_old", "raw.master_branches")


# ------------------------------------------------------------------ partitions, suites


def test_partition_filter_validates_only_that_partition(db):
    # day 2 is broken in many ways; day 1 and day 3 are clean
    execute(db, "UPDATE raw.sales_lines SET line_type = 'SWAP', discount_rate = 1.5 "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line < 30",
            "UPDATE raw.sales_lines SET invoice_no = NULL "
                "WHERE _partition_date = DATE '2024-01-02' AND _source_line = 40")
    common = dict(extra_expectations=EXTRA, skip_tables=NO_MASTERS)
    day1 = validate(db, "raw_sales_lines", DAY1, **common)
    assert day1.success_blocking and day1.errors == [], day1.summary()
    suite = gr.load_suite("raw_sales_lines", extra_expectations=EXTRA)
    assert len(suite.expectations) == len(gr.load_suite("raw_sales_lines").expectations) + len(EXTRA)
    assert day1.evaluated + len(day1.skipped) == len(suite.expectations)
    assert [s["column"] for s in day1.skipped] == ["branch_code"]  # reads raw.master_branches
    assert day1.parameters == {"partition_start": "2024-01-01T00:00:00", "partition_end": "2024-01-01T00:00:00"}

    day2 = validate(db, "raw_sales_lines", DAY2, **common)
    assert not day2.success_blocking
    failed = {(f["expectation_type"], f["column"]): f["unexpected_count"] for f in day2.errors}
    assert failed == {
        ("expect_column_values_to_be_in_set", "line_type"): 28,
        ("expect_column_values_to_be_between", "discount_rate"): 28,
        ("expect_column_values_to_not_be_null", "invoice_no"): 1,
    }

    # a query instead of a table name (with a trailing comment) selects the same batch
    day3 = validate(db, "raw_sales_lines", DAY3, query_or_table="SELECT * FROM raw.sales_lines -- trailing comment",
                    **common)
    assert day3.success_blocking, day3.summary()


def test_invoice_date_outside_the_partition_window_is_critical(db):
    execute(db, "UPDATE raw.sales_lines SET invoice_date = DATE '2023-12-31' "
                "WHERE _partition_date = DATE '2024-01-01' AND _source_line = 7")
    out = validate(db, "raw_sales_lines", extra_expectations=EXTRA, skip_tables=NO_MASTERS)
    (f,) = out.errors
    assert f["column"] == "invoice_date" and f["unexpected_count"] == 1
    assert f["sample_unexpected_values"] == ["2023-12-31"]


def test_suites_load_with_gx_classes_and_gx_severity():
    gx = gr.gx_module()
    suite = gr.load_suite("raw_sales_lines", extra_expectations=EXTRA)
    assert isinstance(suite, gx.ExpectationSuite)
    assert {str(e.severity.value) for e in suite.expectations} == {"critical", "warning"}
    assert {type(e).__name__ for e in suite.expectations} >= {"ExpectColumnValuesToBeBetween",
                                                              "ExpectColumnMeanToBeBetween", "UnexpectedRowsExpectation"}
    assert [type(e).__name__ for e in suite.expectations[-len(EXTRA):]] == [
        "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectCompoundColumnsToBeUnique",
        "ExpectColumnValuesToBeBetween"]
    with pytest.raises(gr.SuiteFileError, match=r"raw_sales_lines\.json: expectations\[\d+\].*fatal"):
        gr.load_suite("raw_sales_lines", extra_expectations=[
            {"type": "expect_column_to_exist", "kwargs": {"column": "sku"}, "severity": "fatal"}])


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"name": "other", "expectations": []}', "'name' is 'bad'"),
    ('{"name": "bad", "expectations": [{"kwargs": {}}]}', r"expectations\[0\]"),
    ('{"name": "bad", "expectations": [{"type": "expect_column_to_exist", '
     '"kwargs": {"column": "a"}, "severity": "fatal"}]}', "fatal"),
    ('{"name": "bad", "expectations": [{"type": "expect_column_values_to_be_nul", "kwargs": {"column": "a"}}]}',
     "expect_column_values_to_be_nul"),
    ('{"name": "bad", "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a"}}]}',
     "value_set"),
])
def test_malformed_suite_files_name_the_file(suites, content, message):
    suites.mkdir()
    (suites / "bad.json").write_text(content, encoding="utf-8")
    with pytest.raises(gr.SuiteFileError) as e:
        gr.load_suite("bad", suites)
    assert str(suites / "bad.json") in str(e.value) and re.search(message, str(e.value)), str(e.value)


def test_missing_suite_file_and_parameters_are_reported_before_running(db, suites):
    with pytest.raises(gr.SuiteFileError, match="not found"):
        gr.load_suite("nope", suites)
    with pytest.raises(ValueError, match="partition_start"):
        validate(db, "raw_sales_lines", day=None, skip_tables=NO_MASTERS)


# ------------------------------------------------------------- connections, disposal


def test_validation_releases_the_connection(db, suites):
    """After a validation nothing of GX holds a cursor of the caller's connection: once the
    caller closes it the file opens read-only in this process (a different configuration, which
    DuckDB refuses while any connection to the file is alive) and read-write in another."""
    write_suite(suites, "skus", [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}}])
    writer = duckdb.connect(str(db))
    try:
        writer.execute("UPDATE raw.sales_lines SET sku = NULL "
                       "WHERE _partition_date = DATE '2024-01-03' AND _source_line IN (2, 3)")
        out = gr.validate("skus", connection=writer, query_or_table="raw.sales_lines",
                          partition_filter={"_partition_date": (DAY3, DAY3)}, suites_dir=suites)
        assert out.failed[0]["unexpected_count"] == 2  # GX saw what the writer wrote
        writer.execute("CREATE TABLE raw.after_validation AS SELECT 1 AS x")
    finally:
        writer.close()
    assert list(gr._context().data_sources.all()) == []
    reader = duckdb.connect(str(db), read_only=True)
    assert reader.execute("SELECT count(*) FROM raw.after_validation").fetchone() == (1,)
    reader.close()
    subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r}).close()"], check=True)


# -------------------------------------------------------------- Data Docs: offline, whole


def _local_references(site: Path) -> list[tuple[Path, str]]:
    """(page, address) of every file a page of the site loads or links to."""
    out = []
    for page in site.rglob("*.html"):
        for ref in re.findall(r"""(?:src|href)=["']([^"'#]+)["']""", page.read_text(encoding="utf-8")):
            if not ref.startswith(("data:", "mailto:", "javascript:")):
                out.append((page, ref))
    return out


def test_data_docs_are_offline_and_whole(db, tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    out = validate(db, "raw_sales_lines", run_name="test-run", skip_tables=NO_MASTERS,
                   extra_expectations=[*EXTRA, {"type": "unexpected_rows_expectation",  # an exception
                                                "kwargs": {"unexpected_rows_query": "SELECT * FROM {batch} JOIN raw.nope USING (x)"}}])
    assert not out.success_blocking
    site = tmp_path / "var" / "data_docs"
    index = gr.build_data_docs(site)
    assert index == site / "index.html" and index.is_file()
    assert "raw_sales_lines" in index.read_text(encoding="utf-8")
    pages = list(site.rglob("*.html"))
    assert list((site / "validations").rglob("*.html")) and len(pages) >= 3
    # no network address anywhere in the generated HTML (CSS of the site too)
    for path in [*pages, *site.glob("static/styles/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://", text, re.IGNORECASE), (path, re.findall(r"https?://\S{0,60}", text)[:3])
        assert "integrity=" not in text and "crossorigin=" not in text
    # GX's pages name no CDN address that URLS does not map
    from jinja2 import Environment, PackageLoader  # noqa: F401  (GX's templates, as shipped)

    templates = Path(gr.gx_module().__file__).parent / "render" / "view" / "templates"
    for t in templates.glob("*.j2"):
        for address in re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", t.read_text(encoding="utf-8")):
            if t.name not in ("cloud-footer.j2", "ge_info.j2"):  # links, turned into text
                assert any(re.fullmatch(p, address) for p in data_docs.URLS), (t.name, address)
    # every file a page loads is in the site: the vendored libraries and GX's own images
    refs = _local_references(site)
    assert any("static/vendor/bootstrap/dist/css/bootstrap.min.css" in r for _p, r in refs)
    missing = sorted({r for page, r in refs if not (page.parent / r).resolve().is_file()})
    assert missing == []
    assert (site / "static/vendor/fontawesome-free/webfonts/fa-solid-900.woff2").is_file()
    for root in (work, REPO, tmp_path):
        assert not (root / "gx").exists(), root
        assert not (root / "great_expectations").exists(), root


def test_data_docs_rebuild_is_swapped_in_atomically(db, tmp_path):
    validate(db, "raw_sales_lines", skip_tables=NO_MASTERS, extra_expectations=EXTRA)
    site = tmp_path / "data_docs"
    site.mkdir()  # as paths().ensure() leaves it: an empty plain folder
    gr.build_data_docs(site)
    assert site.is_symlink()
    first = site.resolve()
    gr.build_data_docs(site)
    second = site.resolve()
    assert second != first and first.is_dir()  # the previous build stays for a reader of it
    index_before = (site / "index.html").read_text(encoding="utf-8")

    # a rebuild failing half-way leaves the published site as it was
    def half(folder: Path) -> None:
        (folder / "index.html").write_text("half a site", encoding="utf-8")
        raise RuntimeError("killed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        data_docs.publish_site(site, half)
    assert site.resolve() == second and (site / "index.html").read_text(encoding="utf-8") == index_before
    assert not _missing_files(site)
    # the next build removes the unfinished one and the builds before the previous
    gr.build_data_docs(site)
    assert sorted(p.name for p in (tmp_path / ".data_docs.builds").iterdir()) == sorted(
        [second.name, site.resolve().name])
    # a non-empty folder that is not a site is refused, untouched
    foreign = tmp_path / "not_a_site"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="refusing"):
        gr.build_data_docs(foreign)
    assert (foreign / "keep.txt").exists() and not foreign.is_symlink()


def _missing_files(site: Path) -> list[str]:
    return sorted({r for page, r in _local_references(site) if not (page.parent / r).resolve().is_file()})


KILL_MID_BUILD = """
import sys, time, duckdb, datetime as dt
sys.path[:0] = [{repo!r}, {tests!r}]
from pipelines.quality import data_docs, gx_runtime as gr
from test_gx_runtime import EXTRA, NO_MASTERS
con = duckdb.connect({db!r})
gr.validate("raw_sales_lines", connection=con, query_or_table="raw.sales_lines",
            partition_filter={{"_partition_date": (dt.date(2024, 1, 2), dt.date(2024, 1, 2))}},
            extra_expectations=EXTRA, skip_tables=NO_MASTERS)
con.close()
make_offline = data_docs.make_offline
def slow(site):
    make_offline(site)
    open({ready!r}, "w").close()
    time.sleep(60)  # killed here: the new site is complete but not yet swapped in
data_docs.make_offline = slow
gr.build_data_docs({site!r})
"""


def test_a_build_killed_mid_way_leaves_the_previous_site(db, tmp_path):
    site, ready = tmp_path / "data_docs", tmp_path / "ready"
    validate(db, "raw_sales_lines", skip_tables=NO_MASTERS, extra_expectations=EXTRA)
    gr.build_data_docs(site)
    before = site.resolve()
    index = (site / "index.html").read_text(encoding="utf-8")
    code = KILL_MID_BUILD.format(repo=str(REPO), tests=str(REPO / "tests"), db=str(db), ready=str(ready),
                                 site=str(site))
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, "the build ended before the kill point"
            assert time.monotonic() < deadline, "the build did not reach the kill point"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert site.resolve() == before and (site / "index.html").read_text(encoding="utf-8") == index
    assert not _missing_files(site)
    assert list((tmp_path / ".data_docs.builds").glob("*.building"))  # the killed build, not published
