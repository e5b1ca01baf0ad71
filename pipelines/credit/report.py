"""The credit-rating report: one XLSX workbook per quarter
(``<reports>/credit_rating/credit_rating_<YYYYQn>.xlsx``), one sheet per branch, customers sorted
for review (worst final grade first, then the biggest downgrade, then the lowest score; NEW
customers last). Labels in Chinese or English (``DWH_REPORT_LANGUAGE``), amounts labelled with
the company's currency; every text cell is neutralised against formula injection by ``write_sheet``.

Missing data: an INCOMPLETE rating (an indicator not available because the company does not
deliver its source) has no computed grade; its status reads "incomplete (not available: K4
receivables)", it comes after the rated customers (before NEW), and when receivables are not
delivered the on-time share and days-overdue cells say "No data delivered".

It reads ``mart_credit_rating`` in the serving database, like every other report: the Dagster
asset ``reports/credit_rating_workbook`` (``pipelines/reports/assets.py``) runs in the job
``credit_rating_quarterly`` after the rating's dbt checks passed and the serving database was
published with the quarters just rated. ``relation`` lets a caller read another copy of the mart
(``marts.mart_credit_rating`` of a warehouse file, as tests do).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import xlsxwriter

from pipelines.reports.delivery import missing
from pipelines.reports.labels import incomplete_text, labels, language, no_data_text
from pipelines.reports.workbooks import write_sheet

# (column of mart_credit_rating, label key)
COLUMNS: list[tuple[str, str]] = [
    ("customer_code", "credit_customer_code"),
    ("customer_name", "credit_customer_name"),
    ("rep_code", "credit_rep"),
    ("rating_status", "credit_status"),
    ("final_grade", "credit_final_grade"),
    ("previous_final_grade", "credit_previous_grade"),
    ("grade_change", "credit_change"),
    ("computed_grade", "credit_computed_grade"),
    ("override_grade", "credit_override_grade"),
    ("override_reason", "credit_override_reason"),
    ("credit_score::DOUBLE", "credit_score"),
    ("k1_letter", "credit_k1"),
    ("k2_letter", "credit_k2"),
    ("k3_letter", "credit_k3"),
    ("k4_letter", "credit_k4"),
    ("o1_letter", "credit_o1"),
    ("o2_letter", "credit_o2"),
    ("o3_letter", "credit_o3"),
    ("o4_letter", "credit_o4"),
    ("o5_letter", "credit_o5"),
    ("k2_value::DOUBLE", "credit_k2_value"),
    ("k4_on_time_share::DOUBLE", "credit_k4_on_time"),
    ("k4_max_days_overdue", "credit_k4_days_overdue"),
    ("current_credit_limit::DOUBLE", "credit_current_limit"),
    ("recommended_credit_limit::DOUBLE", "credit_recommended_limit"),
    ("credit_action", "credit_action"),
    ("k1_reason || '; ' || k2_reason || '; ' || k3_reason || '; ' || k4_reason || '; ' || o1_reason || '; ' "
     "|| o2_reason || '; ' || o3_reason || '; ' || o4_reason || '; ' || o5_reason", "credit_reasons"),
]

# Columns shown per status (indexes into COLUMNS) and the receivables columns (K4 figures).
STATUS = [c for c, _ in COLUMNS].index("rating_status")
CHANGE = [c for c, _ in COLUMNS].index("grade_change")
RECEIVABLES = frozenset(i for i, (c, _) in enumerate(COLUMNS)
                        if c.startswith(("k4_on_time_share", "k4_max_days_overdue")))

# Review order: rated first, then incomplete, then NEW; worst final grade, biggest downgrade,
# lowest score, code.
ORDER_BY = """CASE rating_status WHEN 'RATED' THEN 0 WHEN 'INCOMPLETE' THEN 1 ELSE 2 END, final_grade DESC NULLS LAST,
              coalesce(final_grade - previous_final_grade, 0) DESC, credit_score NULLS LAST, customer_code"""

UNASSIGNED = "UNASSIGNED"


def sheet_names(branches: list[str]) -> dict[str, str]:
    """A valid, unique worksheet name (≤ 31 chars, no []:*?/\\) per branch code."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for b in branches:
        name = re.sub(r"[\[\]:*?/\\]", "_", b)[:31] or "_"
        base, n = name, 1
        while name.lower() in used:
            n += 1
            name = f"{base[:28]}~{n}"
        used.add(name.lower())
        out[b] = name
    return out


def _shown(row: tuple, not_available: str | None, L: dict[str, str], no_receivables: list[str]) -> tuple:
    """A mart row as the report shows it: the change in words, an INCOMPLETE status with what
    is not available, and the receivables figures replaced by "No data delivered" when the
    company has no receivables."""
    out = list(row)
    out[CHANGE] = L.get(f"credit_change_{out[CHANGE]}", out[CHANGE])
    if out[STATUS] == "INCOMPLETE":
        out[STATUS] = incomplete_text(L, not_available)
    if no_receivables:
        for i in RECEIVABLES:
            out[i] = no_data_text(L, no_receivables)
    return tuple(out)


SERVING_RELATION = "mart_credit_rating"  # the mart as the serving database holds it


def build_rating_report(con: duckdb.DuckDBPyConnection, quarter: str, out_dir: Path,
                        lang: str | None = None, relation: str = SERVING_RELATION) -> tuple[Path, dict[str, int]]:
    """Write the workbook of one quarter (``YYYYQn``) from the credit-rating mart (``relation``,
    by default the serving database's table) through ``con``; returns its path and the customers
    per branch sheet."""
    L = labels(lang or language())
    no_receivables = missing(("receivables",))
    columns = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    not_available = "not_available" if "not_available" in columns else "NULL"
    branches = [r[0] for r in con.execute(
        f"SELECT DISTINCT coalesce(branch_code, '{UNASSIGNED}') FROM {relation} "
        "WHERE rating_quarter = ? ORDER BY 1", [quarter]).fetchall()]
    select = ", ".join(c for c, _ in COLUMNS)
    headers = [L[k] for _, k in COLUMNS]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"credit_rating_{quarter}.xlsx"
    tmp = path.with_name(path.name + ".tmp")
    counts: dict[str, int] = {}
    book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False})
    try:
        names = sheet_names(branches)
        for branch in branches:
            rows = con.execute(
                f"SELECT {select}, {not_available} FROM {relation} WHERE rating_quarter = ? "
                f"AND coalesce(branch_code, '{UNASSIGNED}') = ? ORDER BY {ORDER_BY}", [quarter, branch]).fetchall()
            rows = [_shown(r[:-1], r[-1], L, no_receivables) for r in rows]
            write_sheet(book, names[branch], headers, rows)
            counts[branch] = len(rows)
        if not branches:
            write_sheet(book, L["credit_no_rating"], headers, [])
    finally:
        book.close()
    tmp.replace(path)
    return path, counts
