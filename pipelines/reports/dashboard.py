"""The offline HTML dashboard: one self-contained file (inline CSS and SVG, no CDN, no script),
built from the serving database only and rendered by an autoescaping Jinja2 template
(``templates.py``): names from source data are shown as text, never interpreted as markup.

What a reader sees: names, not codes (branches, reps; channel types, bands, changes and
strategies in the report language); amounts in the language's units (1.18亿 / 118.2M, exact
figures in tooltips); the key figures of the latest month with their change against the previous
month and the same month a year before (a month still running is compared over the same days);
the publish time in the company's time zone; the CLV section stating its horizon and discount
rate (rules.yml r7_clv). Each section renders from one published table; a section whose source
the company does not deliver (company.yml) says "No data delivered" instead. INCOMPLETE credit
ratings (an indicator not available) are counted apart from the grades and say what is missing."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from pathlib import Path

import duckdb
from markupsafe import Markup

from pipelines.reports.charts import (PALETTE, bar_chart, column_chart, donut_chart, line_chart, nine_box_chart,
                                      stacked_bar_chart, target_bar_chart)
from pipelines.reports.delivery import missing, undelivered
from pipelines.reports.fmt import (amount_text, change, change_text, count_text, exact_amount, month_text,
                                   rate_text, time_text)
from pipelines.reports.labels import (Labels, enum_label, incomplete_text, labels, language, no_data_text,
                                      strategy_label)
from pipelines.reports.templates import render_dashboard

CSS = Markup("""
body{font-family:-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;
background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#94a3b8;font-size:13px}header p.company{color:#cbd5e1}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px;padding:20px 28px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:14px 16px}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px;color:#334155}
.chart{width:100%;height:auto}.chart-title{display:none}.axis{font-size:11px;fill:#64748b}.value{font-size:11px;fill:#334155;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.grid{stroke:#e2e8f0}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{background:#f1f5f9;border-radius:8px;padding:10px 14px;
min-width:170px;display:flex;flex-direction:column;gap:2px}.kpi b{display:block;font-size:22px}.kpi-label{font-size:12px;color:#475569}
.kpi-change{font-size:12px;color:#64748b}.kpi-change.up{color:#15803d}.kpi-change.down{color:#b91c1c}.kpi-change small{color:#64748b}
.sub{font-size:12px;color:#64748b;margin:-4px 0 8px}.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.inbar{font-size:10px;font-weight:600}.legend{font-size:12px;fill:#334155}.axis-title{font-size:11px;fill:#475569;font-weight:600}
.cell-code{font-size:11px;font-weight:600}.cell-count{font-size:22px;font-weight:700}.donut-total{font-size:22px;font-weight:700;fill:#0f172a}
.target-text{font-size:11px;fill:#dc2626}.no-data{color:#64748b;font-style:italic;margin:12px 0}
table.strategies{border-collapse:collapse;font-size:12px;width:100%;margin-top:8px}
table.strategies th,table.strategies td{border-bottom:1px solid #e2e8f0;padding:3px 6px;text-align:left;vertical-align:top}
table.strategies th{color:#475569;font-weight:600}
""")


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
                            [table, column]).fetchall()[0][0])


def _name(con: duckdb.DuckDBPyConnection, table: str, name_col: str, code_col: str) -> str:
    """SQL of the name a row shows: its name column, else (no name: an old publish, a blank
    master field) its code."""
    return f"coalesce({name_col}, {code_col})" if _has_column(con, table, name_col) else code_col


def section(title: str, *, subs: list[str] = (), blocks: list[dict] = (), wide: bool = False,
            no_data: str | None = None) -> dict:
    return {"title": title, "subs": list(subs), "blocks": list(blocks), "wide": wide, "no_data": no_data}


def chart(svg: Markup) -> dict:
    return {"kind": "chart", "svg": svg}


def note(text: str, cls: str = "sub") -> dict:
    return {"kind": "note", "text": text, "cls": cls}


def _no_data(title: str, L: Labels, sources: list[str], wide: bool = False) -> dict:
    """A section whose source the company does not deliver."""
    return section(title, blocks=[note(no_data_text(L, sources), "no-data")], wide=wide, no_data=", ".join(sources))


def _amounts(L: Labels):
    """(compact, exact) formatters of amounts in the report language."""
    return (lambda v: amount_text(v, L.lang)), (lambda v: exact_amount(v))


# ---- key figures: the latest month against the previous month and the same month last year -------

def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1)


def _month_window(start: date, days: int) -> tuple[date, date]:
    """The first ``days`` days of the month starting at ``start`` (at most the whole month)."""
    length = monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=min(days, length) - 1)


def _kpi_section(con: duckdb.DuckDBPyConnection, L: Labels) -> list[dict]:
    if not _table_exists(con, "mart_sales_monthly"):
        return []
    month = con.execute("SELECT max(month_start) FROM mart_sales_monthly").fetchall()[0][0]
    if month is None:
        return []
    margin = _has_column(con, "mart_sales_monthly", "margin_amount")
    months = [month, _add_months(month, -1), _add_months(month, -12)]
    month_len = monthrange(month.year, month.month)[1]
    last_day = None
    if _table_exists(con, "fct_sales_lines"):
        last_day = con.execute("SELECT max(invoice_date) FROM fct_sales_lines").fetchall()[0][0]
    if last_day is not None and month <= last_day:
        # exact figures from the invoice lines, over the same days of each month (a month still
        # running is compared with the same number of days of the months it is compared with)
        days = min((last_day - month).days + 1, month_len)
        figures = []
        for start in months:
            lo, hi = _month_window(start, days)
            figures.append(con.execute(
                """SELECT sum(net_amount)::DOUBLE, sum(margin_amount)::DOUBLE, count(*), count(DISTINCT customer_code)
                   FROM fct_sales_lines WHERE invoice_date BETWEEN ? AND ?""", [lo, hi]).fetchall()[0])
        partial = days < month_len
        basis = (L["kpi_month_to_date"].format(start=f"{month:%Y-%m-%d}", end=f"{_month_window(month, days)[1]:%Y-%m-%d}")
                 if partial else L["kpi_full_month"])
    else:
        marks = ", ".join("?" for _ in months)
        rows = dict((r[0], r[1:]) for r in con.execute(
            f"""SELECT month_start, sum(net_sales)::DOUBLE, {'sum(margin_amount)::DOUBLE' if margin else 'NULL'},
                       sum(invoice_lines), sum(buying_customers)
                FROM mart_sales_monthly WHERE month_start IN ({marks}) GROUP BY 1""", months).fetchall())
        figures = [rows.get(m, (None, None, None, None)) for m in months]
        basis = L["kpi_full_month"]
    compact, exact = _amounts(L)
    cur, prev, ly = figures
    items = []
    for i, (label, is_amount) in enumerate([(L["net_sales"], True), (L["margin"], True),
                                            (L["invoice_lines"], False), (L["buying_customers"], False)]):
        if i == 1 and not margin and cur[1] is None:
            continue
        v = cur[i]
        changes = []
        for against, key in ((prev, "vs_previous_month"), (ly, "vs_last_year")):
            rel = change(v, against[i] if against[i] else None)
            base = against[i]
            changes.append({"text": change_text(rel), "label": L[key],
                            "direction": "" if rel is None else ("up" if rel >= 0 else "down"),
                            "title": L["no_comparison"] if rel is None else
                            (exact(base) if is_amount else count_text(base))})
        items.append({"label": label, "value": compact(v) if is_amount else count_text(v),
                      "exact": exact(v) if is_amount else count_text(v), "changes": changes})
    return [section(L["kpi_title"].format(month=month_text(month, L.lang)), subs=[basis],
                    blocks=[{"kind": "kpis", "items": items}], wide=True)]


def _sales_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["sales_trend"], L, lacking, wide=True)]
    if not _table_exists(con, "mart_sales_monthly"):
        return []
    compact, exact = _amounts(L)
    rows = con.execute("""SELECT strftime(month_start, '%Y-%m') AS m, sum(net_sales)::DOUBLE, sum(returns_amount)::DOUBLE
                          FROM mart_sales_monthly GROUP BY 1 ORDER BY 1""").fetchall()
    months = [r[0] for r in rows]
    trend = line_chart(months, {L["net_sales"]: [r[1] for r in rows], L["returns"]: [r[2] for r in rows]},
                       L["sales_trend"], value_fmt=compact)
    name = _name(con, "mart_sales_monthly", "branch_name", "branch_code")
    by_branch = con.execute(f"""SELECT branch_code, any_value({name}), sum(net_sales)::DOUBLE FROM mart_sales_monthly
                               WHERE month_start > (SELECT max(month_start) FROM mart_sales_monthly) - INTERVAL 12 MONTH
                               GROUP BY 1 ORDER BY 3 DESC, 1""").fetchall()
    shown = [n if n is not None else L["no_branch"] for _, n, _ in by_branch]
    bars = bar_chart(shown, [v for _, _, v in by_branch], L["sales_by_branch"], width=460,
                     height=60 + 28 * len(by_branch), value_fmt=compact, exact_fmt=exact,
                     tooltips=[f"{n} ({c})" if c else n for (c, _, _), n in zip(by_branch, shown)])
    subs = []
    last_day = (con.execute("SELECT max(invoice_date) FROM fct_sales_lines").fetchall()[0][0]
                if _table_exists(con, "fct_sales_lines") else None)
    if rows and last_day is not None and f"{last_day:%Y-%m}" == rows[-1][0] and \
            last_day.day < monthrange(last_day.year, last_day.month)[1]:
        subs.append(L["month_to_date_note"].format(month=rows[-1][0], date=f"{last_day:%Y-%m-%d}"))
    return _kpi_section(con, L) + [section(L["sales_trend"], subs=subs, blocks=[chart(trend)], wide=True),
                                   section(L["sales_by_branch"], blocks=[chart(bars)])]


ABC_COLORS = ["#2563eb", "#60a5fa", "#cbd5e1"]
GRADE_COLORS = ["#15803d", "#65a30d", "#eab308", "#f97316", "#dc2626", "#94a3b8", "#cbd5e1"]
CHANGE_COLORS = {"up": "#16a34a", "same": "#94a3b8", "down": "#dc2626", "new": "#2563eb"}
BAND_COLORS = {"low": "#f59e0b", "normal": "#16a34a", "high": "#2563eb", "stagnant": "#dc2626"}


def _segment_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
    """R1 ABC class counts by channel type and the R3 nine-box grid with its strategies, at the
    latest month end."""
    if lacking := missing(("sales_lines",), gone):
        return [_no_data(L["segments_abc"], L, lacking), _no_data(L["segments_nine_box"], L, lacking)]
    if not _table_exists(con, "mart_customer_segments"):
        return []
    last = con.execute("SELECT max(month_end) FROM mart_customer_segments").fetchall()[0][0]
    if last is None:
        return []
    rows = con.execute("""SELECT channel_type, abc_class, count(*) FROM mart_customer_segments
                          WHERE month_end = ? GROUP BY ALL""", [last]).fetchall()
    channels = sorted({r[0] for r in rows}, key=lambda c: (c is None, enum_label(L.lang, "channel_type", c)))
    counts = {(c, a): n for c, a, n in rows}
    series = {L["abc_class_of"].format(c=a): [counts.get((c, a), 0) for c in channels] for a in "ABC"}
    abc = stacked_bar_chart([enum_label(L.lang, "channel_type", c) for c in channels], series, L["segments_abc"],
                            colors=ABC_COLORS)
    sub = f'{L["as_of"]} {last:%Y-%m-%d}'
    # the nine-box grid's potential axis is the declared annual turnover of the customer master
    if lacking := missing(("customers.declared_annual_turnover",), gone):
        return [section(L["segments_abc"], subs=[sub], blocks=[chart(abc)]), _no_data(L["segments_nine_box"], L, lacking)]
    strategy = "any_value(nine_box_strategy)" if _has_column(con, "mart_customer_segments", "nine_box_strategy") else "NULL"
    cells = {c: (n, s) for c, n, s in con.execute(f"""SELECT nine_box_cell, count(*), {strategy} FROM mart_customer_segments
                                WHERE month_end = ? AND nine_box_cell IS NOT NULL GROUP BY 1""", [last]).fetchall()}
    strategies = {c: strategy_label(L.lang, s) for c, (_, s) in cells.items()}
    grid = nine_box_chart({c: n for c, (n, _) in cells.items()}, L["segments_nine_box"], L["potential_axis"],
                          L["current_axis"], {k: L[f"potential_{k}"] for k in "ABC"}, {k: L[f"current_{k}"] for k in "123"},
                          tooltips=strategies)
    table = {"kind": "table", "cls": "strategies", "header": [L["cell"], L["customers_header"], L["strategy"]],
             "rows": [[c, count_text(cells[c][0]), strategies[c]] for c in sorted(cells) if strategies.get(c)]}
    blocks = [chart(grid)] + ([table] if table["rows"] else [])
    return [section(L["segments_abc"], subs=[sub], blocks=[chart(abc)]),
            section(L["segments_nine_box"], subs=[sub], blocks=blocks)]


def _credit_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
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
    blocks = [chart(dist)]
    if _has_column(con, "mart_credit_rating", "not_available"):
        why = [r[0] for r in con.execute("""SELECT DISTINCT not_available FROM mart_credit_rating
                                            WHERE rating_quarter = ? AND rating_status = 'INCOMPLETE'
                                              AND not_available IS NOT NULL ORDER BY 1""", [q]).fetchall()]
        blocks += [note(incomplete_text(L, w), "sub incomplete") for w in why]
    changes = dict(con.execute("""SELECT grade_change, count(*) FROM mart_credit_rating
                                  WHERE rating_quarter = ? GROUP BY 1""", [q]).fetchall())
    order = ["up", "same", "down", "new"]
    donut = donut_chart([L[f"credit_change_{k}"] for k in order], [changes.get(k, 0) for k in order],
                        L["credit_changes"], colors=[CHANGE_COLORS[k] for k in order], center_label=L["customers"])
    sub = f'{L["quarter"]} {q}'
    return [section(L["credit_grades"], subs=[sub], blocks=blocks),
            section(L["credit_changes"], subs=[sub], blocks=[chart(donut)])]


def _inventory_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
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
    return [section(L["inventory_bands"], subs=[f'{L["week_of"]} {week:%Y-%m-%d}'], blocks=[chart(donut)])]


def _clv_horizon(L: Labels) -> str | None:
    """What the predictive CLV is, from rules.yml r7_clv (horizon and yearly discount rate)."""
    from pipelines.rules import rule

    try:
        months, rate = rule("r7_clv.horizon_months"), rule("r7_clv.annual_discount_rate")
    except KeyError:
        return None
    return L["clv_horizon"].format(months=months, rate=rate_text(float(rate), L.lang))


def _clv_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
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
    compact, exact = _amounts(L)
    names = [f'{L["abc_class_of"].format(c=r[0])} · n={r[1]:,}' for r in rows]
    total = bar_chart(names, [r[2] or 0 for r in rows], L["clv_total"], width=420, height=50 + 34 * len(rows),
                      color=PALETTE[4], value_fmt=compact, exact_fmt=exact)
    avg = bar_chart(names, [r[3] or 0 for r in rows], L["clv_avg"], width=420, height=50 + 34 * len(rows),
                    color=PALETTE[5], value_fmt=compact, exact_fmt=exact)
    pair = {"kind": "pair", "charts": [{"caption": L["clv_total"], "svg": total}, {"caption": L["clv_avg"], "svg": avg}]}
    subs = [s for s in (_clv_horizon(L), f'{L["as_of"]} {rows[0][4]:%Y-%m-%d}') if s]
    return [section(L["clv_by_segment"], subs=subs, blocks=[pair], wide=True)]


def _visit_sections(con: duckdb.DuckDBPyConnection, L: Labels, gone: frozenset[str]) -> list[dict]:
    """R4 per rep at the latest month: share of visits to A customers and visits per working day, against targets."""
    if lacking := missing(("visits",), gone):
        return [_no_data(L["visit_compliance"], L, lacking, wide=True)]
    if not _table_exists(con, "mart_visit_compliance"):
        return []
    month = con.execute("SELECT max(month_start) FROM mart_visit_compliance").fetchall()[0][0]
    if month is None:
        return []
    name = _name(con, "mart_visit_compliance", "rep_name", "rep_code")
    rows = con.execute(f"""SELECT {name}, share_visits_a::DOUBLE, target_share_visits_a::DOUBLE, visits_per_working_day::DOUBLE,
                                 target_visits_per_working_day_min::DOUBLE, target_visits_per_working_day_max::DOUBLE
                          FROM mart_visit_compliance WHERE month_start = ? ORDER BY {name}, rep_code""", [month]).fetchall()
    if not rows:
        return []
    reps = [r[0] for r in rows]

    def first(i):
        return next((r[i] for r in rows if r[i] is not None), None)

    share = target_bar_chart(reps, [r[1] for r in rows], L["visits_share_a"], first(2), value_fmt=lambda v: f"{v:.0%}",
                             target_label=L["target"])
    per_day = target_bar_chart(reps, [r[3] for r in rows], L["visits_per_day"], first(4), first(5),
                               value_fmt=lambda v: f"{v:,.2f}", target_label=L["target"])
    pair = {"kind": "pair", "charts": [{"caption": L["visits_share_a"], "svg": share},
                                       {"caption": L["visits_per_day"], "svg": per_day}]}
    return [section(L["visit_compliance"], subs=[f'{L["month"]} {month_text(month, L.lang)}'], blocks=[pair], wide=True)]


SECTIONS = [_sales_sections, _segment_sections, _credit_sections, _inventory_sections, _clv_sections, _visit_sections]


def build_dashboard(serving: Path, out: Path, lang: str | None = None) -> Path:
    """Render the dashboard from the serving database into ``out`` (written aside, then swapped)."""
    from pipelines.company import company

    lang = lang or language()
    L = labels(lang)
    gone = undelivered()
    settings = company()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        pub = con.execute("SELECT publish_id, published_at, source_run_id FROM _publish").fetchall()
        data_through = (con.execute("SELECT max(invoice_date) FROM fct_sales_lines").fetchall()[0][0]
                        if _table_exists(con, "fct_sales_lines") else None)
        sections = [s for builder in SECTIONS for s in builder(con, L, gone)]
    finally:
        con.close()
    if pub:
        published = f'{L["published"]} {time_text(pub[0][1], settings.timezone, lang)} · {L["source_run"]} {pub[0][2][:8]}'
        if data_through:
            published += f' · {L["data_through"]} {data_through:%Y-%m-%d}'
    else:
        published = L["no_data"]
    html = render_dashboard(html_lang="zh-CN" if lang == "zh" else "en", title=L["dashboard_title"], css=CSS,
                            company=settings.name, published=published, sections=sections, no_data=L["no_data"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
