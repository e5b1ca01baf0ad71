"""The offline HTML dashboard: one self-contained file (inline CSS and SVG, no CDN, no script),
built from the serving database only. Each section renders from one published table; a section
whose source the company does not deliver (company.yml) says "No data delivered" instead.
Amounts are labelled with the company's currency; INCOMPLETE credit ratings (an indicator not
available) are counted apart from the grades and say what is missing."""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from pipelines.reports.charts import (PALETTE, bar_chart, column_chart, donut_chart, line_chart, nine_box_chart,
                                      stacked_bar_chart, target_bar_chart)
from pipelines.reports.delivery import missing, undelivered
from pipelines.reports.labels import incomplete_text, labels, language, no_data_text

CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;
background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#94a3b8;font-size:13px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px;padding:20px 28px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:14px 16px}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px;color:#334155}
.chart{width:100%;height:auto}.chart-title{display:none}.axis{font-size:11px;fill:#64748b}.value{font-size:11px;fill:#334155;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.grid{stroke:#e2e8f0}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{background:#f1f5f9;border-radius:8px;padding:10px 14px;
min-width:150px}.kpi b{display:block;font-size:20px}.kpi span{font-size:12px;color:#64748b}
.sub{font-size:12px;color:#64748b;margin:-4px 0 8px}.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.inbar{font-size:10px;font-weight:600}.legend{font-size:12px;fill:#334155}.axis-title{font-size:11px;fill:#475569;font-weight:600}
.cell-code{font-size:11px;font-weight:600}.cell-count{font-size:22px;font-weight:700}.donut-total{font-size:22px;font-weight:700;fill:#0f172a}
.target-text{font-size:11px;fill:#dc2626}.no-data{color:#64748b;font-style:italic;margin:12px 0}
"""


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
                            [table, column]).fetchall()[0][0])


def _no_data(title: str, L: dict[str, str], sources: list[str], wide: bool = False) -> str:
    """A section whose source the company does not deliver."""
    cls = ' class="wide"' if wide else ""
    return (f'<section{cls} data-no-data="{escape(", ".join(sources))}"><h2>{escape(title)}</h2>'
            f'<p class="no-data">{escape(no_data_text(L, sources))}</p></section>')


def _sales_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["sales_trend"], L, lacking, wide=True)]
    if not _table_exists(con, "mart_sales_monthly"):
        return []
    rows = con.execute("""SELECT strftime(month_start, '%Y-%m') AS m, sum(net_sales)::DOUBLE, sum(returns_amount)::DOUBLE,
                                 sum(invoice_lines), sum(buying_customers)
                          FROM mart_sales_monthly GROUP BY 1 ORDER BY 1""").fetchall()
    months = [r[0] for r in rows]
    trend = line_chart(months, {L["net_sales"]: [r[1] for r in rows], L["returns"]: [r[2] for r in rows]}, L["sales_trend"])
    by_branch = con.execute("""SELECT coalesce(branch_code, '?'), sum(net_sales)::DOUBLE FROM mart_sales_monthly
                               WHERE month_start > (SELECT max(month_start) FROM mart_sales_monthly) - INTERVAL 12 MONTH
                               GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    bars = bar_chart([b for b, _ in by_branch], [v for _, v in by_branch], L["sales_by_branch"],
                     width=460, height=60 + 28 * len(by_branch))
    last = rows[-1] if rows else None
    kpis = "" if not last else (
        f'<div class="kpis"><div class="kpi"><b>{last[1]:,.0f}</b><span>{escape(L["net_sales"])} {last[0]}</span></div>'
        f'<div class="kpi"><b>{last[3]:,}</b><span>{escape(L["invoice_lines"])}</span></div>'
        f'<div class="kpi"><b>{last[4]:,}</b><span>{escape(L["buying_customers"])}</span></div></div>')
    return [f'<section class="wide"><h2>{escape(L["sales_trend"])}</h2>{kpis}{trend}</section>',
            f'<section><h2>{escape(L["sales_by_branch"])}</h2>{bars}</section>']


ABC_COLORS = ["#2563eb", "#60a5fa", "#cbd5e1"]
GRADE_COLORS = ["#15803d", "#65a30d", "#eab308", "#f97316", "#dc2626", "#94a3b8", "#cbd5e1"]
CHANGE_COLORS = {"up": "#16a34a", "same": "#94a3b8", "down": "#dc2626", "new": "#2563eb"}
BAND_COLORS = {"low": "#f59e0b", "normal": "#16a34a", "high": "#2563eb", "stagnant": "#dc2626"}


def _section(title: str, sub: str, body: str, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return (f'<section{cls}><h2>{escape(title)}</h2>'
            f'<p class="sub">{escape(sub)}</p>{body}</section>')


def _segment_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    """R1 ABC class counts by channel type and the R3 nine-box grid, at the latest month end."""
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["segments_abc"], L, lacking), _no_data(L["segments_nine_box"], L, lacking)]
    if not _table_exists(con, "mart_customer_segments"):
        return []
    last = con.execute("SELECT max(month_end) FROM mart_customer_segments").fetchall()[0][0]
    if last is None:
        return []
    rows = con.execute("""SELECT coalesce(channel_type, '?'), abc_class, count(*) FROM mart_customer_segments
                          WHERE month_end = ? GROUP BY ALL""", [last]).fetchall()
    channels = sorted({r[0] for r in rows})
    counts = {(c, a): n for c, a, n in rows}
    series = {f'{L["abc_class"]} {a}': [counts.get((c, a), 0) for c in channels] for a in "ABC"}
    abc = stacked_bar_chart(channels, series, L["segments_abc"], colors=ABC_COLORS)
    cells = dict(con.execute("""SELECT nine_box_cell, count(*) FROM mart_customer_segments
                                WHERE month_end = ? AND nine_box_cell IS NOT NULL GROUP BY 1""", [last]).fetchall())
    sub = f'{L["as_of"]} {last:%Y-%m-%d}'
    # the nine-box grid's potential axis is the declared annual turnover of the customer master
    if lacking := missing(("customers.declared_annual_turnover",), gone):
        return [_section(L["segments_abc"], sub, abc), _no_data(L["segments_nine_box"], L, lacking)]
    grid = nine_box_chart(cells, L["segments_nine_box"], L["potential_axis"], L["current_axis"],
                          {k: L[f"potential_{k}"] for k in "ABC"}, {k: L[f"current_{k}"] for k in "123"})
    return [_section(L["segments_abc"], sub, abc), _section(L["segments_nine_box"], sub, grid)]


def _credit_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    """R6 final-grade distribution (1–5, NEW, and INCOMPLETE when some rating lacks an indicator
    whose source is not delivered) and grade changes at the latest rated quarter."""
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["credit_grades"], L, lacking), _no_data(L["credit_changes"], L, lacking)]
    if not _table_exists(con, "mart_credit_rating"):
        return []
    q = con.execute("SELECT max(rating_quarter) FROM mart_credit_rating").fetchall()[0][0]
    if q is None:
        return []
    # an INCOMPLETE rating without override has no final grade: counted apart, never as NEW
    grades = dict(con.execute("""SELECT coalesce(final_grade::VARCHAR,
                                                 CASE WHEN rating_status = 'INCOMPLETE' THEN 'INCOMPLETE' ELSE 'NEW' END),
                                        count(*)
                                 FROM mart_credit_rating WHERE rating_quarter = ? GROUP BY 1""", [q]).fetchall())
    keys = ["1", "2", "3", "4", "5", "NEW"] + (["INCOMPLETE"] if grades.get("INCOMPLETE") else [])
    names = [L[f"grade_{k}"] for k in keys]
    dist = column_chart(names, [grades.get(k, 0) for k in keys], L["credit_grades"], colors=GRADE_COLORS)
    notes = ""
    if _has_column(con, "mart_credit_rating", "not_available"):
        why = [r[0] for r in con.execute("""SELECT DISTINCT not_available FROM mart_credit_rating
                                            WHERE rating_quarter = ? AND rating_status = 'INCOMPLETE'
                                              AND not_available IS NOT NULL ORDER BY 1""", [q]).fetchall()]
        notes = "".join(f'<p class="sub incomplete">{escape(incomplete_text(L, w))}</p>' for w in why)
    changes = dict(con.execute("""SELECT grade_change, count(*) FROM mart_credit_rating
                                  WHERE rating_quarter = ? GROUP BY 1""", [q]).fetchall())
    order = ["up", "same", "down", "new"]
    donut = donut_chart([L[f"credit_change_{k}"] for k in order], [changes.get(k, 0) for k in order],
                        L["credit_changes"], colors=[CHANGE_COLORS[k] for k in order], center_label=L["customers"])
    sub = f'{L["quarter"]} {q}'
    return [_section(L["credit_grades"], sub, dist + notes), _section(L["credit_changes"], sub, donut)]


def _inventory_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    """R5 inventory-day bands (low / normal / high / stagnant customer × SKU rows) at the latest week."""
    if lacking := missing(("stock",), gone):
        return [_no_data(L["inventory_bands"], L, lacking)]
    if not _table_exists(con, "mart_inventory_days"):
        return []
    week = con.execute("SELECT max(week_start) FROM mart_inventory_days").fetchall()[0][0]
    if week is None:
        return []
    bands = dict(con.execute("""SELECT CASE WHEN is_stagnant THEN 'stagnant' ELSE inventory_band END, count(*)
                                FROM mart_inventory_days WHERE week_start = ? AND inventory_band IS NOT NULL
                                GROUP BY 1""", [week]).fetchall())
    order = ["low", "normal", "high", "stagnant"]
    donut = donut_chart([L[f"band_{k}"] for k in order], [bands.get(k, 0) for k in order], L["inventory_bands"],
                        colors=[BAND_COLORS[k] for k in order], center_label=L["customer_skus"])
    return [_section(L["inventory_bands"], f'{L["week_of"]} {week:%Y-%m-%d}', donut)]


def _clv_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    """R7 predictive CLV by R1 ABC class at the latest as-of date (segment at the latest month end on or
    before it)."""
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["clv_by_segment"], L, lacking, wide=True)]
    if not (_table_exists(con, "mart_customer_lifetime_value") and _table_exists(con, "mart_customer_segments")):
        return []
    rows = con.execute("""
        WITH a AS (SELECT max(as_of_date) AS d FROM mart_customer_lifetime_value),
             m AS (SELECT max(month_end) AS me FROM mart_customer_segments, a WHERE month_end <= a.d)
        SELECT coalesce(s.abc_class, '?'), count(*), sum(v.predictive_clv)::DOUBLE, avg(v.predictive_clv)::DOUBLE, any_value(a.d)
        FROM mart_customer_lifetime_value v, a, m
        JOIN mart_customer_segments s ON s.month_end = m.me
        WHERE v.as_of_date = a.d AND s.customer_code = v.customer_code
        GROUP BY 1 ORDER BY 1""").fetchall()
    if not rows:
        return []
    labels = [f'{L["abc_class"]} {r[0]} · n={r[1]:,}' for r in rows]
    total = bar_chart(labels, [r[2] or 0 for r in rows], L["clv_total"], width=420, height=50 + 34 * len(rows), color=PALETTE[4])
    avg = bar_chart(labels, [r[3] or 0 for r in rows], L["clv_avg"], width=420, height=50 + 34 * len(rows), color=PALETTE[5])
    body = (f'<div class="pair"><div><p class="sub">{escape(L["clv_total"])}</p>{total}</div>'
            f'<div><p class="sub">{escape(L["clv_avg"])}</p>{avg}</div></div>')
    return [_section(L["clv_by_segment"], f'{L["as_of"]} {rows[0][4]:%Y-%m-%d}', body, wide=True)]


def _visit_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str], gone: frozenset[str]) -> list[str]:
    """R4 per rep at the latest month: share of visits to A customers and visits per working day, against targets."""
    if lacking := missing(("visits",), gone):
        return [_no_data(L["visit_compliance"], L, lacking, wide=True)]
    if not _table_exists(con, "mart_visit_compliance"):
        return []
    month = con.execute("SELECT max(month_start) FROM mart_visit_compliance").fetchall()[0][0]
    if month is None:
        return []
    rows = con.execute("""SELECT rep_code, share_visits_a::DOUBLE, target_share_visits_a::DOUBLE, visits_per_working_day::DOUBLE,
                                 target_visits_per_working_day_min::DOUBLE, target_visits_per_working_day_max::DOUBLE
                          FROM mart_visit_compliance WHERE month_start = ? ORDER BY rep_code""", [month]).fetchall()
    if not rows:
        return []
    reps = [r[0] for r in rows]
    def first(i):
        return next((r[i] for r in rows if r[i] is not None), None)
    share = target_bar_chart(reps, [r[1] for r in rows], L["visits_share_a"], first(2), value_fmt=lambda v: f"{v:.0%}",
                             target_label=L["target"])
    per_day = target_bar_chart(reps, [r[3] for r in rows], L["visits_per_day"], first(4), first(5),
                               value_fmt=lambda v: f"{v:,.2f}", target_label=L["target"])
    body = (f'<div class="pair"><div><p class="sub">{escape(L["visits_share_a"])}</p>{share}</div>'
            f'<div><p class="sub">{escape(L["visits_per_day"])}</p>{per_day}</div></div>')
    return [_section(L["visit_compliance"], f'{L["month"]} {month:%Y-%m}', body, wide=True)]


SECTIONS = [_sales_sections, _segment_sections, _credit_sections, _inventory_sections, _clv_sections, _visit_sections]


def build_dashboard(serving: Path, out: Path, lang: str | None = None) -> Path:
    """Render the dashboard from the serving database into ``out`` (written aside, then swapped)."""
    lang = lang or language()
    L = labels(lang)
    gone = undelivered()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        pub = con.execute("SELECT publish_id, published_at, source_run_id FROM _publish").fetchall()
        body = [s for section in SECTIONS for s in section(con, L, gone)]
    finally:
        con.close()
    published = f'{escape(L["published"])} {pub[0][1]:%Y-%m-%d %H:%M} UTC · {escape(L["source_run"])} {escape(pub[0][2][:8])}' \
        if pub else escape(L["no_data"])
    html = (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}">'
            f'<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(L["dashboard_title"])}</title><style>{CSS}</style></head><body>'
            f'<header><h1>{escape(L["dashboard_title"])}</h1><p>{published}</p></header>'
            f'<main>{"".join(body) or "<section>" + escape(L["no_data"]) + "</section>"}</main></body></html>')
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
