"""The semantic layer (dbt semantic models and metrics, dbt_project/models/marts/semantic/) queried
through MetricFlow against the reference run's warehouse: the definitions validate, every semantic
model, dimension, entity, measure and metric executes on the warehouse, and the metrics people ask
for equal the marts' own figures (net sales by month and by branch, gross margin and returns,
receivables at month ends, A-visit share and visits per working day per rep and month, credit
exposure by grade, predictive CLV per as-of date).

MetricFlow runs through its Python API (``MetricFlowEngine``) on the semantic manifest written by
``dbt parse`` into this module's own target folder, with a DuckDB client on a copy of the
reference warehouse opened read-only (the reference's own file is never opened here). The
reference's data ends before its first quarter end, so the credit exposure is checked on a second
tiny world of 100 days (2023Q1 rated) built by dbt. One test runs the ``mf query`` CLI itself, in a
copy of the dbt project (the CLI reads target/semantic_manifest.json under the project root).
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from support import DBT_PROJECT_DIR, dbt_executable, run_dbt

pytestmark = pytest.mark.slow

# The metrics of the semantic layer (the report of issue 19 lists them).
METRICS = {
    # sales (fct_sales_lines)
    "net_sales", "gross_sales", "returns", "return_rate", "cost_of_sales", "gross_margin", "gross_margin_pct",
    "costed_net_sales", "units_sold", "invoice_lines", "buying_customers",
    # receivables (mart_receivables_monthly, fct_receivables)
    "open_receivables", "overdue_receivables", "overdue_share", "max_days_overdue", "open_invoices",
    "customers_overdue", "amount_invoiced", "amount_paid_on_time", "on_time_payment_share", "average_days_late",
    "invoices_settled", "invoices_settled_late",
    # credit rating (mart_credit_rating)
    "credit_exposure", "recommended_credit_limit", "rated_customers", "average_credit_score",
    # visit compliance (mart_visit_compliance, mart_visit_compliance_customers)
    "customer_visits", "a_visits", "b_visits", "a_visit_share", "b_visit_share", "rep_working_days",
    "visits_per_working_day", "logged_minutes", "selling_minutes", "selling_time_share", "customers_under_band",
    "customers_over_band", "visits_to_customers",
    # inventory (mart_inventory_days)
    "closing_stock", "stock_with_sell_out", "avg_daily_sell_out", "inventory_days", "sell_out",
    "suggested_order_qty", "stagnant_positions",
    # customer lifetime value (mart_customer_lifetime_value through int_customer_lifetime_value)
    "predictive_clv", "historical_clv", "expected_purchases", "clv_customers",
}


class DuckDbSqlClient:
    """MetricFlow's ``SqlClient`` protocol on a DuckDB connection (what ``mf`` does through the dbt
    adapter, without dbt's global adapter state in the test process)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self._con = con
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self):
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self):
        return self._renderer

    def query(self, stmt, sql_bind_parameter_set=None):
        from metricflow.data_table.mf_table import MetricFlowDataTable

        cursor = self._con.execute(stmt)
        names = [d[0] for d in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=cursor.fetchall())

    def execute(self, stmt, sql_bind_parameter_set=None) -> None:
        self._con.execute(stmt)

    def dry_run(self, stmt, sql_bind_parameter_set=None) -> None:
        self._con.execute(f"EXPLAIN {stmt}")

    def close(self) -> None:
        pass

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


class SemanticLayer:
    def __init__(self, manifest, con: duckdb.DuckDBPyConnection) -> None:
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        self.manifest = manifest
        self.con = con
        self.client = DuckDbSqlClient(con)
        self.engine = MetricFlowEngine(SemanticManifestLookup(manifest), self.client)

    def query(self, metrics: list[str], group_by: list[str]) -> dict[tuple, dict[str, object]]:
        """Metric values keyed by the group-by values (dates as ``datetime.date``)."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        result = self.engine.query(MetricFlowQueryRequest.create(metric_names=metrics, group_by_names=group_by))
        table = result.result_df
        names = list(table.column_names)
        out: dict[tuple, dict[str, object]] = {}
        for row in table.rows:
            values = dict(zip(names, row))
            key = tuple(_day(values[g]) for g in group_by)
            assert key not in out, f"duplicate group {key} in {metrics} by {group_by}"
            out[key] = {m: values[m] for m in metrics}
        return out

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()


def _day(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def _as_mart(value, like):
    """A MetricFlow value in the type of the mart's figure ``like``: MetricFlow's data table holds
    decimals as floats, so an amount is compared as a decimal rounded to the mart's scale (equal
    to the cent), a count as an integer."""
    if value is None or like is None or isinstance(like, bool):
        return value
    if isinstance(like, Decimal):
        return Decimal(repr(float(value))).quantize(like)
    if isinstance(like, int) and float(value).is_integer():
        return int(value)
    return value


def assert_same(got: dict, want: dict) -> None:
    """Same groups, and every metric equal to the mart's figure (amounts to the cent)."""
    assert set(got) == set(want), sorted(set(got) ^ set(want), key=str)
    diffs = [(key, metric, got[key][metric], value) for key, row in want.items() for metric, value in row.items()
             if _as_mart(got[key][metric], value) != value]
    assert not diffs, diffs[:10]


def _credit_rating(warehouse: Path, workdir: Path) -> None:
    """The credit rating's dbt models (the quarterly job's set, every quarter the data has reached)."""
    from pipelines.transform.assets import CREDIT_SELECT

    run_dbt(["run", "--select", *CREDIT_SELECT.split()], warehouse=warehouse, workdir=workdir)


@pytest.fixture(scope="module")
def semantic_manifest(tmp_path_factory):
    """The semantic manifest as ``dbt parse`` writes it (relations in the catalog ``warehouse``:
    every warehouse queried here is a file named warehouse.duckdb)."""
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    folder = tmp_path_factory.mktemp("metrics_parse")
    parsed = run_dbt(["parse"], warehouse=folder / "warehouse.duckdb", workdir=folder / "dbt")
    return parse_manifest_from_dbt_generated_manifest((parsed.target_path / "semantic_manifest.json").read_text())


@pytest.fixture(scope="module")
def semantic(reference, semantic_manifest, tmp_path_factory):
    """MetricFlow on a copy of the reference run's warehouse. The reference's data ends before its
    first quarter end, so the quarterly credit rating is built (empty) on the copy by dbt: every
    semantic model's table exists."""
    folder = tmp_path_factory.mktemp("metrics")
    warehouse = folder / "warehouse.duckdb"
    shutil.copyfile(reference.home / "warehouse" / "warehouse.duckdb", warehouse)
    _credit_rating(warehouse, folder / "dbt")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield SemanticLayer(semantic_manifest, con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def rated(semantic_manifest, tmp_path_factory):
    """MetricFlow on a tiny world whose data passes a quarter end (2023Q1 rated): the raw layer
    loaded by the ingest's SQL, then the credit rating and its upstream built by dbt."""
    from sample_data import GeneratorConfig, generate
    from pipelines.ingest.assets import INGESTED_SOURCES
    from pipelines.ingest.load import load_window

    folder = tmp_path_factory.mktemp("metrics_rated")
    generate(GeneratorConfig.from_preset("tiny", seed=7, days=100), folder, clean=True)
    warehouse = folder / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    con = duckdb.connect(str(warehouse))
    try:
        for source in INGESTED_SOURCES:
            result = load_window(con, source, folder / "landing", datetime.date(2000, 1, 1),
                                 datetime.date(2099, 12, 31), folder / "tmp")
            assert not result.errors, (source, result.errors)
    finally:
        con.close()
    run_dbt(["build", "--select", "+mart_credit_rating", "--exclude-resource-type", "test",
             "--exclude-resource-type", "unit_test"], warehouse=warehouse, workdir=folder / "dbt")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield SemanticLayer(semantic_manifest, con)
    finally:
        con.close()


# ---- definitions -----------------------------------------------------------------------

def test_semantic_manifest_validates_and_defines_the_metrics(semantic):
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import SemanticManifestValidator

    result = SemanticManifestValidator(max_workers=1).validate_semantic_manifest(semantic.manifest)
    assert not result.has_blocking_issues, [i.as_readable_str() for i in result.all_issues]
    assert {m.name for m in semantic.manifest.metrics} == METRICS
    spines = semantic.manifest.project_configuration.time_spines
    assert [s.node_relation.alias for s in spines] == ["dim_time_spine"]


def test_every_semantic_element_executes_on_the_warehouse(semantic):
    """MetricFlow's data-warehouse validations (``mf validate-configs`` without --skip-dw): every
    semantic model, dimension, entity, measure and metric compiles and runs on the warehouse."""
    from metricflow_semantic_interfaces.validations.validator_helpers import SemanticManifestValidationResults
    from metricflow.validation.data_warehouse_model_validator import DataWarehouseModelValidator

    validator = DataWarehouseModelValidator(sql_client=semantic.client)
    results = SemanticManifestValidationResults.merge([
        validator.validate_semantic_models(semantic.manifest),
        validator.validate_dimensions(semantic.manifest),
        validator.validate_entities(semantic.manifest),
        validator.validate_simple_metrics(semantic.manifest),
        validator.validate_metrics(semantic.manifest),
    ])
    assert not results.has_blocking_issues, [i.as_readable_str() for i in results.all_issues]


# ---- the metrics equal the marts -------------------------------------------------------

def test_sales_by_month_equal_mart_sales_monthly(semantic):
    got = semantic.query(["net_sales", "gross_margin", "returns", "cost_of_sales"], ["metric_time__month"])
    want = {(month,): {"net_sales": net, "gross_margin": margin, "returns": returns, "cost_of_sales": cost}
            for month, net, margin, returns, cost in semantic.rows(
                "select month_start, sum(net_sales), sum(margin_amount), sum(returns_amount), sum(cost_amount) "
                "from marts.mart_sales_monthly group by 1")}
    assert len(want) >= 3 and any(v["returns"] for v in want.values())
    assert_same(got, want)


def test_sales_by_branch_and_month_equal_mart_sales_monthly(semantic):
    metrics = ["net_sales", "gross_margin", "returns", "invoice_lines", "buying_customers"]
    got = semantic.query(metrics, ["metric_time__month", "sales_line__branch_code"])
    want = {(month, branch): dict(zip(metrics, values)) for month, branch, *values in semantic.rows(
        "select month_start, branch_code, net_sales, margin_amount, returns_amount, invoice_lines, buying_customers "
        "from marts.mart_sales_monthly")}
    assert len({b for _, b in want}) >= 2
    assert_same(got, want)
    by_branch = semantic.query(["net_sales"], ["sales_line__branch_code"])
    assert_same(by_branch, {(branch,): {"net_sales": total} for branch, total in semantic.rows(
        "select branch_code, sum(net_sales) from marts.mart_sales_monthly group by 1")})


def test_net_sales_by_channel_and_abc_class_add_up(semantic):
    """The business dimensions join without losing or doubling a line: net sales by the customer's
    channel (the dim_customer version on the invoice date) and by its ABC class at the month end
    (mart_customer_segments) equal the joins done by hand and add up to the total."""
    total = semantic.rows("select sum(net_amount) from marts.fct_sales_lines")[0][0]
    by_channel = semantic.query(["net_sales"], ["customer__channel_type"])
    assert_same(by_channel, {(channel,): {"net_sales": amount} for channel, amount in semantic.rows(
        "select c.channel_type, sum(s.net_amount) from marts.fct_sales_lines s "
        "left join marts.dim_customer c on c.customer_key = s.customer_key group by 1")})
    assert sum(_as_mart(v["net_sales"], total) for v in by_channel.values()) == total
    by_class = semantic.query(["net_sales"], ["customer_month__abc_class"])
    assert_same(by_class, {(cls,): {"net_sales": amount} for cls, amount in semantic.rows(
        "select g.abc_class, sum(s.net_amount) from marts.fct_sales_lines s "
        "left join marts.mart_customer_segments g on g.customer_code = s.customer_code "
        " and g.month_start = date_trunc('month', s.invoice_date) group by 1")})
    assert {"A", "B", "C"} <= {k[0] for k in by_class}


def test_receivables_at_month_ends_equal_mart_receivables_monthly(semantic):
    metrics = ["open_receivables", "overdue_receivables", "max_days_overdue", "open_invoices"]
    got = semantic.query(metrics, ["metric_time__month"])
    want = {(month,): dict(zip(metrics, values)) for month, *values in semantic.rows(
        "select month_start, sum(open_amount), sum(overdue_amount), max(max_days_overdue), sum(open_invoices) "
        "from marts.mart_receivables_monthly group by 1")}
    assert any(v["overdue_receivables"] for v in want.values())
    assert_same(got, want)
    # a coarser period shows its last month end (balances are not summed over months)
    quarters = semantic.query(["overdue_receivables"], ["metric_time__quarter"])
    last_month = {}
    for (month,), values in want.items():
        quarter = datetime.date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        if quarter not in last_month or month > last_month[quarter][0]:
            last_month[quarter] = (month, values["overdue_receivables"])
    assert_same(quarters, {(q,): {"overdue_receivables": v} for q, (_, v) in last_month.items()})


def test_visit_shares_per_rep_and_month_equal_mart_visit_compliance(semantic):
    metrics = ["a_visit_share", "visits_per_working_day", "customer_visits", "selling_time_share"]
    got = semantic.query(metrics, ["metric_time__month", "rep"])
    mart = semantic.rows(
        "select month_start, rep_code, share_visits_a, visits_per_working_day, customer_visits, selling_time_share, "
        "visits_a, working_days from marts.mart_visit_compliance")
    assert set(got) == {(month, rep) for month, rep, *_ in mart}
    assert any(share for _, _, share, *_ in mart)
    for month, rep, share_a, per_day, visits, selling, visits_a, working_days in mart:
        row = got[(month, rep)]
        assert row["customer_visits"] == visits, (month, rep)
        # the mart rounds the shares to 6 decimals and visits per working day to 4
        if share_a is None:
            assert row["a_visit_share"] is None, (month, rep)
        else:
            assert row["a_visit_share"] == pytest.approx(visits_a / visits, abs=1e-12), (month, rep)
            assert round(Decimal(str(row["a_visit_share"])), 6) == share_a, (month, rep)
        if per_day is None:
            assert row["visits_per_working_day"] is None, (month, rep)
        else:
            assert row["visits_per_working_day"] == pytest.approx(visits / working_days, abs=1e-12), (month, rep)
            assert round(Decimal(str(row["visits_per_working_day"])), 4) == per_day, (month, rep)
        if selling is None:
            assert row["selling_time_share"] is None, (month, rep)
        else:
            assert round(Decimal(str(row["selling_time_share"])), 6) == selling, (month, rep)
    # the same visits at the rep × customer grain, by the customer's ABC class in force
    by_class = semantic.query(["visits_to_customers"], ["metric_time__month", "rep_customer_month__abc_class"])
    want = {(month, cls): {"visits_to_customers": n} for month, cls, n in semantic.rows(
        "select month_start, abc_class, sum(visits) from marts.mart_visit_compliance_customers group by 1, 2")}
    assert_same(by_class, want)
    assert {m: sum(v["visits_to_customers"] for (mm, c), v in by_class.items() if mm == m and c == "A")
            for m, _ in by_class} == {m: sum(va for mm, _, _, _, _, _, va, _ in mart if mm == m) for m, _ in by_class}


def test_credit_exposure_by_grade_equals_mart_credit_rating(rated):
    semantic = rated
    metrics = ["credit_exposure", "rated_customers"]
    got = semantic.query(metrics, ["metric_time__day", "credit_rating__final_grade"])
    want = {(day, grade): dict(zip(metrics, values)) for day, grade, *values in semantic.rows(
        "select rating_date, final_grade, sum(current_credit_limit), count(*) "
        "from marts.mart_credit_rating group by 1, 2")}
    assert len({g for _, g in want if g is not None}) >= 2
    assert_same(got, want)
    # by quarter (the rating date is the quarter's last day) and by channel as of the rating date
    by_quarter = semantic.query(["credit_exposure"], ["metric_time__quarter", "credit_rating__final_grade"])
    assert_same(by_quarter, {(datetime.date(day.year, day.month - 2, 1), grade): {"credit_exposure": v["credit_exposure"]}
                             for (day, grade), v in want.items()})
    by_channel = semantic.query(["credit_exposure"], ["credit_rating__channel_type"])
    assert_same(by_channel, {(channel,): {"credit_exposure": total} for channel, total in semantic.rows(
        "select channel_type, sum(current_credit_limit) from marts.mart_credit_rating "
        "where rating_date = (select max(rating_date) from marts.mart_credit_rating) group by 1")})


def test_predictive_clv_per_as_of_date_equals_the_clv_mart(semantic):
    metrics = ["predictive_clv", "historical_clv", "clv_customers"]
    got = semantic.query(metrics, ["metric_time__day"])
    want = {(day,): dict(zip(metrics, values)) for day, *values in semantic.rows(
        "select as_of_date, sum(predictive_clv), sum(historical_clv), count(*) "
        "from marts.mart_customer_lifetime_value group by 1")}
    assert want and any(v["predictive_clv"] for v in want.values())
    assert_same(got, want)
    # a year shows its last month end
    years = semantic.query(["predictive_clv"], ["metric_time__year"])
    last = {}
    for (day,), values in want.items():
        if day.year not in last or day > last[day.year][0]:
            last[day.year] = (day, values["predictive_clv"])
    assert_same(years, {(datetime.date(y, 1, 1),): {"predictive_clv": v} for y, (_, v) in last.items()})


def test_inventory_days_per_week_equal_mart_inventory_days(semantic):
    got = semantic.query(["closing_stock", "avg_daily_sell_out", "inventory_days"], ["metric_time__day"])
    want = {}
    for week, closing, with_sell_out, avg in semantic.rows(
            "select week_start, sum(closing_qty), sum(case when avg_daily_sell_out > 0 then closing_qty end), "
            "sum(avg_daily_sell_out) from marts.mart_inventory_days group by 1"):
        want[(week,)] = (closing, avg, None if not avg else float(with_sell_out) / float(avg))
    assert want
    assert set(got) == set(want)
    for key, (closing, avg, days) in want.items():
        assert _as_mart(got[key]["closing_stock"], closing) == closing, key
        assert _as_mart(got[key]["avg_daily_sell_out"], avg) == avg, key
        assert got[key]["inventory_days"] == (None if days is None else pytest.approx(days, rel=1e-12)), key


def test_mf_query_cli_on_a_copy_of_the_project(reference, tmp_path):
    """``mf query``, as an analyst runs it: the CLI reads target/semantic_manifest.json under the
    project root (it takes no target path), so it runs in a copy of the dbt project, parsed there,
    with dbt's profile pointing at another copy of the reference warehouse."""
    from pipelines.rules import dbt_vars

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(reference.home / "warehouse" / "warehouse.duckdb", warehouse)
    env = {**os.environ, "DWH_WAREHOUSE_PATH": str(warehouse), "DWH_DBT_TARGET": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    subprocess.run([dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project),
                    "--vars", dbt_vars(None)], cwd=project, env=env, check=True, capture_output=True, timeout=300)
    out = tmp_path / "net_sales.csv"
    mf = str(Path(sys.executable).parent / "mf")
    proc = subprocess.run([mf, "query", "--metrics", "net_sales,gross_margin", "--group-by", "metric_time__month",
                           "--csv", str(out), "--quiet"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with out.open() as f:
        got = {(datetime.datetime.fromisoformat(r["metric_time__month"]).date(),):
               {"net_sales": float(r["net_sales"]), "gross_margin": float(r["gross_margin"])} for r in csv.DictReader(f)}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        want = {(month,): {"net_sales": net, "gross_margin": margin} for month, net, margin in con.execute(
            "select month_start, sum(net_sales), sum(margin_amount) from marts.mart_sales_monthly group by 1").fetchall()}
    finally:
        con.close()
    assert want
    assert_same(got, want)
