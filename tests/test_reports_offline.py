"""The reports as people meet them, over one real pipeline run of a small generated world
(tests/reports_world.py) whose master data holds hostile names.

Part 1 — source text stays text.
Source text stays text, end to end: customer, rep and branch names holding
``<script>alert(1)</script>``, ``"><img src=x onerror=alert(1)>`` and ``=HYPERLINK("http://x","y")``
are written into the master files of a small generated landing zone and go through the real
pipeline (ingest, Great Expectations, dbt, publish, reports: tests/reports_world.py). They must come
out as inert text:

* the dashboard (English, as the run built it, and Chinese, built from the same serving database):
  escaped by the template engine, nothing executed or loaded when a headless Chromium opens it
  (no dialog, no failed request, no element made of a name), the names readable in the page text;
* the branch workbooks and the credit-rating workbook: each name stored as the very string (never
  a formula; a formula-like string carries the quotePrefix attribute), and shown as that text when
  LibreOffice Calc opens the workbook;
* Data Docs: the names do not reach them (no raw suite's failure samples include a name column);
  the pages load with nothing executed. Hostile text that does reach them as a failure sample
  (a code column failing an in-set expectation) is shown as text: the last test.

Part 2 — read offline.
The reports opened as a person opens them, offline: a real headless Chromium with the network
blocked (tests/reports_browser.py: a dead proxy, no host name resolving, the page emulated offline;
driven over the DevTools protocol) loads the dashboard in English and Chinese, the Data Docs and one
branch workbook as LibreOffice Calc renders it, each with no failed request, no console error and
nothing fetched from the network, and the page text shows what a reader needs: names rather than
codes, Chinese that is Chinese, amounts in 万/亿, times in the business time zone, whole units.
Screenshots are kept in each test's temporary folder.

The pages come from one run of the real pipeline over a small generated world
(the same world), whose master data also
holds hostile names; the other customers and reps keep their ordinary names.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape
from python_calamine import CalamineWorkbook

from reports_browser import Chromium, render_workbook
from reports_world import FORMULA, HOSTILE, IMG, SCRIPT, hostile_world

pytestmark = pytest.mark.slow  # one pipeline run of a generated world, shared by every test here


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return hostile_world(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Chromium(tmp_path_factory.mktemp("chromium-escaping"), height=1600) as b:
        yield b


RAW_MARKUP = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")


def _no_markup_made_of_names(html: str) -> None:
    """No element or attribute was made of a hostile name: only their escaped forms are in the page."""
    for raw in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><img'):
        assert raw not in html, raw


def test_dashboard_shows_hostile_names_as_inert_text(world, browser, tmp_path):
    from pipelines.reports.dashboard import build_dashboard

    pages = {"en": world.reports / "dashboard.html",
             "zh": build_dashboard(world.serving, tmp_path / "dashboard_zh.html", lang="zh")}
    for lang, page in pages.items():
        html = page.read_text(encoding="utf-8")
        _no_markup_made_of_names(html)
        for name in HOSTILE:
            assert str(escape(name)) in html, (lang, name)  # escaped by the template engine
        visit = browser.visit(page.as_uri(), tmp_path / f"dashboard-{lang}.png")
        assert visit.dialogs == [], visit.dialogs  # no alert(1) ran
        assert visit.problems == [] and visit.network_requests == [], visit.problems + visit.network_requests
        # the browser's own DOM holds no element made of a name
        assert "<img" not in visit.html and "alert(1)</script>" not in visit.html
        # the reader sees the names as written: the reps' in the visit section, the branches' in the
        # sales-by-branch chart (long names cut with an ellipsis, whole in the tooltip)
        for name in world.reps.values():
            assert name in visit.text, (lang, name)
        for name in world.branches.values():
            assert name[:18] in visit.text, (lang, name)


def _sheets(path: Path) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _assert_text_not_formulas(path: Path, cells: set[str]) -> None:
    """No cell is a formula; a formula-like string has the quotePrefix attribute (it stays text
    when someone edits the cell)."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                body = z.read(name)
                assert b"<f>" not in body and b"<f " not in body, (path, name)
        styles = z.read("xl/styles.xml").decode()
    if any(c.startswith(("=", "+", "-", "@")) for c in cells):
        assert 'quotePrefix="1"' in styles, path


def test_workbooks_store_hostile_names_as_strings(world):
    branch_books = sorted((world.reports / "branches").glob("branch_*.xlsx"))
    credit_books = sorted((world.reports / "credit_rating").glob("credit_rating_*.xlsx"))
    assert branch_books and credit_books
    seen: set[str] = set()
    for path in branch_books + credit_books:
        sheets = _sheets(path)
        cells = {c for rows in sheets.values() for row in rows for c in row if isinstance(c, str)}
        seen |= cells
        _assert_text_not_formulas(path, cells)
    # every hostile customer, rep and branch name is there, exactly as in the source
    for name in [*world.customers.values(), *world.reps.values(), *world.branches.values()]:
        assert name in seen, name
    # in its place: the branch name beside its code on the sales sheet, the customer's beside its code
    for path in branch_books:
        code = path.stem.removeprefix("branch_")
        sales = _sheets(path)["Sales by month"]
        assert {r[1] for r in sales[1:-1]} == {world.branches[code]}
        credit = _sheets(path)["Credit list"]
        for row in credit[1:-1]:
            if row[1] in world.customers:
                assert row[2] == world.customers[row[1]]


def test_workbook_opened_in_libreoffice_shows_the_names_as_text(world, browser, tmp_path):
    """A person opening the workbook: LibreOffice Calc renders it (formulas would be evaluated), then
    the rendering is opened in Chromium: the formula-like name reads as typed, no link to http://x."""
    for path in sorted((world.reports / "branches").glob("branch_*.xlsx")):
        html = render_workbook(path, tmp_path / path.stem)
        visit = browser.visit(html.as_uri(), tmp_path / f"{path.stem}.png")
        assert visit.problems == [] and visit.network_requests == [], visit.problems + visit.network_requests
        assert 'href="http://x"' not in visit.html and "<img" not in visit.html
        assert "alert(1)</script>" not in visit.html
        in_book = {c for rows in _sheets(path).values() for row in rows for c in row if isinstance(c, str)}
        shown = [n for n in HOSTILE + tuple(world.branches.values()) if n in in_book]
        assert world.branches[path.stem.removeprefix("branch_")] in shown
        for name in shown:
            assert name in visit.text, name  # as typed: =HYPERLINK("http://x","y"), not "y"


def test_data_docs_of_the_run_hold_no_hostile_name_and_run_nothing(world, browser, tmp_path):
    site = world.home / "data_docs"
    pages = sorted(site.rglob("*.html"))
    assert (site / "index.html").is_file() and len(pages) > 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for raw in RAW_MARKUP:
            assert raw not in text, (page, raw)
    for page in [site / "index.html", *[p for p in pages if "validations" in p.parts][:3]]:
        visit = browser.visit(page.as_uri(), tmp_path / f"docs-{len(page.parts)}-{page.stem}.png")
        assert visit.dialogs == [] and visit.network_requests == [], visit.dialogs + visit.network_requests


def test_data_docs_escape_hostile_failure_samples(tmp_path, monkeypatch, browser):
    """Hostile text in a column whose expectation fails reaches Data Docs as a failure sample (GX 1.24
    renders samples as raw HTML; gx_runtime.build_data_docs escapes them first): the page shows it
    as text (no dialog, no request made from it)."""
    from pipelines.quality import gx_runtime as gr
    from test_gx_runtime import NO_MASTERS, execute, make_sales_db, validate

    monkeypatch.chdir(tmp_path)
    db = make_sales_db(tmp_path / "wh.duckdb")
    execute(db, f"""UPDATE raw.sales_lines SET rep_code = CASE rowid % 3 WHEN 0 THEN '{SCRIPT}'
                        WHEN 1 THEN '{IMG.replace("'", "''")}' ELSE '{FORMULA}' END WHERE rowid < 30""")
    validate(db, "raw_sales_lines", day=dt.date(2024, 1, 1), skip_tables=NO_MASTERS, extra_expectations=[
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "rep_code", "value_set": ["R001"]},
         "severity": "warning"}])
    site = tmp_path / "data_docs"
    gr.build_data_docs(site)
    # the validation page of this validation (the process's GX context may hold earlier ones)
    page = next(p for p in sorted(site.rglob("*.html")) if "validations" in p.parts and "alert(1)" in p.read_text())
    visit = browser.visit(page.as_uri(), tmp_path / "docs-hostile-samples.png")
    assert any(SCRIPT in line for line in visit.text.splitlines()), "the sample is shown"
    assert visit.dialogs == [] and not [f for f in visit.failed if f.split(" ")[0].endswith("/x")], visit.problems


# ------------------------------------------------------------------- part 2: read offline


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
