"""The dbt project on a tiny generated dataset in DuckDB: it builds (models, data tests, unit
tests), docs generate, the layers follow the structure guide, every model and column is
documented, every BI-facing model has an enforced contract, no sensitive column leaves
staging, and the warehouse logic holds on real data (SCD2 as of every extract, unknown
members for late-arriving customers, costs as of the invoice date, receivables as of dates,
the calendar)."""

from __future__ import annotations

import re
import shutil
from datetime import date

import duckdb
import pytest

from support import OK_STATUSES, built_warehouse, model_nodes, run_dbt, sensitive_columns


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def con(built):
    c = duckdb.connect(str(built.path), read_only=True)
    yield c
    c.close()


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def models_by_layer(manifest: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for node in model_nodes(manifest):
        out.setdefault(node["fqn"][1], []).append(node)
    return out


# ---- the build -------------------------------------------------------------------------

def test_dbt_build_runs_models_data_tests_and_unit_tests(built):
    results = built.build.run_results["results"]
    failed = [(r["unique_id"], r["status"], r.get("message")) for r in results if r["status"] not in OK_STATUSES]
    assert not failed, failed
    kinds = {}
    for r in results:
        kinds[r["unique_id"].split(".")[0]] = kinds.get(r["unique_id"].split(".")[0], 0) + 1
    assert kinds.get("unit_test", 0) >= 8, kinds
    assert kinds.get("test", 0) >= 50, kinds


def test_docs_generate_catalogs_every_model(built):
    catalog = built.catalog["nodes"]
    for node in model_nodes(built.manifest):
        assert node["unique_id"] in catalog, node["unique_id"]


# ---- structure -------------------------------------------------------------------------

def test_one_staging_view_per_raw_table(built):
    from pipelines.ingest.config import load_sources

    manifest = built.manifest
    raw_tables = {s.table for s in load_sources().values()}
    # the raw tables; python_marts only documents the marts Python writes (nothing reads it)
    sources = {uid: s for uid, s in manifest["sources"].items() if s["source_name"] != "python_marts"}
    assert {s["name"] for s in sources.values()} == raw_tables
    assert {s["name"] for s in manifest["sources"].values() if s["source_name"] == "python_marts"} == {
        "mart_customer_lifetime_value"}
    for s in sources.values():
        assert s["schema"] == "raw"
        assert s["meta"]["dagster"]["asset_key"] == ["raw", s["name"]], s["unique_id"]
    staging = models_by_layer(manifest)["staging"]
    by_source: dict[str, list[str]] = {}
    for node in staging:
        assert re.fullmatch(r"stg_[a-z]+__[a-z_]+s", node["name"]), node["name"]
        assert node["config"]["materialized"] == "view" and node["schema"] == "staging", node["name"]
        parents = node["depends_on"]["nodes"]
        assert len(parents) == 1 and parents[0].startswith("source."), (node["name"], parents)
        by_source.setdefault(parents[0], []).append(node["name"])
        source_system = sources[parents[0]]["source_name"]
        assert node["name"].startswith(f"stg_{source_system}__"), node["name"]
    assert set(by_source) == set(sources) and all(len(v) == 1 for v in by_source.values()), by_source
    assert {"stg_erp__sales_lines", "stg_erp__receivables", "stg_master__customers", "stg_master__products",
            "stg_master__reps", "stg_master__branches", "stg_distributor__stock_reports", "stg_crm__visits",
            "stg_credit__rating_overrides"} == {n["name"] for n in staging}


def test_intermediate_and_marts_layers(built):
    layers = models_by_layer(built.manifest)
    assert set(layers) == {"staging", "intermediate", "marts"}
    for node in layers["intermediate"]:
        assert node["name"].startswith("int_") and node["schema"] == "intermediate", node["name"]
        assert len(node["fqn"]) == 4, f"{node['name']}: intermediate models live in a business-area folder"
    for node in layers["marts"]:
        assert re.match(r"(dim|fct|mart)_", node["name"]) and node["schema"] == "marts", node["name"]
        assert not any(p.startswith("source.") for p in node["depends_on"]["nodes"]), node["name"]
    names = {n["name"] for n in layers["marts"]}
    assert {"dim_date", "dim_customer", "dim_product", "dim_rep", "dim_branch", "dim_territory", "dim_region", "dim_customer_current", "fct_sales_lines",
            "fct_receivables", "fct_receivable_payments", "fct_stock_weekly", "fct_visits",
            "mart_sales_monthly"} <= names


def test_daily_incremental_facts_are_tagged(built):
    nodes = {n["name"]: n for n in model_nodes(built.manifest)}
    for name in ("fct_sales_lines", "fct_visits"):
        assert "partitioned_daily" in nodes[name]["tags"]
        assert nodes[name]["config"]["materialized"] == "incremental"
    tagged = {n for n, node in nodes.items() if "partitioned_daily" in node["tags"]}
    assert all(nodes[n]["config"]["materialized"] == "incremental" for n in tagged)


def test_every_model_and_column_is_described(built):
    catalog = built.catalog["nodes"]
    for node in model_nodes(built.manifest):
        assert node["description"].strip(), f"{node['name']} has no description"
        documented = {c.lower() for c in node["columns"]}
        for name, col in node["columns"].items():
            assert col["description"].strip(), f"{node['name']}.{name} has no description"
        actual = {c.lower() for c in catalog[node["unique_id"]]["columns"]}
        assert actual == documented, (node["name"], sorted(actual ^ documented))


def test_bi_facing_models_have_enforced_contracts(built):
    for node in models_by_layer(built.manifest)["marts"]:
        assert node["config"]["contract"]["enforced"], f"{node['name']}: contract not enforced"
        for name, col in node["columns"].items():
            assert col.get("data_type"), f"{node['name']}.{name} has no data_type"


def test_sensitive_columns_never_leave_staging(built):
    sensitive = sensitive_columns()
    assert {"phone", "legal_representative", "tax_id", "bank_name", "bank_account"} <= sensitive
    catalog = built.catalog["nodes"]
    staging_has = set()
    for node in model_nodes(built.manifest):
        columns = {c.lower() for c in catalog[node["unique_id"]]["columns"]} | {c.lower() for c in node["columns"]}
        if node["schema"] == "staging":
            staging_has |= columns & sensitive
            continue
        assert not columns & sensitive, f"{node['schema']}.{node['name']} exposes {sorted(columns & sensitive)}"
    # the scan sees them where they are allowed (so it would see them anywhere else)
    assert staging_has == sensitive


# ---- warehouse logic on real data ------------------------------------------------------

def test_facts_keep_every_source_row(con):
    assert scalar(con, "SELECT count(*) FROM marts.fct_sales_lines") == scalar(con, "SELECT count(*) FROM raw.sales_lines")
    assert scalar(con, "SELECT count(*) FROM marts.fct_visits") == scalar(con, "SELECT count(*) FROM raw.visits")
    assert scalar(con, "SELECT count(*) FROM marts.fct_receivables") == scalar(
        con, "SELECT count(*) FROM raw.receivables WHERE record_type = 'INVOICE'")
    assert scalar(con, "SELECT count(*) FROM marts.fct_receivable_payments") == scalar(
        con, "SELECT count(*) FROM raw.receivables WHERE record_type = 'PAYMENT'")
    assert scalar(con, "SELECT count(*) FROM marts.fct_stock_weekly") == scalar(con, "SELECT count(*) FROM raw.stock_reports")


def test_dim_customer_reproduces_every_extract_as_of_its_date(con):
    tracked = ["customer_name", "channel_type", "branch_code", "territory_code", "rep_code", "address", "owner_name",
               "founded_date", "opened_date", "business_nature", "business_licence_expiry", "drug_licence_expiry",
               "declared_annual_turnover", "payment_terms", "credit_limit"]
    differs = " OR ".join(f"d.{c} IS DISTINCT FROM r.{c}" for c in tracked)
    mismatches = scalar(con, f"""
        SELECT count(*) FROM raw.master_customers r
        LEFT JOIN marts.dim_customer d
          ON d.customer_code = r.customer_code AND r.extract_date >= d.valid_from AND r.extract_date < d.valid_to
        WHERE d.customer_key IS NULL OR {differs} OR d.customer_status IS DISTINCT FROM r.status""")
    assert mismatches == 0
    # versions collapse identical consecutive extracts: fewer versions than extract rows
    assert scalar(con, "SELECT count(*) FROM marts.dim_customer WHERE NOT is_unknown_member") < scalar(
        con, "SELECT count(*) FROM raw.master_customers")
    assert scalar(con, "SELECT count(*) FROM marts.dim_customer WHERE is_current AND NOT is_unknown_member") == scalar(
        con, "SELECT count(DISTINCT customer_code) FROM raw.master_customers")


def test_dim_product_costs_as_of_every_extract(con):
    mismatches = scalar(con, """
        SELECT count(*) FROM raw.master_products r
        LEFT JOIN marts.dim_product d
          ON d.sku = r.sku AND r.extract_date >= d.valid_from AND r.extract_date < d.valid_to
        WHERE d.product_key IS NULL OR d.standard_cost IS DISTINCT FROM r.standard_cost
           OR d.list_price IS DISTINCT FROM r.list_price""")
    assert mismatches == 0


def test_unknown_members(con):
    for dim, key, code in (("dim_customer", "customer_key", "customer_code"), ("dim_product", "product_key", "sku")):
        rows = con.execute(f"SELECT {code}, is_unknown_member FROM marts.{dim} WHERE {key} = '-1'").fetchall()
        assert rows == [("UNKNOWN", True)], (dim, rows)


def test_late_arriving_customers_join_their_first_version(con):
    """A line dated before its customer's first extract (a late-arriving master row) joins the
    customer's first version, whose valid_from moved back to the customer's earliest fact, and
    keeps its customer code; no line of the sample falls to the unknown member '-1' any more.
    (Until the inferred-members change such lines pointed to '-1'.)"""
    late = {r[0:2]: r[2] for r in con.execute("""
        SELECT s.invoice_no, s.line_no, s.customer_code FROM raw.sales_lines s
        WHERE NOT EXISTS (SELECT 1 FROM raw.master_customers c
                          WHERE c.customer_code = s.customer_code AND c.extract_date <= s.invoice_date)""").fetchall()}
    assert late, "the generated sample has late-arriving customers"
    joined = {r[0:2]: r[2:] for r in con.execute("""
        SELECT f.invoice_no, f.line_no, d.customer_code, d.version_number, d.is_inferred, d.valid_from <= f.invoice_date
        FROM marts.fct_sales_lines f JOIN marts.dim_customer d USING (customer_key)""").fetchall()}
    for line, code in late.items():
        assert joined[line] == (code, 1, False, True), (line, joined[line])
    assert scalar(con, "SELECT count(*) FROM marts.fct_sales_lines WHERE customer_key = '-1'") == 0
    assert scalar(con, "SELECT count(*) FROM marts.dim_customer WHERE is_inferred") == 0  # all codes are in the master
    # the first version starts on the customer's earliest fact or its first extract
    assert scalar(con, """SELECT count(*) FROM marts.dim_customer d
        JOIN (SELECT customer_code, min(extract_date) AS first_extract FROM raw.master_customers GROUP BY 1) m USING (customer_code)
        JOIN (SELECT customer_code, min(invoice_date) AS first_line FROM raw.sales_lines GROUP BY 1) l USING (customer_code)
        WHERE d.version_number = 1 AND d.valid_from > least(m.first_extract, l.first_line)""") == 0


def test_cost_and_margin_use_the_standard_cost_in_force_on_the_invoice_date(con):
    """Recomputed from the raw extracts: the standard cost of the latest extract on or before
    the invoice date."""
    mismatches = con.execute("""
        WITH cost_as_of AS (
            SELECT s.invoice_no, s.line_no, s.qty, s.net_amount,
                   (SELECT p.standard_cost FROM raw.master_products p
                    WHERE p.sku = s.sku AND p.extract_date <= s.invoice_date
                    ORDER BY p.extract_date DESC LIMIT 1) AS standard_cost
            FROM raw.sales_lines s)
        SELECT f.invoice_no, f.line_no, f.cost_amount, round(c.qty * c.standard_cost, 2)
        FROM marts.fct_sales_lines f JOIN cost_as_of c USING (invoice_no, line_no)
        WHERE f.unit_standard_cost IS DISTINCT FROM c.standard_cost
           OR f.cost_amount IS DISTINCT FROM round(c.qty * c.standard_cost, 2)
           OR f.margin_amount IS DISTINCT FROM f.net_amount - f.cost_amount""").fetchall()
    assert mismatches == []
    assert scalar(con, "SELECT count(*) FROM marts.fct_sales_lines WHERE is_return AND cost_amount >= 0") == 0


def test_receivables_open_amounts_as_of_month_ends(con):
    """mart_receivables_monthly (built with macro receivables_as_of) against a recomputation
    from the raw events."""
    mismatches = con.execute("""
        WITH inv AS (SELECT * FROM raw.receivables WHERE record_type = 'INVOICE'),
             pay AS (SELECT * FROM raw.receivables WHERE record_type = 'PAYMENT'),
             expected AS (
                SELECT m.month_start, inv.customer_code,
                       sum(inv.amount_due - coalesce((SELECT sum(p.amount_paid) FROM pay p
                            WHERE p.invoice_no = inv.invoice_no AND p.payment_date <= m.as_of_date), 0)) AS open_amount
                FROM (SELECT DISTINCT month_start, as_of_date FROM marts.mart_receivables_monthly) m
                JOIN inv ON inv.invoice_date <= m.as_of_date
                GROUP BY ALL)
        SELECT * FROM expected e FULL JOIN marts.mart_receivables_monthly m USING (month_start, customer_code)
        WHERE e.open_amount IS DISTINCT FROM m.open_amount""").fetchall()
    assert mismatches == []
    # the last as-of date is the last event: open amounts there equal the invoice-grain fact's
    last = con.execute("""
        SELECT sum(open_amount) FROM marts.mart_receivables_monthly
        WHERE as_of_date = (SELECT max(as_of_date) FROM marts.mart_receivables_monthly)""").fetchone()[0]
    assert last == scalar(con, "SELECT sum(open_amount) FROM marts.fct_receivables")


def test_receivables_settlement(con):
    bad = scalar(con, """
        SELECT count(*) FROM marts.fct_receivables
        WHERE is_settled <> (open_amount <= 0)
           OR (is_settled AND (settled_date < invoice_date OR settled_date > last_payment_date))
           OR (days_overdue_at_settlement < 0)""")
    assert bad == 0


def test_dim_date_calendar(con):
    from pipelines.company import company

    assert scalar(con, "SELECT count(*) FROM marts.dim_date") == scalar(
        con, "SELECT date_diff('day', min(date_day), max(date_day)) + 1 FROM marts.dim_date")
    # from 1 January of the year of company.yml first_day to 31 December of next year
    first, last = con.execute("SELECT min(date_day), max(date_day) FROM marts.dim_date").fetchone()
    assert first == date(company().first_day.year, 1, 1)
    assert last == date(date.today().year + 1, 12, 31)
    # the seed covers more years than the calendar: every calendar year has its 7 CNY days
    per_year = con.execute("""
        SELECT year(c.new_year_date), count(d.date_day) FROM reference.chinese_new_year c
        LEFT JOIN marts.dim_date d ON d.is_cny_period AND d.date_day BETWEEN c.new_year_date AND c.new_year_date + 6
        WHERE year(c.new_year_date) BETWEEN year(DATE '{first}') AND year(DATE '{last}')
        GROUP BY 1""".format(first=first, last=last)).fetchall()
    assert len(per_year) == last.year - first.year + 1, per_year
    assert per_year and all(n == 7 for _, n in per_year), per_year
    assert scalar(con, "SELECT count(*) FROM marts.dim_date WHERE is_cny_period") == 7 * len(per_year)
    assert scalar(con, """SELECT count(*) FROM marts.dim_date
        WHERE is_working_day <> (isodow(date_day) <= 5 AND NOT is_holiday)
           OR week_start <> date_trunc('week', date_day) OR quarter_number <> quarter(date_day)""") == 0
    # the sample company follows the CN calendar: the CNY period lies inside the Spring Festival holidays
    assert company().timezone == "Asia/Shanghai"
    assert scalar(con, "SELECT count(*) FROM marts.dim_date WHERE is_cny_period AND NOT is_holiday") == 0


def test_stock_cross_territory_flag(con):
    assert scalar(con, """SELECT count(*) FROM marts.fct_stock_weekly
        WHERE is_cross_territory <> coalesce(destination_territory_code <> own_territory_code, false)""") == 0


# ---- company settings ------------------------------------------------------------------

def test_amounts_keep_the_company_amount_scale(built, tmp_path):
    """With amount_scale 4 (Northwind's discounts), amounts keep 4 decimals from staging to the
    marts: contracts declare numeric(18, 4), nothing is rounded line by line, so the monthly
    totals equal the raw lines' totals to the last decimal."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.raw, path)
    c = duckdb.connect(str(path))
    try:  # amounts with 4 decimals, as Northwind's exports have them
        c.execute("UPDATE raw.sales_lines SET net_amount = net_amount + 0.0037 WHERE line_no % 2 = 1")
        c.execute("UPDATE raw.master_products SET standard_cost = standard_cost + 0.0013")
    finally:
        c.close()
    run_dbt(["build", "--select", "+mart_sales_monthly", "--indirect-selection", "cautious",
             "--exclude-resource-type", "unit_test"],
            warehouse=path, workdir=tmp_path / "dbt", run_vars={"amount_scale": 4})
    c = duckdb.connect(str(path), read_only=True)
    try:
        types = dict(c.execute("""SELECT table_name || '.' || column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'marts' AND column_name IN ('net_amount', 'cost_amount', 'margin_amount', 'net_sales')
            """).fetchall())
        assert types and set(types.values()) == {"DECIMAL(18,4)"}, types
        assert scalar(c, "SELECT sum(net_sales) FROM marts.mart_sales_monthly") == scalar(
            c, "SELECT sum(net_amount) FROM raw.sales_lines")
        assert scalar(c, "SELECT count(*) FROM marts.fct_sales_lines WHERE net_amount * 100 <> round(net_amount * 100)") > 0
        assert scalar(c, """SELECT count(*) FROM marts.fct_sales_lines
            WHERE cost_amount IS DISTINCT FROM qty * unit_standard_cost
               OR margin_amount IS DISTINCT FROM net_amount - cost_amount""") == 0
        assert scalar(c, "SELECT sum(cost_amount) FROM marts.mart_sales_monthly") == scalar(
            c, "SELECT sum(qty * unit_standard_cost) FROM marts.fct_sales_lines")
    finally:
        c.close()


def test_enumeration_tests_follow_the_company_enums(built, tmp_path):
    """accepted_enum reads the var enums (sources.yml + company.yml): a channel type the
    company adds is accepted with no dbt edit, a value outside the enumeration fails."""
    from pipelines.rules import company_vars

    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.path, path)
    c = duckdb.connect(str(path))
    try:
        c.execute("CREATE OR REPLACE TABLE raw.master_customers AS SELECT * REPLACE "
                  "(CASE WHEN customer_code = (SELECT min(customer_code) FROM raw.master_customers) "
                  "THEN 'RESTAURANT' ELSE channel_type END AS channel_type) FROM raw.master_customers")
    finally:
        c.close()
    select = ["test", "--select", "stg_master__customers,test_name:accepted_enum"]
    failing = run_dbt(select, warehouse=path, workdir=tmp_path / "dbt_fail", check=False)
    assert failing.returncode != 0
    failed = {r["unique_id"] for r in failing.run_results["results"] if r["status"] == "fail"}
    assert failed and all("channel_type" in uid for uid in failed), failed
    enums = company_vars()["enums"]
    enums["channel_type"] = [*enums["channel_type"], "RESTAURANT"]
    run_dbt(select, warehouse=path, workdir=tmp_path / "dbt_pass", run_vars={"enums": enums})


def test_inferred_members_when_masters_are_not_delivered(built, tmp_path):
    """A company without a customer master and without a branches file: customers and branches
    exist only as codes in the facts. Every code gets an inferred member, so no fact falls to
    the unknown member and the marts are not empty; once the master arrives, the inferred rows
    are gone on the next build and the facts loaded meanwhile still join (shared keys)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.raw, path)
    c = duckdb.connect(str(path))
    try:
        c.execute("CREATE TABLE main.saved_customers AS SELECT * FROM raw.master_customers")
        c.execute("DELETE FROM raw.master_customers")
        c.execute("DELETE FROM raw.master_branches")
    finally:
        c.close()
    select = ["build", "--select", "+fct_sales_lines +fct_visits +mart_sales_monthly +dim_rep +dim_branch",
              "--indirect-selection", "cautious"]
    run_dbt(select, warehouse=path, workdir=tmp_path / "dbt", run_vars={"undelivered": ["customers", "branches"]})
    c = duckdb.connect(str(path))
    try:
        codes = {r[0] for r in c.execute("""SELECT customer_code FROM raw.sales_lines UNION SELECT customer_code
            FROM raw.receivables UNION SELECT customer_code FROM raw.stock_reports
            UNION SELECT customer_code FROM raw.visits WHERE customer_code IS NOT NULL""").fetchall()}
        inferred = dict(c.execute("SELECT customer_code, channel_type FROM marts.dim_customer WHERE is_inferred").fetchall())
        assert set(inferred) == codes and set(inferred.values()) == {"OTHER"}
        assert scalar(c, "SELECT count(*) FROM marts.fct_sales_lines WHERE customer_key = '-1'") == 0
        assert scalar(c, "SELECT count(*) FROM marts.fct_visits WHERE customer_key = '-1'") == 0
        # the inferred customer's branch and rep: the most frequent on its invoice lines
        wrong = scalar(c, """SELECT count(*) FROM marts.dim_customer d WHERE is_inferred AND branch_code IS DISTINCT FROM (
            SELECT branch_code FROM raw.sales_lines s WHERE s.customer_code = d.customer_code
            GROUP BY branch_code ORDER BY count(*) DESC, max(invoice_date) DESC, branch_code LIMIT 1)""")
        assert wrong == 0
        branches = {r[0] for r in c.execute("SELECT DISTINCT branch_code FROM raw.sales_lines UNION "
                                            "SELECT DISTINCT branch_code FROM raw.master_reps").fetchall()} - {None}
        assert {r[0] for r in c.execute("SELECT branch_code FROM marts.dim_territory WHERE is_inferred "
                                        "AND territory_code = branch_code").fetchall()} == branches
        assert {r[0] for r in c.execute("SELECT branch_code FROM marts.dim_branch WHERE is_inferred").fetchall()} == branches
        assert scalar(c, "SELECT sum(net_sales) FROM marts.mart_sales_monthly") == scalar(
            c, "SELECT sum(net_amount) FROM raw.sales_lines")
        # the customer master arrives
        c.execute("INSERT INTO raw.master_customers SELECT * FROM main.saved_customers")
    finally:
        c.close()
    run_dbt(["build", "--select", "dim_customer", "--indirect-selection", "cautious"], warehouse=path,
            workdir=tmp_path / "dbt2", run_vars={"undelivered": ["branches"]})
    c = duckdb.connect(str(path), read_only=True)
    try:
        assert scalar(c, "SELECT count(*) FROM marts.dim_customer WHERE is_inferred") == 0
        # the facts were not rebuilt: their keys (first versions) still exist in the dimension
        assert scalar(c, """SELECT count(*) FROM marts.fct_sales_lines f
            WHERE NOT EXISTS (SELECT 1 FROM marts.dim_customer d WHERE d.customer_key = f.customer_key)""") == 0
    finally:
        c.close()
