"""Crash safety: the whole pipeline (``python -m pipelines run`` on the tiny preset) killed with
SIGKILL (its whole process group, dbt included) at seeded random points spread over ingest,
dbt, CLV and publish, then checked:

(a) the serving database is the last good version — the one before the killed run (same
    publish id and table hashes; absent when no publish ever completed), or, when the kill
    came after the killed run's own swap, that run's complete version (equal to the
    reference) — and opens in a fresh read-only connection; the parquet ``current`` link
    points at a whole version (before's or the new one);
(b) no partition is half loaded (``support.crash.raw_partition_problems``: rows per
    source and _partition_date match raw.load_log, from the one load it names), the CLV mart
    and its fits are whole runs, and the warehouse opens (its WAL, if any, replayed on a copy);
(c) the next full run succeeds and its marts, raw layer and serving tables hash equal to an
    uninterrupted reference run's (run-specific columns left out:
    ``support.crash.RUN_SPECIFIC_COLUMNS``), and no leftover of the killed publish remains.

Trials: ``DWH_CRASH_TRIALS`` (default 3; 20 for the full check), seed ``DWH_CRASH_SEED``
(default 38: its first three trials kill in publish (the serving swap), dbt and ingest, the
fourth in CLV), ``DWH_CRASH_ONLY=<trial>`` replays one trial of that seed. Each trial's kill
point (stage, step, offset) and where it landed are printed and appended to
``crash_trials.jsonl`` in the test's temp folder (path printed; ``DWH_CRASH_LOG`` overrides).
Every trial starts from an empty DWH_HOME (every fourth, the first included) or from a copy
of the reference run, so one trial replays on its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from support.crash import (copy_home, diff_hashes, draw_kill_points, fresh_home, open_copy, parquet_tables,
                           reference_run, raw_partition_problems, clv_fits_problems, run_and_kill, run_pipeline,
                           serving_leftovers, serving_state, warehouse_hashes)

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out

TRIALS = int(os.environ.get("DWH_CRASH_TRIALS", "3"))
SEED = int(os.environ.get("DWH_CRASH_SEED", "38"))
ONLY = os.environ.get("DWH_CRASH_ONLY")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_generated):
    return reference_run(tmp_path_factory, tiny_generated)


def test_reference_run_covers_every_stage(reference):
    """The kill points are drawn from this run: every stage must have steps, and the reference
    itself must be a complete publish."""
    from support.crash import STAGES, stage_of

    assert {stage_of(s.step) for s in reference.spans} == set(STAGES)
    assert reference.serving.publish_id and reference.serving.parquet_current == reference.serving.publish_id
    assert reference.warehouse["marts.mart_customer_lifetime_value"][0] > 0
    assert reference.warehouse["marts.fct_sales_lines"][0] > 0


def test_kill_9_at_random_points_leaves_a_recoverable_state(reference, tiny_generated, tmp_path):
    points = draw_kill_points(reference.spans, TRIALS, SEED)
    if ONLY is not None:
        points = [points[int(ONLY)]]
    log_path = Path(os.environ.get("DWH_CRASH_LOG") or tmp_path / "crash_trials.jsonl")
    print(f"\ncrash trials: {len(points)} (seed {SEED}); reference run {reference.seconds:.0f}s; log {log_path}")
    for point in points:
        home = tmp_path / f"trial{point.trial}" / "var"
        if point.fresh:
            fresh_home(home, tiny_generated)
        else:
            copy_home(reference.home, home)
        before = serving_state(home)
        outcome = run_and_kill(home, point, tmp_path / f"trial{point.trial}" / "logs")
        print(outcome.describe(), flush=True)
        record = {"seed": SEED, **asdict(point), **{k: v for k, v in asdict(outcome).items() if k != "point"}}
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        what = outcome.describe()
        assert outcome.killed, what

        # (a) serving: the last good version, whole, readable by a fresh read-only connection
        after = serving_state(home)
        if after.publish_id == before.publish_id:
            assert after.hashes == before.hashes, f"{what}: serving changed under the same publish id"
        else:  # the killed run's swap completed before the kill: a complete version of the same data
            assert after.source_run_id == outcome.landed_run_id, f"{what}: serving from an unknown run"
            assert not diff_hashes(after.hashes, reference.serving.hashes), \
                f"{what}: new serving version differs: {diff_hashes(after.hashes, reference.serving.hashes)}"
        versions = {before.publish_id: before.tables, after.publish_id: after.tables}
        assert after.parquet_current in {before.parquet_current, after.publish_id}, \
            f"{what}: parquet current {after.parquet_current}, serving {before.publish_id} -> {after.publish_id}"
        if after.parquet_current:
            assert parquet_tables(home, after.parquet_current) == versions[after.parquet_current], \
                f"{what}: parquet version {after.parquet_current} is not the whole published version"

        dashboard = home / "reports" / "dashboard.html"
        if dashboard.exists():  # reports are written aside and renamed: never a truncated file
            assert dashboard.read_text(encoding="utf-8").endswith("</html>"), what

        # (b) raw layer: no half-loaded partition; CLV mart and fits whole; warehouse opens
        warehouse = home / "warehouse" / "warehouse.duckdb"
        if warehouse.exists():
            con = open_copy(warehouse, tmp_path / f"trial{point.trial}" / "wal_replay")
            try:
                assert raw_partition_problems(con) == [], what
                assert clv_fits_problems(con) == [], what
            finally:
                con.close()

        # (c) the next full run recovers to the reference results
        run_pipeline(home)
        got = warehouse_hashes(warehouse)
        assert not diff_hashes(got, reference.warehouse), f"{what}: after recovery {diff_hashes(got, reference.warehouse)}"
        recovered = serving_state(home)
        assert recovered.publish_id not in (None, before.publish_id, after.publish_id), what
        assert not diff_hashes(recovered.hashes, reference.serving.hashes), \
            f"{what}: serving after recovery {diff_hashes(recovered.hashes, reference.serving.hashes)}"
        assert recovered.parquet_current == recovered.publish_id, what
        assert parquet_tables(home, recovered.publish_id) == recovered.tables, what
        assert serving_leftovers(home) == [], f"{what}: leftovers {serving_leftovers(home)}"
        assert sorted(p.name for p in (home / "reports").rglob("*.tmp")) == [], what
        con = open_copy(warehouse, tmp_path / f"trial{point.trial}" / "final")
        try:
            assert raw_partition_problems(con) == [] and clv_fits_problems(con) == [], what
        finally:
            con.close()


def test_publish_removes_what_a_killed_publish_left(tmp_path):
    """What kill -9 can leave in the serving folder (staging file and WAL, temporary link, a
    parquet version never made current) is gone after the next publish; the previous current
    parquet version is kept for readers that resolved the link before the switch."""
    import duckdb

    from pipelines.publish.serving import publish

    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.a AS SELECT range AS id FROM range(3)")
    con.close()
    serving, parquet = tmp_path / "serving" / "serving.duckdb", tmp_path / "serving" / "parquet"
    first = publish(warehouse, serving, [("marts", "a")], "run-1", parquet_dir=parquet)
    # a publish killed after its parquet export, before the swap
    dead = "f" * 32
    for name in (f".serving.duckdb.{dead}.building", f".serving.duckdb.{dead}.building.wal"):
        (serving.parent / name).write_bytes(b"half")
    (parquet / dead / "a").mkdir(parents=True)
    (parquet / dead / "a" / "data.parquet").write_bytes(b"PAR1 half")
    (parquet / f".current.{dead}").symlink_to(dead)
    second = publish(warehouse, serving, [("marts", "a")], "run-2", parquet_dir=parquet)
    home = tmp_path
    assert serving_leftovers(home) == []
    assert sorted(p.name for p in parquet.iterdir()) == sorted(["current", first.publish_id, second.publish_id])
    assert serving_state(home).publish_id == second.publish_id == serving_state(home).parquet_current
