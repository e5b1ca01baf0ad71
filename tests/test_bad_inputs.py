"""Bad-input catalogue: every kind of broken or unusual landing file, one parametrised case each,
with the outcome ingest promises.

Outcomes: **file error** — the file's partition fails, the error names the file (relative
path), the line where meaningful and the problem code, and nothing of that partition is loaded
(other partitions of the window still load); **quarantine** — the good rows load and the bad
row goes to ``raw.quarantine`` with its reason code at its file and line; **tolerated** — the
variant is parsed and the parsed values are asserted. Every case also checks row conservation:
per file in ``raw.load_log``, rows read = rows loaded + rows quarantined, and the per-file
counts agree with the raw table and the quarantine.

======================================  ==============  ==========================================
id                                      source          outcome
======================================  ==============  ==========================================
utf8_file_holds_latin1                  sales_lines     file error undeclared_encoding, line 3
mixed_encodings_in_one_file             stock (csv)     file error undeclared_encoding, line 3
gbk_file_holds_invalid_bytes            sales_lines     file error undeclared_encoding, line 2
gbk_bytes_in_utf8_jsonl                 visits          file error undeclared_encoding, line 2
utf16_csv                               customers       file error undeclared_encoding, line 1
utf16_jsonl                             visits          file error undeclared_encoding, line 1
utf8_bom_csv                            receivables     tolerated: BOM dropped, header and rows parsed
utf8_bom_jsonl                          visits          tolerated: BOM dropped, first line parsed
truncated_csv_mid_row                   sales_lines     file error bad_row_shape, line 3
truncated_csv_in_quoted_value           receivables     file error unterminated_quote, line 3
truncated_parquet                       sales_lines     file error unreadable
truncated_xlsx                          stock (xlsx)    file error truncated_xlsx
truncated_jsonl_last_line               visits          quarantine bad_json, line 2
empty_csv                               receivables     file error empty_file
empty_jsonl                             visits          file error empty_file
empty_xlsx_sheet                        stock (xlsx)    file error empty_file
empty_overrides_file                    credit_overr.   file error empty_file (previous load kept)
header_only_csv                         sales_lines     tolerated: 0 rows, load_log 0 = 0 + 0
header_only_xlsx                        stock (xlsx)    tolerated: 0 rows, load_log 0 = 0 + 0
no_header_row                           receivables     file error no_header, line 1
xlsx_title_row_above_header             stock (xlsx)    file error no_header, line 1
extra_columns                           stock (csv)     tolerated: unknown columns ignored
missing_required_column                 receivables     file error no_header, line 1 (names it)
missing_optional_columns                stock (csv)     tolerated: NULL
reordered_columns                       sales_lines     tolerated: mapped by header name
header_variants                         stock (xlsx)    tolerated: Chinese / spaced / cased names
unknown_header_variant                  stock (csv)     file error no_header, line 1
same_column_twice                       stock (csv)     file error ambiguous_header, line 1
row_with_extra_field                    sales_lines     file error bad_row_shape, line 2
parquet_missing_column                  sales_lines     file error no_header
parquet_value_of_wrong_type             sales_lines     quarantine bad_number, row 2
malformed_json_line                     visits          quarantine bad_json, line 2
json_line_not_an_object                 visits          quarantine bad_json, line 2
json_value_of_wrong_type                visits          quarantine bad_timestamp, line 2
blank_lines_in_jsonl                    visits          tolerated; bad row after them at its line 4
blank_lines_and_multiline_value_csv     sales_lines     tolerated; bad row at its physical line 6
crlf_line_endings                       sales_lines     tolerated
thousands_separators                    receivables     tolerated: "1,050.00" = 1050
bad_thousands_grouping                  receivables     quarantine bad_number, line 3
fullwidth_digits                        stock (csv)     tolerated: １２ = 12
number_too_big_for_its_type             sales_lines     quarantine bad_number, line 3
date_formats_tolerated                  stock (csv)     tolerated: ISO, 2024/01/05, 20240104, 年月日
date_format_unknown                     receivables     quarantine bad_date, line 3
timestamp_formats                       visits          tolerated naive (= +08:00); unknown: bad_timestamp
duplicate_within_file                   receivables     quarantine duplicate_key, line 3
duplicate_across_files                  visits          quarantine duplicate_key, 2nd file line 1
duplicate_in_master_extract             products        quarantine duplicate_key, line 3
unknown_customer                        receivables     quarantine unknown_customer, line 3
unknown_sku                             stock (csv)     quarantine unknown_sku, line 3
unknown_rep                             visits          quarantine unknown_rep, line 2
missing_key                             visits          quarantine missing_key, line 2
negative_qty_on_sale                    sales_lines     quarantine negative_qty, line 3
negative_stock                          stock (xlsx)    quarantine negative_qty, row 3
negative_amount                         receivables     quarantine negative_qty, line 3
absurd_qty                              sales_lines     quarantine absurd_value, line 3
absurd_amount                           receivables     quarantine absurd_value, line 3
absurd_stock_qty                        stock (csv)     quarantine absurd_value, line 3
future_date                             visits          quarantine future_date, line 2
date_outside_partition                  stock (csv)     quarantine date_outside_partition, line 3
bad_enum                                visits          quarantine bad_enum, line 2
checkout_before_checkin                 visits          quarantine checkout_before_checkin, line 2
override_unknown_customer               credit_overr.   quarantine unknown_customer, line 3
override_invalid_grade                  credit_overr.   quarantine invalid_grade, lines 3 and 4
override_missing_approver               credit_overr.   quarantine missing_approver, line 3
override_bad_quarter                    credit_overr.   quarantine bad_enum, line 3
override_duplicate                      credit_overr.   quarantine duplicate_key, line 3
cr_only_line_endings                    sales_lines     tolerated: old-Mac CR line ends, true lines
header_field_over_128k                  sales_lines     tolerated: the huge extra column is ignored
html_error_page_as_jsonl                visits          file refused no_good_rows, day kept, rows kept
json_array_as_jsonl                     visits          file refused mostly_unparseable, day kept
mostly_unparseable_csv                  receivables     file refused mostly_unparseable, day kept
html_error_page_as_csv                  sales_lines     file error no_header, line 1
upper_case_extension                    sales_lines     tolerated: sales_20240102.CSV is read
fractional_integer                      sales_lines     quarantine bad_number, line 3 (qty 2.5)
fractional_line_no                      sales_lines     quarantine bad_number; the real line 2 loads
hex_integer                             sales_lines     quarantine bad_number, line 3 (0x10)
net_amount_in_cents                     sales_lines     quarantine amount_mismatch, line 3
unrecognised_optional_header            sales_lines     tolerated; header listed ignored, column missing
excel_error_cells                       stock (xlsx)    quarantine excel_error, rows 3 and 4
excel_error_text_in_csv                 receivables     quarantine excel_error, line 3
json_line_over_the_limit                visits          quarantine line_too_long, line 2 alone
not_an_xlsx_named_xlsx                  stock (xlsx)    file error not_xlsx
backslash_escaped_quote                 receivables     file error unterminated_quote naming \\"
parquet_column_file_row_number          sales_lines     tolerated: the extra column is ignored
yesterdays_file_under_todays_name       sales_lines     file refused no_good_rows (every date wrong)
utc_z_and_fractional_timestamps         visits          tolerated: ...Z is UTC, fractions of seconds
csv_record_over_the_limit               receivables     quarantine line_too_long, line 3 alone
======================================  ==============  ==========================================

Outcome **refused** (issue 16): a file that is mostly not what its name claims (none of its rows
can be parsed, or more than ``max_unparseable_share`` of them) fails its partition like a file
error and the partition keeps its last good rows, but the quarantine records every row read,
with ``raw.load_log`` status ``refused``. Files nobody reads, impossible dates in names, a row
settled by delivery time, raw lines kept whole and unreadable (permission) files are tested
below the catalogue.

Sanity bounds (``absurd_value``) come from ``max_abs`` in ``pipelines/ingest/sources.yml``; the
cases build their absurd values from that configuration. The credit-rating gate that refuses to
rate a quarter with rejected override rows (``pipelines.credit.assets.rejected_overrides``) is
checked to name file, line and reason. Landing-zone path safety is in ``test_landing_paths.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

import duckdb
import pytest

from sample_data.writers import xlsx_bytes
from pipelines.ingest.config import find_files, load_sources
from pipelines.ingest.load import load_window
from tests.test_ingest import CUSTOMERS, GOOD, OVERRIDES_HEADER, PRODUCTS, REPS, SALES_HEADER, sales, write

START, END = date(2024, 1, 1), date(2024, 1, 7)  # 2024-01-01 is a Monday: one stock week
MASTERS = ("customers", "products", "reps")
# a second customer, so a stock week can hold a good file next to the bad one
CUSTOMERS2 = CUSTOMERS + CUSTOMERS.splitlines()[1].replace("C001,Acme", "C002,Beta") + "\n"

RECV_HEADER = "record_type,invoice_no,customer_code,invoice_date,due_date,amount_due,payment_date,amount_paid,payment_no"
RGOOD = "INVOICE,I1,C001,2024-01-02,2024-02-01,50.00,,,"
RPAY = "PAYMENT,I0,C001,2023-12-01,,,2024-01-02,20.00,1"
STOCK_HEADER = "sku,product_name,opening_qty,received_qty,sold_qty,closing_qty,report_date,destination_territory"
SGOOD = "P01,Aspirin,10,5,3,12,2024-01-07,T01"
SALES_F = "sales/2024/01/sales_20240102.csv"
RECV_F = "receivables/2024/01/receivables_20240102.csv"
STOCK_F = "stock/2024/01/01/stock_C001.csv"
STOCK_X = "stock/2024/01/01/stock_C001.xlsx"
STOCK_OK = "stock/2024/01/01/stock_C002.csv"  # a good file in the same week
VISITS_F = "visits/2024/01/visits_20240102.jsonl"
OVR_F = "overrides/credit_rating_overrides.csv"
OVR_GOOD = "C001,2024Q1,3,Lawsuit settled,Director Wang,2024-03-31"


def max_abs(source: str, column: str) -> int:
    bound = load_sources()[source].columns[column].max_abs
    assert bound, f"sources.yml: {source}.{column} has no max_abs"
    return int(bound)


def lines(header: str, *rows: str, crlf: bool = False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    return (nl.join([header, *rows]) + nl).encode("utf-8")


def visit(**over) -> str:
    row = {"visit_id": "V1", "rep_code": "R01", "customer_code": "C001", "check_in": "2024-01-02T09:00:00+08:00",
           "check_out": "2024-01-02T10:00:00+08:00", "activity_type": "selling", "notes": "ok",
           "next_appointment": None}
    row.update(over)
    return json.dumps(row, ensure_ascii=False)


def jsonl(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def xlsx(*rows: list) -> Callable[[Path], bytes]:
    """A workbook whose first sheet holds ``rows`` (row-major; str, number, date or None)."""
    width = max((len(r) for r in rows), default=0)
    cols = [[(r[j] if j < len(r) else None) for r in rows] for j in range(width)]
    return lambda _tmp: xlsx_bytes(None, cols)


def parquet(select_sql: str) -> Callable[[Path], bytes]:
    """Parquet bytes of a DuckDB query."""
    def make(tmp: Path) -> bytes:
        out = tmp / "made.parquet"
        tmp.mkdir(parents=True, exist_ok=True)
        duckdb.connect().execute(f"COPY ({select_sql}) TO '{out}' (FORMAT parquet)")
        return out.read_bytes()
    return make


def cut(make: Callable[[Path], bytes], keep: float) -> Callable[[Path], bytes]:
    return lambda tmp: (b := make(tmp))[: int(len(b) * keep)]


SALES_PQ = ("SELECT * FROM (VALUES ('I1', 1, DATE '2024-01-02', 'SALE', 'C001', 'P01', 5, 10.00, 0.0, 50.00, 'NET30', "
            "'BR01', 'R01'), ('I1', 2, DATE '2024-01-02', 'SALE', 'C001', 'P01', 1, 10.00, 0.0, 10.00, 'COD', 'BR01', "
            "'R01')) t(invoice_no, line_no, invoice_date, line_type, customer_code, sku, qty, unit_price, "
            "discount_rate, net_amount, payment_terms, branch_code, rep_code)")


@dataclass(frozen=True)
class FileFails:
    code: str
    file: str
    line: int | None = None
    says: str = ""  # a phrase the message must contain


@dataclass(frozen=True)
class Quarantined:
    rows: list[tuple[str, int, str]]  # (file, line, reason) — exactly the source's quarantine
    loaded: int  # rows loaded from the case's files


@dataclass(frozen=True)
class Tolerated:
    sql: str  # query over the loaded tables
    expected: list[tuple]
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    code: str  # no_good_rows | mostly_unparseable
    file: str
    quarantined: list[tuple[str, int, str]]  # what the quarantine records of the file


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    wrong: str
    files: dict[str, bytes | Callable[[Path], bytes]]
    expect: FileFails | Quarantined | Tolerated | Refused


CASES = [
    # --- encodings -------------------------------------------------------------------------------
    Case("utf8_file_holds_latin1", "sales_lines", "a Latin-1 byte in a file declared UTF-8",
         {SALES_F: sales([GOOD]).encode() + "I1,2,2024-01-02,SALE,C001,P01,5,10,0,50,NET30,BR01,Ré\n".encode("latin-1")},
         FileFails("undeclared_encoding", SALES_F, 3, "not valid utf-8")),
    Case("mixed_encodings_in_one_file", "stock", "UTF-8 lines, then a line saved as GBK",
         {STOCK_F: lines(STOCK_HEADER, SGOOD) + "P01,阿司匹林,1,1,1,1,2024-01-06,T01\n".encode("gbk"),
          STOCK_OK: lines(STOCK_HEADER, SGOOD)},
         FileFails("undeclared_encoding", STOCK_F, 3, "utf-8")),
    Case("gbk_file_holds_invalid_bytes", "sales_lines", "bytes that are not GBK in a .gbk.csv file",
         {"sales/2024/01/sales_20240102.gbk.csv": "发票号,行号\n".encode("gbk") + b"I1,\xff\xfe\n"},
         FileFails("undeclared_encoding", "sales/2024/01/sales_20240102.gbk.csv", 2, "not valid gbk")),
    Case("gbk_bytes_in_utf8_jsonl", "visits", "a visit log line saved as GBK",
         {VISITS_F: jsonl(visit()) + visit(visit_id="V2", notes="拜访客户").encode("gbk") + b"\n"},
         FileFails("undeclared_encoding", VISITS_F, 2)),
    Case("utf16_csv", "customers", "a master extract saved as UTF-16 (Excel 'Unicode text')",
         {"master/2024/01/02/customers.csv": CUSTOMERS.encode("utf-16")},
         FileFails("undeclared_encoding", "master/2024/01/02/customers.csv", 1, "UTF-16 byte-order mark")),
    Case("utf16_jsonl", "visits", "a visit log saved as UTF-16",
         {VISITS_F: (visit() + "\n").encode("utf-16")},
         FileFails("undeclared_encoding", VISITS_F, 1, "UTF-16 byte-order mark")),
    Case("utf8_bom_csv", "receivables", "a UTF-8 byte-order mark before the header",
         {RECV_F: b"\xef\xbb\xbf" + lines(RECV_HEADER, RGOOD)},
         Tolerated("SELECT record_type, invoice_no, amount_due FROM raw.receivables",
                   [("INVOICE", "I1", Decimal("50.0000"))])),
    Case("utf8_bom_jsonl", "visits", "a UTF-8 byte-order mark before the first JSON object",
         {VISITS_F: b"\xef\xbb\xbf" + jsonl(visit(), visit(visit_id="V2"))},
         Tolerated("SELECT visit_id, _source_line FROM raw.visits ORDER BY 1", [("V1", 1), ("V2", 2)])),
    # --- truncation ------------------------------------------------------------------------------
    Case("truncated_csv_mid_row", "sales_lines", "the file is cut in the middle of its last row",
         {SALES_F: (sales([GOOD]) + "I1,2,2024-01-02,SALE,C0").encode()},
         FileFails("bad_row_shape", SALES_F, 3, "Expected Number of Columns")),
    Case("truncated_csv_in_quoted_value", "receivables", "the file is cut inside a quoted value",
         {RECV_F: lines(RECV_HEADER, RGOOD) + b'INVOICE,I2,C001,2024-01-02,2024-02-01,"1,05'},
         FileFails("unterminated_quote", RECV_F, 3, "not closed")),
    Case("truncated_parquet", "sales_lines", "a Parquet file cut to 60 % of its bytes",
         {"sales/2024/01/sales_20240102.parquet": cut(parquet(SALES_PQ), 0.6)},
         FileFails("unreadable", "sales/2024/01/sales_20240102.parquet", None, "no Parquet footer")),
    Case("truncated_xlsx", "stock", "an .xlsx workbook cut to 50 % of its bytes",
         {STOCK_X: cut(xlsx(STOCK_HEADER.split(","), ["P01", "Aspirin", 10, 5, 3, 12, "2024-01-07", "T01"]), 0.5),
          STOCK_OK: lines(STOCK_HEADER, SGOOD)},
         FileFails("truncated_xlsx", STOCK_X, None, "not a readable .xlsx")),
    Case("truncated_jsonl_last_line", "visits", "the last JSON line is cut short",
         {VISITS_F: (visit() + "\n" + visit(visit_id="V2")[:40]).encode()},
         Quarantined([(VISITS_F, 2, "bad_json")], loaded=1)),
    # --- empty files -----------------------------------------------------------------------------
    Case("empty_csv", "receivables", "0 bytes", {RECV_F: b""}, FileFails("empty_file", RECV_F, None, "0 bytes")),
    Case("empty_jsonl", "visits", "0 bytes", {VISITS_F: b""}, FileFails("empty_file", VISITS_F)),
    Case("empty_xlsx_sheet", "stock", "a workbook whose sheet has no cells",
         {STOCK_X: xlsx(), STOCK_OK: lines(STOCK_HEADER, SGOOD)}, FileFails("empty_file", STOCK_X, None, "no rows")),
    Case("empty_overrides_file", "credit_overrides", "the hand-kept overrides file saved empty",
         {OVR_F: b""}, FileFails("empty_file", OVR_F)),
    Case("header_only_csv", "sales_lines", "a header and no rows (a day without sales)",
         {SALES_F: (SALES_HEADER + "\n").encode()},
         Tolerated("SELECT _source_file, rows_read, rows_loaded, rows_quarantined FROM raw.load_log "
                   "WHERE source = 'sales_lines'", [(SALES_F, 0, 0, 0)])),
    Case("header_only_xlsx", "stock", "a workbook with the header row only",
         {STOCK_X: xlsx(STOCK_HEADER.split(","))},
         Tolerated("SELECT _source_file, rows_read, rows_loaded, rows_quarantined FROM raw.load_log "
                   "WHERE source = 'stock'", [(STOCK_X, 0, 0, 0)])),
    # --- headers and columns ---------------------------------------------------------------------
    Case("no_header_row", "receivables", "the header row is missing: data starts on line 1",
         {RECV_F: lines(RGOOD, RPAY)}, FileFails("no_header", RECV_F, 1, "no recognisable header")),
    Case("xlsx_title_row_above_header", "stock", "a title row above the header row",
         {STOCK_X: xlsx(["Weekly stock report"], STOCK_HEADER.split(","),
                        ["P01", "Aspirin", 10, 5, 3, 12, "2024-01-07", "T01"])},
         FileFails("no_header", STOCK_X, 1, "no recognisable header")),
    Case("extra_columns", "stock", "columns no layout knows (remark, warehouse)",
         {STOCK_F: lines(STOCK_HEADER + ",remark,warehouse", SGOOD + ",checked,WH1")},
         Tolerated("SELECT sku, closing_qty, destination_territory FROM raw.stock_reports",
                   [("P01", Decimal("12.0000"), "T01")])),
    Case("missing_required_column", "receivables", "the customer_code column is missing",
         {RECV_F: lines(RECV_HEADER.replace("customer_code,", ""), RGOOD.replace("C001,", ""))},
         FileFails("no_header", RECV_F, 1, "customer_code")),
    Case("missing_optional_columns", "stock", "product_name and destination_territory are missing",
         {STOCK_F: lines("sku,opening_qty,received_qty,sold_qty,closing_qty,report_date", "P01,10,5,3,12,2024-01-07")},
         Tolerated("SELECT sku, product_name, destination_territory, sold_qty FROM raw.stock_reports",
                   [("P01", None, None, Decimal("3.0000"))])),
    Case("reordered_columns", "sales_lines", "every column present, in reverse order",
         {SALES_F: lines(",".join(reversed(SALES_HEADER.split(","))), ",".join(reversed(GOOD.split(","))))},
         Tolerated("SELECT invoice_no, line_no, customer_code, qty, net_amount, rep_code FROM raw.sales_lines",
                   [("I1", 1, "C001", 5, Decimal("50.0000"), "R01")])),
    Case("header_variants", "stock", "a distributor's own header spellings (Chinese, spaced, upper case)",
         {STOCK_X: xlsx(["药品编码", "品名", "上期结存", "入库数量", "SOLD", " Closing Stock ", "统计日期", "流向区域"],
                        ["P01", "阿司匹林", 10, 5, 3, 12, datetime(2024, 1, 7), "T01"])},
         Tolerated("SELECT sku, product_name, opening_qty, received_qty, sold_qty, closing_qty, report_date, "
                   "destination_territory, customer_code FROM raw.stock_reports",
                   [("P01", "阿司匹林", Decimal("10.0000"), Decimal("5.0000"), Decimal("3.0000"), Decimal("12.0000"),
                     date(2024, 1, 7), "T01", "C001")])),
    Case("unknown_header_variant", "stock", "'Item Code' instead of any accepted SKU spelling",
         {STOCK_F: lines(STOCK_HEADER.replace("sku,", "Item Code,"), SGOOD), STOCK_OK: lines(STOCK_HEADER, SGOOD)},
         FileFails("no_header", STOCK_F, 1, "['sku']")),
    Case("same_column_twice", "stock", "both 'sku' and '商品编码' (two spellings of one column)",
         {STOCK_F: lines(STOCK_HEADER + ",商品编码", SGOOD + ",P02"), STOCK_OK: lines(STOCK_HEADER, SGOOD)},
         FileFails("ambiguous_header", STOCK_F, 1, "both map to sku")),
    Case("row_with_extra_field", "sales_lines", "a row with one field more than the header",
         {SALES_F: lines(SALES_HEADER, GOOD + ",extra")}, FileFails("bad_row_shape", SALES_F, 2)),
    Case("parquet_missing_column", "sales_lines", "a Parquet file without the sku column",
         {"sales/2024/01/sales_20240102.parquet": parquet(f"SELECT * EXCLUDE (sku) FROM ({SALES_PQ})")},
         FileFails("no_header", "sales/2024/01/sales_20240102.parquet", 1, "sku")),
    Case("parquet_value_of_wrong_type", "sales_lines", "qty stored as text, 'abc' in row 2",
         {"sales/2024/01/sales_20240102.parquet": parquet(
             f"SELECT * REPLACE (CASE WHEN line_no = 2 THEN 'abc' ELSE CAST(qty AS VARCHAR) END AS qty) FROM ({SALES_PQ})")},
         Quarantined([("sales/2024/01/sales_20240102.parquet", 2, "bad_number")], loaded=1)),
    # --- JSON lines ------------------------------------------------------------------------------
    Case("malformed_json_line", "visits", "a line that is not valid JSON",
         {VISITS_F: jsonl(visit(), '{"visit_id": "V2", "rep_code": R01}')},
         Quarantined([(VISITS_F, 2, "bad_json")], loaded=1)),
    Case("json_line_not_an_object", "visits", "a JSON array instead of an object",
         {VISITS_F: jsonl(visit(), '["V2", "R01"]')}, Quarantined([(VISITS_F, 2, "bad_json")], loaded=1)),
    Case("json_value_of_wrong_type", "visits", "check_in as a number",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", check_in=20240102))},
         Quarantined([(VISITS_F, 2, "bad_timestamp")], loaded=1)),
    Case("blank_lines_in_jsonl", "visits", "blank lines between objects (line numbers must count them)",
         {VISITS_F: jsonl(visit(), "", "  ", visit(visit_id="V2", activity_type="meeting"))},
         Quarantined([(VISITS_F, 4, "bad_enum")], loaded=1)),
    Case("blank_lines_and_multiline_value_csv", "sales_lines", "a blank line and a quoted value spanning two lines",
         {SALES_F: lines(SALES_HEADER, GOOD.replace("BR01", '"BR\n01"'), "",
                         GOOD.replace("I1,1", "I1,2"), GOOD.replace("I1,1", "I1,3").replace("P01", "P99"))},
         Quarantined([(SALES_F, 6, "unknown_sku")], loaded=2)),
    Case("crlf_line_endings", "sales_lines", "Windows line endings",
         {SALES_F: lines(SALES_HEADER, GOOD, GOOD.replace("I1,1", "I1,2").replace("P01", "P99"), crlf=True)},
         Tolerated("SELECT invoice_no, line_no, rep_code FROM raw.sales_lines", [("I1", 1, "R01")],
                   quarantined=[(SALES_F, 3, "unknown_sku")])),
    # --- numbers ---------------------------------------------------------------------------------
    Case("thousands_separators", "receivables", 'an amount written "1,050.00"',
         {RECV_F: lines(RECV_HEADER, RGOOD.replace("50.00", '"1,050.00"'))},
         Tolerated("SELECT amount_due FROM raw.receivables", [(Decimal("1050.0000"),)])),
    Case("bad_thousands_grouping", "receivables", 'an amount written "1,05.00" (not a grouping)',
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1", "I2").replace("50.00", '"1,05.00"'))},
         Quarantined([(RECV_F, 3, "bad_number")], loaded=1)),
    Case("fullwidth_digits", "stock", "quantities typed with full-width digits (１２)",
         {STOCK_F: lines(STOCK_HEADER, "P01,Aspirin,１０,５,３,１２,2024-01-07,T01")},
         Tolerated("SELECT opening_qty, received_qty, sold_qty, closing_qty FROM raw.stock_reports",
                   [(Decimal("10.0000"), Decimal("5.0000"), Decimal("3.0000"), Decimal("12.0000"))])),
    Case("number_too_big_for_its_type", "sales_lines", "net_amount with 21 digits (no DECIMAL(18,4) holds it)",
         {SALES_F: sales([GOOD, GOOD.replace("I1,1", "I1,2").replace("50.00", "100000000000000000000")]).encode()},
         Quarantined([(SALES_F, 3, "bad_number")], loaded=1)),
    # --- dates -----------------------------------------------------------------------------------
    Case("date_formats_tolerated", "stock", "report dates in four accepted formats and full-width digits",
         {STOCK_F: lines(STOCK_HEADER, SGOOD, "P01,A,1,1,1,1,2024/01/05,T01", "P01,A,1,1,1,1,20240104,T01",
                         "P01,A,1,1,1,1,2024年01月03日,T01", "P01,A,1,1,1,1,２０２４-０１-０２,T01")},
         Tolerated("SELECT report_date, _source_line FROM raw.stock_reports ORDER BY 2",
                   [(date(2024, 1, d), line) for d, line in ((7, 2), (5, 3), (4, 4), (3, 5), (2, 6))])),
    Case("date_format_unknown", "receivables", "a day-first date 02/01/2024 (not an accepted format)",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1", "I2").replace("2024-01-02", "02/01/2024"))},
         Quarantined([(RECV_F, 3, "bad_date")], loaded=1)),
    Case("timestamp_formats", "visits", "naive and space-separated timestamps; one unparseable",
         {VISITS_F: jsonl(visit(check_in="2024-01-02 09:00:00", check_out="2024-01-02T10:00:00"),
                          visit(visit_id="V2", check_in="2024-01-02 14:00:00+08:00", check_out="2024-01-02 15:00:00+08:00"),
                          visit(visit_id="V3", check_in="2024-01-02 9am"))},
         Tolerated("SELECT visit_id, check_in, check_out FROM raw.visits ORDER BY 1",
                   [("V1", datetime(2024, 1, 2, 1, tzinfo=timezone.utc), datetime(2024, 1, 2, 2, tzinfo=timezone.utc)),
                    ("V2", datetime(2024, 1, 2, 6, tzinfo=timezone.utc), datetime(2024, 1, 2, 7, tzinfo=timezone.utc))],
                   quarantined=[(VISITS_F, 3, "bad_timestamp")])),
    # --- duplicates ------------------------------------------------------------------------------
    Case("duplicate_within_file", "receivables", "the same invoice row twice in one file",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD)}, Quarantined([(RECV_F, 3, "duplicate_key")], loaded=1)),
    Case("duplicate_across_files", "visits", "visit V1 sent again in the next day's file",
         {VISITS_F: jsonl(visit()), "visits/2024/01/visits_20240103.jsonl": jsonl(visit(
             check_in="2024-01-03T09:00:00+08:00", check_out="2024-01-03T10:00:00+08:00"))},
         Quarantined([("visits/2024/01/visits_20240103.jsonl", 1, "duplicate_key")], loaded=1)),
    Case("duplicate_in_master_extract", "products", "a SKU twice in one products extract",
         {"master/2024/01/01/products.csv": (PRODUCTS + PRODUCTS.splitlines()[1] + "\n").encode()},
         Quarantined([("master/2024/01/01/products.csv", 3, "duplicate_key")], loaded=1)),
    # --- unknown and missing keys ----------------------------------------------------------------
    Case("unknown_customer", "receivables", "a customer code in no master extract",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1,C001", "I2,C999"))},
         Quarantined([(RECV_F, 3, "unknown_customer")], loaded=1)),
    Case("unknown_sku", "stock", "a SKU in no product extract",
         {STOCK_F: lines(STOCK_HEADER, SGOOD, SGOOD.replace("P01", "P99").replace("-07", "-06"))},
         Quarantined([(STOCK_F, 3, "unknown_sku")], loaded=1)),
    Case("unknown_rep", "visits", "a rep code in no rep extract",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", rep_code="R99"))}, Quarantined([(VISITS_F, 2, "unknown_rep")], loaded=1)),
    Case("missing_key", "visits", "visit_id is null",
         {VISITS_F: jsonl(visit(), visit(visit_id=None))}, Quarantined([(VISITS_F, 2, "missing_key")], loaded=1)),
    # --- values out of bounds --------------------------------------------------------------------
    Case("negative_qty_on_sale", "sales_lines", "a SALE line with a negative qty (RETURN lines may be negative)",
         {SALES_F: sales([GOOD.replace("SALE", "RETURN").replace(",5,", ",-5,").replace("50.00", "-50.00"),
                          GOOD.replace("I1,1", "I1,2").replace(",5,", ",-5,")]).encode()},
         Quarantined([(SALES_F, 3, "negative_qty")], loaded=1)),
    Case("negative_stock", "stock", "a negative closing stock",
         {STOCK_X: xlsx(STOCK_HEADER.split(","), ["P01", "A", 10, 5, 3, 12, "2024-01-07", "T01"],
                        ["P01", "A", 10, 5, 3, -12, "2024-01-06", "T01"])},
         Quarantined([(STOCK_X, 3, "negative_qty")], loaded=1)),
    Case("negative_amount", "receivables", "a negative payment amount",
         {RECV_F: lines(RECV_HEADER, RGOOD, RPAY.replace("20.00", "-20.00"))},
         Quarantined([(RECV_F, 3, "negative_qty")], loaded=1)),
    Case("absurd_qty", "sales_lines", "qty a hundred times the configured sane bound (e.g. 10^9)",
         {SALES_F: sales([GOOD, GOOD.replace("I1,1", "I1,2").replace(",5,", f",{max_abs('sales_lines', 'qty') * 100},")]).encode()},
         Quarantined([(SALES_F, 3, "absurd_value")], loaded=1)),
    Case("absurd_amount", "receivables", "an invoice amount ten times the configured sane bound",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1", "I2").replace("50.00", str(max_abs("receivables", "amount_due") * 10)))},
         Quarantined([(RECV_F, 3, "absurd_value")], loaded=1)),
    Case("absurd_stock_qty", "stock", "a sold quantity above the configured sane bound",
         {STOCK_F: lines(STOCK_HEADER, SGOOD, SGOOD.replace(",3,", f",{max_abs('stock', 'sold_qty') + 1},").replace("-07", "-06"))},
         Quarantined([(STOCK_F, 3, "absurd_value")], loaded=1)),
    Case("future_date", "visits", "a check-in in 2099",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", check_in="2099-01-02T09:00:00+08:00",
                                         check_out="2099-01-02T10:00:00+08:00"))},
         Quarantined([(VISITS_F, 2, "future_date")], loaded=1)),
    Case("date_outside_partition", "stock", "a report date in the following week",
         {STOCK_F: lines(STOCK_HEADER, SGOOD, SGOOD.replace("2024-01-07", "2024-01-08"))},
         Quarantined([(STOCK_F, 3, "date_outside_partition")], loaded=1)),
    Case("bad_enum", "visits", "activity_type 'meeting'",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", activity_type="meeting"))},
         Quarantined([(VISITS_F, 2, "bad_enum")], loaded=1)),
    Case("checkout_before_checkin", "visits", "check_out before check_in",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", check_out="2024-01-02T08:00:00+08:00"))},
         Quarantined([(VISITS_F, 2, "checkout_before_checkin")], loaded=1)),
    # --- credit-rating overrides -----------------------------------------------------------------
    Case("override_unknown_customer", "credit_overrides", "an override for a customer in no master extract",
         {OVR_F: lines(OVERRIDES_HEADER, OVR_GOOD, OVR_GOOD.replace("C001", "C999"))},
         Quarantined([(OVR_F, 3, "unknown_customer")], loaded=1)),
    Case("override_invalid_grade", "credit_overrides", "grades 6 and B (grades are 1-5)",
         {OVR_F: lines(OVERRIDES_HEADER, OVR_GOOD, OVR_GOOD.replace("Q1,3", "Q2,6"), OVR_GOOD.replace("Q1,3", "Q3,B"))},
         Quarantined([(OVR_F, 3, "invalid_grade"), (OVR_F, 4, "invalid_grade")], loaded=1)),
    Case("override_missing_approver", "credit_overrides", "no approver",
         {OVR_F: lines(OVERRIDES_HEADER, OVR_GOOD, OVR_GOOD.replace("Q1", "Q2").replace("Director Wang", ""))},
         Quarantined([(OVR_F, 3, "missing_approver")], loaded=1)),
    Case("override_bad_quarter", "credit_overrides", "quarter written 2024-Q2",
         {OVR_F: lines(OVERRIDES_HEADER, OVR_GOOD, OVR_GOOD.replace("2024Q1", "2024-Q2"))},
         Quarantined([(OVR_F, 3, "bad_enum")], loaded=1)),
    Case("override_duplicate", "credit_overrides", "two overrides for one customer and quarter",
         {OVR_F: lines(OVERRIDES_HEADER, OVR_GOOD, OVR_GOOD.replace(",3,", ",4,"))},
         Quarantined([(OVR_F, 3, "duplicate_key")], loaded=1)),
    # --- hostile files (issue 16) ----------------------------------------------------------------
    Case("cr_only_line_endings", "sales_lines", "old Mac line endings: CR only",
         {SALES_F: "\r".join([SALES_HEADER, GOOD, GOOD.replace("I1,1,", "I1,2,")]).encode() + b"\r"},
         Tolerated("SELECT line_no, _source_line FROM raw.sales_lines ORDER BY 1", [(1, 2), (2, 3)])),
    Case("header_field_over_128k", "sales_lines", "an extra header field of 200,000 characters",
         {SALES_F: (SALES_HEADER + "," + "x" * 200_000 + "\n" + GOOD + ",extra\n").encode()},
         Tolerated("SELECT invoice_no, line_no FROM raw.sales_lines", [("I1", 1)])),
    Case("html_error_page_as_jsonl", "visits", "a 502 Bad Gateway page saved as the day's visit log",
         {VISITS_F: b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<h1>502 Bad Gateway</h1>\n"
                    b"</body>\n</html>\n"},
         Refused("no_good_rows", VISITS_F, [(VISITS_F, n, "bad_json") for n in range(1, 7)])),
    Case("json_array_as_jsonl", "visits", "a JSON array of visits instead of one object a line",
         {VISITS_F: ("[\n" + visit() + ",\n" + visit(visit_id="V2") + "\n]\n").encode()},
         Refused("mostly_unparseable", VISITS_F, [(VISITS_F, 1, "bad_json"), (VISITS_F, 2, "bad_json"),
                                                   (VISITS_F, 3, "file_refused"), (VISITS_F, 4, "bad_json")])),
    Case("mostly_unparseable_csv", "receivables", "two of three rows with a date nobody writes",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1,", "I2,").replace("2024-01-02,2024-02-01", "Jan 2,Feb 1"),
                        RGOOD.replace("I1,", "I3,").replace("2024-01-02,2024-02-01", "Jan 2,Feb 1"))},
         Refused("mostly_unparseable", RECV_F, [(RECV_F, 2, "file_refused"), (RECV_F, 3, "bad_date"),
                                                 (RECV_F, 4, "bad_date")])),
    Case("html_error_page_as_csv", "sales_lines", "the same 502 page saved as the day's sales file",
         {SALES_F: b"<html>\n<head><title>502 Bad Gateway</title></head>\n</html>\n"},
         FileFails("no_header", SALES_F, 1)),
    Case("upper_case_extension", "sales_lines", "the file name ends in .CSV",
         {"sales/2024/01/sales_20240102.CSV": sales([GOOD]).encode()},
         Tolerated("SELECT invoice_no, _source_file FROM raw.sales_lines", [("I1", "sales/2024/01/sales_20240102.CSV")])),
    Case("fractional_integer", "sales_lines", "qty 2.5 in an integer column",
         {SALES_F: sales([GOOD, GOOD.replace("I1,1,", "I1,2,").replace(",5,10.00,0,50.00,", ",2.5,10.00,0,25.00,")]).encode()},
         Quarantined([(SALES_F, 3, "bad_number")], loaded=1)),
    Case("fractional_line_no", "sales_lines", "line_no 1.6 next to the real line 2",
         {SALES_F: sales([GOOD.replace("I1,1,", "I1,1.6,"), GOOD.replace("I1,1,", "I1,2,")]).encode()},
         Quarantined([(SALES_F, 2, "bad_number")], loaded=1)),
    Case("hex_integer", "sales_lines", "qty written 0x10",
         {SALES_F: sales([GOOD, GOOD.replace("I1,1,", "I1,2,").replace(",5,10.00,0,50.00,", ",0x10,10.00,0,160.00,")]).encode()},
         Quarantined([(SALES_F, 3, "bad_number")], loaded=1)),
    Case("net_amount_in_cents", "sales_lines", "a net amount 100 times qty x unit price",
         {SALES_F: sales([GOOD, GOOD.replace("I1,1,", "I1,2,").replace(",0,50.00,", ",0,5000.00,")]).encode()},
         Quarantined([(SALES_F, 3, "amount_mismatch")], loaded=1)),
    Case("unrecognised_optional_header", "sales_lines", "rep_code sent as sales_rep",
         {SALES_F: sales([GOOD]).replace(",rep_code", ",sales_rep").encode()},
         Tolerated("SELECT rep_code, (SELECT ignored_headers || ' ' || missing_columns FROM raw.load_log "
                   "WHERE source = 'sales_lines') FROM raw.sales_lines", [(None, '["sales_rep"] ["rep_code"]')])),
    Case("excel_error_cells", "stock", "#DIV/0! and #N/A cells (a formula gone wrong) in a workbook",
         {STOCK_X: lambda tmp: _xlsx_with_errors()},
         Quarantined([(STOCK_X, 3, "excel_error"), (STOCK_X, 4, "excel_error")], loaded=3)),
    Case("excel_error_text_in_csv", "receivables", "#REF! exported as text into an amount",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1,", "I2,").replace(",50.00,", ",#REF!,"))},
         Quarantined([(RECV_F, 3, "excel_error")], loaded=1)),
    Case("json_line_over_the_limit", "visits", "one JSON line of 2.5 MB between good ones",
         {VISITS_F: jsonl(visit(), visit(visit_id="V2", notes="x" * 2_500_000), visit(visit_id="V3"))},
         Quarantined([(VISITS_F, 2, "line_too_long")], loaded=2)),
    Case("not_an_xlsx_named_xlsx", "stock", "a CSV file named .xlsx",
         {STOCK_X: lines(STOCK_HEADER, SGOOD), STOCK_OK: lines(STOCK_HEADER, SGOOD)},
         FileFails("not_xlsx", STOCK_X, None, "not a zip archive")),
    Case("backslash_escaped_quote", "receivables", 'a quote escaped as \\" inside a quoted value',
         {RECV_F: lines(RECV_HEADER, RGOOD) + b'INVOICE,"I2 \\"x\\"",C001,2024-01-02,2024-02-01,50.00,,,\n'},
         FileFails("unterminated_quote", RECV_F, None, "backslash")),
    Case("parquet_column_file_row_number", "sales_lines", "a Parquet file with its own file_row_number column",
         {"sales/2024/01/sales_20240102.parquet": parquet(
             f"SELECT *, 7 AS file_row_number FROM ({SALES_PQ})")},
         Tolerated("SELECT line_no, _source_line FROM raw.sales_lines ORDER BY 1", [(1, 1), (2, 2)])),
    Case("yesterdays_file_under_todays_name", "sales_lines", "a day's file copied over the next day's",
         {"sales/2024/01/sales_20240103.csv": sales([GOOD, GOOD.replace("I1,1,", "I1,2,")]).encode()},
         Refused("no_good_rows", "sales/2024/01/sales_20240103.csv",
                 [("sales/2024/01/sales_20240103.csv", 2, "date_outside_partition"),
                  ("sales/2024/01/sales_20240103.csv", 3, "date_outside_partition")])),
    Case("utc_z_and_fractional_timestamps", "visits", "check-in written 2024-01-02T01:00:00.250Z (UTC)",
         {VISITS_F: jsonl(visit(check_in="2024-01-02T01:00:00.250Z", check_out="2024-01-02T02:00:00Z"))},
         Tolerated("SELECT visit_id, check_in = TIMESTAMPTZ '2024-01-02 09:00:00.25+08:00' FROM raw.visits",
                   [("V1", True)])),
    Case("csv_record_over_the_limit", "receivables", "one receivables row of 2.5 MB between good ones",
         {RECV_F: lines(RECV_HEADER, RGOOD, RGOOD.replace("I1,", "I" + "9" * 2_500_000 + ","),
                        RGOOD.replace("I1,", "I3,"))},
         Quarantined([(RECV_F, 3, "line_too_long")], loaded=2)),
]


def _xlsx_with_errors() -> bytes:
    """A stock workbook whose cells hold cached Excel errors (what a broken formula leaves)."""
    import io

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, STOCK_HEADER.split(","))
    ws.write_row(1, 0, SGOOD.split(","))
    ws.write_row(2, 0, SGOOD.replace("-07", "-06").split(","))
    ws.write_formula(2, 4, "=1/0", None, "#DIV/0!")  # sold_qty
    ws.write_row(3, 0, SGOOD.replace("-07", "-05").split(","))
    ws.write_formula(3, 5, "=NA()", None, "#N/A")  # closing_qty: required
    ws.write_row(4, 0, SGOOD.replace("-07", "-04").split(","))
    ws.write_row(5, 0, SGOOD.replace("-07", "-03").split(","))
    wb.close()
    return buf.getvalue()


def test_catalogue_is_complete_and_documented():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    assert {c.source for c in CASES} >= {"sales_lines", "receivables", "stock", "visits", "customers", "products",
                                         "credit_overrides"}
    for c in CASES:  # the module docstring is the readable catalogue: every case is listed there
        assert f"\n{c.id} " in __doc__, f"{c.id} is not in the catalogue table of the docstring"


def run_case(case: Case, tmp_path: Path):
    landing = tmp_path / "landing"
    write(landing / "master/2024/01/01/customers.csv", CUSTOMERS2)
    write(landing / "master/2024/01/01/products.csv", PRODUCTS)
    write(landing / "master/2024/01/01/reps.csv", REPS)
    for rel, content in case.files.items():
        p = landing / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content(tmp_path / "make") if callable(content) else content)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    results = {}
    for name in [*MASTERS, case.source] if case.source not in MASTERS else MASTERS:
        results[name] = load_window(con, name, landing, START, END, tmp_path / "tmp")
    return con, landing, results


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path):
    con, landing, results = run_case(case, tmp_path)
    source = load_sources()[case.source]
    result = results[case.source]
    table = f"raw.{source.table}"
    for name, r in results.items():
        if name != case.source:
            assert r.errors == [], (name, [str(e) for e in r.errors])

    # conservation, per file, and agreement with the tables
    assert con.execute("SELECT count(*) FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined"
                       ).fetchone()[0] == 0
    loaded, quarantined = con.execute(f"SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                                      f"FROM raw.load_log WHERE source = '{case.source}'").fetchone()
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == loaded
    assert con.execute(f"SELECT count(*) FROM raw.quarantine WHERE source = '{case.source}'").fetchone()[0] == quarantined
    assert sum(f["rows_read"] for f in result.files) == result.rows_loaded + result.rows_quarantined

    q_rows = con.execute(f"SELECT _source_file, _source_line, reason_code, message FROM raw.quarantine "
                         f"WHERE source = '{case.source}' ORDER BY 1, 2").fetchall()
    expect = case.expect
    if isinstance(expect, FileFails):
        assert len(result.errors) == 1, [str(e) for e in result.errors]
        err = result.errors[0]
        text = str(err)
        assert (err.code, err.relpath) == (expect.code, expect.file), text
        assert text.startswith(expect.file) and text.endswith(f"[{expect.code}]"), text
        if expect.line is not None:
            assert err.line == expect.line and f"line {expect.line}:" in text, text
        assert expect.says in text, text
        # nothing of the failed partition is loaded, logged or quarantined
        lf = next(f for f in find_files(source, landing, START, END, include_refused=True) if f.relpath == expect.file)
        where = "_partition_date IS NULL" if lf.partition_date is None else f"_partition_date = DATE '{lf.partition_date}'"
        assert con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0] == 0
        assert con.execute(f"SELECT count(*) FROM raw.load_log WHERE source = '{case.source}' AND {where}").fetchone()[0] == 0
        assert con.execute(f"SELECT count(*) FROM raw.quarantine WHERE source = '{case.source}' AND {where}").fetchone()[0] == 0
        assert all(f["partition_date"] != (lf.partition_date and lf.partition_date.isoformat()) for f in result.files)
    elif isinstance(expect, Refused):
        assert [(e.code, e.relpath) for e in result.errors] == [(expect.code, expect.file)], [str(e) for e in result.errors]
        assert "refused" in str(result.errors[0]) and "keeps its last good rows" in str(result.errors[0])
        assert [(f, l, c) for f, l, c, _ in q_rows] == expect.quarantined, q_rows
        lf = next(f for f in find_files(source, landing, START, END, include_refused=True) if f.relpath == expect.file)
        assert con.execute(f"SELECT count(*) FROM {table} WHERE _partition_date = DATE '{lf.partition_date}'"
                           ).fetchone()[0] == 0  # nothing loaded (the day had nothing before)
        assert con.execute(f"SELECT status, rows_read, rows_quarantined FROM raw.load_log WHERE source = '{case.source}'"
                           ).fetchall() == [("refused", len(expect.quarantined), len(expect.quarantined))]
    elif isinstance(expect, Quarantined):
        assert result.errors == [], [str(e) for e in result.errors]
        assert [(f, l, c) for f, l, c, _ in q_rows] == expect.rows, q_rows
        assert all(m for *_, m in q_rows)
        assert result.rows_loaded == expect.loaded
        assert result.rows_read == expect.loaded + len(expect.rows)
    else:
        assert result.errors == [], [str(e) for e in result.errors]
        assert [(f, l, c) for f, l, c, _ in q_rows] == expect.quarantined, q_rows
        assert con.execute(expect.sql).fetchall() == expect.expected


def test_rejected_overrides_gate_names_file_line_and_reason(tmp_path):
    """The credit rating refuses a quarter while override rows of it are rejected, naming each one."""
    from pipelines.credit.assets import format_rejections, rejected_overrides

    case = next(c for c in CASES if c.id == "override_invalid_grade")
    con, _, _ = run_case(case, tmp_path)
    assert rejected_overrides(con, "2024Q1") == []
    (got,) = rejected_overrides(con, "2024Q2")
    assert (got["file"], got["line"], got["reason"]) == (OVR_F, 3, "invalid_grade")
    assert f"{OVR_F} line 3: invalid_grade" in format_rejections("2024Q2", [got])
    assert [(r["line"], r["reason"]) for r in rejected_overrides(con, "2024Q3")] == [(4, "invalid_grade")]


def test_failed_partition_keeps_its_previous_load(tmp_path):
    """A file error never empties a partition that loaded before: the old rows stay until the file is fixed."""
    case = next(c for c in CASES if c.id == "thousands_separators")
    con, landing, _ = run_case(case, tmp_path)
    before = con.execute("SELECT * EXCLUDE (_load_id, _loaded_at) FROM raw.receivables").fetchall()
    assert len(before) == 1
    (landing / RECV_F).write_bytes(lines(RECV_HEADER, RGOOD) + b'INVOICE,I2,C001,2024-01-02,2024-02-01,"1,05')
    result = load_window(con, "receivables", landing, START, END, tmp_path / "tmp")
    assert [e.code for e in result.errors] == ["unterminated_quote"]
    assert con.execute("SELECT * EXCLUDE (_load_id, _loaded_at) FROM raw.receivables").fetchall() == before


# --- beyond the catalogue: files nobody reads, delivery time, raw lines, permissions, releases ----


def test_files_no_layout_reads_and_impossible_dates_are_reported(tmp_path, monkeypatch):
    case = next(c for c in CASES if c.id == "thousands_separators")
    con, landing, _ = run_case(case, tmp_path)
    write(landing / "sales/2024/01/sales_20240230.csv", sales([GOOD]))  # no such day
    write(landing / "sales/2024/01/sales_20240102.csv.bak", sales([GOOD]))  # nobody reads it
    write(landing / "sales/README.txt", "exports of the ERP")
    result = load_window(con, "sales_lines", landing, START, END, tmp_path / "tmp")
    assert [(u.relpath, u.code) for u in result.unseen] == [
        ("sales/2024/01/sales_20240102.csv.bak", "unmatched_file"), ("sales/2024/01/sales_20240230.csv", "bad_file_date"),
        ("sales/README.txt", "unmatched_file")]
    assert "not a real date" in result.unseen[1].message
    assert con.execute("SELECT _source_file, status FROM raw.load_log WHERE status <> 'loaded' ORDER BY 1").fetchall() == [
        ("sales/2024/01/sales_20240102.csv.bak", "unmatched_file"), ("sales/2024/01/sales_20240230.csv", "bad_file_date"),
        ("sales/README.txt", "unmatched_file")]
    # the check the ingest asset emits fails at ERROR naming them
    from pipelines.ingest.assets import landing_files_result

    check = landing_files_result(result)
    assert not check.passed and check.severity.value == "ERROR" and "sales_20240230.csv" in check.description
    # listed under `ignore:` in company.yml, a file is left alone on purpose
    folder = tmp_path / "company"
    folder.mkdir()
    (folder / "company.yml").write_text("ignore: ['sales/README.txt', 'sales/*/*/*.bak']\n", encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(folder))
    result = load_window(con, "sales_lines", landing, START, END, tmp_path / "tmp")
    assert [u.relpath for u in result.unseen] == ["sales/2024/01/sales_20240230.csv"]
    assert con.execute("SELECT count(*) FROM raw.load_log WHERE status <> 'loaded'").fetchone()[0] == 1


def test_conflicting_copies_of_a_line_are_settled_by_delivery_time(tmp_path):
    import os

    case = next(c for c in CASES if c.id == "thousands_separators")
    con, landing, _ = run_case(case, tmp_path)
    old = write(landing / "sales/2024/01/sales_20240102.csv", sales([GOOD]))  # qty 5
    new = landing / "sales/2024/01/sales_20240102.parquet"  # the same line with qty 3, delivered later
    duckdb.connect().execute(f"COPY (SELECT * REPLACE (3 AS qty, 30.00 AS net_amount) FROM ({SALES_PQ}) "
                             f"WHERE line_no = 1) TO '{new}' (FORMAT parquet)")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_700_000_600, 1_700_000_600))
    load_window(con, "sales_lines", landing, START, END, tmp_path / "tmp")
    assert con.execute("SELECT qty, _source_file FROM raw.sales_lines").fetchall() == [(3, "sales/2024/01/sales_20240102.parquet")]
    (file, code, message), = con.execute("SELECT _source_file, reason_code, message FROM raw.quarantine "
                                         "WHERE source = 'sales_lines'").fetchall()
    assert (file, code) == ("sales/2024/01/sales_20240102.csv", "duplicate_key") and "delivered later" in message
    os.utime(old, (1_700_001_200, 1_700_001_200))  # re-delivered: now the CSV is the later one
    load_window(con, "sales_lines", landing, START, END, tmp_path / "tmp")
    assert con.execute("SELECT qty FROM raw.sales_lines").fetchall() == [(5,)]


def test_quarantine_keeps_the_whole_raw_line(tmp_path):
    bad_line = '{"visit_id": "V9", "rep_code": "R01", "notes": "' + "y" * 500 + '"'  # cut: no closing brace
    case = Case("raw", "visits", "", {VISITS_F: jsonl(visit(), bad_line)}, Quarantined([], 0))
    con, _, _ = run_case(case, tmp_path)
    assert con.execute("SELECT raw_row FROM raw.quarantine WHERE reason_code = 'bad_json'").fetchall() == [(bad_line,)]
    case = Case("raw", "sales_lines", "",
                {SALES_F: sales([GOOD, GOOD.replace("I1,1,", "I1,2,").replace("P01", "P99")]).encode()}, Quarantined([], 0))
    con, _, _ = run_case(case, tmp_path / "csv")
    (raw,), = con.execute("SELECT raw_row FROM raw.quarantine WHERE reason_code = 'unknown_sku'").fetchall()
    assert json.loads(raw) == dict(zip(SALES_HEADER.split(","), GOOD.replace("I1,1,", "I1,2,").replace("P01", "P99").split(",")))


def _load_as(uid: int | None, landing: str, tmp: str) -> dict:
    """In a fresh process: load the masters, receivables and visits as user ``uid`` (every module
    imported first, then the privileges dropped), and say what each load reported."""
    import _strptime  # noqa: F401 - modules the readers use, imported while they can still be read
    import codecs  # noqa: F401
    import csv  # noqa: F401
    import encodings.gbk  # noqa: F401
    import os
    import xml.etree.ElementTree  # noqa: F401
    import zipfile  # noqa: F401

    import pyarrow  # noqa: F401

    from pipelines.ingest.load import load_window

    con = duckdb.connect()
    if uid is not None:
        os.setuid(uid)
    out = {}
    for s in ("customers", "products", "reps", "receivables", "visits"):
        r = load_window(con, s, Path(landing), START, END, Path(tmp))
        out[s] = [(e.code, e.relpath, str(e)) for e in r.errors]
    con.execute("BEGIN")  # no transaction was left open
    con.execute("COMMIT")
    return out


def test_a_file_without_read_permission_is_a_file_error(tmp_path):
    """In a child process as an unprivileged user (root reads everything): every reader names the
    file, and the connection is left usable."""
    import multiprocessing
    import os
    import shutil
    import tempfile

    case = next(c for c in CASES if c.id == "thousands_separators")
    _, landing, _ = run_case(case, tmp_path)
    write(landing / VISITS_F, jsonl(visit()).decode())
    shared = Path(tempfile.mkdtemp(prefix="dwh-perm-"))  # pytest's own temp root is private to root
    try:
        shutil.copytree(landing, shared / "landing")
        for p in [shared, *shared.rglob("*")]:
            os.chmod(p, 0o777 if p.is_dir() else 0o644)
        for rel in (RECV_F, VISITS_F):
            os.chmod(shared / "landing" / rel, 0)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            out = pool.apply(_load_as, (65534 if os.geteuid() == 0 else None, str(shared / "landing"),
                                        str(shared / "tmp")))
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert [(c, f) for c, f, _ in out["receivables"]] == [("unreadable", RECV_F)]
    assert [(c, f) for c, f, _ in out["visits"]] == [("unreadable", VISITS_F)]
    assert all("permission denied" in text for *_, text in out["receivables"] + out["visits"])


def test_late_master_data_releases_quarantined_rows(tmp_path):
    """A sale for a customer whose master row comes a day later: quarantined (blocked by the code),
    then released when the extract arrives and its day is re-run; the quarantine keeps the record."""
    case = Case("late", "sales_lines", "",
                {SALES_F: sales([GOOD, GOOD.replace("I1,1,", "I1,2,").replace("C001", "C003")]).encode()}, Quarantined([], 0))
    con, landing, results = run_case(case, tmp_path)
    assert con.execute("SELECT reason_code, blocked_by FROM raw.quarantine").fetchall() == [("unknown_customer", "C003")]
    write(landing / "master/2024/01/03/customers.csv", (CUSTOMERS2 + CUSTOMERS.splitlines()[1]
          .replace("C001,Acme", "C003,Late") + "\n").replace(",ACTIVE,2024-01-01", ",ACTIVE,2024-01-03"))
    masters = load_window(con, "customers", landing, START, END, tmp_path / "tmp")
    assert masters.releasable == {"sales_lines": [date(2024, 1, 2)]}
    again = load_window(con, "sales_lines", landing, date(2024, 1, 2), date(2024, 1, 2), tmp_path / "tmp")
    assert again.released == 1 and again.rows_loaded == 2 and again.rows_quarantined == 0
    assert con.execute("SELECT customer_code FROM raw.sales_lines ORDER BY 1").fetchall() == [("C001",), ("C003",)]
    assert con.execute("SELECT reason_code, blocked_by, released_at IS NOT NULL, released_by_load = ? "
                       "FROM raw.quarantine", [again.load_id]).fetchall() == [("unknown_customer", "C003", True, True)]
    # the release is idempotent: running the day again keeps one record and loads the same rows
    load_window(con, "sales_lines", landing, date(2024, 1, 2), date(2024, 1, 2), tmp_path / "tmp")
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert load_window(con, "customers", landing, START, END, tmp_path / "tmp").releasable == {}


def test_release_sensor_requests_the_partitions(tmp_path):
    from pipelines.ingest.assets import request_release
    from pipelines.ingest.sensors import release_requests

    request_release(tmp_path, "run1-customers", {"sales_lines": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 9)],
                                                 "stock": [date(2024, 1, 1), date(2024, 1, 8)]})
    got = release_requests(tmp_path / "state" / "releases", set())
    assert got["seen"] == ["run1-customers"]
    assert [(r["job_name"], r["start"], r["end"]) for r in got["runs"]] == [
        ("daily_pipeline", "2024-01-02", "2024-01-03"), ("daily_pipeline", "2024-01-09", "2024-01-09"),
        ("weekly_stock", "2024-01-01", "2024-01-08")]
    assert release_requests(tmp_path / "state" / "releases", {"run1-customers"})["runs"] == []
