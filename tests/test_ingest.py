"""Ingest into the raw layer: typing, quarantine reasons, file errors, conservation, idempotency.

Uses small hand-written landing files so each case is visible in the test."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.load import load_window

SALES_HEADER = ("invoice_no,line_no,invoice_date,line_type,customer_code,sku,qty,unit_price,"
                "discount_rate,net_amount,payment_terms,branch_code,rep_code")
CUSTOMERS = """customer_code,customer_name,channel_type,branch_code,territory_code,rep_code,address,phone,owner_name,legal_representative,founded_date,tax_id,bank_name,bank_account,business_nature,business_licence_expiry,drug_licence_expiry,declared_annual_turnover,payment_terms,credit_limit,opened_date,status,extract_date
C001,Acme,PHARMACY_CHAIN,BR01,T01,R01,addr,13800000000,own,leg,2010-01-01,TAX1,bank,ACCT1,PRIVATE_COMPANY,2026-01-01,2026-01-01,12000000,NET30,100000,2015-01-01,ACTIVE,2024-01-01
"""
PRODUCTS = """sku,product_name,category,brand,unit,list_price,standard_cost,launch_date,status,extract_date
P01,Aspirin,OTC,B,box,10,6,2010-01-01,ACTIVE,2024-01-01
"""
REPS = """rep_code,rep_name,branch_code,phone,hire_date,status,extract_date
R01,Rep One,BR01,13900000000,2020-01-01,ACTIVE,2024-01-01
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    write(root / "master/2024/01/01/customers.csv", CUSTOMERS)
    write(root / "master/2024/01/01/products.csv", PRODUCTS)
    write(root / "master/2024/01/01/reps.csv", REPS)
    return root


def load_all(con, landing: Path, tmp: Path, start=date(2024, 1, 1), end=date(2024, 1, 5)):
    for s in ("customers", "products", "reps"):
        load_window(con, s, landing, start, end, tmp)
    return load_window(con, "sales_lines", landing, start, end, tmp)


def sales(rows: list[str]) -> str:
    return SALES_HEADER + "\n" + "\n".join(rows) + "\n"


GOOD = "I1,1,2024-01-02,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01"

ROW_CASES = [
    ("I1,2,2024-13-02,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "bad_date"),
    ("I1,2,2024-01-02,SALE,C001,P01,5,abc,0,50.00,NET30,BR01,R01", "bad_number"),
    (",2,2024-01-02,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "missing_key"),
    ("I1,2,2024-01-02,SALE,C999,P01,5,10.00,0,50.00,NET30,BR01,R01", "unknown_customer"),
    ("I1,2,2024-01-02,SALE,C001,P99,5,10.00,0,50.00,NET30,BR01,R01", "unknown_sku"),
    ("I1,2,2024-01-02,SALE,C001,P01,-5,10.00,0,-50.00,NET30,BR01,R01", "negative_qty"),
    ("I1,2,2024-01-03,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "date_outside_partition"),
    ("I1,2,2099-01-02,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "future_date"),
    ("I1,1,2024-01-02,SALE,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "duplicate_key"),
    ("I1,2,2024-01-02,SALE,C001,P01,5,10.00,0,50.00,NET45,BR01,R01", "bad_enum"),
    ("I1,2,2024-01-02,GIFT,C001,P01,5,10.00,0,50.00,NET30,BR01,R01", "bad_enum"),
]


@pytest.mark.parametrize("row,reason", ROW_CASES, ids=[f"{r}-{i}" for i, (_, r) in enumerate(ROW_CASES)])
def test_bad_row_is_quarantined_with_reason(tmp_path, landing, row, reason):
    write(landing / "sales/2024/01/sales_20240102.csv", sales([GOOD, row]))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load_all(con, landing, tmp_path / "tmp")
    assert result.errors == []
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    q = con.execute("SELECT _source_file, _source_line, reason_code, message, raw_row FROM raw.quarantine").fetchall()
    assert len(q) == 1
    file, line, code, message, raw = q[0]
    assert (file, line, code) == ("sales/2024/01/sales_20240102.csv", 3, reason)
    assert message and raw.startswith("{")
    log = con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM raw.load_log WHERE source='sales_lines'").fetchall()
    assert log == [(2, 1, 1)]


def test_tolerated_formats_are_parsed(tmp_path, landing):
    """Thousands separators, full-width digits, Chinese dates, GBK with Chinese headers, Parquet."""
    write(landing / "sales/2024/01/sales_20240102.csv",
          sales([GOOD, 'I1,2,2024-01-02,SALE,C001,P01,105,10.00,0,"1,050.00",NET30,BR01,R01']))
    write(landing / "sales/2024/01/sales_20240103.gbk.csv",
          "发票号,行号,开票日期,类型,客户编码,商品编码,数量,单价,折扣率,金额,付款条件,分支机构,业务员\n"
          "I2,1,2024年01月03日,退货,C001,P01,-１２,10.00,0,-120.00,COD,BR01,R01\n", encoding="gbk")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(f"""COPY (SELECT 'I3' AS invoice_no, 1 AS line_no, DATE '2024-01-04' AS invoice_date, 'SALE' AS line_type,
                 'C001' AS customer_code, 'P01' AS sku, 3 AS qty, 10.00::DECIMAL(18,2) AS unit_price,
                 0.1::DECIMAL(18,4) AS discount_rate, 27.00::DECIMAL(18,2) AS net_amount, 'PREPAY' AS payment_terms,
                 'BR01' AS branch_code, 'R01' AS rep_code)
                 TO '{landing / "sales/2024/01/sales_20240104.parquet"}' (FORMAT parquet)""")
    result = load_all(con, landing, tmp_path / "tmp")
    assert result.errors == [] and result.rows_quarantined == 0, con.execute("FROM raw.quarantine").fetchall()
    rows = con.execute("SELECT invoice_no, line_type, qty, net_amount, invoice_date FROM raw.sales_lines ORDER BY 1, 2, 3").fetchall()
    assert [(r[0], r[1], r[2], float(r[3])) for r in rows] == [
        ("I1", "SALE", 5, 50.0), ("I1", "SALE", 105, 1050.0), ("I2", "RETURN", -12, -120.0), ("I3", "SALE", 3, 27.0)]
    assert rows[2][4] == date(2024, 1, 3)


FILE_CASES = [
    ("sales_20240102.csv", b"", "empty_file", None),
    ("sales_20240102.csv", "发票号,行号\nI1,1\n".encode("gbk"), "undeclared_encoding", 1),
    ("sales_20240102.csv", (sales([GOOD]) + "I1,2,2024-01-02,SALE,C001,P01,5,10,0,50,NET30,BR01,R01\xe9\n").encode("latin-1"),
     "undeclared_encoding", 3),
    ("sales_20240102.csv", b"foo,bar,baz\n1,2,3\n", "no_header", 1),
    ("sales_20240102.gbk.csv", "发票号,行号\n".encode("gbk") + b"I1,\xff\xfe\n", "undeclared_encoding", 2),
    ("sales_20240102.csv", (SALES_HEADER + "\n" + GOOD + ",extra\n").encode(), "bad_row_shape", 2),
    ("sales_20240102.parquet", b"PAR1 this is not parquet", "unreadable", None),
]


@pytest.mark.parametrize("name,content,code,line", FILE_CASES, ids=[c[2] + str(i) for i, c in enumerate(FILE_CASES)])
def test_unreadable_file_fails_its_partition_and_loads_nothing_of_it(tmp_path, landing, name, content, code, line):
    bad = landing / "sales/2024/01" / name
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(content)
    write(landing / "sales/2024/01/sales_20240103.csv", sales([GOOD.replace("2024-01-02", "2024-01-03")]))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load_all(con, landing, tmp_path / "tmp")
    assert len(result.errors) == 1
    err = result.errors[0]
    assert err.code == code and err.relpath == f"sales/2024/01/{name}"
    assert str(err).startswith(f"sales/2024/01/{name}")
    if line is not None:
        assert err.line == line, str(err)
    # the good partition loaded; nothing of the bad one
    dates = con.execute("SELECT DISTINCT _partition_date FROM raw.sales_lines").fetchall()
    assert dates == [(date(2024, 1, 3),)]


def table_hash(con, table: str) -> str:
    rows = con.execute(f"SELECT * EXCLUDE (_load_id, _loaded_at) FROM {table} ORDER BY ALL").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_reloading_a_window_is_idempotent(tmp_path, landing):
    goods = [GOOD.replace("I1,1,", f"I0,{n},") for n in range(1, 5)]  # enough good rows: the file is not refused
    write(landing / "sales/2024/01/sales_20240102.csv", sales([GOOD] + goods + [r for r, _ in ROW_CASES[:4]]))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_all(con, landing, tmp_path / "tmp")
    first = {t: table_hash(con, t) for t in ("raw.sales_lines", "raw.quarantine", "raw.load_log")}
    load_all(con, landing, tmp_path / "tmp")
    load_window(con, "sales_lines", landing, date(2024, 1, 2), date(2024, 1, 2), tmp_path / "tmp")
    second = {t: table_hash(con, t) for t in ("raw.sales_lines", "raw.quarantine", "raw.load_log")}
    assert first == second
    assert con.execute("SELECT count(*) FROM raw.sales_lines").fetchone()[0] == 5


OVERRIDES_HEADER = "customer_code,quarter,grade,reason,approver,approved_date"
OVERRIDE_CASES = [
    ("C001,2024Q1,7,ok,Boss,2024-03-31", "invalid_grade"),
    ("C001,2024Q1,A,ok,Boss,2024-03-31", "invalid_grade"),
    ("C001,2024Q1,2,ok,,2024-03-31", "missing_approver"),
    ("C999,2024Q1,2,ok,Boss,2024-03-31", "unknown_customer"),
    ("C001,2024-Q1,2,ok,Boss,2024-03-31", "bad_enum"),
    ("C001,2024Q1,2,ok,Boss,2024-02-30", "bad_date"),
]


@pytest.mark.parametrize("row,reason", OVERRIDE_CASES, ids=[r for _, r in OVERRIDE_CASES])
def test_bad_override_is_quarantined(tmp_path, landing, row, reason):
    write(landing / "overrides/credit_rating_overrides.csv",
          OVERRIDES_HEADER + "\nC001,2024Q2,3,Lawsuit settled,Director Wang,2024-06-30\n" + row + "\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_all(con, landing, tmp_path / "tmp")
    result = load_window(con, "credit_overrides", landing, date(2024, 1, 1), date(2024, 1, 5), tmp_path / "tmp")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    assert con.execute("SELECT reason_code, _source_line FROM raw.quarantine").fetchall() == [(reason, 3)]
    # the file is replaced whole on the next load
    write(landing / "overrides/credit_rating_overrides.csv", OVERRIDES_HEADER + "\n")
    load_window(con, "credit_overrides", landing, date(2024, 1, 1), date(2024, 1, 5), tmp_path / "tmp")
    assert con.execute("SELECT count(*) FROM raw.credit_rating_overrides").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchall()[0][0] == 0


def test_duplicate_across_files_is_quarantined(tmp_path, landing):
    write(landing / "sales/2024/01/sales_20240102.csv", sales([GOOD]))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_all(con, landing, tmp_path / "tmp", end=date(2024, 1, 2))
    # the next day's file repeats invoice line I1/1 (a re-sent line)
    write(landing / "sales/2024/01/sales_20240103.csv", sales([GOOD.replace("2024-01-02", "2024-01-03"),
                                                                 "I9,1,2024-01-03,SALE,C001,P01,1,10.00,0,10.00,COD,BR01,R01"]))
    result = load_window(con, "sales_lines", landing, date(2024, 1, 3), date(2024, 1, 3), tmp_path / "tmp")
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    code, message = con.execute("SELECT reason_code, message FROM raw.quarantine").fetchall()[0]
    assert code == "duplicate_key" and "sales_20240102.csv:2" in message
