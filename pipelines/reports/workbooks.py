"""XLSX workbooks per branch, from the serving database only. Every text cell that comes from
source data is neutralised against formula injection (``safe.neutralise``)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import xlsxwriter

from pipelines.reports.labels import labels, language
from pipelines.reports.safe import neutralise

# (sheet label key, SQL over the serving database with ? = branch code, column label keys)
SHEETS: list[tuple[str, str, list[str]]] = [
    ("sheet_sales", """SELECT branch_code, strftime(month_start, '%Y-%m'), net_sales::DOUBLE, returns_amount::DOUBLE, invoice_lines,
                              buying_customers FROM mart_sales_monthly WHERE branch_code = ? ORDER BY month_start DESC""",
     ["branch", "month", "net_sales", "returns", "invoice_lines", "buying_customers"]),
]


def _branches(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT branch_code FROM mart_sales_monthly WHERE branch_code IS NOT NULL ORDER BY 1").fetchall()]


def write_sheet(book: xlsxwriter.Workbook, title: str, headers: list[str], rows: list[tuple]) -> None:
    sheet = book.add_worksheet(title[:31])
    head = book.add_format({"bold": True, "bg_color": "#E2E8F0", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, headers, head)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            value = neutralise(value)
            if isinstance(value, str):
                sheet.write_string(r, c, value)  # never interpreted as a formula or number
            elif isinstance(value, float):
                sheet.write_number(r, c, value, money)
            else:
                sheet.write(r, c, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(headers) - 1, 0))
    sheet.set_column(0, len(headers) - 1, 16)


def build_branch_workbooks(serving: Path, out_dir: Path, lang: str | None = None) -> list[Path]:
    L = labels(lang or language())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for branch in _branches(con):
            safe_name = re.sub(r"[^A-Za-z0-9_-]", "_", branch)
            path = out_dir / f"branch_{safe_name}.xlsx"
            tmp = path.with_name(path.name + ".tmp")
            book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False})
            for title_key, sql, cols in SHEETS:
                write_sheet(book, L[title_key], [L[c] for c in cols], con.execute(sql, [branch]).fetchall())
            book.close()
            tmp.replace(path)
            written.append(path)
    finally:
        con.close()
    return written
