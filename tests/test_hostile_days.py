"""Hostile files against a whole day of the real pipeline (Dagster runs, dbt, publish): the served
rows of a day never change because of a file that is not what it claims or that no layout reads,
and rows quarantined for a customer the master data lacked reach the serving database once the
customer's extract arrives (through the release sensor's run).

A copy of the session's tiny pipeline run is shared by the module; each test changes the landing zone,
re-runs one day with ``python -m pipelines job daily_pipeline --start D --end D`` (what the
schedule or the sensor would run) and puts the landing zone back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, subprocess_env

DAY = "2023-01-04"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory, reference) -> Path:
    """A copy of the session's whole-pipeline run, changed by this module's tests."""
    from support.crash import copy_home

    return copy_home(reference.home, tmp_path_factory.mktemp("hostile") / "var")


def run_day(home: Path, day: str = DAY, assets: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pipelines", "job", "daily_pipeline", "--start", day, "--end", day]
    for a in assets or []:
        cmd += ["--asset", a]
    return subprocess.run(cmd, cwd=REPO, env=subprocess_env(home), capture_output=True, text=True, timeout=900)


def served(home: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouse(home: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


VISITS = f"SELECT visit_id, rep_code, customer_code, check_in_at FROM fct_visits WHERE visit_date = DATE '{DAY}' ORDER BY 1"
SALES = f"SELECT invoice_no, line_no, qty, net_amount FROM fct_sales_lines WHERE invoice_date = DATE '{DAY}' ORDER BY 1, 2"


def test_a_502_page_saved_as_the_days_visit_log_changes_no_served_row(home):
    before = served(home, VISITS)
    assert len(before) > 10
    path = home / "landing" / "visits" / "2023" / "01" / f"visits_{DAY.replace('-', '')}.jsonl"
    kept = path.read_bytes()
    path.write_bytes(b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                     b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
    try:
        proc = run_day(home)
        assert proc.returncode != 0  # the run fails, naming the file
        assert f"visits_{DAY.replace('-', '')}.jsonl" in proc.stderr and "no_good_rows" in proc.stderr
        assert served(home, VISITS) == before
        assert warehouse(home, "SELECT count(*) FROM raw.visits WHERE _partition_date = ?", [DAY])[0][0] == len(before)
        assert warehouse(home, "SELECT count(*) FROM raw.quarantine WHERE source = 'visits' AND _partition_date = ? "
                               "AND reason_code = 'bad_json'", [DAY])[0][0] == 6
    finally:
        path.write_bytes(kept)


def test_files_no_layout_reads_change_no_served_row(home):
    before = served(home, SALES)
    assert before
    folder = home / "landing" / "sales" / "2023" / "01"
    name = f"sales_{DAY.replace('-', '')}"
    (folder / f"{name}.csv").rename(folder / f"{name}.CSV")  # another letter case: still read
    (folder / "sales_20230230.csv").write_bytes((folder / f"{name}.CSV").read_bytes())  # no such day
    try:
        proc = run_day(home)
        assert proc.returncode != 0 and "landing_files" in proc.stderr
        assert served(home, SALES) == before
        assert warehouse(home, "SELECT count(*) FROM raw.sales_lines WHERE _partition_date = ?", [DAY])[0][0] == len(before)
        assert warehouse(home, "SELECT status FROM raw.load_log WHERE _source_file = 'sales/2023/01/sales_20230230.csv'"
                         ) == [("bad_file_date",)]
    finally:
        (folder / "sales_20230230.csv").unlink()
        (folder / f"{name}.CSV").rename(folder / f"{name}.csv")


def test_a_sale_waiting_for_its_customer_reaches_the_serving_database_when_the_customer_arrives(home, monkeypatch):
    import dagster as dg

    from pipelines.ingest.sensors import quarantine_release_sensor

    sales_file = home / "landing" / "sales" / "2023" / "01" / f"sales_{DAY.replace('-', '')}.csv"
    kept_sales = sales_file.read_bytes()
    lines = kept_sales.decode("utf-8").splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    late = dict(zip(header, first))
    late.update(invoice_no="INVLATE0001", line_no="1", customer_code="C9999")
    sales_file.write_text("\n".join(lines + [",".join(late[h] for h in header)]) + "\n", encoding="utf-8")
    def day_of(path: Path) -> date:
        return date(*map(int, path.parent.relative_to(home / "landing" / "master").parts))

    extract = max((m for m in (home / "landing" / "master").glob("*/*/*/customers.csv")
                   if day_of(m) <= date.fromisoformat(DAY)), key=day_of)  # the extract in force on the day
    kept_master = extract.read_bytes()
    try:
        assert run_day(home).returncode == 0
        assert served(home, "SELECT count(*) FROM fct_sales_lines WHERE invoice_no = 'INVLATE0001'")[0][0] == 0
        assert warehouse(home, "SELECT reason_code, blocked_by FROM raw.quarantine WHERE raw_row LIKE '%INVLATE0001%'"
                         ) == [("unknown_customer", "C9999")]
        # the customer's master row arrives (a re-delivered extract), and its day is loaded again
        rows = kept_master.decode("utf-8").splitlines()
        mheader, mfirst = rows[0].split(","), rows[1].split(",")
        newcomer = dict(zip(mheader, mfirst), customer_code="C9999", customer_name="Late Newcomer Ltd")
        extract.write_text("\n".join(rows + [",".join(newcomer[h] for h in mheader)]) + "\n", encoding="utf-8")
        extract_day = day_of(extract).isoformat()
        assert run_day(home, extract_day, assets=["raw/master_customers"]).returncode == 0
        # the release sensor asks for the sale's day, as the daemon would
        monkeypatch.setenv("DWH_HOME", str(home))
        with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
            from pipelines.resources import build_resources

            data = quarantine_release_sensor.evaluate_tick(dg.build_sensor_context(
                instance=instance, resources={"settings": build_resources()["settings"]}))
        requested = [(r.job_name, r.tags["dagster/asset_partition_range_start"]) for r in data.run_requests]
        assert ("daily_pipeline", DAY) in requested
        assert run_day(home).returncode == 0
        assert served(home, "SELECT customer_code FROM fct_sales_lines WHERE invoice_no = 'INVLATE0001'") == [("C9999",)]
        assert warehouse(home, "SELECT reason_code, released_at IS NOT NULL FROM raw.quarantine "
                               "WHERE raw_row LIKE '%INVLATE0001%'") == [("unknown_customer", True)]
    finally:
        sales_file.write_bytes(kept_sales)
        extract.write_bytes(kept_master)
        shutil.rmtree(home / "state", ignore_errors=True)


def test_a_day_that_failed_its_validation_never_reaches_the_served_marts(home):
    """A receivables day whose load fails a critical expectation (an invoice due before it was
    raised, which ingest cannot know is wrong): the run stops; a later day's run rebuilds the
    marts without any row of the failed day; re-delivered and valid, the day comes back."""
    folder = home / "landing" / "receivables" / "2023" / "01"
    path = next(p for p in sorted(folder.glob("receivables_2023010[5-9].csv")) if "\nINVOICE," in p.read_text())
    day = f"2023-01-{path.stem[-2:]}"
    later = f"2023-01-{int(path.stem[-2:]) + 1:02d}"
    kept = path.read_bytes()
    text = kept.decode("utf-8")
    header = text.splitlines()[0].split(",")
    invoice = next(l for l in text.splitlines()[1:] if l.startswith("INVOICE")).split(",")
    bad = dict(zip(header, invoice), invoice_no="INVBAD0001", due_date="2023-01-01")
    sql = f"SELECT count(*) FROM fct_receivables WHERE invoice_date = DATE '{day}'"
    served_before = served(home, sql)[0][0]
    assert served_before > 0
    path.write_text(text.rstrip("\n") + "\n" + ",".join(bad[h] for h in header) + "\n", encoding="utf-8")
    try:
        failed = run_day(home, day)
        assert failed.returncode != 0 and "gx_raw_receivables" in failed.stderr
        assert served(home, "SELECT count(*) FROM fct_receivables WHERE invoice_no = 'INVBAD0001'")[0][0] == 0
        assert served(home, sql)[0][0] == served_before  # the run stopped: the serving copy is as it was
        assert run_day(home, later).returncode == 0
        # the later day's run rebuilt the marts without any row of the failed day
        assert served(home, "SELECT count(*) FROM fct_receivables WHERE invoice_no = 'INVBAD0001'")[0][0] == 0
        assert served(home, sql)[0][0] == 0
        assert served(home, f"SELECT count(*) FROM fct_receivables WHERE invoice_date = DATE '{later}'")[0][0] > 0
    finally:
        path.write_bytes(kept)
    assert run_day(home, day).returncode == 0  # delivered again, valid: the day is back
    assert served(home, sql)[0][0] == served_before
