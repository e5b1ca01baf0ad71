"""XLSX workbooks per branch, from the serving database only, as a person reads them:

* names beside codes (customer, product, rep and branch names come from the marts: see their
  descriptions for "as of" which date), and every value of an enumeration (bands, changes,
  statuses, credit actions) in the report language;
* quantities and counts in whole units — the suggested order is ``suggested_order_units`` of
  mart_inventory_days, the exact R5 quantity rounded up (a serving database published before
  that column existed gets the same rounding here); amounts with two decimals; shares as
  percentages; credit grades as numbers;
* a totals row under each table (sums; shares pooled over the rows, not averaged), the net sales
  of the same month a year before and the change against it;
* columns as wide as their content; every text cell from source data written as a string, never a
  formula (``safe.py``).

A sheet whose source the company does not deliver (company.yml) holds "No data delivered" instead
of an empty table; amounts are labelled with the company's currency; an INCOMPLETE credit rating (an
indicator not available) shows "incomplete (not available: …)" instead of a grade."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import xlsxwriter

from pipelines.reports.delivery import missing, undelivered
from pipelines.reports.labels import (Labels, credit_action_label, enum_label, incomplete_text, labels, language,
                                      no_data_text)
from pipelines.reports.safe import WORKBOOK_OPTIONS
from pipelines.reports.xlsx import Col, Formats, write_note_sheet, write_table


def _published(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}


def _or_code(cols: set[str], alias: str, name: str, code: str) -> str:
    """SQL of a row's name: the mart's name column (its code when the name is empty or the column
    is missing, e.g. a serving database published before names were added)."""
    return f"coalesce({alias}.{name}, {alias}.{code})" if name in cols else f"{alias}.{code}"


def _sum(rows: list[tuple], i: int) -> float | None:
    values = [r[i] for r in rows if r[i] is not None and not isinstance(r[i], str)]
    return sum(values) if values else None


def _pooled(rows: list[tuple], num: int, den: int) -> float | None:
    """sum(num) / sum(den) over the rows having both (a share of the total, not a mean of shares)."""
    both = [(r[num], r[den]) for r in rows if r[num] is not None and r[den] is not None]
    d = sum(b for _, b in both)
    return sum(a for a, _ in both) / d if d else None


@dataclass(frozen=True)
class Sheet:
    key: str                      # label key of the sheet title
    sources: tuple[str, ...]      # sources (or source columns) it is built from
    tables: tuple[str, ...]       # published tables its SQL reads
    columns: Callable[[Labels], list[Col]]
    sql: Callable[[duckdb.DuckDBPyConnection], str]   # ? = the branch code
    shown: Callable[[tuple, Labels], tuple]            # a fetched row as written
    totals: Callable[[list[tuple], Labels], tuple]


# ---- Sales by month ------------------------------------------------------------------------------

def _sales_sql(con) -> str:
    cols = _columns(con, "mart_sales_monthly")
    margin = "m.margin_amount::DOUBLE" if "margin_amount" in cols else "NULL::DOUBLE"
    return f"""SELECT m.branch_code, {_or_code(cols, 'm', 'branch_name', 'branch_code')}, strftime(m.month_start, '%Y-%m'),
                      m.net_sales::DOUBLE, ly.net_sales::DOUBLE,
                      CASE WHEN ly.net_sales > 0 THEN (m.net_sales / ly.net_sales - 1)::DOUBLE END,
                      m.returns_amount::DOUBLE, {margin}, m.invoice_lines, m.buying_customers
               FROM mart_sales_monthly m
               LEFT JOIN mart_sales_monthly ly
                 ON ly.branch_code = m.branch_code AND ly.month_start = CAST(m.month_start - INTERVAL 12 MONTH AS DATE)
               WHERE m.branch_code = ? ORDER BY m.month_start DESC"""


def _sales_totals(rows: list[tuple], L: Labels) -> tuple:
    with_ly = [r for r in rows if r[4] is not None]
    change = (sum(r[3] for r in with_ly) / sum(r[4] for r in with_ly) - 1) if with_ly and sum(r[4] for r in with_ly) > 0 else None
    return (L["total"], None, None, _sum(rows, 3), _sum(rows, 4), change, _sum(rows, 6), _sum(rows, 7), _sum(rows, 8), None)


SALES = Sheet(
    "sheet_sales", ("sales_lines",), ("mart_sales_monthly",),
    lambda L: [Col(L["branch_code"]), Col(L["branch_name"]), Col(L["month"]), Col(L["net_sales"], "amount"),
               Col(L["net_sales_last_year"], "amount"), Col(L["change_vs_last_year"], "percent"),
               Col(L["returns"], "amount"), Col(L["margin"], "amount"), Col(L["invoice_lines"], "int"),
               Col(L["buying_customers"], "int")],
    _sales_sql, lambda row, L: row, _sales_totals)


# ---- Credit list (R6, latest rated quarter) --------------------------------------------------------

def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _credit_sql(con) -> str:
    cols = _columns(con, "mart_credit_rating")
    not_available = "not_available" if "not_available" in cols else "NULL"
    limit_change = "limit_change::DOUBLE" if "limit_change" in cols else "NULL::DOUBLE"
    rep = _or_code(cols, "r", "rep_name", "rep_code")
    # worst final grade first (INCOMPLETE without grade, then NEW, last), then downgrades, then the
    # lowest score
    return f"""SELECT rating_quarter, customer_code, customer_name, {rep}, final_grade, rating_status, {not_available},
                      grade_change, credit_score::DOUBLE, current_credit_limit::DOUBLE, recommended_credit_limit::DOUBLE,
                      credit_action, {limit_change}
               FROM mart_credit_rating r
               WHERE branch_code = ? AND rating_quarter = (SELECT max(rating_quarter) FROM mart_credit_rating)
               ORDER BY final_grade DESC NULLS LAST, rating_status = 'NEW', (grade_change = 'down') DESC,
                        credit_score NULLS LAST, customer_code"""


def _credit_shown(row: tuple, L: Labels) -> tuple:
    quarter, code, name, rep, grade, status, not_available, chg, score, limit, recommended, action, limit_change = row
    status_text = incomplete_text(L, not_available) if status == "INCOMPLETE" else enum_label(L.lang, "rating_status", status)
    return (quarter, code, name, rep, grade, status_text, enum_label(L.lang, "grade_change", chg) if chg else None,
            score, limit, recommended, credit_action_label(L.lang, action, limit_change))


CREDIT = Sheet(
    "sheet_credit", ("sales_lines",), ("mart_credit_rating",),
    lambda L: [Col(L["quarter"]), Col(L["credit_customer_code"]), Col(L["credit_customer_name"]), Col(L["credit_rep"]),
               Col(L["credit_final_grade"], "grade"), Col(L["credit_status"]), Col(L["credit_change"]),
               Col(L["credit_score"], "score"), Col(L["credit_current_limit"], "amount"),
               Col(L["credit_recommended_limit"], "amount"), Col(L["credit_action"])],
    _credit_sql, _credit_shown,
    lambda rows, L: (L["total"], None, L["n_customers"].format(n=len(rows)), None, None, None, None, None,
                     _sum(rows, 8), _sum(rows, 9), None))


# ---- Inventory alerts (R5, latest week: low or stagnant stock, with the order to place) ------------

def _inventory_sql(con) -> str:
    cols = _columns(con, "mart_inventory_days")
    units = "i.suggested_order_units" if "suggested_order_units" in cols else "CAST(ceil(i.suggested_order_qty) AS BIGINT)"
    # the branch of the customer's current version
    return f"""SELECT strftime(i.week_start, '%Y-%m-%d'), i.customer_code,
                      {'coalesce(i.customer_name, c.customer_name, i.customer_code)' if 'customer_name' in cols else 'coalesce(c.customer_name, i.customer_code)'},
                      i.sku, {_or_code(cols, 'i', 'product_name', 'sku')}, i.closing_qty::DOUBLE,
                      i.avg_daily_sell_out::DOUBLE, i.days_of_inventory::DOUBLE, i.inventory_band, i.is_stagnant, {units}
               FROM mart_inventory_days i
               JOIN dim_customer c ON c.customer_code = i.customer_code AND c.is_current
               WHERE c.branch_code = ? AND i.week_start = (SELECT max(week_start) FROM mart_inventory_days)
                 AND (i.inventory_band = 'low' OR i.is_stagnant)
               ORDER BY i.is_stagnant, {units} DESC, i.customer_code, i.sku"""


def _inventory_shown(row: tuple, L: Labels) -> tuple:
    *head, band, stagnant, units = row
    return (*head, enum_label(L.lang, "inventory_band", band) if band else None, L["yes"] if stagnant else L["no"], units)


INVENTORY = Sheet(
    "sheet_inventory_alerts", ("stock",), ("mart_inventory_days", "dim_customer"),
    lambda L: [Col(L["week"]), Col(L["customer_code"]), Col(L["customer_name"]), Col(L["sku"]), Col(L["product_name"]),
               Col(L["closing_qty"], "qty"), Col(L["avg_daily_sell_out"], "decimal"), Col(L["days_of_inventory"], "days"),
               Col(L["inventory_band"]), Col(L["is_stagnant"]), Col(L["suggested_order_units"], "qty")],
    _inventory_sql, _inventory_shown,
    lambda rows, L: (L["total"], None, None, None, None, _sum(rows, 5), None, None, None, None, _sum(rows, 10)))


# ---- Visit compliance (R4, latest month, one row per rep of the branch) ----------------------------

def _visits_sql(con) -> str:
    cols = _columns(con, "mart_visit_compliance")
    name = "coalesce(v.rep_name, r.rep_name, v.rep_code)" if "rep_name" in cols else "coalesce(r.rep_name, v.rep_code)"
    return f"""SELECT strftime(v.month_start, '%Y-%m'), v.rep_code, {name}, v.customer_visits, v.visits_a,
                      v.share_visits_a::DOUBLE, v.target_share_visits_a::DOUBLE, v.visits_per_working_day::DOUBLE,
                      v.target_visits_per_working_day_min::DOUBLE, v.target_visits_per_working_day_max::DOUBLE,
                      v.selling_time_share::DOUBLE, v.customers_under_band, v.customers_within_band, v.customers_over_band
               FROM mart_visit_compliance v JOIN dim_rep r ON r.rep_code = v.rep_code
               WHERE r.branch_code = ? AND v.month_start = (SELECT max(month_start) FROM mart_visit_compliance)
               ORDER BY {name}, v.rep_code"""


VISITS = Sheet(
    "sheet_visits", ("visits",), ("mart_visit_compliance", "dim_rep"),
    lambda L: [Col(L["month"]), Col(L["rep_code"]), Col(L["rep"]), Col(L["customer_visits"], "int"),
               Col(L["visits_a"], "int"), Col(L["share_visits_a"], "percent"), Col(L["target_share_visits_a"], "percent"),
               Col(L["visits_per_working_day"], "decimal"), Col(L["target_visits_min"], "decimal"),
               Col(L["target_visits_max"], "decimal"), Col(L["selling_time_share"], "percent"),
               Col(L["customers_under_band"], "int"), Col(L["customers_within_band"], "int"),
               Col(L["customers_over_band"], "int")],
    _visits_sql, lambda row, L: row,
    # the branch's reps together: visits summed, the A share pooled, visits per working day of the team
    lambda rows, L: (L["total"], None, None, _sum(rows, 3), _sum(rows, 4), _pooled(rows, 4, 3), None, _sum(rows, 7),
                     None, None, None, _sum(rows, 11), _sum(rows, 12), _sum(rows, 13)))

SHEETS: list[Sheet] = [SALES, CREDIT, INVENTORY, VISITS]

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


def _branches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The union of the branches present across the published marts the workbooks read."""
    have = _published(con)
    parts = [sql for tables, sql in BRANCH_SOURCES if set(tables) <= have]
    if not parts:
        return []
    union = " UNION ".join(f"({p})" for p in parts)
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT branch_code FROM ({union}) b(branch_code) WHERE branch_code IS NOT NULL ORDER BY 1").fetchall()]


def branch_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Branch code -> name: the organisation master's current name (dim_branch: the territory row
    last seen), else the name the sales mart carries."""
    have = _published(con)
    if "dim_branch" in have:
        return dict(con.execute("""SELECT branch_code, arg_max(branch_name, coalesce(last_seen_date, DATE '1900-01-01'))
                                   FROM dim_branch WHERE branch_name IS NOT NULL GROUP BY 1""").fetchall())
    if "mart_sales_monthly" in have and "branch_name" in _columns(con, "mart_sales_monthly"):
        return dict(con.execute("SELECT branch_code, any_value(branch_name) FROM mart_sales_monthly "
                                "WHERE branch_name IS NOT NULL GROUP BY 1").fetchall())
    return {}


def build_branch_workbooks(serving: Path, out_dir: Path, lang: str | None = None) -> list[Path]:
    L = labels(lang or language())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    gone = undelivered()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        have = _published(con)
        lacking = {sh.key: missing(sh.sources, gone) for sh in SHEETS}
        # a sheet is written when its source is not delivered (saying so) or its tables are published
        sheets = [sh for sh in SHEETS if lacking[sh.key] or set(sh.tables) <= have]
        sql = {sh.key: sh.sql(con) for sh in sheets if not lacking[sh.key]}
        names = branch_names(con)
        for branch in _branches(con):
            safe_name = re.sub(r"[^A-Za-z0-9_-]", "_", branch)
            path = out_dir / f"branch_{safe_name}.xlsx"
            tmp = path.with_name(path.name + ".tmp")
            book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
            shown_name = f"{names[branch]} ({branch})" if names.get(branch) else branch
            book.set_properties({"title": shown_name, "subject": L["dashboard_title"]})
            formats = Formats(book)
            for sh in sheets:
                if lacking[sh.key]:
                    write_note_sheet(book, formats, L[sh.key], no_data_text(L, lacking[sh.key]))
                    continue
                rows = [sh.shown(row, L) for row in con.execute(sql[sh.key], [branch]).fetchall()]
                write_table(book, formats, L[sh.key], sh.columns(L), rows, sh.totals(rows, L) if rows else None,
                            subject=f"{shown_name} · {L[sh.key]}")
            book.close()
            tmp.replace(path)
            written.append(path)
    finally:
        con.close()
    return written
