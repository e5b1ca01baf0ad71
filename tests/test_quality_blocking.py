"""Blocking and WARN semantics end to end: real Dagster (runs executed in-process on an
instance in a temp DAGSTER_HOME via ``pipelines.cli``), real GX, real DuckDB, real dbt, on
the tiny generated landing zone.

After one good run of the whole pipeline, one day's sales file is rewritten and that day
re-run: rows that load into raw but break a critical expectation (GX owns the loads) must stop
dbt and publish (the served data stays as it was); rows that break only warning expectations
must not. A mart failing an error-severity dbt test (dbt owns the models' checks) is not
published either.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import copy_landing

pytestmark = pytest.mark.slow  # runs the pipeline through Dagster several times; `pytest -m "not slow"` leaves it out


@dataclass
class Env:
    home: Path
    day: dt.date
    sales_file: Path
    original: bytes


def _sales_day(landing: Path) -> tuple[dt.date, Path]:
    """A weekday with a UTF-8 CSV sales file of at least 4 lines."""
    for path in sorted(landing.glob("sales/*/*/sales_*.csv")):
        if path.name.endswith(".gbk.csv"):
            continue
        day = dt.datetime.strptime(path.stem.split("_")[1], "%Y%m%d").date()
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        if day.weekday() < 5 and len(rows) >= 5 and day.day > 7:
            return day, path
    raise AssertionError("no suitable sales file in the tiny landing zone")


@pytest.fixture(scope="module")
def env(tiny_generated, tmp_path_factory):
    home = tmp_path_factory.mktemp("quality_blocking") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DWH_HOME", str(home))
        mp.setenv("DWH_ENV", "test")
        mp.setenv("DAGSTER_HOME", str(home / "dagster_home"))
        mp.delenv("DWH_LANDING_DIR", raising=False)
        (home / "dagster_home").mkdir(parents=True)
        landing = copy_landing(tiny_generated, home)
        from pipelines import cli

        start, end = cli.landing_date_range(landing)
        assert cli.run_all(start, end), "the good run of the whole pipeline failed"
        day, path = _sales_day(landing)
        yield Env(home, day, path, path.read_bytes())


def _rewrite(path: Path, original: bytes, change) -> None:
    """Rewrite a sales CSV from its original bytes, ``change(row_index, row_dict)`` per data row."""
    reader = csv.DictReader(io.StringIO(original.decode("utf-8")))
    rows = list(reader)
    for i, row in enumerate(rows):
        change(i, row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _sales_to_serving() -> tuple[list[str], set[str]]:
    """The assets on the path raw/sales_lines -> marts/mart_sales_monthly -> serving/database
    (what a re-run of a sales day needs; a subset keeps the test fast), and everything
    downstream of raw/sales_lines."""
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    sales, mart, serving = (dg.AssetKey.from_user_string(k)
                            for k in ("raw/sales_lines", "marts/mart_sales_monthly", "serving/database"))
    down = dg.AssetSelection.assets(sales).downstream().resolve(graph)
    up = dg.AssetSelection.assets(mart).upstream().resolve(graph)
    path = sorted(k.to_user_string() for k in (down & up) | {serving})
    return path, {k.to_user_string() for k in down}


def _served(home: Path) -> dict:
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        return {"publish": con.execute("SELECT * FROM _publish ORDER BY ALL").fetchall(),
                "mart": con.execute("SELECT * FROM mart_sales_monthly ORDER BY ALL").fetchall()}
    finally:
        con.close()


def _last_run(home: Path):
    """(run, step keys started (in order), asset keys materialized, check evaluations by check name)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        (run,) = instance.get_runs(limit=1)
        started, materialized, checks = [], set(), {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                started.append(event.step_key)
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                materialized.add(event.asset_key.to_user_string())
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                checks[evaluation.check_name] = evaluation
        return run, started, materialized, checks


def _validation_rows(home: Path, run_id: str) -> dict:
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT check_name, success_blocking, success, failed_errors, failed_warnings, failed "
                           "FROM quality.validation_results WHERE run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def _day_status(home: Path, day: dt.date):
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT valid, run_id FROM quality.partition_status "
                           "WHERE asset = 'raw/sales_lines' AND partition_date = ?", [day]).fetchone()
    finally:
        con.close()


def test_data_docs_and_results_after_a_run(env):
    index = env.home / "data_docs" / "index.html"
    assert index.is_file()
    html = index.read_text(encoding="utf-8")
    for suite in ("raw_sales_lines", "raw_master_customers", "raw_stock_reports", "raw_credit_rating_overrides",
                  "mart_customer_lifetime_value"):
        assert suite in html, suite
    pages = list((env.home / "data_docs").rglob("*.html"))
    assert list((env.home / "data_docs" / "validations").rglob("*.html"))
    # offline: nothing loaded from the network; swapped in as a whole (a link to the new build)
    assert not [p for p in pages if "https://" in p.read_text(encoding="utf-8") or "http://" in p.read_text(encoding="utf-8")]
    assert (env.home / "data_docs").is_symlink()
    con = duckdb.connect(str(env.home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        recorded = {r[0] for r in con.execute("SELECT DISTINCT suite FROM quality.validation_results").fetchall()}
        blocking = con.execute("SELECT count(*) FROM quality.validation_results WHERE NOT success_blocking").fetchone()
    finally:
        con.close()
    suites = {p.stem for p in (Path(__file__).parent.parent / "expectations").glob("*.json")}
    assert recorded == suites
    assert blocking == (0,)


def test_error_failure_blocks_everything_downstream_and_keeps_served_data(env):
    from pipelines.cli import execute

    before = _served(env.home)

    def corrupt(i, row):
        if i == 0:
            row["line_no"] = "0"  # ingest takes any integer; the suite numbers lines from 1 (ERROR)
        if i == 1:
            row["branch_code"] = "BR99"  # ingest does not check branches; the suite does (ERROR)

    _rewrite(env.sales_file, env.original, corrupt)
    path, downstream = _sales_to_serving()
    assert execute("daily_pipeline", env.day, env.day, assets=path) is False

    run, started, materialized, checks = _last_run(env.home)
    import dagster as dg

    check = checks["gx_raw_sales_lines"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    table = check.metadata["failed_expectations"].value
    assert "line_no" in table and "BR99" in table
    # the bad rows did load (ingest accepted them) ...
    assert "raw/sales_lines" in materialized
    # ... but nothing downstream of them ran: no dbt step after the failed check, no publish. (A
    # dbt test whose other parent is outside the run's assets, e.g. fct_sales_lines -> dim_rep,
    # may run on its own before ingest, on the models as they were: it builds nothing.)
    after = started[started.index("raw__sales_lines_gx_raw_sales_lines"):]
    assert not [s for s in after if s.startswith("dbt_")], started
    assert "serving__database" not in started
    assert materialized & downstream == {"raw/sales_lines"}, materialized
    assert _served(env.home) == before
    recorded = _validation_rows(env.home, run.run_id)["gx_raw_sales_lines"]
    assert recorded[0] is False and recorded[2] >= 2 and "BR99" in recorded[4]
    assert _day_status(env.home, env.day) == (False, run.run_id)  # raw holds unvalidated rows for the day


def test_warn_only_failure_does_not_block(env):
    from pipelines.cli import execute

    before = _served(env.home)

    def blank_rep(i, row):
        if i == 0:
            row["rep_code"] = ""  # rep_code is optional in sources.yml; the suite warns

    _rewrite(env.sales_file, env.original, blank_rep)
    path, _downstream = _sales_to_serving()
    try:
        assert execute("daily_pipeline", env.day, env.day, assets=path) is True
    finally:
        env.sales_file.write_bytes(env.original)

    run, started, materialized, checks = _last_run(env.home)
    import dagster as dg

    check = checks["gx_raw_sales_lines"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert "rep_code" in check.metadata["failed_expectations"].value
    mart_checks = {n: c for n, c in checks.items() if "mart_sales_monthly" in n}  # its dbt tests
    assert "mart_sales_monthly_lines_reconcile_with_fct_sales_lines" in mart_checks and len(mart_checks) >= 8
    assert all(c.passed for n, c in mart_checks.items() if n != "mart_sales_monthly_branches_in_organisation_master")
    assert "serving/database" in materialized and "marts/mart_sales_monthly" in materialized
    after = _served(env.home)
    assert after["publish"] != before["publish"]  # a new publish, from this run
    assert after["publish"][0][2] == run.run_id
    recorded = _validation_rows(env.home, run.run_id)["gx_raw_sales_lines"]
    assert recorded[0] is True and recorded[1] is False and recorded[3] >= 1
    assert _day_status(env.home, env.day) == (True, run.run_id)


def test_error_in_a_mart_dbt_test_blocks_publish(env):
    """The marts' dbt tests gate publish: a mart failing an error-severity dbt test (a blocking
    asset check of the mart) is not served. The fact it is built from is corrupted in the
    warehouse (a return line with a positive amount, so the month's returns are negative), and
    only the mart and the serving database are run: dbt rebuilds the mart, its test fails."""
    import dagster as dg

    from pipelines.cli import execute

    before = _served(env.home)
    con = duckdb.connect(str(env.home / "warehouse" / "warehouse.duckdb"))
    try:
        key = con.execute("SELECT invoice_no, line_no, net_amount FROM marts.fct_sales_lines WHERE is_return "
                          "ORDER BY ALL LIMIT 1").fetchone()
        assert key, "no return line in the tiny data"
        con.execute("UPDATE marts.fct_sales_lines SET net_amount = abs(net_amount) + 1000000 "
                    "WHERE invoice_no = ? AND line_no = ?", key[:2])
    finally:
        con.close()
    try:
        assert execute("daily_pipeline", env.day, env.day,
                       assets=["marts/mart_sales_monthly", "serving/database"]) is False
    finally:
        con = duckdb.connect(str(env.home / "warehouse" / "warehouse.duckdb"))
        try:
            con.execute("UPDATE marts.fct_sales_lines SET net_amount = ? WHERE invoice_no = ? AND line_no = ?",
                        [key[2], *key[:2]])
        finally:
            con.close()
    _run, started, materialized, checks = _last_run(env.home)
    check = checks["accepted_range_mart_sales_monthly_returns_amount__0"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.asset_key == dg.AssetKey(["marts", "mart_sales_monthly"])
    assert "marts/mart_sales_monthly" in materialized  # dbt rebuilt it in the warehouse ...
    assert "serving__database" not in started          # ... but it was not published
    assert _served(env.home) == before
