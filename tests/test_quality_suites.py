"""The suite files in expectations/: each one loads with GX's own classes (a raw suite together
with the structural expectations derived from sources.yml), is wired to a blocking Dagster
check, and passes on clean generated data while catching the faults it is there for (real GX,
real DuckDB; the tiny generated landing zone loaded by the ingest engine, without Dagster).

One owner per check: GX suites exist for the raw tables and the marts written by Python; the
dbt models' checks are dbt tests, which the definitions turn into asset checks of the models
(blocking when their severity is error) — checked here too."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import REPO

from pipelines.quality import gx_runtime as gr
from pipelines.quality import structural

SUITES_DIR = REPO / "expectations"
SUITES = sorted(p.stem for p in SUITES_DIR.glob("*.json"))
RAW_SUITES = [s for s in SUITES if s.startswith("raw_")]
MODEL_SUITES = [s for s in SUITES if not s.startswith("raw_")]
KIND = {"text": "text", "enum": "text", "integer": "integer", "decimal": "decimal", "date": "date",
        "timestamp": "timestamp"}
LINEAGE = {"_source_file": "text", "_source_line": "integer", "_partition_date": "date", "_load_id": "text",
           "_loaded_at": "timestamp"}


def _kind(duckdb_type: str) -> str:
    """The sources.yml kind of a DuckDB type name."""
    if duckdb_type.startswith("DECIMAL("):
        return "decimal"
    return {"VARCHAR": "text", "BIGINT": "integer", "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamp"}[duckdb_type]


def _sources_by_table():
    from pipelines.ingest.config import load_sources

    return {s.table: s for s in load_sources().values()}


class Exp(dict):
    """One expectation of a loaded suite, as its GX configuration dict."""

    @property
    def is_sql(self) -> bool:
        return self["type"] == gr.SQL_TYPE

    @property
    def query(self) -> str:
        return self["kwargs"].get(gr.SQL_QUERY, "")

    @property
    def meta(self) -> dict:
        return self.get("meta") or {}

    @property
    def severity(self) -> str:
        return self.get("severity", "critical")

    @property
    def column(self) -> str | None:
        k = self["kwargs"]
        return k.get("column") or (",".join(k["column_list"]) if k.get("column_list") else self.meta.get("column"))


def _exps(suite: str, extra=None) -> list[Exp]:
    return [Exp(e.configuration.to_json_dict()) for e in gr.load_suite(suite, extra_expectations=extra).expectations]


def _merged(suite: str) -> list[Exp]:
    """A raw suite as the check validates it: the file plus the derived expectations."""
    source = _sources_by_table()[suite[len("raw_"):]]
    return _exps(suite, structural.derived_expectations(source))


def _parameters(exps: list[Exp]) -> set[str]:
    found = {p for e in exps if e.is_sql for p in gr.placeholders(e.query)}
    return found | {m for e in exps for m in re.findall(r'"\$PARAMETER": "(\w+)"', json.dumps(e["kwargs"]))}


# ------------------------------------------------------------------------ the files


@pytest.mark.parametrize("suite", SUITES)
def test_suite_file_loads_with_gx_and_its_sql_parses(suite):
    exps = _merged(suite) if suite in RAW_SUITES else _exps(suite)  # GX refuses bad types and kwargs
    assert exps
    assert {e.severity for e in exps} <= {"critical", "warning"}
    assert any(e.severity == "critical" for e in exps)
    con = duckdb.connect()
    try:
        for e in exps:
            if e.is_sql:
                assert e.column or e.meta.get("why"), f"{suite}: say what a SQL expectation checks"
                # {batch} as GX fills it: aliased "subselect", or bare when the query has a JOIN
                join = re.search(r"\bjoin\b", e.query, re.IGNORECASE)
                sql = e.query.replace("{batch}", "(SELECT 1 AS x)" + ("" if join else " AS subselect"))
                for name in gr.placeholders(e.query):
                    sql = sql.replace("{" + name + "}", "DATE '2000-01-03'")
                (tree,) = con.execute("SELECT json_serialize_sql(?)", [sql.replace("{{", "{").replace("}}", "}")]
                                      ).fetchone()
                assert not json.loads(tree).get("error"), (suite, e.query, json.loads(tree).get("error_message"))
    finally:
        con.close()


def test_every_raw_table_has_a_suite():
    assert {f"raw_{t}" for t in _sources_by_table()} == set(RAW_SUITES)


@pytest.mark.parametrize("suite", RAW_SUITES)
def test_raw_suite_columns_and_types_match_sources_yml(suite):
    source = _sources_by_table()[suite[len("raw_"):]]
    expected = {**{c.name: KIND[c.type] for c in source.columns.values()}, **LINEAGE}
    exps = _merged(suite)
    (col_set,) = [e for e in exps if e["type"] == "expect_table_columns_to_match_set"]
    assert set(col_set["kwargs"]["column_set"]) == set(expected) and col_set["kwargs"].get("exact_match", True) is True  # GX leaves the default out
    typed = [e for e in exps if e.is_sql and "typeof(COLUMNS(b.*))" in e.query]
    assert len(typed) == 1, "one column-types expectation per raw suite"
    declared = dict(re.findall(r"\('(\w+)', '([A-Z][A-Z0-9(), ]*)'\)", typed[0].query))
    assert {c: _kind(t) for c, t in declared.items()} == expected
    assert all(e.meta.get(structural.DERIVED) for e in (col_set, typed[0]))  # from sources.yml, not the file


@pytest.mark.parametrize("suite", RAW_SUITES)
def test_partitioned_suites_check_the_window_and_volume(suite):
    source = _sources_by_table()[suite[len("raw_"):]]
    exps = _merged(suite)
    if source.partitioning == "none":
        assert _parameters(exps) == set()  # the whole table is validated, no window
        return
    timestamp = source.partition_date_column and source.columns[source.partition_date_column].type == "timestamp"
    assert _parameters(exps) == {"partition_start", "partition_end"} | ({"timezone"} if timestamp else set())
    volume = [e for e in exps if e.is_sql and "volume anomaly" in e.meta.get("why", "")]
    assert len(volume) == 1 and volume[0].severity == "warning"


def test_references_in_sources_yml_are_checked_by_the_suites():
    """Every ``references:`` column of sources.yml has a referential-integrity expectation."""
    from pipelines.ingest.config import load_sources

    sources = load_sources()
    masters = {s.master_entity: s.table for s in sources.values() if s.master_entity}
    for source in sources.values():
        exps = _merged(f"raw_{source.table}")
        for col in source.columns.values():
            if col.references:
                ri = [e for e in exps if e.is_sql and e.column == col.name and f"raw.{masters[col.references]}" in e.query]
                assert ri and ri[0].severity == "critical", (source.table, col.name)


def test_every_suite_is_a_blocking_check_in_the_definitions():
    from pipelines.definitions import defs
    from pipelines.quality.checks import model_suites

    specs = {}
    for checks_def in defs.asset_checks or []:
        for spec in checks_def.check_specs:
            specs[(spec.asset_key.to_user_string(), spec.name)] = spec
    for suite in RAW_SUITES:
        spec = specs[(f"raw/{suite[len('raw_'):]}", f"gx_{suite}")]
        assert spec.blocking
    assets = defs.resolve_asset_graph().get_all_asset_keys()
    assert [s for s, _k, _r in model_suites()] == ["mart_customer_lifetime_value"]  # the Python mart
    for suite, key, _relation in model_suites():
        assert key in assets, f"expectations/{suite}.json names {key.to_user_string()}, not an asset"
        assert specs[(key.to_user_string(), f"gx_{suite}")].blocking
    # the mart checks gate publish: the serving database depends on every mart with a suite
    graph = defs.resolve_asset_graph()
    serving_parents = graph.get(next(k for k in assets if k.path == ["serving", "database"])).parent_keys
    for _suite, key, _relation in model_suites():
        assert key in serving_parents


def test_no_gx_suite_checks_a_dbt_model():
    """One owner per check: a dbt model's checks are its contract and dbt tests, never a suite."""
    from pipelines.quality.checks import dbt_model_keys, model_suites

    dbt_keys = dbt_model_keys()
    assert dbt_keys and not [s for s, key, _r in model_suites() if key in dbt_keys]


def _dbt_checks():
    """(asset key, check name) -> spec of every dbt test turned into an asset check."""
    from pipelines.definitions import defs

    return {(spec.asset_key.to_user_string(), spec.name): spec for checks_def in defs.resolve_asset_graph()
            .assets_defs for spec in checks_def.check_specs if spec.metadata.get("dagster_dbt/unique_id")}


def test_dbt_tests_of_the_marts_are_blocking_asset_checks_of_the_marts():
    """dagster-dbt turns each dbt test of a mart — generic and singular, those reading a second
    model included (meta dagster.ref) — into an asset check of the mart: blocking at severity
    error, not at warn. A failed blocking check fails its step, so the serving database (which
    depends on every mart) and the reports do not run."""
    import json as _json

    from pipelines.transform.project import dbt_project

    manifest = _json.loads(dbt_project.manifest_path.read_text())
    checks = _dbt_checks()
    marts = ["mart_sales_monthly", "mart_customer_segments", "mart_visit_compliance", "mart_visit_compliance_customers",
             "mart_inventory_days", "mart_inventory_turnover", "mart_credit_rating"]
    for mart in marts:
        tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"
                 and (n.get("attached_node") == f"model.distributor_dwh.{mart}"
                      or (n.get("config", {}).get("meta") or {}).get("dagster", {}).get("ref", {}).get("name") == mart
                      or (not n.get("attached_node") and n["depends_on"]["nodes"] == [f"model.distributor_dwh.{mart}"]))]
        assert len(tests) >= 4, mart
        for test in tests:
            spec = checks.get((f"marts/{mart}", test["name"]))
            assert spec is not None, f"dbt test {test['name']} is not an asset check of marts/{mart}"
            assert spec.blocking == (test["config"]["severity"].lower() == "error"), test["name"]
    # a reconciliation with a model of another dbt asset set (the daily facts) is a check too
    assert ("marts/mart_sales_monthly", "mart_sales_monthly_lines_reconcile_with_fct_sales_lines") in checks
    assert ("marts/mart_visit_compliance_customers", "mart_visit_compliance_customers_visits_reconcile_with_fct_visits"
            ) in checks
    assert checks[("marts/mart_customer_segments", "mart_customer_segments_every_customer_has_a_row")].blocking
    assert not checks[("marts/mart_customer_segments", "mart_customer_segments_all_classes_shown")].blocking
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    serving = dg_key("serving/database")
    for mart in marts:
        assert dg_key(f"marts/{mart}") in graph.get(serving).parent_keys or mart == "mart_credit_rating"


def dg_key(text: str):
    import dagster as dg

    return dg.AssetKey.from_user_string(text)


# ------------------------------------------------- on data: clean passes, faults are caught


@pytest.fixture(scope="module")
def tiny_warehouse(tiny_generated, tmp_path_factory) -> Path:
    """The tiny landing zone loaded into a warehouse by the ingest engine (all sources)."""
    from pipelines.ingest.assets import INGESTED_SOURCES
    from pipelines.ingest.load import load_window

    work = tmp_path_factory.mktemp("quality_suites")
    db = work / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    try:
        for name in INGESTED_SOURCES:
            load_window(con, name, tiny_generated / "landing", dt.date(2000, 1, 1), dt.date(2099, 12, 31),
                        work / "tmp")
    finally:
        con.close()
    return db


def _window(db: Path, table: str) -> tuple[dt.date, dt.date] | None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        lo, hi = con.execute(f"SELECT min(_partition_date), max(_partition_date) FROM raw.{table}").fetchone()
    finally:
        con.close()
    if lo is None:
        return None
    if table == "stock_reports":  # whole Monday..Sunday weeks
        hi = hi + dt.timedelta(days=6)
    return lo, hi


def _validate(db: Path, suite: str, window=None, **kw):
    """As the raw check validates: the derived expectations and the suite file together, through
    an open connection (a writer's, as the check's: the validation writes the business calendar,
    quality.public_holidays)."""
    table = suite[len("raw_"):]
    window = window or _window(db, table)
    con = duckdb.connect(str(db))
    try:
        return structural.validate_raw(table, connection=con, window=window, **kw)
    finally:
        con.close()


@pytest.mark.parametrize("suite", RAW_SUITES)
def test_clean_generated_data_passes_every_error_expectation(tiny_warehouse, suite):
    out = _validate(tiny_warehouse, suite)
    assert out.success_blocking, out.summary()
    assert out.skipped == [] and out.evaluated == len(_merged(suite))


@pytest.fixture
def broken(tiny_warehouse, tmp_path) -> Path:
    """A private copy of the tiny warehouse to break."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse, db)
    return db


def _sql(db: Path, *statements: str):
    con = duckdb.connect(str(db))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def _one_day(db: Path, table: str, min_rows: int = 3, nth: int = 10) -> dt.date:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT _partition_date FROM raw.{table} GROUP BY 1 HAVING count(*) >= {min_rows} "
                           f"ORDER BY 1 LIMIT 1 OFFSET {nth}").fetchone()[0]
    finally:
        con.close()


def _failed(out) -> dict[tuple[str, str | None], dict]:
    return {(f["severity"], f["column"]): f for f in out.failed}


def test_referential_integrity_against_master_data(broken):
    day = _one_day(broken, "sales_lines")
    _sql(broken,
         # a customer vanishes from every extract of the master; a branch the master never had
         f"""DELETE FROM raw.master_customers WHERE customer_code =
             (SELECT min(customer_code) FROM raw.sales_lines WHERE _partition_date = DATE '{day}')""",
         f"""UPDATE raw.sales_lines SET branch_code = 'BR99'
             WHERE _partition_date = DATE '{day}' AND _source_line = (SELECT max(_source_line)
               FROM raw.sales_lines WHERE _partition_date = DATE '{day}')""")
    out = _validate(broken, "raw_sales_lines", (day, day))
    assert not out.success_blocking
    failed = _failed(out)
    customer = failed[("critical", "customer_code")]
    assert customer["expectation_type"] == "unexpected_rows_expectation"
    assert customer["unexpected_count"] >= 1
    sample = customer["sample_unexpected_values"][0]
    assert set(sample) == {"customer_code", "_source_file", "_source_line"}
    assert sample["_source_file"].startswith("sales/")
    branch = failed[("critical", "branch_code")]
    assert branch["unexpected_count"] == 1 and branch["sample_unexpected_values"][0]["branch_code"] == "BR99"


def test_types_uniqueness_ranges_and_value_sets(broken):
    day = _one_day(broken, "receivables")
    _sql(broken,
         # a type drift (amount as text), a PAYMENT dated before its invoice, an INVOICE copy
         "ALTER TABLE raw.receivables ALTER amount_paid TYPE VARCHAR",
         f"""UPDATE raw.receivables SET payment_date = invoice_date - 1
             WHERE rowid = (SELECT min(rowid) FROM raw.receivables WHERE record_type = 'PAYMENT'
                            AND _partition_date = DATE '{day}')""",
         f"""INSERT INTO raw.receivables SELECT * FROM raw.receivables
             WHERE record_type = 'INVOICE' AND _partition_date = DATE '{day}' LIMIT 1""")
    out = _validate(broken, "raw_receivables", (day, day))
    failed = {(f["expectation_type"], f["column"]) for f in out.errors}
    types = next(f for f in out.errors if f["expectation_type"] == "unexpected_rows_expectation"
                 and f["column"] is None)
    (mistyped,) = types["sample_unexpected_values"]
    assert mistyped["column_name"] == "amount_paid" and mistyped["actual_type"] == "VARCHAR"
    assert mistyped["expected_type"].startswith("DECIMAL(")  # the raw table's type (load.py)
    duplicate = next(f for f in out.errors if f["column"] == "record_type,invoice_no,payment_no")
    assert duplicate["sample_unexpected_values"][0]["record_type"] == "INVOICE"  # payment_no NULL
    assert ("expect_column_pair_values_a_to_be_greater_than_b", "payment_date") in failed


def test_weekly_stock_window_is_monday_to_sunday(broken):
    week = _one_day(broken, "stock_reports", nth=2)
    assert week.weekday() == 0
    sunday = week + dt.timedelta(days=6)
    _sql(broken, f"""UPDATE raw.stock_reports SET report_date = DATE '{sunday}' + 1
                     WHERE _partition_date = DATE '{week}' AND _source_line = 2""")
    out = _validate(broken, "raw_stock_reports", (week, sunday))
    (window,) = [f for f in out.errors if f["column"] == "report_date"]
    assert window["unexpected_count"] >= 1
    assert out.parameters == {"partition_start": f"{week}T00:00:00", "partition_end": f"{sunday}T00:00:00",
                              "timezone": "Asia/Shanghai"}
    # the Monday after is also a WARN (reports are as of Sunday), not a second ERROR
    assert sorted(f["severity"] for f in out.failed if f["column"] == "report_date") == ["critical", "warning"]


def test_volume_anomaly_warns_and_does_not_block(broken):
    con = duckdb.connect(str(broken))
    try:  # make the sales history large and steady enough for a baseline: 60 copies per row
        con.execute("CREATE TEMP TABLE x AS SELECT * FROM raw.sales_lines")
        con.execute("""INSERT INTO raw.sales_lines
                       SELECT x.* REPLACE (invoice_no || '-' || CAST(k AS VARCHAR) AS invoice_no)
                       FROM x, range(1, 60) AS r(k)""")
        day = con.execute("SELECT max(_partition_date) FROM raw.sales_lines WHERE isodow(_partition_date) = 3"
                          ).fetchone()[0]
        con.execute(f"DELETE FROM raw.sales_lines WHERE _partition_date = DATE '{day}' AND invoice_no LIKE '%-%'")
    finally:
        con.close()
    out = _validate(broken, "raw_sales_lines", (day, day))
    assert out.success_blocking and not out.success, out.summary()
    (volume,) = out.warnings
    assert volume["column"] == "_partition_date"
    (row,) = volume["sample_unexpected_values"]
    assert row["partition_date"] == day.isoformat() and row["row_count"] < 0.3 * row["same_weekday_avg"]


def test_mean_price_out_of_band_is_a_warning(broken):
    day = _one_day(broken, "sales_lines")
    _sql(broken, f"UPDATE raw.sales_lines SET unit_price = unit_price * 100 WHERE _partition_date = DATE '{day}'")
    out = _validate(broken, "raw_sales_lines", (day, day))
    assert out.success_blocking, out.summary()
    assert ("warning", "unit_price") in _failed(out)


def test_a_missing_master_table_fails_the_check(broken):
    _sql(broken, "DROP TABLE raw.master_reps")
    day = _one_day(broken, "sales_lines")
    strict = _validate(broken, "raw_sales_lines", (day, day))
    assert len(strict.errors) == 1, strict.summary()
    (f,) = strict.errors
    assert f["column"] == "rep_code" and "master_reps" in f["exception"]
    # no transaction aborted: the expectations after the broken one still ran cleanly
    assert strict.evaluated == len(_merged("raw_sales_lines"))


def test_visit_window_is_the_day_in_the_company_time_zone(tiny_warehouse, tmp_path, monkeypatch):
    """check_in's partition day is taken in company.yml's time zone (the suite parameter
    ``timezone``), not in a zone written into the suite."""
    day = _one_day(tiny_warehouse, "visits")
    assert _validate(tiny_warehouse, "raw_visits", (day, day)).success_blocking
    config = tmp_path / "company"
    config.mkdir()
    (config / "company.yml").write_text("company:\n  timezone: America/Los_Angeles\n", encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(config))
    out = _validate(tiny_warehouse, "raw_visits", (day, day))
    assert out.parameters["timezone"] == "America/Los_Angeles"
    (window,) = [f for f in out.errors if f["column"] == "check_in"]
    assert window["expectation_type"] == "unexpected_rows_expectation" and window["unexpected_count"] >= 1


def test_requires_sources_name_sources_of_sources_yml():
    """Models say which sources they cannot do without in one place (dbt meta requires_sources, or
    a Python mart's metadata); every name is a source, and no suite file repeats it."""
    from pipelines.ingest.config import load_sources
    from pipelines.quality.checks import requirements

    names = set(load_sources())
    required = {key.path[-1]: needs for key, needs in requirements().items()}
    assert all(set(needs) <= names for needs in required.values()), required
    assert {k: v for k, v in required.items() if k.startswith("mart_")} == {
        "mart_inventory_days": ["stock"], "mart_inventory_turnover": ["stock"], "mart_visit_compliance": ["visits"],
        "mart_visit_compliance_customers": ["visits"], "mart_receivables_monthly": ["receivables"],
        "mart_sales_monthly": ["sales_lines"], "mart_customer_segments": ["sales_lines"],
        "mart_customer_lifetime_value": ["sales_lines"]}
    for suite in MODEL_SUITES:
        assert "requires_sources" not in gr.suite_meta(suite), suite


def test_a_hand_written_reference_to_an_undelivered_master_is_skipped(broken, tmp_path, monkeypatch):
    """A company without the organisation master: raw.master_branches stays empty, and the suites'
    own checks against it are skipped (named in the outcome), not failed."""
    day = _one_day(broken, "sales_lines")
    _sql(broken, "DELETE FROM raw.master_branches")
    strict = _validate(broken, "raw_sales_lines", (day, day))
    assert [f["column"] for f in strict.errors] == ["branch_code"]  # delivered: an empty master is an error
    config = tmp_path / "company"
    config.mkdir()
    (config / "company.yml").write_text((REPO / "company.yml").read_text(encoding="utf-8")
                                        + "\nsources:\n  branches: {delivered: false}\n", encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(config))
    out = _validate(broken, "raw_sales_lines", (day, day))
    assert out.success_blocking, out.summary()
    assert [(s["column"], s["reason"]) for s in out.skipped] == [
        ("branch_code", "reads raw.master_branches: branches not delivered (company.yml)")]
