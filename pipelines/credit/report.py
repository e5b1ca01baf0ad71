"""The credit-rating report: one XLSX workbook per quarter
(``<reports>/credit_rating/credit_rating_<YYYYQn>.xlsx``), one sheet per branch (named by its
code, the branch's name in a column and in the printed page header), customers sorted for review
(worst final grade first, then the biggest downgrade, then the lowest score; NEW customers last).

Labels in Chinese or English (``DWH_REPORT_LANGUAGE``), and so is every value a person reads: the
rating status, the change against the previous quarter, the credit action (in Chinese derived from
the limit change of rules.yml, so a company's own actions are translated too), the channel type and
each indicator's reason. Grades are numbers; amounts are labelled with the company's currency;
names beside codes (the rep's and the branch's as of the rating date, from the mart). Columns are
fitted to their content; every text cell is written as a string, never a formula
(``pipelines.reports.xlsx``).

Missing data: an INCOMPLETE rating (an indicator not available because the company does not
deliver its source) has no computed grade; its status reads "incomplete (not available: K4
receivables)", it comes after the rated customers (before NEW), and when receivables are not
delivered the on-time share and days-overdue cells say "No data delivered".

It reads ``mart_credit_rating`` in the serving database, like every other report: the Dagster
asset ``reports/credit_rating_workbook`` (``pipelines/reports/assets.py``) runs in the job
``credit_rating_quarterly`` after the rating's dbt checks passed and the serving database was
published with the quarters just rated. ``relation`` lets a caller read another copy of the mart
(``marts.mart_credit_rating`` of a warehouse file, as tests do).

No totals row: a review sheet is one row per rated customer (readers and tests count them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import xlsxwriter

from pipelines.reports.delivery import missing
from pipelines.reports.labels import (Labels, credit_action_label, enum_label, incomplete_text, labels, language,
                                      no_data_text, reason_text)
from pipelines.reports.safe import WORKBOOK_OPTIONS
from pipelines.reports.xlsx import Col, Formats, write_table


@dataclass(frozen=True)
class Column:
    sql: str          # expression over mart_credit_rating (None-safe)
    label: str        # label key
    kind: str = "text"


def columns(have: set[str]) -> list[Column]:
    """The report's columns; a name column the mart lacks (an older mart) shows the code."""
    rep = "coalesce(rep_name, rep_code)" if "rep_name" in have else "rep_code"
    branch = "coalesce(branch_name, branch_code)" if "branch_name" in have else "branch_code"
    return [
        Column("customer_code", "credit_customer_code"),
        Column("customer_name", "credit_customer_name"),
        Column(rep, "credit_rep"),
        Column("rating_status", "credit_status"),
        Column("final_grade", "credit_final_grade", "grade"),
        Column("previous_final_grade", "credit_previous_grade", "grade"),
        Column("grade_change", "credit_change"),
        Column("computed_grade", "credit_computed_grade", "grade"),
        Column("override_grade", "credit_override_grade", "grade"),
        Column("override_reason", "credit_override_reason"),
        Column("credit_score::DOUBLE", "credit_score", "score"),
        Column("k1_letter", "credit_k1"),
        Column("k2_letter", "credit_k2"),
        Column("k3_letter", "credit_k3"),
        Column("k4_letter", "credit_k4"),
        Column("o1_letter", "credit_o1"),
        Column("o2_letter", "credit_o2"),
        Column("o3_letter", "credit_o3"),
        Column("o4_letter", "credit_o4"),
        Column("o5_letter", "credit_o5"),
        Column("k2_value::DOUBLE", "credit_k2_value", "amount"),
        Column("k4_on_time_share::DOUBLE", "credit_k4_on_time", "percent"),
        Column("k4_max_days_overdue", "credit_k4_days_overdue", "int"),
        Column("current_credit_limit::DOUBLE", "credit_current_limit", "amount"),
        Column("recommended_credit_limit::DOUBLE", "credit_recommended_limit", "amount"),
        Column("credit_action", "credit_action"),
        Column("rep_code", "credit_rep_code"),
        Column(branch, "branch"),
        Column("channel_type", "credit_channel"),
        # last: the longest text
        Column("[k1_reason, k2_reason, k3_reason, k4_reason, o1_reason, o2_reason, o3_reason, o4_reason, o5_reason]",
               "credit_reasons"),
    ]


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


def _shown(row: tuple, cols: list[Column], not_available: str | None, limit_change, L: Labels,
           no_receivables: list[str]) -> tuple:
    """A mart row as the report shows it: status, change, action, channel and reasons in the report
    language, an INCOMPLETE status with what is not available, and the receivables figures replaced
    by "No data delivered" when the company has no receivables."""
    out = list(row)
    at = {c.label: i for i, c in enumerate(cols)}
    status = out[at["credit_status"]]
    out[at["credit_status"]] = (incomplete_text(L, not_available) if status == "INCOMPLETE"
                                else enum_label(L.lang, "rating_status", status))
    chg = out[at["credit_change"]]
    out[at["credit_change"]] = enum_label(L.lang, "grade_change", chg) if chg else None
    out[at["credit_action"]] = credit_action_label(L.lang, out[at["credit_action"]], limit_change) or None
    channel = out[at["credit_channel"]]
    out[at["credit_channel"]] = enum_label(L.lang, "channel_type", channel) if channel else None
    reasons = [reason_text(L.lang, r) for r in (out[at["credit_reasons"]] or []) if r]
    out[at["credit_reasons"]] = ("；" if L.lang == "zh" else "; ").join(reasons) or None
    if no_receivables:
        for key in ("credit_k4_on_time", "credit_k4_days_overdue"):
            out[at[key]] = no_data_text(L, no_receivables)
    return tuple(out)


SERVING_RELATION = "mart_credit_rating"  # the mart as the serving database holds it


def build_rating_report(con: duckdb.DuckDBPyConnection, quarter: str, out_dir: Path,
                        lang: str | None = None, relation: str = SERVING_RELATION) -> tuple[Path, dict[str, int]]:
    """Write the workbook of one quarter (``YYYYQn``) from the credit-rating mart (``relation``,
    by default the serving database's table) through ``con``; returns its path and the customers
    per branch sheet."""
    L = labels(lang or language())
    no_receivables = missing(("receivables",))
    have = {d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
    cols = columns(have)
    extra = ", ".join(["not_available" if "not_available" in have else "NULL",
                       "limit_change::DOUBLE" if "limit_change" in have else "NULL"])
    branch_name = "coalesce(branch_name, branch_code)" if "branch_name" in have else "branch_code"
    branches = dict(con.execute(
        f"SELECT coalesce(branch_code, '{UNASSIGNED}'), any_value({branch_name}) FROM {relation} "
        "WHERE rating_quarter = ? GROUP BY 1 ORDER BY 1", [quarter]).fetchall())
    select = ", ".join(c.sql for c in cols)
    table_cols = [Col(L[c.label], c.kind) for c in cols]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"credit_rating_{quarter}.xlsx"
    tmp = path.with_name(path.name + ".tmp")
    counts: dict[str, int] = {}
    book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
    book.set_properties({"title": f'{L["credit_grades"]} {quarter}'})
    formats = Formats(book)
    try:
        names = sheet_names(list(branches))
        for branch, name in branches.items():
            rows = con.execute(
                f"SELECT {select}, {extra} FROM {relation} WHERE rating_quarter = ? "
                f"AND coalesce(branch_code, '{UNASSIGNED}') = ? ORDER BY {ORDER_BY}", [quarter, branch]).fetchall()
            rows = [_shown(r[:-2], cols, r[-2], r[-1], L, no_receivables) for r in rows]
            shown = f"{name} ({branch})" if name and name != branch else branch
            write_table(book, formats, names[branch], table_cols, rows, subject=f'{shown} · {L["quarter"]} {quarter}')
            counts[branch] = len(rows)
        if not branches:
            write_table(book, formats, L["credit_no_rating"], table_cols, [])
    finally:
        book.close()
    tmp.replace(path)
    return path, counts
