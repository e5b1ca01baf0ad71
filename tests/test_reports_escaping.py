"""Source text stays text, end to end: customer, rep and branch names holding
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
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from markupsafe import escape
from python_calamine import CalamineWorkbook

from reports_browser import Chromium, render_workbook
from reports_world import FORMULA, HOSTILE, IMG, SCRIPT, hostile_world

pytestmark = pytest.mark.slow  # one pipeline run of a generated world (about 4 minutes)


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
    page = next(p for p in site.rglob("*.html") if "validations" in p.parts)
    visit = browser.visit(page.as_uri(), tmp_path / "docs-hostile-samples.png")
    assert any(SCRIPT in line for line in visit.text.splitlines()), "the sample is shown"
    assert visit.dialogs == [] and not [f for f in visit.failed if f.split(" ")[0].endswith("/x")], visit.problems
