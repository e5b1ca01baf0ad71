"""Layouts that describe any tabular export, and company configuration checked when it loads.

Each case writes a company folder (``company.yml``) and a landing zone in the test's temp
folder, points ``DWH_CONFIG`` at it and loads through the real ingest (``load_window``) into a
real DuckDB file. Features (docs/onboarding.md): SQL expressions over the file's own columns,
constants, files whose rows span many days (partition from the row date; a re-delivered file
replaces exactly what it held), several canonical rows per source row, a header file joined on
a declared key, enum values added by the company, sources not delivered. Configuration errors
name the file, the layout and the problem.
"""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.company import CompanyConfigError
from pipelines.ingest.config import ConfigError, globs_overlap, load_sources, undelivered
from pipelines.ingest.load import load_window
from tests.test_ingest import CUSTOMERS, PRODUCTS, REPS, write

MASTERS = {"customers": CUSTOMERS, "products": PRODUCTS, "reps": REPS}


def company(tmp_path: Path, monkeypatch, text: str) -> Path:
    """A company folder with ``company.yml`` = ``text``; DWH_CONFIG points at it."""
    folder = tmp_path / "company"
    folder.mkdir(exist_ok=True)
    (folder / "company.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(folder))
    return folder


def landing_with_masters(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    for name, text in MASTERS.items():
        write(root / f"master/2024/01/01/{name}.csv", text)
    return root


def load(con, landing: Path, tmp_path: Path, source: str, start=date(2024, 1, 1), end=date(2024, 1, 31)):
    for s in ("customers", "products", "reps"):
        if s != source:
            load_window(con, s, landing, start, end, tmp_path / "tmp")
    return load_window(con, source, landing, start, end, tmp_path / "tmp")


ORDER_LINES = """OrderID,ProductID,UnitPrice,Quantity,Discount
10,P01,14,12,0
10,P01,9.8,10,0.15
11,P01,42.4,3,0.05
12,P01,2,1,0
"""
ORDERS = """OrderID,CustomerID,OrderDate,Employee
10,C001,2024-01-02,R01
11,C001,2024-01-05,R01
"""

NORTHWIND_LIKE = """
company: {amount_scale: 4, first_day: 2024-01-01}
sources:
  sales_lines:
    layouts:
      - name: order_lines
        glob: erp/order_details.csv
        format: csv
        join: {glob: erp/orders.csv, on: [OrderID], as: o}
        columns:
          invoice_no: OrderID
          line_no: "row_number() OVER (PARTITION BY OrderID ORDER BY TRY_CAST(Quantity AS INTEGER))"
          invoice_date: o.OrderDate
          customer_code: o.CustomerID
          sku: ProductID
          qty: Quantity
          unit_price: UnitPrice
          discount_rate: Discount
          net_amount: "TRY_CAST(Quantity AS INTEGER) * TRY_CAST(UnitPrice AS DECIMAL(18,4)) * (1 - TRY_CAST(Discount AS DECIMAL(18,4)))"
          rep_code: o.Employee
        constants: {line_type: SALE, payment_terms: NET30}
"""


def test_expressions_constants_join_and_row_dates(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, NORTHWIND_LIKE)
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES)
    write(landing / "erp/orders.csv", ORDERS)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load(con, landing, tmp_path, "sales_lines")
    assert result.errors == []
    rows = con.execute("""SELECT invoice_no, line_no, invoice_date, line_type, qty, net_amount, payment_terms,
                                 rep_code, _partition_date, _source_line
                          FROM raw.sales_lines ORDER BY invoice_no, line_no""").fetchall()
    assert [r[:8] for r in rows] == [
        ("10", 1, date(2024, 1, 2), "SALE", 10, Decimal("83.3"), "NET30", "R01"),
        ("10", 2, date(2024, 1, 2), "SALE", 12, Decimal("168"), "NET30", "R01"),
        ("11", 1, date(2024, 1, 5), "SALE", 3, Decimal("120.84"), "NET30", "R01"),
    ]
    assert str(rows[2][5]) == "120.8400"  # 42.4 x 3 x 0.95 kept to the cent fractions (amount_scale 4)
    assert [r[8] for r in rows] == [date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 5)]  # partition = row date
    # the detail line without an order header is quarantined with a reason, nothing is lost
    q = con.execute("SELECT _source_line, reason_code, message, raw_row FROM raw.quarantine").fetchall()
    assert [(line, code) for line, code, _, _ in q] == [(5, "unmatched_join")]
    assert "erp/orders.csv" in q[0][2] and "12" in q[0][2] and '"OrderID":"12"' in q[0][3]
    log = con.execute("""SELECT _partition_date, rows_read, rows_loaded, rows_quarantined FROM raw.load_log
                         WHERE source = 'sales_lines' ORDER BY 1 NULLS LAST""").fetchall()
    assert log == [(date(2024, 1, 2), 2, 2, 0), (date(2024, 1, 5), 1, 1, 0), (None, 1, 0, 1)]


def test_one_day_window_and_redelivered_file_replace_exactly_what_it_held(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, NORTHWIND_LIKE)
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES)
    write(landing / "erp/orders.csv", ORDERS)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load(con, landing, tmp_path, "sales_lines")
    snapshot = con.execute("SELECT invoice_no, line_no, net_amount FROM raw.sales_lines ORDER BY 1, 2").fetchall()
    # re-running one day of a many-day file changes nothing
    r = load_window(con, "sales_lines", landing, date(2024, 1, 5), date(2024, 1, 5), tmp_path / "tmp")
    assert [(f["partition_date"], f["rows_read"]) for f in r.files] == [("2024-01-05", 1), (None, 1)]
    assert con.execute("SELECT invoice_no, line_no, net_amount FROM raw.sales_lines ORDER BY 1, 2").fetchall() == snapshot
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchall()[0][0] == 1  # replaced, not doubled
    # re-delivered: order 11 moved to Jan 6 with another quantity; order 10 lost a line
    write(landing / "erp/orders.csv", ORDERS.replace("11,C001,2024-01-05", "11,C001,2024-01-06"))
    write(landing / "erp/order_details.csv", ORDER_LINES.replace("11,P01,42.4,3,0.05", "11,P01,42.4,4,0.05")
          .replace("10,P01,14,12,0\n", ""))
    load_window(con, "sales_lines", landing, date(2024, 1, 1), date(2024, 1, 31), tmp_path / "tmp")
    assert con.execute("SELECT invoice_no, line_no, invoice_date, qty FROM raw.sales_lines ORDER BY 1, 2").fetchall() == [
        ("10", 1, date(2024, 1, 2), 10), ("11", 1, date(2024, 1, 6), 4)]
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchall()[0][0] == 1
    assert con.execute("SELECT sum(rows_read) FROM raw.load_log WHERE source = 'sales_lines'").fetchall()[0][0] == 3


def test_rows_before_the_first_day_are_quarantined_naming_the_setting(tmp_path, monkeypatch):
    folder = company(tmp_path, monkeypatch, NORTHWIND_LIKE.replace("first_day: 2024-01-01", "first_day: 2024-01-03"))
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES)
    write(landing / "erp/orders.csv", ORDERS)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load(con, landing, tmp_path, "customers")  # the masters' extract (Jan 1)
    load_window(con, "sales_lines", landing, date(2024, 1, 3), date(2024, 1, 31), tmp_path / "tmp")
    q = con.execute("SELECT reason_code, message FROM raw.quarantine ORDER BY _source_line").fetchall()
    assert [code for code, _ in q] == ["before_first_day", "before_first_day", "unmatched_join"]
    assert "company.first_day" in q[0][1] and str(folder / "company.yml") in q[0][1]
    assert con.execute("SELECT invoice_no FROM raw.sales_lines").fetchall() == [("11",)]


AR_LIKE = """
company: {first_day: 2024-01-01}
sources:
  customers: {delivered: false}
  receivables:
    layouts:
      - name: ar_lines
        glob: ar/ar.csv
        format: csv
        date_formats: ["%m/%d/%Y"]
        columns: {invoice_no: inv, customer_code: cust, invoice_date: invoiced}
        rows:
          - constants: {record_type: INVOICE}
            columns: {due_date: due, amount_due: amount}
          - when: "nullif(trim(settled), '') IS NOT NULL"
            constants: {record_type: PAYMENT, payment_no: 1}
            columns: {payment_date: settled, amount_paid: amount}
"""
AR = """inv,cust,invoiced,due,settled,amount
A1,X9,1/2/2024,2/1/2024,1/20/2024,10.50
A2,X9,1/3/2024,2/2/2024,,7.00
A3,X8,1/4/2024,2/3/2024,2/10/2024,3.25
"""


def test_several_rows_per_source_row_and_an_undelivered_master(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, AR_LIKE)
    landing = tmp_path / "landing"
    write(landing / "ar/ar.csv", AR)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert not load_window(con, "customers", landing, date(2024, 1, 1), date(2024, 3, 31), tmp_path / "tmp").delivered
    r = load_window(con, "receivables", landing, date(2024, 1, 1), date(2024, 3, 31), tmp_path / "tmp")
    assert r.errors == [] and r.rows_quarantined == 0  # X8, X9: no customer master to check against
    got = con.execute("""SELECT record_type, invoice_no, customer_code, invoice_date, due_date, amount_due, payment_date,
                                amount_paid, payment_no, _partition_date, _source_line
                         FROM raw.receivables ORDER BY invoice_no, record_type""").fetchall()
    assert [(g[0], g[1], g[9], g[10]) for g in got] == [
        ("INVOICE", "A1", date(2024, 1, 2), 2), ("PAYMENT", "A1", date(2024, 1, 20), 2),
        ("INVOICE", "A2", date(2024, 1, 3), 3),
        ("INVOICE", "A3", date(2024, 1, 4), 4), ("PAYMENT", "A3", date(2024, 2, 10), 4)]
    assert got[1][6:9] == (date(2024, 1, 20), Decimal("10.5"), 1)
    # every source line reached the raw layer (or quarantine) at least once
    assert {g[10] for g in got} == {2, 3, 4}


def test_a_line_no_template_takes_is_quarantined(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, AR_LIKE.replace("- constants: {record_type: INVOICE}",
                                                   "- when: \"amount <> '7.00'\"\n            constants: {record_type: INVOICE}"))
    landing = tmp_path / "landing"
    write(landing / "ar/ar.csv", AR)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_window(con, "receivables", landing, date(2024, 1, 1), date(2024, 3, 31), tmp_path / "tmp")
    assert con.execute("SELECT _source_line, reason_code, _partition_date FROM raw.quarantine").fetchall() == [
        (3, "no_row_template", None)]


def test_enum_values_added_by_the_company(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, """
        enums:
          channel_type: {FOOD_SERVICE: [Food service, 餐饮]}
        """)
    sources = load_sources()
    assert sources["customers"].columns["channel_type"].values["FOOD_SERVICE"] == ["FOOD_SERVICE", "Food service", "餐饮"]
    from pipelines.rules import company_vars

    assert "FOOD_SERVICE" in company_vars()["enums"]["channel_type"]
    landing = landing_with_masters(tmp_path)
    write(landing / "master/2024/01/01/customers.csv", CUSTOMERS + CUSTOMERS.splitlines()[1]
          .replace("C001,Acme,PHARMACY_CHAIN", "C002,Deli,餐饮") + "\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_window(con, "customers", landing, date(2024, 1, 1), date(2024, 1, 1), tmp_path / "tmp")
    assert con.execute("SELECT customer_code, channel_type FROM raw.master_customers ORDER BY 1").fetchall() == [
        ("C001", "PHARMACY_CHAIN"), ("C002", "FOOD_SERVICE")]


def test_undelivered_lists_sources_and_unfilled_columns(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, NORTHWIND_LIKE + "  stock: {delivered: false}\n")
    missing = undelivered(load_sources())
    assert "stock" in missing and "sales_lines.branch_code" in missing
    assert not any(m.startswith("stock.") for m in missing)


# --- configuration errors: each names the file and the layout -----------------------------------

BAD_CONFIGS = [
    ("unknown canonical column", """
        sources:
          sales_lines:
            layouts:
              - {name: l1, glob: "s/{date}.csv", format: csv, columns: {invoice_number: x}}
        """, "l1", "no canonical column 'invoice_number'"),
    ("required column without header or expression", """
        sources:
          sales_lines:
            layouts:
              - {name: l1, glob: "s/{date}.csv", format: csv, headers: {invoice_no: [inv]}}
        """, "l1", "have neither a header nor an expression"),
    ("SQL that does not parse", """
        sources:
          sales_lines:
            layouts:
              - name: l1
                glob: "s/{date}.csv"
                format: csv
                columns: {net_amount: "qty * (price"}
        """, "l1", "does not parse"),
    ("a second statement smuggled into an expression", """
        sources:
          sales_lines:
            layouts:
              - name: l1
                glob: "s/{date}.csv"
                format: csv
                columns: {net_amount: "1); DROP TABLE raw.sales_lines; SELECT (1"}
        """, "l1", "more than one SQL statement"),
    ("overlapping globs", """
        sources:
          sales_lines:
            layouts:
              - {name: a, glob: "sales/*/*/sales_{date}.csv", format: csv}
              - {name: b, glob: "sales/*/*/*.CSV", format: csv}
        """, "sales_lines.a", "can match the same file"),
    ("overlapping globs of two sources", """
        sources:
          receivables:
            layouts:
              - {name: recv_everything, glob: "sales/*/*/*", format: csv}
        """, "recv_everything", "can match the same file"),
    ("unknown layout key", """
        sources:
          sales_lines:
            layouts:
              - {name: l1, glob: "s/{date}.csv", format: csv, header: {invoice_no: [x]}}
        """, "l1", "unknown key 'header'"),
    ("unknown source", """
        sources:
          sale_lines: {delivered: false}
        """, "sources.sale_lines", "no such source"),
    ("unknown enumeration", """
        enums:
          channels: {X: [x]}
        """, "enums.channels", "no enumeration"),
]


@pytest.mark.parametrize("text,where,says", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_layout_configuration_is_a_clear_error(tmp_path, monkeypatch, text, where, says):
    folder = company(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError) as err:
        load_sources()
    message = str(err.value)
    assert where in message and says in message, message
    assert str(folder / "company.yml") in message or "sources.yml" in message, message


BAD_COMPANY = [
    ("timezone", "company: {timezone: China/Beijing}", "company.timezone"),
    ("currency", "company: {currency: yuan}", "company.currency"),
    ("amount scale", "company: {amount_scale: 9}", "company.amount_scale"),
    ("first day", "company: {first_day: 2024-13-01}", "company.first_day"),
    ("unknown setting", "company: {time_zone: UTC}", "company.time_zone"),
    ("unknown section", "layouts: []", "layouts"),
]


@pytest.mark.parametrize("text,key", [c[1:] for c in BAD_COMPANY], ids=[c[0] for c in BAD_COMPANY])
def test_bad_company_settings_name_file_and_key(tmp_path, monkeypatch, text, key):
    from pipelines.company import company as load_company

    folder = company(tmp_path, monkeypatch, text)
    with pytest.raises(CompanyConfigError) as err:
        load_company()
    assert str(folder / "company.yml") in str(err.value) and key in str(err.value), str(err.value)


def test_glob_overlap_is_exact():
    assert globs_overlap("sales/*/*/sales_[0-9][0-9][0-9][0-9].csv", "sales/2024/01/sales_2024.CSV")
    assert not globs_overlap("sales/*/*/sales_[0-9][0-9].csv", "sales/*/*/sales_[0-9][0-9].gbk.csv")
    assert not globs_overlap("a/*/b.csv", "a/b.csv")  # * never crosses a folder
    assert globs_overlap("*.csv", "orders.csv") and not globs_overlap("x?y", "x/y")


def test_expression_naming_a_missing_column_is_a_file_error_naming_the_layout(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, NORTHWIND_LIKE)
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES.replace("Discount", "Rebate"))
    write(landing / "erp/orders.csv", ORDERS)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    r = load(con, landing, tmp_path, "sales_lines")
    assert [e.code for e in r.errors] == ["no_header"]
    assert "order_lines" in str(r.errors[0]) and "Discount" in str(r.errors[0]) and "erp/order_details.csv" in str(r.errors[0])
    assert con.execute("SELECT count(*) FROM raw.sales_lines").fetchall()[0][0] == 0


def test_join_with_a_repeated_header_key_is_a_file_error(tmp_path, monkeypatch):
    company(tmp_path, monkeypatch, NORTHWIND_LIKE)
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES)
    write(landing / "erp/orders.csv", ORDERS + "10,C001,2024-01-03,R01\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    r = load(con, landing, tmp_path, "sales_lines")
    assert [(e.code, e.relpath, e.line) for e in r.errors] == [("duplicate_key", "erp/orders.csv", 4)]


def test_sensor_requests_the_days_a_many_day_file_holds_now_and_held_before(tmp_path, monkeypatch):
    from pipelines.ingest.sensors import add_row_dates, landing_fingerprints, plan_runs

    company(tmp_path, monkeypatch, NORTHWIND_LIKE)
    monkeypatch.setenv("DWH_HOME", str(tmp_path / "var"))
    landing = landing_with_masters(tmp_path)
    write(landing / "erp/order_details.csv", ORDER_LINES)
    write(landing / "erp/orders.csv", ORDERS)
    first = add_row_dates({}, landing_fingerprints(landing), landing)
    assert first["sales_lines|~erp/order_details.csv"].endswith("@2024-01-02..2024-01-05")
    runs = plan_runs({}, first, date(2024, 12, 31))
    assert [(r["start"], r["end"]) for r in runs if r["job_name"] == "daily_pipeline"] == [("2024-01-01", "2024-01-05")]
    # unchanged: nothing for this file; re-delivered with an order moved to Jan 9: Jan 2..9
    assert not [r for r in plan_runs(first, add_row_dates(first, landing_fingerprints(landing), landing),
                                     date(2024, 12, 31)) if r["start"] == "2024-01-02"]
    write(landing / "erp/orders.csv", ORDERS.replace("2024-01-05", "2024-01-09"))
    import os
    os.utime(landing / "erp/order_details.csv", (1, 1))  # the detail file is re-delivered too
    second = add_row_dates(first, landing_fingerprints(landing), landing)
    assert second["sales_lines|~erp/order_details.csv"].endswith("@2024-01-02..2024-01-09")
    runs = plan_runs(first, second, date(2024, 12, 31))
    assert [(r["start"], r["end"]) for r in runs] == [("2024-01-02", "2024-01-09")]


def test_data_before_the_first_day_stops_the_run_naming_the_setting(tmp_path, monkeypatch):
    import subprocess
    import sys

    from conftest import REPO, subprocess_env

    folder = company(tmp_path, monkeypatch, "company: {first_day: 2024-03-01}\nlanding: landing\n")
    landing = landing_with_masters(folder)  # the masters are dated 2024-01-01
    env = subprocess_env(tmp_path / "var")
    proc = subprocess.run([sys.executable, "-m", "pipelines", "run", "--config", str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "starts on 2024-01-01" in proc.stderr and "company.first_day" in proc.stderr
    assert str(folder / "company.yml") in proc.stderr and landing.exists()
