"""The worked examples under ``examples/`` load through the real pipeline with configuration only.

Each example is a company folder (``company.yml``: YAML and SQL, no Python) over public data in
``../shared/reference-data``. The test runs the documented command's pipeline
(``python -m pipelines run --config examples/<name>``: Dagster runs of ingest, validation, dbt,
CLV, publish, reports and the credit rating) into a temporary home, then checks the warehouse's
figures against the same figures computed here by plain DuckDB queries over the original files,
and that every input row ended in the raw layer or in quarantine with a reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, subprocess_env

REFERENCE = REPO.parent / "shared" / "reference-data"
pytestmark = pytest.mark.slow


def run_example(name: str, home: Path) -> subprocess.CompletedProcess:
    env = subprocess_env(home)
    env["DWH_CONFIG"] = str(REPO / "examples" / name)
    proc = subprocess.run([sys.executable, "-m", "pipelines", "run", "--config", str(REPO / "examples" / name)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    return proc


def csv(path: Path) -> str:
    return f"read_csv('{path}', all_varchar=true, header=true)"


def every_line_is_accounted_for(con, landing: Path, files: dict[str, str]) -> None:
    """Each data line of each file is in its raw table or in quarantine (with a reason)."""
    for relpath, table in files.items():
        lines = con.execute(f"SELECT count(*) FROM {csv(landing / relpath)}").fetchall()[0][0]
        got = con.execute(f"""SELECT count(DISTINCT _source_line) FROM (
                SELECT _source_line FROM raw.{table} WHERE _source_file = ?
                UNION ALL SELECT _source_line FROM raw.quarantine WHERE _source_file = ? AND reason_code IS NOT NULL)""",
                          [relpath, relpath]).fetchall()[0][0]
        assert got == lines, f"{relpath}: {lines} data lines, {got} in raw.{table} or quarantine"


@pytest.fixture(scope="module")
def northwind(tmp_path_factory):
    home = tmp_path_factory.mktemp("northwind") / "var"
    proc = run_example("northwind", home)
    return home, proc


def test_northwind_figures_equal_the_source(northwind):
    home, proc = northwind
    nw = REFERENCE / "northwind"
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    details, orders = csv(nw / "order_details.csv"), csv(nw / "orders.csv")
    truth = con.execute(f"""
        SELECT year(CAST(o.OrderDate AS DATE)) AS y,
               sum(CAST(d.Quantity AS INTEGER) * CAST(d.UnitPrice AS DECIMAL(18,4)) * (1 - CAST(d.Discount AS DECIMAL(18,4))))
        FROM {details} d JOIN {orders} o USING (OrderID) GROUP BY 1 ORDER BY 1""").fetchall()
    ours = con.execute("""SELECT year(invoice_date), sum(net_amount) FROM marts.fct_sales_lines
                          GROUP BY 1 ORDER BY 1""").fetchall()
    assert [(y, round(Decimal(v), 2)) for y, v in ours] == [(y, round(Decimal(v), 2)) for y, v in truth]
    assert [y for y, _ in truth] == [1996, 1997, 1998]
    n_lines = con.execute(f"SELECT count(*) FROM {details}").fetchall()[0][0]
    assert con.execute("SELECT count(*) FROM marts.fct_sales_lines").fetchall()[0][0] == n_lines == 2155
    assert con.execute("SELECT count(DISTINCT invoice_no) FROM marts.fct_sales_lines").fetchall()[0][0] == \
        con.execute(f"SELECT count(*) FROM {orders}").fetchall()[0][0]
    ordered = con.execute(f"SELECT count(DISTINCT CustomerID) FROM {orders}").fetchall()[0][0]
    assert con.execute("SELECT count(DISTINCT customer_code) FROM marts.fct_sales_lines").fetchall()[0][0] == ordered == 89
    # every line joined its customer and product versions (no unknown member)
    assert con.execute("SELECT count(*) FROM marts.fct_sales_lines WHERE customer_key = '-1' OR product_key = '-1'"
                       ).fetchall()[0][0] == 0
    every_line_is_accounted_for(con, nw, {"order_details.csv": "sales_lines", "customers.csv": "master_customers",
                                          "products.csv": "master_products", "employees.csv": "master_reps"})
    # branches are not delivered: inferred from the countries the facts and masters carry
    countries = con.execute(f"""SELECT count(*) FROM (SELECT Country FROM {csv(nw / 'customers.csv')}
        UNION SELECT ShipCountry FROM {orders} UNION SELECT Country FROM {csv(nw / 'employees.csv')})""").fetchall()[0][0]
    assert con.execute("SELECT count(*) FILTER (WHERE is_inferred), count(*) FROM marts.dim_branch").fetchall()[0] == \
        (countries, countries) == (21, 21)
    # the rating says what it lacks instead of inventing a letter (no declared turnover in the customer file)
    assert con.execute("SELECT DISTINCT rating_status FROM marts.mart_credit_rating ORDER BY 1").fetchall() == [
        ("INCOMPLETE",), ("NEW",)]
    assert con.execute("SELECT count(*) FROM marts.mart_credit_rating WHERE rating_status = 'INCOMPLETE' "
                       "AND (k1_letter IS NOT NULL OR final_grade IS NOT NULL)").fetchall()[0][0] == 0
    # the serving database was published, amounts labelled in the company's currency
    serving = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    assert serving.execute("SELECT count(*) FROM _publish").fetchall()[0][0] >= 1
    dashboard = (home / "reports" / "dashboard.html").read_text(encoding="utf-8")
    assert "USD" in dashboard and "CNY" not in dashboard


def test_accounts_receivable_figures_equal_the_source(tmp_path):
    home = tmp_path / "var"
    run_example("accounts_receivable", home)
    ar = csv(REFERENCE / "accounts_receivable.csv")
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    late, mean_late, mean_all, n = con.execute(f"""
        SELECT count(*) FILTER (WHERE CAST(DaysLate AS INTEGER) > 0),
               avg(CAST(DaysLate AS INTEGER)) FILTER (WHERE CAST(DaysLate AS INTEGER) > 0),
               avg(CAST(DaysLate AS INTEGER)), count(*) FROM {ar}""").fetchall()[0]
    got = con.execute("""SELECT count(*) FILTER (WHERE days_overdue_at_settlement > 0),
                                avg(days_overdue_at_settlement) FILTER (WHERE days_overdue_at_settlement > 0),
                                avg(days_overdue_at_settlement), count(*) FROM marts.fct_receivables""").fetchall()[0]
    assert (got[0], got[3]) == (late, n) == (877, 2466)
    assert got[1] == pytest.approx(mean_late, abs=1e-9) and got[2] == pytest.approx(mean_all, abs=1e-9)
    total = con.execute(f"SELECT sum(CAST(InvoiceAmount AS DECIMAL(18,2))) FROM {ar}").fetchall()[0][0]
    assert con.execute("SELECT sum(amount_due), sum(amount_paid) FROM marts.fct_receivables").fetchall()[0] == (total, total)
    every_line_is_accounted_for(con, REFERENCE, {"accounts_receivable.csv": "receivables"})
    # customers are not delivered: inferred from the receivables, one per customer code
    assert con.execute("SELECT count(*) FROM marts.dim_customer WHERE is_inferred").fetchall()[0][0] == \
        con.execute(f"SELECT count(DISTINCT customerID) FROM {ar}").fetchall()[0][0] == 100
