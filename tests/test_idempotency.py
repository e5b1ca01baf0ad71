"""Idempotency: after a full run of the pipeline on the tiny preset, re-running every asset of
one daily partition (the ``daily_pipeline`` job for that day: its master and daily loads,
their validations, the dbt models, the CLV, the mart validations, the publish and the reports)
once, and then the whole range once, leaves every table of the warehouse's marts (and
seeds and raw layer) and of the serving database identical to the first full run.

Compared by content hash (rows sorted by all columns), leaving out only the run-specific
columns listed with their reasons in ``support.crash.RUN_SPECIFIC_COLUMNS`` (load, run and
publish ids, wall-clock times and fit durations). ``marts.clv_model_fits`` is a deliberate
run history (one row per run, month end and model): its hash covers the fits of the run that
produced the current CLV mart, and the test checks the history grows by exactly 2 models x
month ends per run. ``quality.validation_results`` (the history of validations) is not
compared.
"""

from __future__ import annotations

import sys
from datetime import date

import duckdb
import pytest

from support.crash import (clv_fits_problems, copy_home, diff_hashes, raw_partition_problems, reference_run,
                           run_pipeline, serving_leftovers, serving_state, warehouse_hashes)

RERUNS = 1  # re-runs of the day before the whole range runs again (each is compared with the reference)

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_generated):
    return reference_run(tmp_path_factory, tiny_generated)


def _fits(warehouse) -> tuple[int, int]:
    """(rows in the fits history, month ends of the current CLV mart)"""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT (SELECT count(*) FROM marts.clv_model_fits), "
                           "(SELECT count(DISTINCT as_of_date) FROM marts.mart_customer_lifetime_value)").fetchall()[0]
    finally:
        con.close()


def _check_same_as_reference(home, reference, what: str, previous_publish: str | None) -> str:
    warehouse = home / "warehouse" / "warehouse.duckdb"
    diff = diff_hashes(warehouse_hashes(warehouse), reference.warehouse)
    assert not diff, f"{what}: warehouse differs from the first full run: {diff}"
    serving = serving_state(home)
    assert serving.publish_id and serving.publish_id != previous_publish, f"{what}: no new publish"
    diff = diff_hashes(serving.hashes, reference.serving.hashes)
    assert not diff, f"{what}: serving database differs from the first full run: {diff}"
    assert serving.parquet_current == serving.publish_id, what
    assert serving_leftovers(home) == [], what
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert raw_partition_problems(con) == [] and clv_fits_problems(con) == [], what
    finally:
        con.close()
    return serving.publish_id


def test_rerunning_one_day_and_the_whole_range_changes_no_mart(reference, tmp_path):
    from pipelines.cli import landing_date_range

    home = copy_home(reference.home, tmp_path / "var")
    warehouse = home / "warehouse" / "warehouse.duckdb"
    start, end = landing_date_range(home / "landing")
    day = date.fromordinal((start.toordinal() + end.toordinal()) // 2)  # a mid-range day
    fits, month_ends = _fits(warehouse)
    assert month_ends > 0 and fits == 2 * month_ends  # the first full run: one CLV run
    publish_id = reference.serving.publish_id
    rerun_day = [sys.executable, "-c",
                 "import sys; from datetime import date; from pipelines.cli import execute; "
                 f"sys.exit(0 if execute('daily_pipeline', date.fromisoformat('{day}'), "
                 f"date.fromisoformat('{day}')) else 1)"]
    for i in range(1, RERUNS + 1):
        proc = run_pipeline(home, rerun_day)
        assert f"daily_pipeline {day.isoformat()}..{day.isoformat()}: success" in proc.stdout, proc.stdout[-2000:]
        publish_id = _check_same_as_reference(home, reference, f"re-run {i} of {day}", publish_id)
        assert _fits(warehouse) == (fits + i * 2 * month_ends, month_ends), f"re-run {i}: fits history"
    run_pipeline(home)  # the whole range again
    _check_same_as_reference(home, reference, "re-run of the whole range", publish_id)
    assert _fits(warehouse) == (fits + (RERUNS + 1) * 2 * month_ends, month_ends)
