"""The reports opened as a person opens them, offline: a real headless Chromium with the network
blocked (tests/reports_browser.py: a dead proxy, no host name resolving, the page emulated offline;
driven over the DevTools protocol) loads the dashboard in English and Chinese, the Data Docs and one
branch workbook as LibreOffice Calc renders it, each with no failed request, no console error and
nothing fetched from the network, and the page text shows what a reader needs: names rather than
codes, Chinese that is Chinese, amounts in 万/亿, times in the business time zone, whole units.
Screenshots are kept in each test's temporary folder.

The pages come from one run of the real pipeline over a small generated world
(tests/reports_world.py, shared with tests/test_reports_escaping.py), whose master data also
holds hostile names; the other customers and reps keep their ordinary names."""

from __future__ import annotations

import re

import duckdb
import pytest

from reports_browser import Chromium, render_workbook
from reports_world import hostile_world

pytestmark = pytest.mark.slow  # one pipeline run of a generated world (shared with test_reports_escaping)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return hostile_world(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Chromium(tmp_path_factory.mktemp("chromium-browser"), height=1600) as b:
        yield b


def _serving(world, sql: str):
    con = duckdb.connect(str(world.serving), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _open_clean(browser, page, shot):
    visit = browser.visit(page.as_uri(), shot)
    assert visit.problems == [], visit.problems
    assert visit.network_requests == [], visit.network_requests
    assert shot.exists() and shot.stat().st_size > 20_000
    return visit


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dashboard_reads_well_offline(world, browser, tmp_path, lang):
    from pipelines.company import company
    from pipelines.reports.dashboard import build_dashboard
    from pipelines.reports.fmt import local_time

    page = build_dashboard(world.serving, tmp_path / f"dashboard_{lang}.html", lang=lang)
    visit = _open_clean(browser, page, tmp_path / f"dashboard_{lang}.png")
    text = visit.text
    # names, not codes: every rep of the visit section by name, the branches by name
    reps = [r[0] for r in _serving(world, "SELECT DISTINCT rep_code FROM mart_visit_compliance")]
    for code in reps:
        assert world.rep_names[code] in text and not re.search(rf"\b{code}\b", text), code
    for code, name in world.branches.items():
        assert name[:18] in text and not re.search(rf"\b{code}\b", text), code
    channels = [r[0] for r in _serving(world, "SELECT DISTINCT channel_type FROM mart_customer_segments "
                                              "WHERE channel_type IS NOT NULL")]
    for channel in channels:
        assert channel not in text, channel  # REGIONAL_WHOLESALER is shown as a name
    # the header time in the business time zone, named
    published = _serving(world, "SELECT published_at FROM _publish")[0][0]
    local = local_time(published, company().timezone)
    assert f"{local:%Y-%m-%d %H:%M}" in text and company().timezone in text and "UTC+08:00" in text
    # key figures with their change against the previous month and last year; the CLV's horizon
    if lang == "en":
        assert "vs previous month" in text and "vs same month last year" in text
        assert "Regional wholesaler" in text and "over the next 36 months, discounted at 10 % a year" in text
        assert re.search(r"\d(\.\d)?M\b", text)
    else:
        assert "环比" in text and "同比" in text and "区域性批发商" in text and "未来 36 个月" in text
        assert re.search(r"\d(\.\d+)?[万亿]", text) and not re.search(r"\d(\.\d)?[Mk]\b", text)
        # Chinese that is Chinese: once the names from source data, the company's name, the time zone and
        # the codes people use as they are (ABC, A1…C3, 2023Q1, n=) are set aside, no Latin word is left
        names = [*world.customers.values(), *world.reps.values(), *world.branches.values(), company().name,
                 company().timezone]
        # chart labels too long for their space are cut with an ellipsis
        lines = [line for line in text.splitlines()
                 if not (line.endswith("…") and any(n.startswith(line[:-1]) for n in names))]
        rest = "\n".join(lines)
        for name in names:
            rest = rest.replace(name, " ")
        rest = re.sub(r"\b[0-9a-f]{8}\b", " ", rest)  # the source run's id (hex), beside 来源运行
        leftovers = set(re.findall(r"[A-Za-z]{2,}", rest)) - {"ABC", "UTC"}
        assert not leftovers, leftovers


def test_data_docs_load_offline(world, browser, tmp_path):
    site = world.home / "data_docs"
    index = _open_clean(browser, site / "index.html", tmp_path / "data_docs_index.png")
    assert "raw_sales_lines" in index.text
    validation = next(p for p in sorted(site.rglob("*.html")) if "validations" in p.parts)
    _open_clean(browser, validation, tmp_path / "data_docs_validation.png")


def test_branch_workbook_as_libreoffice_shows_it(world, browser, tmp_path):
    """LibreOffice Calc renders the workbook (number formats applied, as a person sees the cells);
    the rendering is opened in Chromium like the other pages."""
    path = sorted((world.reports / "branches").glob("branch_*.xlsx"))[-1]
    html = render_workbook(path, tmp_path / "calc")
    visit = _open_clean(browser, html, tmp_path / f"{path.stem}.png")
    sheets = _sheets_of(visit)
    assert list(sheets) == ["Sales by month", "Credit list", "Inventory alerts", "Visit compliance"]
    # sales: the branch's name beside its code, amounts with two decimals, a totals row
    sales = sheets["Sales by month"]
    head = sales[0]
    assert head[:2] == ["Branch code", "Branch name"] and sales[-1][0] == "Total"
    code = path.stem.removeprefix("branch_")
    assert {r[0] for r in sales[1:-1]} == {code} and {r[1] for r in sales[1:-1]} == {world.branches[code]}
    net = head.index("Net sales (CNY)")
    assert all(re.fullmatch(r"-?[\d,]+\.\d\d", r[net]) for r in sales[1:])
    # credit list: customer names beside codes, the rep by name
    credit = sheets["Credit list"]
    names = dict(_serving(world, "SELECT customer_code, customer_name FROM mart_credit_rating"))
    assert all(r[2] == names[r[1]] for r in credit[1:-1]) and credit[-1][0] == "Total"
    assert all(not re.fullmatch(r"R\d{3}", r[3]) for r in credit[1:-1])
    # inventory alerts: whole units for stock and the suggested order, product names
    inventory = sheets["Inventory alerts"]
    head = inventory[0]
    units, stock = head.index("Suggested order (units, rounded up)"), head.index("Closing stock")
    assert len(inventory) > 2 and inventory[-1][0] == "Total"
    for row in inventory[1:]:
        assert re.fullmatch(r"[\d,]+", row[units]) and re.fullmatch(r"[\d,]+", row[stock]), row
    assert all(r[head.index("Product name")] for r in inventory[1:-1])
    visits = sheets["Visit compliance"]
    assert all(r[2] == world.rep_names[r[1]] for r in visits[1:-1])


def _sheets_of(visit) -> dict[str, list[list[str]]]:
    """The tables of LibreOffice's HTML rendering by sheet title ("Sheet 1: Sales by month"), each
    cell's text as the browser shows it."""
    out = {}
    for table in visit.tables:
        m = re.match(r"^Sheet \d+: (.+)$", table["title"])
        if m:
            out[m.group(1)] = table["rows"]
    return out
