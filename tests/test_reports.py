"""Reports from the serving database: the offline dashboard renders its charts in headless
Chromium with the network blocked, no failed request and no console error (screenshot saved;
tests/reports_browser.py), workbooks per branch keep source text as text (never a formula), show
names beside codes, whole units, totals and the change against last year, and labels — enumeration
values included — follow the configured language."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from pipelines.publish.serving import publish
from pipelines.reports.dashboard import build_dashboard
from pipelines.reports.workbooks import build_branch_workbooks
from reports_browser import Chromium


@pytest.fixture
def serving(tmp_path) -> Path:
    """A serving database published from a small warehouse, with hostile text from 'source data'."""
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.mart_sales_monthly AS
        SELECT (DATE '2024-01-01' + INTERVAL (m) MONTH)::DATE AS month_start, b AS branch_code,
               (100000 + m * 5000 + length(b) * 1000)::DECIMAL(18,2) AS net_sales, (m * 100)::DECIMAL(18,2) AS returns_amount,
               (50 + m)::BIGINT AS invoice_lines, (10 + m)::BIGINT AS buying_customers
        FROM range(14) t(m), (VALUES ('BR01'), ('BR02'), ('=HYPERLINK("http://x")'), ('@SUM(A1)')) v(b)""")
    con.close()
    out = tmp_path / "serving.duckdb"
    publish(wh, out, [("marts", "mart_sales_monthly")], "run-test")
    return out


RICH_TABLES = ["mart_sales_monthly", "mart_customer_segments", "mart_credit_rating", "mart_inventory_days",
               "mart_customer_lifetime_value", "mart_visit_compliance", "dim_customer", "dim_rep"]


def _rich_warehouse(tmp_path: Path) -> Path:
    """A warehouse with small versions of every mart the reports read (real column names, a subset of
    the columns), two branches (BR01 named 上海分公司, BR02 named with markup), hostile text in a
    customer name and a rep name."""
    wh = tmp_path / "rich_warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.mart_sales_monthly AS
        SELECT (DATE '2024-01-01' + INTERVAL (m) MONTH)::DATE AS month_start, b AS branch_code,
               CASE b WHEN 'BR01' THEN '上海分公司' ELSE '<b>South</b> branch' END AS branch_name,
               (200000 + m * 9000 + length(b) * 1000 + (b = 'BR02')::INT * 40000)::DECIMAL(18,2) AS net_sales,
               (m * 900)::DECIMAL(18,2) AS returns_amount, (60000 + m * 1000)::DECIMAL(18,2) AS margin_amount,
               (50 + m)::BIGINT AS invoice_lines, (10 + m)::BIGINT AS buying_customers
        FROM range(14) t(m), (VALUES ('BR01'), ('BR02')) v(b)""")
    # 60 customers, C001..C060: branch BR01 for odd numbers, BR02 for even
    con.execute("""CREATE TABLE marts.dim_customer AS
        SELECT printf('C%03d', i) AS customer_code, printf('K%03d', i) AS customer_key, true AS is_current,
               CASE WHEN i = 7 THEN '=HYPERLINK("http://x")' ELSE printf('Pharmacy %d', i) END AS customer_name,
               CASE WHEN i % 3 = 0 THEN 'HOSPITAL_CLINIC' WHEN i % 3 = 1 THEN 'PHARMACY_CHAIN' ELSE 'SINGLE_PHARMACY' END AS channel_type,
               CASE WHEN i % 2 = 1 THEN 'BR01' ELSE 'BR02' END AS branch_code,
               printf('R%02d', 1 + i % 6) AS rep_code
        FROM range(1, 61) t(i)""")
    con.execute("""CREATE TABLE marts.dim_rep AS
        SELECT printf('R%02d', r) AS rep_code, CASE WHEN r = 3 THEN '<img src=x>' ELSE printf('Rep %d', r) END AS rep_name,
               CASE WHEN r % 2 = 1 THEN 'BR01' ELSE 'BR02' END AS branch_code FROM range(1, 7) t(r)""")
    con.execute("""CREATE TABLE marts.mart_customer_segments AS
        SELECT me::DATE AS month_end, c.customer_code, c.customer_name, c.customer_key, c.channel_type, c.branch_code, c.rep_code,
               CASE WHEN i % 10 < 2 THEN 'A' WHEN i % 10 < 5 THEN 'B' ELSE 'C' END AS abc_class,
               CASE WHEN i % 11 = 0 THEN NULL ELSE chr(65 + i % 3) || (1 + (i // 3) % 3)::VARCHAR END AS nine_box_cell,
               CASE WHEN i % 11 = 0 THEN NULL WHEN chr(65 + i % 3) || (1 + (i // 3) % 3)::VARCHAR = 'C3'
                    THEN 'Candidate to drop: small and barely used, minimal coverage' ELSE 'Keep in touch' END AS nine_box_strategy
        FROM marts.dim_customer c, (SELECT CAST(substr(customer_code, 2) AS INT) AS i, customer_code AS cc FROM marts.dim_customer) n,
             (VALUES (DATE '2025-01-31'), (DATE '2025-02-28')) m(me)
        WHERE n.cc = c.customer_code""")
    con.execute("""CREATE TABLE marts.mart_customer_lifetime_value AS
        SELECT DATE '2025-02-28' AS as_of_date, customer_code,
               (1000 + 250 * CAST(substr(customer_code, 2) AS INT))::DECIMAL(18,2) AS predictive_clv
        FROM marts.dim_customer""")
    con.execute("""CREATE TABLE marts.mart_credit_rating AS
        SELECT q AS rating_quarter, c.customer_code, c.customer_name, c.branch_code,
               CASE c.branch_code WHEN 'BR01' THEN '上海分公司' ELSE '<b>South</b> branch' END AS branch_name,
               c.rep_code, r.rep_name, c.channel_type,
               CASE WHEN i % 9 = 0 THEN 'NEW' ELSE 'RATED' END AS rating_status,
               CASE WHEN i % 9 = 0 THEN NULL ELSE 1 + i % 5 END AS final_grade,
               CASE WHEN i % 9 = 0 THEN 'new' WHEN i % 4 = 0 THEN 'up' WHEN i % 4 = 1 THEN 'down' ELSE 'same' END AS grade_change,
               CASE WHEN i % 9 = 0 THEN NULL ELSE (100 - 15 * (i % 5))::DECIMAL(9,2) END AS credit_score,
               (50000 + 1000 * i)::DECIMAL(18,2) AS current_credit_limit,
               CASE WHEN i % 9 = 0 THEN NULL ELSE ((50000 + 1000 * i) * (1.2 - 0.1 * (i % 5)))::DECIMAL(18,2) END AS recommended_credit_limit,
               CASE WHEN i % 9 = 0 THEN NULL ELSE [0.2, 0.1, 0, -0.3, -1][1 + i % 5] END::DECIMAL(5,2) AS limit_change,
               CASE WHEN i % 9 = 0 THEN NULL ELSE ['Raise credit limit 20 %', 'Raise credit limit 10 %', 'Keep credit limit',
                                                  'Cut credit limit 30 %', 'Cash only (limit 0)'][1 + i % 5] END AS credit_action
        FROM (SELECT *, CAST(substr(customer_code, 2) AS INT) AS i FROM marts.dim_customer) c
        JOIN marts.dim_rep r ON r.rep_code = c.rep_code,
             (VALUES ('2024Q4'), ('2025Q1')) v(q)""")
    con.execute("""CREATE TABLE marts.mart_inventory_days AS
        SELECT w::DATE AS week_start, c.customer_code, c.customer_name, 'SKU' || s AS sku, 'Syrup ' || s AS product_name,
               (10 * s)::DECIMAL(18,4) AS closing_qty,
               CASE WHEN (i + s) % 7 = 0 THEN 0 ELSE (0.3 + ((i + s) % 5) * 0.2) END::DECIMAL(18,4) AS avg_daily_sell_out,
               CASE WHEN (i + s) % 7 = 0 THEN NULL ELSE (10 * s / (0.3 + ((i + s) % 5) * 0.2)) END::DECIMAL(18,2) AS days_of_inventory,
               CASE WHEN (i + s) % 7 = 0 THEN 'high' WHEN 10 * s / (0.3 + ((i + s) % 5) * 0.2) < 20 THEN 'low'
                    WHEN 10 * s / (0.3 + ((i + s) % 5) * 0.2) <= 25 THEN 'normal' ELSE 'high' END AS inventory_band,
               (i + s) % 7 = 0 AS is_stagnant,
               greatest(0, 22.5 * CASE WHEN (i + s) % 7 = 0 THEN 0 ELSE (0.3 + ((i + s) % 5) * 0.2) END - 10 * s)::DECIMAL(18,4)
                   AS suggested_order_qty,
               ceil(greatest(0, 22.5 * CASE WHEN (i + s) % 7 = 0 THEN 0 ELSE (0.3 + ((i + s) % 5) * 0.2) END - 10 * s))::INTEGER
                   AS suggested_order_units
        FROM (SELECT *, CAST(substr(customer_code, 2) AS INT) AS i FROM marts.dim_customer) c, range(1, 5) t(s),
             (VALUES (DATE '2025-02-17'), (DATE '2025-02-24')) v(w)""")
    con.execute("""CREATE TABLE marts.mart_visit_compliance AS
        SELECT m::DATE AS month_start, printf('R%02d', r) AS rep_code,
               CASE WHEN r = 3 THEN '<img src=x>' ELSE printf('Rep %d', r) END AS rep_name, (180 + 10 * r) AS customer_visits,
               (80 + 12 * r) AS visits_a, ((80 + 12 * r) / (180 + 10 * r))::DECIMAL(9,6) AS share_visits_a,
               0.6::DECIMAL(9,6) AS target_share_visits_a, 20 AS working_days,
               ((180 + 10 * r) / 20)::DECIMAL(9,4) AS visits_per_working_day,
               10::DECIMAL(9,4) AS target_visits_per_working_day_min, 12::DECIMAL(9,4) AS target_visits_per_working_day_max,
               (0.5 + 0.03 * r)::DECIMAL(9,6) AS selling_time_share, r AS customers_under_band, 10 - r AS customers_within_band,
               1 AS customers_over_band
        FROM range(1, 7) t(r), (VALUES (DATE '2025-01-01'), (DATE '2025-02-01')) v(m)""")
    con.close()
    return wh


@pytest.fixture
def rich_serving(tmp_path) -> Path:
    """A serving database published from ``_rich_warehouse``."""
    wh = _rich_warehouse(tmp_path)
    out = tmp_path / "rich_serving.duckdb"
    publish(wh, out, [("marts", t) for t in RICH_TABLES], "run-rich")
    return out


def _cells(path: Path) -> list:
    book = CalamineWorkbook.from_path(str(path))
    return [c for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python() for c in row]


def _no_formulas(path: Path) -> None:
    """No cell of the workbook is a formula (no <f> element in any worksheet)."""
    with zipfile.ZipFile(path) as z:
        assert all(b"<f>" not in z.read(n) and b"<f " not in z.read(n)
                   for n in z.namelist() if n.startswith("xl/worksheets/")), path


def test_workbooks_keep_source_text_as_text(serving, tmp_path):
    """Branch codes that look like formulas are stored as the very same text (a string cell with
    the quotePrefix attribute: shown as typed, still text when edited), never as a formula."""
    files = build_branch_workbooks(serving, tmp_path / "branches", lang="en")
    assert len(files) == 4
    cells = [c for f in files for c in _cells(f) if isinstance(c, str)]
    assert "Month" in cells
    assert '=HYPERLINK("http://x")' in cells and "@SUM(A1)" in cells
    for f in files:
        _no_formulas(f)
        hostile = any(isinstance(c, str) and c.startswith(("=", "@")) for c in _cells(f))
        with zipfile.ZipFile(f) as z:
            assert (b'quotePrefix="1"' in z.read("xl/styles.xml")) == hostile, f


def test_labels_follow_the_language(serving, tmp_path):
    zh = build_dashboard(serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    en = build_dashboard(serving, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert "月度净销售额" in zh and "Net sales by month" in en
    assert "http://" not in en.replace('xmlns="http://www.w3.org/2000/svg"', "").replace("http://x", "")  # no CDN


def _render_in_chromium(html: Path, shot: Path, tmp_path: Path, window_height: int = 1400) -> str:
    """Open ``html`` in headless Chromium with the network blocked: no failed request, console
    error or dialog, nothing fetched from the network, a screenshot saved; returns the DOM."""
    with Chromium(tmp_path / "chromium", height=window_height) as browser:
        visit = browser.visit(html.as_uri(), shot)
    assert visit.problems == [] and visit.network_requests == [], visit.problems + visit.network_requests
    assert shot.exists() and shot.stat().st_size > 10_000
    return visit.html


def test_dashboard_renders_in_headless_chromium(serving, tmp_path):
    """Only mart_sales_monthly published: the sales sections render, the others are left out."""
    html = build_dashboard(serving, tmp_path / "dashboard.html", lang="en")
    dom = _render_in_chromium(html, tmp_path / "shots" / "dashboard-sales-only.png", tmp_path)
    assert dom.count("<svg") >= 2 and "polyline" in dom and "<rect" in dom
    assert "nine-box" not in dom and "Credit grades" not in dom


def test_full_dashboard_renders_every_section(rich_serving, tmp_path):
    html = build_dashboard(rich_serving, tmp_path / "dashboard.html", lang="en")
    dom = _render_in_chromium(html, tmp_path / "shots" / "dashboard.png", tmp_path, window_height=2600)
    assert dom.count("<section") == 10 and dom.count("<svg") >= 10
    # key figures of the latest month against the previous month and the same month last year
    kpis = _sections(dom)["Key figures, 2025-02"]
    assert "Net sales (CNY)" in kpis and "vs previous month" in kpis and "vs same month last year" in kpis
    assert re.search(r"[+−]\d+\.\d%", kpis)
    # names, not codes: branches and reps by name (markup in a name shown as text)
    assert "上海分公司" in dom and "&lt;b&gt;South&lt;/b&gt; branch" in dom and "<b>South" not in dom
    assert "&lt;img src=x&gt;" in dom and "<img" not in dom and "Rep 1" in dom
    # nine-box grid: 9 cells A1..C3 with their counts (60 customers, 5 without a declared turnover)
    cells = re.findall(r'class="nine-box-cell" data-cell="([ABC][123])"', dom)
    assert sorted(cells) == sorted(a + d for a in "ABC" for d in "123")
    counts = [int(n) for n in re.findall(r'class="cell-count"[^>]*>([0-9,]+)<', dom)]
    assert len(counts) == 9 and sum(counts) == 55
    assert "Candidate to drop: small and barely used, minimal coverage" in dom
    # credit grades 1-5 and NEW, and the four changes
    grades = re.search(r'aria-label="Credit grades".*?</svg>', dom, re.S).group(0)
    assert re.findall(r'class="axis">([^<]+)</text>', grades) == ["1", "2", "3", "4", "5", "NEW"]
    for change in ("up", "down", "same", "new"):
        assert f'class="legend">{change}<' in dom
    # inventory bands (limits from rules.yml), channel types by name, CLV by class with its horizon
    for band in ("Low (&lt; 20 days)", "Normal (20–25 days)", "High (&gt; 25 days)", "Stagnant"):
        assert band in dom
    assert "Hospital / clinic" in dom and "HOSPITAL_CLINIC" not in dom
    assert "Class A · n=12" in dom and "Predictive customer lifetime value by ABC class" in dom
    assert "over the next 36 months, discounted at 10 % a year" in dom
    assert dom.count('class="target-line"') == 3 and "Target 60%" in dom and "Target 10.00–12.00" in dom
    zh = build_dashboard(rich_serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    for title in ("九宫格（各格客户数）", "信用等级分布", "库存天数区间", "各 ABC 类客户预测终身价值", "销售代表拜访达标情况", "五级", "新客户",
                  "关键指标（2025年2月）", "环比", "同比", "医院 / 诊所", "未来 36 个月", "年贴现率 10%", "考虑淘汰", "不变", "偏低（< 20 天）"):
        assert title.replace("<", "&lt;") in zh, title
    assert "万" in zh and not re.search(r"\d(\.\d)?[Mk]<", zh)  # 万/亿, not M and k
    for english in (">same<", ">up<", "HOSPITAL_CLINIC", ">Low", "Class A"):
        assert english not in zh, english


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbooks_have_the_new_sheets(rich_serving, tmp_path, lang):
    from pipelines.reports.labels import labels
    L = labels(lang)
    files = build_branch_workbooks(rich_serving, tmp_path / "branches", lang=lang)
    assert [f.name for f in files] == ["branch_BR01.xlsx", "branch_BR02.xlsx"]
    for f in files:
        book = CalamineWorkbook.from_path(str(f))
        assert book.sheet_names == [L["sheet_sales"], L["sheet_credit"], L["sheet_inventory_alerts"], L["sheet_visits"]]
        # sales: branch name beside its code, the same month last year and the change, a totals row
        sales = book.get_sheet_by_name(L["sheet_sales"]).to_python()
        assert sales[0][:6] == [L["branch_code"], L["branch_name"], L["month"], L["net_sales"], L["net_sales_last_year"],
                                L["change_vs_last_year"]]
        body, total = sales[1:-1], sales[-1]
        assert len(body) == 14 and total[0] == L["total"]
        assert total[3] == pytest.approx(sum(r[3] for r in body)) and total[8] == sum(r[8] for r in body)
        latest = body[0]
        assert latest[2] == "2025-02" and latest[4] == pytest.approx(body[12][3])  # 2024-02 beside 2025-02
        assert latest[5] == pytest.approx(latest[3] / latest[4] - 1)
        assert body[-1][4] == "" and body[-1][5] == ""  # 2024-01: no year before
        assert {r[1] for r in body} == {"上海分公司" if f.name == "branch_BR01.xlsx" else "<b>South</b> branch"}
        # credit list: latest quarter, names, grades as numbers, statuses and changes in the language
        credit = book.get_sheet_by_name(L["sheet_credit"]).to_python()
        assert credit[0][:6] == [L["quarter"], L["credit_customer_code"], L["credit_customer_name"], L["credit_rep"],
                                 L["credit_final_grade"], L["credit_status"]]
        rows, total = credit[1:-1], credit[-1]
        assert len(rows) == 30 and {r[0] for r in rows} == {"2025Q1"}  # latest quarter, this branch's 30 customers
        assert total[0] == L["total"] and total[2] == L["n_customers"].format(n=30)
        assert total[8] == pytest.approx(sum(r[8] for r in rows)) and total[9] == pytest.approx(sum(r[9] for r in rows if r[9] != ""))
        grades = [r[4] for r in rows]
        assert grades[0] == 5 and grades[-1] == "" and rows[-1][5] == L["grade_NEW"]  # worst first, NEW last
        rated = [g for g in grades if g != ""]
        assert rated == sorted(rated, reverse=True) and all(isinstance(g, float) for g in rated)
        assert {r[3] for r in rows} <= {"Rep 1", "Rep 3", "Rep 5", "Rep 2", "Rep 4", "Rep 6", "<img src=x>"}
        changes = {r[6] for r in rows}
        actions = {r[10] for r in rows if r[10]}
        if lang == "zh":
            assert changes <= {"上升", "下降", "不变", "新"} and "仅限现款（信用额度为 0）" in actions
            assert all(not re.search("[A-Za-z]", a) for a in actions), actions
        else:
            assert changes <= {"up", "down", "same", "new"} and "Keep credit limit" in actions
        # inventory alerts: names, whole units, bands in the language, a totals row
        inv = book.get_sheet_by_name(L["sheet_inventory_alerts"]).to_python()
        assert inv[0][:5] == [L["week"], L["customer_code"], L["customer_name"], L["sku"], L["product_name"]]
        assert inv[0][-1] == L["suggested_order_units"] and len(inv) > 2 and inv[-1][0] == L["total"]
        body = inv[1:-1]
        band_words = {"low": ("Low", "偏低"), "high": ("High", "偏高")}
        assert {r[8] for r in body} <= {w[0 if lang == "en" else 1] for w in band_words.values()}
        assert {r[0] for r in body} == {"2025-02-24"} and {r[4] for r in body} <= {f"Syrup {s}" for s in range(1, 5)}
        assert all(float(r[10]).is_integer() for r in body) and inv[-1][10] == sum(r[10] for r in body)
        assert all(r[8] == band_words["low"][0 if lang == "en" else 1] or r[9] == L["yes"] for r in body)
        visits = book.get_sheet_by_name(L["sheet_visits"]).to_python()
        assert visits[0][1:3] == [L["rep_code"], L["rep"]] and len(visits) == 5 and {r[0] for r in visits[1:-1]} == {"2025-02"}
        assert visits[-1][0] == L["total"] and visits[-1][3] == sum(r[3] for r in visits[1:-1])
        assert visits[-1][5] == pytest.approx(visits[-1][4] / visits[-1][3])  # the pooled share, not a mean
        _no_formulas(f)
    cells = [c for f in files for c in _cells(f)]
    assert '=HYPERLINK("http://x")' in cells and "<img src=x>" in cells


def test_workbook_columns_fit_their_content(rich_serving, tmp_path):
    """No column is cut to one width: each is as wide as its longest header line or value (CJK
    characters count double); quantities and counts have no decimals, amounts two."""
    files = build_branch_workbooks(rich_serving, tmp_path / "branches", lang="zh")
    with zipfile.ZipFile(files[0]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    widths = [float(w) for w in re.findall(r'<col [^>]*width="([0-9.]+)"', sheet)]
    assert len(set(widths)) > 3 and max(widths) <= 60
    assert 'formatCode="#,##0"' in styles and 'formatCode="#,##0.00"' in styles and 'formatCode="0.0%"' in styles


# ---- company settings: currency, sources not delivered, incomplete ratings ----------------------


def _company(tmp_path: Path, monkeypatch, text: str) -> Path:
    """Point DWH_CONFIG at a folder holding ``company.yml`` with ``text`` (rules.yml: the repository's)."""
    folder = tmp_path / "company"
    folder.mkdir(exist_ok=True)
    (folder / "company.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(folder))
    return folder


def _sections(html: str) -> dict[str, str]:
    """The dashboard's sections by title."""
    return {m.group(1): m.group(0) for m in re.finditer(r"<section[^>]*>\s*<h2>([^<]*)</h2>.*?</section>", html, re.S)}


def test_dashboard_without_stock_says_no_data_delivered(rich_serving, tmp_path, monkeypatch):
    """A company without stock reports: the inventory section says "No data delivered" (未提供数据 in
    Chinese) instead of charting what the serving database holds; the other sections are unchanged."""
    _company(tmp_path, monkeypatch, "company: {currency: USD}\nsources:\n  stock: {delivered: false}\n")
    html = build_dashboard(rich_serving, tmp_path / "dashboard.html", lang="en")
    dom = _render_in_chromium(html, tmp_path / "shots" / "dashboard-no-stock.png", tmp_path, window_height=2600)
    sections = _sections(dom)
    inventory = sections["Inventory-day bands"]
    assert "No data delivered" in inventory and "stock" in inventory and "<svg" not in inventory
    assert "Low (&lt; 20 days)" not in dom  # no band chart
    assert dom.count("<section") == 10 and "Net sales by month" in sections and "Visit compliance by sales rep" in sections
    zh = _sections(build_dashboard(rich_serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8"))
    assert "未提供数据" in zh["库存天数区间"] and "<svg" not in zh["库存天数区间"]
    assert "未提供数据" not in zh["月度净销售额"]


def test_dashboard_without_stock_table_still_says_no_data_delivered(tmp_path, monkeypatch):
    """Nothing of the stock source was published at all: the section is there, saying so."""
    _company(tmp_path, monkeypatch, "company: {name: No stock}\nsources:\n  stock: {delivered: false}\n")
    wh = _rich_warehouse(tmp_path)
    serving = tmp_path / "serving.duckdb"
    publish(wh, serving, [("marts", t) for t in RICH_TABLES if t != "mart_inventory_days"], "run-no-stock")
    sections = _sections(build_dashboard(serving, tmp_path / "d.html", lang="en").read_text(encoding="utf-8"))
    assert "No data delivered" in sections["Inventory-day bands"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_sheets_of_undelivered_sources_say_no_data_delivered(rich_serving, tmp_path, monkeypatch, lang):
    from pipelines.reports.labels import labels

    _company(tmp_path, monkeypatch, "company: {currency: USD}\nsources:\n  stock: {delivered: false}\n"
                                    "  visits: {delivered: false}\n")
    L = labels(lang)
    files = build_branch_workbooks(rich_serving, tmp_path / "branches", lang=lang)
    assert [f.name for f in files] == ["branch_BR01.xlsx", "branch_BR02.xlsx"]
    for f in files:
        book = CalamineWorkbook.from_path(str(f))
        assert book.sheet_names == [L["sheet_sales"], L["sheet_credit"], L["sheet_inventory_alerts"], L["sheet_visits"]]
        for name, source in ((L["sheet_inventory_alerts"], "stock"), (L["sheet_visits"], "visits")):
            rows = book.get_sheet_by_name(name).to_python()
            assert len(rows) == 1 and rows[0][0].startswith(L["no_data_delivered"]) and source in rows[0][0]
        assert len(book.get_sheet_by_name(L["sheet_credit"]).to_python()) == 32  # header + 30 customers + total
        assert book.get_sheet_by_name(L["sheet_sales"]).to_python()[0][3] == L["net_sales"]
    assert L["no_data_delivered"] == {"en": "No data delivered", "zh": "未提供数据"}[lang]


@pytest.mark.parametrize("currency, en, zh", [("USD", "Net sales (USD)", "净销售额（USD）"),
                                               ("CNY", "Net sales (CNY)", "净销售额（元）")])
def test_amounts_are_labelled_with_the_company_currency(rich_serving, tmp_path, monkeypatch, currency, en, zh):
    from pipelines.reports.labels import LABELS, labels

    _company(tmp_path, monkeypatch, f"company: {{currency: {currency}}}\n")
    html = build_dashboard(rich_serving, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert en in html and f"Total predictive CLV ({currency})" in html
    assert ("CNY" in html) == (currency == "CNY")
    assert zh in build_dashboard(rich_serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    files = build_branch_workbooks(rich_serving, tmp_path / "branches", lang="en")
    book = CalamineWorkbook.from_path(str(files[0]))
    assert book.get_sheet_by_name("Sales by month").to_python()[0][3] == en
    credit = book.get_sheet_by_name("Credit list").to_python()[0]
    assert f"Current credit limit ({currency})" in credit and f"Recommended credit limit ({currency})" in credit
    # no label hard-codes a currency
    assert not [v for lang in LABELS for v in LABELS[lang].values() if "CNY" in v or "元" in v]
    assert all("{currency}" not in v for v in labels("zh").values())


@pytest.fixture
def incomplete_serving(tmp_path) -> Path:
    """The rich serving database, but the company does not deliver receivables: every rating that is
    not NEW is INCOMPLETE (no grade, score or action; not_available says what is missing), except
    C010 (BR02) and C011 (BR01) whose final grade the sales director overrode."""
    wh = _rich_warehouse(tmp_path)
    con = duckdb.connect(str(wh))
    con.execute("ALTER TABLE marts.mart_credit_rating ADD COLUMN not_available VARCHAR")
    con.execute("""UPDATE marts.mart_credit_rating SET not_available = 'K4 receivables',
                       rating_status = CASE WHEN rating_status = 'NEW' THEN 'NEW' ELSE 'INCOMPLETE' END,
                       final_grade = CASE WHEN customer_code IN ('C010', 'C011') THEN 4 END,
                       credit_action = CASE WHEN customer_code IN ('C010', 'C011') THEN 'cut 30 %' END,
                       recommended_credit_limit = CASE WHEN customer_code IN ('C010', 'C011') THEN 1000 END,
                       credit_score = NULL, grade_change = 'new'""")
    con.close()
    out = tmp_path / "incomplete_serving.duckdb"
    publish(wh, out, [("marts", t) for t in RICH_TABLES], "run-incomplete")
    return out


def test_incomplete_ratings_in_the_dashboard(incomplete_serving, tmp_path):
    """INCOMPLETE ratings (NULL grade) do not break the dashboard: they are a column of their own, not
    counted as NEW, and the section says what is not available."""
    html = build_dashboard(incomplete_serving, tmp_path / "dashboard.html", lang="en")
    dom = _render_in_chromium(html, tmp_path / "shots" / "dashboard-incomplete.png", tmp_path, window_height=2600)
    grades = re.search(r'aria-label="Credit grades".*?</svg>', dom, re.S).group(0)
    assert re.findall(r'class="axis">([^<]+)</text>', grades) == ["1", "2", "3", "4", "5", "NEW", "Incomplete"]
    assert "incomplete (not available: K4 receivables)" in _sections(dom)["Credit grades"]
    zh = build_dashboard(incomplete_serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    assert "不完整（数据缺失：K4 应收账款）" in zh


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_incomplete_ratings_in_the_workbooks(incomplete_serving, tmp_path, lang):
    from pipelines.reports.labels import labels

    L = labels(lang)
    text = {"en": "incomplete (not available: K4 receivables)", "zh": "不完整（数据缺失：K4 应收账款）"}[lang]
    for f in build_branch_workbooks(incomplete_serving, tmp_path / "branches", lang=lang):
        rows = CalamineWorkbook.from_path(str(f)).get_sheet_by_name(L["sheet_credit"]).to_python()[1:-1]
        grades, statuses = [r[4] for r in rows], [r[5] for r in rows]
        assert len(rows) == 30 and grades[0] == 4 and statuses[-1] == L["grade_NEW"]  # overridden first, NEW last
        # the overridden rating stays INCOMPLETE (its final grade is the override's)
        assert statuses == [text] * (30 - statuses.count(L["grade_NEW"])) + [L["grade_NEW"]] * statuses.count(L["grade_NEW"])
        assert grades[1:] == [""] * 29
