"""The offline HTML dashboard: one self-contained file (inline CSS and SVG, no CDN, no script),
built from the serving database only. Each section renders from one published table."""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from pipelines.reports.charts import bar_chart, line_chart
from pipelines.reports.labels import labels, language

CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;
background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#94a3b8;font-size:13px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px;padding:20px 28px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:14px 16px}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px;color:#334155}
.chart{width:100%;height:auto}.chart-title{display:none}.axis{font-size:11px;fill:#64748b}.value{font-size:11px;fill:#334155}
.grid{stroke:#e2e8f0}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{background:#f1f5f9;border-radius:8px;padding:10px 14px;
min-width:150px}.kpi b{display:block;font-size:20px}.kpi span{font-size:12px;color:#64748b}
"""


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _sales_sections(con: duckdb.DuckDBPyConnection, L: dict[str, str]) -> list[str]:
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
                     height=60 + 28 * len(by_branch))
    last = rows[-1] if rows else None
    kpis = "" if not last else (
        f'<div class="kpis"><div class="kpi"><b>{last[1]:,.0f}</b><span>{escape(L["net_sales"])} {last[0]}</span></div>'
        f'<div class="kpi"><b>{last[3]:,}</b><span>{escape(L["invoice_lines"])}</span></div>'
        f'<div class="kpi"><b>{last[4]:,}</b><span>{escape(L["buying_customers"])}</span></div></div>')
    return [f'<section class="wide"><h2>{escape(L["sales_trend"])}</h2>{kpis}{trend}</section>',
            f'<section><h2>{escape(L["sales_by_branch"])}</h2>{bars}</section>']


SECTIONS = [_sales_sections]


def build_dashboard(serving: Path, out: Path, lang: str | None = None) -> Path:
    """Render the dashboard from the serving database into ``out`` (written aside, then swapped)."""
    lang = lang or language()
    L = labels(lang)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        pub = con.execute("SELECT publish_id, published_at, source_run_id FROM _publish").fetchall()
        body = [s for section in SECTIONS for s in section(con, L)]
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
