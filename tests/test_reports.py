"""Reports from the serving database: the offline dashboard renders its charts in headless
Chromium with no console errors (screenshot saved), workbooks per branch neutralise formula
injection, and labels follow the configured language."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from pipelines.publish.serving import publish
from pipelines.reports.dashboard import build_dashboard
from pipelines.reports.workbooks import build_branch_workbooks

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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


def test_workbooks_neutralise_formula_injection(serving, tmp_path):
    files = build_branch_workbooks(serving, tmp_path / "branches", lang="en")
    assert len(files) == 4
    cells = []
    for f in files:
        sheet = CalamineWorkbook.from_path(str(f)).get_sheet_by_index(0).to_python()
        cells += [c for row in sheet for c in row if isinstance(c, str)]
    assert "Month" in cells
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert dangerous == []
    assert "'=HYPERLINK(\"http://x\")" in cells and "'@SUM(A1)" in cells
    # and the raw XML holds no formula element
    import zipfile
    for f in files:
        with zipfile.ZipFile(f) as z:
            assert all(b"<f>" not in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_labels_follow_the_language(serving, tmp_path):
    zh = build_dashboard(serving, tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    en = build_dashboard(serving, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert "月度净销售额" in zh and "Net sales by month" in en
    assert "http://" not in en.replace('xmlns="http://www.w3.org/2000/svg"', "").replace("http://x", "")  # no CDN


def test_dashboard_renders_in_headless_chromium(serving, tmp_path):
    assert Path(CHROMIUM).exists(), "chromium is installed by `python3.11 dwh.py test`"
    html = build_dashboard(serving, tmp_path / "dashboard.html", lang="en")
    shot = Path(__file__).resolve().parent.parent / "var" / "test-artifacts" / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chrome-profile'}"]
    # 1) the rendered DOM: charts present
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") >= 2 and "polyline" in dom.stdout and "<rect" in dom.stdout
    # 2) console errors: log the page's console with --enable-logging and scan it
    log = subprocess.run([CHROMIUM, *flags, "--enable-logging=stderr", "--v=0", f"--screenshot={shot}",
                          "--window-size=1280,1400", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert log.returncode == 0, log.stderr[-2000:]
    console = [l for l in log.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert console == [], console
    assert shot.exists() and shot.stat().st_size > 10_000
