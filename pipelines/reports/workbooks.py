"""XLSX workbooks per branch, from the serving database only. Every text cell that comes from
source data is neutralised against formula injection (``safe.neutralise``). A sheet whose source
the company does not deliver (company.yml) holds "No data delivered" instead of an empty table;
amounts are labelled with the company's currency; an INCOMPLETE credit rating (an indicator not
available) shows "incomplete (not available: …)" instead of a grade."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import xlsxwriter

from pipelines.reports.delivery import missing, undelivered
from pipelines.reports.labels import incomplete_text, labels, language, no_data_text
from pipelines.reports.safe import neutralise

# (sheet label key, SQL over the serving database with ? = branch code, column label keys). A sheet is
# written only when every table its SQL reads is published (SHEET_TABLES).
SHEETS: list[tuple[str, str, list[str]]] = [
    ("sheet_sales", """SELECT branch_code, strftime(month_start, '%Y-%m'), net_sales::DOUBLE, returns_amount::DOUBLE, invoice_lines,
                              buying_customers FROM mart_sales_monthly WHERE branch_code = ? ORDER BY month_start DESC""",
     ["branch", "month", "net_sales", "returns", "invoice_lines", "buying_customers"]),
    # R6, latest rated quarter: worst final grade first (INCOMPLETE without grade, then NEW, last), then
    # downgrades, then the lowest score. {incomplete} is the SQL of the text an INCOMPLETE rating shows.
    ("sheet_credit", """SELECT rating_quarter, customer_code, customer_name, rep_code,
                               coalesce(final_grade::VARCHAR, CASE WHEN rating_status = 'INCOMPLETE' THEN {incomplete} ELSE 'NEW' END),
                               grade_change, credit_score::DOUBLE, current_credit_limit::DOUBLE, recommended_credit_limit::DOUBLE,
                               credit_action
                        FROM mart_credit_rating
                        WHERE branch_code = ? AND rating_quarter = (SELECT max(rating_quarter) FROM mart_credit_rating)
                        ORDER BY final_grade DESC NULLS LAST, rating_status = 'NEW', (grade_change = 'down') DESC,
                                 credit_score NULLS LAST, customer_code""",
     ["quarter", "credit_customer_code", "credit_customer_name", "credit_rep", "credit_final_grade", "credit_change",
      "credit_score", "credit_current_limit", "credit_recommended_limit", "credit_action"]),
    # R5, latest week: low or stagnant customer x SKU rows with the suggested order; branch via the current customer version
    ("sheet_inventory_alerts", """SELECT strftime(i.week_start, '%Y-%m-%d'), i.customer_code, i.sku, i.closing_qty::DOUBLE,
                                         i.avg_daily_sell_out::DOUBLE, i.days_of_inventory::DOUBLE, i.inventory_band,
                                         i.is_stagnant, i.suggested_order_qty::DOUBLE
                                  FROM mart_inventory_days i
                                  JOIN dim_customer c ON c.customer_code = i.customer_code AND c.is_current
                                  WHERE c.branch_code = ? AND i.week_start = (SELECT max(week_start) FROM mart_inventory_days)
                                    AND (i.inventory_band = 'low' OR i.is_stagnant)
                                  ORDER BY i.is_stagnant, i.suggested_order_qty DESC, i.customer_code, i.sku""",
     ["week", "customer_code", "sku", "closing_qty", "avg_daily_sell_out", "days_of_inventory", "inventory_band",
      "is_stagnant", "suggested_order_qty"]),
    # R4, latest month, one row per rep of the branch
    ("sheet_visits", """SELECT strftime(v.month_start, '%Y-%m'), v.rep_code, r.rep_name, v.customer_visits, v.visits_a,
                               v.share_visits_a::DOUBLE, v.target_share_visits_a::DOUBLE, v.visits_per_working_day::DOUBLE,
                               v.target_visits_per_working_day_min::DOUBLE, v.target_visits_per_working_day_max::DOUBLE,
                               v.selling_time_share::DOUBLE, v.customers_under_band, v.customers_within_band, v.customers_over_band
                        FROM mart_visit_compliance v JOIN dim_rep r ON r.rep_code = v.rep_code
                        WHERE r.branch_code = ? AND v.month_start = (SELECT max(month_start) FROM mart_visit_compliance)
                        ORDER BY v.rep_code""",
     ["month", "rep", "rep_name", "customer_visits", "visits_a", "share_visits_a", "target_share_visits_a",
      "visits_per_working_day", "target_visits_min", "target_visits_max", "selling_time_share",
      "customers_under_band", "customers_within_band", "customers_over_band"]),
]
# Columns holding a share (fraction), shown as percentages.
PERCENT_LABELS = {"share_visits_a", "target_share_visits_a", "selling_time_share"}
# The sources (or source columns) a sheet is built from: not delivered, the sheet says so.
SHEET_SOURCES: dict[str, tuple[str, ...]] = {
    "sheet_sales": ("sales_lines",),
    "sheet_credit": ("sales_lines",),
    "sheet_inventory_alerts": ("stock",),
    "sheet_visits": ("visits",),
}
SHEET_TABLES: dict[str, tuple[str, ...]] = {
    "sheet_sales": ("mart_sales_monthly",),
    "sheet_credit": ("mart_credit_rating",),
    "sheet_inventory_alerts": ("mart_inventory_days", "dim_customer"),
    "sheet_visits": ("mart_visit_compliance", "dim_rep"),
}
# Where each published mart says which branch a row belongs to (directly or through a published dimension).
BRANCH_SOURCES: list[tuple[tuple[str, ...], str]] = [
    (("mart_sales_monthly",), "SELECT branch_code FROM mart_sales_monthly"),
    (("mart_credit_rating",), "SELECT branch_code FROM mart_credit_rating"),
    (("mart_inventory_days", "dim_customer"),
     "SELECT c.branch_code FROM (SELECT DISTINCT customer_code FROM mart_inventory_days) i "
     "JOIN dim_customer c ON c.customer_code = i.customer_code AND c.is_current"),
    (("mart_visit_compliance", "dim_rep"),
     "SELECT r.branch_code FROM (SELECT DISTINCT rep_code FROM mart_visit_compliance) v JOIN dim_rep r ON r.rep_code = v.rep_code"),
]


def _published(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _branches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The union of the branches present across the published marts the workbooks read."""
    have = _published(con)
    parts = [sql for tables, sql in BRANCH_SOURCES if set(tables) <= have]
    if not parts:
        return []
    union = " UNION ".join(f"({p})" for p in parts)
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT branch_code FROM ({union}) b(branch_code) WHERE branch_code IS NOT NULL ORDER BY 1").fetchall()]


def write_no_data_sheet(book: xlsxwriter.Workbook, title: str, text: str) -> None:
    """A sheet whose source the company does not deliver: the one line saying so."""
    sheet = book.add_worksheet(title[:31])
    sheet.write_string(0, 0, text, book.add_format({"italic": True, "font_color": "#64748B"}))
    sheet.set_column(0, 0, 60)


def _incomplete_sql(con: duckdb.DuckDBPyConnection, L: dict[str, str]) -> str:
    """SQL of the text an INCOMPLETE rating shows (with what is not available, when the mart says)."""
    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"
    has = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'mart_credit_rating' "
                      "AND column_name = 'not_available'").fetchall()[0][0]
    if not has:
        return lit(incomplete_text(L, None))
    before, _, after = L["credit_incomplete_because"].partition("{what}")
    return f"coalesce({lit(before)} || not_available || {lit(after)}, {lit(incomplete_text(L, None))})"


def write_sheet(book: xlsxwriter.Workbook, title: str, headers: list[str], rows: list[tuple],
                percent_columns: frozenset[int] = frozenset()) -> None:
    """One sheet: bold header, frozen and filtered; floats as #,##0.00 (0.0% in ``percent_columns``)."""
    sheet = book.add_worksheet(title[:31])
    head = book.add_format({"bold": True, "bg_color": "#E2E8F0", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    percent = book.add_format({"num_format": "0.0%"})
    sheet.write_row(0, 0, headers, head)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            value = neutralise(value)
            if isinstance(value, str):
                sheet.write_string(r, c, value)  # never interpreted as a formula or number
            elif isinstance(value, float):
                sheet.write_number(r, c, value, percent if c in percent_columns else money)
            else:
                sheet.write(r, c, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(headers) - 1, 0))
    sheet.set_column(0, len(headers) - 1, 16)


def build_branch_workbooks(serving: Path, out_dir: Path, lang: str | None = None) -> list[Path]:
    L = labels(lang or language())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    gone = undelivered()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        have = _published(con)
        lacking = {key: missing(SHEET_SOURCES[key], gone) for key, _, _ in SHEETS}
        # a sheet is written when its source is not delivered (saying so) or its tables are published
        sheets = [sh for sh in SHEETS if lacking[sh[0]] or set(SHEET_TABLES[sh[0]]) <= have]
        incomplete = _incomplete_sql(con, L) if "mart_credit_rating" in have else "NULL"
        for branch in _branches(con):
            safe_name = re.sub(r"[^A-Za-z0-9_-]", "_", branch)
            path = out_dir / f"branch_{safe_name}.xlsx"
            tmp = path.with_name(path.name + ".tmp")
            book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False})
            for title_key, sql, cols in sheets:
                if lacking[title_key]:
                    write_no_data_sheet(book, L[title_key], no_data_text(L, lacking[title_key]))
                    continue
                sql = sql.replace("{incomplete}", incomplete)
                rows = [tuple((L["yes"] if v else L["no"]) if isinstance(v, bool) else v for v in row)
                        for row in con.execute(sql, [branch]).fetchall()]
                write_sheet(book, L[title_key], [L[c] for c in cols], rows,
                            frozenset(i for i, c in enumerate(cols) if c in PERCENT_LABELS))
            book.close()
            tmp.replace(path)
            written.append(path)
    finally:
        con.close()
    return written
