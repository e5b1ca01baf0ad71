"""Two runs started at once on one Dagster instance are serialised, never interleaved on the
warehouse (DuckDB allows one writer process per file): through the instance's run queue
(dagster.yaml, daemon) and through the command line (``python -m pipelines``, which executes in
process and waits for the warehouse turn, pipelines/turn.py). Real instance, real daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster import DagsterEventType as E

from conftest import REPO, copy_landing, subprocess_env

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out

JOB = "reference_data"  # small: loads the overrides file into the warehouse and validates it
BIN = Path(sys.executable).parent
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture
def home(dwh_home, tiny_generated):
    from pipelines.cli import prepare_instance

    copy_landing(tiny_generated, dwh_home)
    prepare_instance()  # dagster.yaml into the fresh Dagster home
    with dg.DagsterInstance.get():  # create its storage once (processes creating it at once collide)
        pass
    return dwh_home


def _start(cmd: list[str], home: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=REPO, env=subprocess_env(home), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _event_time(instance, run_id: str, event_type) -> float:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    assert records, f"no {event_type} in run {run_id}"
    return records[0].event_log_entry.timestamp


def _run_window(instance, run_id: str) -> tuple[float, float]:
    return _event_time(instance, run_id, E.RUN_START), _event_time(instance, run_id, E.RUN_SUCCESS)


def _step_windows(instance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of every step of the run (all of them open the warehouse but the
    freshness check, which is harmless to include)."""
    starts = {r.event_log_entry.step_key: r.event_log_entry.timestamp
              for r in instance.get_records_for_run(run_id, of_type=E.STEP_START).records}
    ends = {r.event_log_entry.step_key: r.event_log_entry.timestamp
            for r in instance.get_records_for_run(run_id, of_type={E.STEP_SUCCESS, E.STEP_FAILURE}).records}
    assert starts and set(starts) == set(ends), (run_id, starts, ends)
    return [(starts[k], ends[k], k) for k in starts]


def _assert_disjoint(windows: dict[str, list[tuple[float, float, str]]]) -> None:
    flat = sorted((s, e, f"{run_id[:8]}/{step}") for run_id, ws in windows.items() for s, e, step in ws)
    for (s1, e1, a), (s2, e2, b) in zip(flat, flat[1:]):
        if a.split("/")[0] != b.split("/")[0]:
            assert e1 <= s2, f"{a} [{s1:.3f}, {e1:.3f}] overlaps {b} [{s2:.3f}, {e2:.3f}]"


def _describe(instance, runs, steps) -> str:
    """The windows seen, for the log (pytest -s)."""
    out = []
    for r in runs:
        kinds = {E.RUN_ENQUEUED: "enqueued", E.RUN_STARTING: "dequeued", E.RUN_START: "start", E.RUN_SUCCESS: "end"}
        times = {name: instance.get_records_for_run(r.run_id, of_type=t).records for t, name in kinds.items()}
        shown = " ".join(f"{k}={v[0].event_log_entry.timestamp:.2f}" for k, v in times.items() if v)
        ws = steps[r.run_id]
        out.append(f"{r.run_id[:8]} {r.tags.get('dwh/launched_by', 'queue')}: {shown} "
                   f"steps {min(w[0] for w in ws):.2f}..{max(w[1] for w in ws):.2f}")
    return "\n".join(sorted(out, key=lambda line: line.split("start=")[1]))


def _wait_finished(instance, n: int, deadline: float) -> list[dg.DagsterRun]:
    while time.monotonic() < deadline:
        runs = instance.get_runs()
        if len(runs) >= n and all(r.status in FINISHED for r in runs):
            return runs
        time.sleep(1)
    raise AssertionError(f"runs not finished in time: {[(r.run_id, r.status) for r in instance.get_runs()]}")


def test_queued_runs_and_a_command_line_run_started_at_once_take_turns(home, tmp_path):
    """Two `dagster job launch` and one command-line run at the same moment: the daemon
    launches the queued runs one at a time (the second stays QUEUED while the first runs), and
    no step of any run overlaps a step of another."""
    daemon = _start([str(BIN / "dagster-daemon"), "run", "-m", "pipelines.definitions"], home, tmp_path / "daemon.log")
    starters: list[subprocess.Popen] = []
    try:
        launch = [str(BIN / "dagster"), "job", "launch", "-m", "pipelines.definitions", "-j", JOB]
        starters = [_start(launch, home, tmp_path / f"launch{i}.log") for i in range(2)]
        starters.append(_start([sys.executable, "-m", "pipelines", "job", JOB], home, tmp_path / "cli.log"))
        for p in starters:
            assert p.wait(timeout=240) == 0, (tmp_path / "cli.log").read_text()[-3000:]
        with dg.DagsterInstance.get() as instance:
            runs = _wait_finished(instance, 3, time.monotonic() + 240)
            assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 3, (tmp_path / "daemon.log").read_text()[-4000:]
            launched = [r.run_id for r in runs if r.tags.get("dwh/launched_by") != "cli"]
            assert len(launched) == 2
            first, second = sorted(launched, key=lambda run_id: _run_window(instance, run_id)[0])
            (s1, e1), (s2, e2) = _run_window(instance, first), _run_window(instance, second)
            assert e1 <= s2, f"queued runs overlap: [{s1:.3f}, {e1:.3f}] and [{s2:.3f}, {e2:.3f}]"
            # the second run was queued before the first finished and dequeued only after it
            assert _event_time(instance, second, E.RUN_ENQUEUED) < e1
            assert _event_time(instance, second, E.RUN_STARTING) >= e1
            steps = {r.run_id: _step_windows(instance, r.run_id) for r in runs}
            print(_describe(instance, runs, steps))
            _assert_disjoint(steps)
    finally:
        for p in starters:
            _stop(p)
        _stop(daemon)


def test_two_command_line_runs_started_at_once_run_one_after_the_other(home, tmp_path):
    cmd = [sys.executable, "-m", "pipelines", "job", JOB]
    procs = [_start(cmd, home, tmp_path / f"cli{i}.log") for i in range(2)]
    try:
        for p in procs:
            p.wait(timeout=240)
        logs = [(tmp_path / f"cli{i}.log").read_text() for i in range(2)]
        assert [p.returncode for p in procs] == [0, 0], logs
        assert any("waiting for" in log for log in logs), logs  # one of them did wait for its turn
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            assert all(r.tags.get("dwh/launched_by") == "cli" for r in runs)
            (s1, e1), (s2, e2) = sorted(_run_window(instance, r.run_id) for r in runs)
            print(_describe(instance, runs, {r.run_id: _step_windows(instance, r.run_id) for r in runs}))
            assert e1 <= s2, f"command-line runs overlap: [{s1:.3f}, {e1:.3f}] and [{s2:.3f}, {e2:.3f}]"
    finally:
        for p in procs:
            _stop(p)


def test_a_killed_command_line_run_does_not_block_the_next(home, tmp_path):
    """A command-line process killed mid-run leaves its run STARTED (which would block the queue
    and every later run); the next command-line run marks it failed and goes ahead."""
    victim = _start([sys.executable, "-m", "pipelines", "job", JOB], home, tmp_path / "victim.log")
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 120
            while not instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                assert victim.poll() is None and time.monotonic() < deadline, (tmp_path / "victim.log").read_text()
                time.sleep(0.05)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            (orphan,) = instance.get_runs()
            assert orphan.status == dg.DagsterRunStatus.STARTED
        proc = subprocess.run([sys.executable, "-m", "pipelines", "job", JOB], cwd=REPO, env=subprocess_env(home),
                              capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"marked run {orphan.run_id}" in proc.stdout
        with dg.DagsterInstance.get() as instance:
            status = {r.run_id: r.status for r in instance.get_runs()}
            assert status.pop(orphan.run_id) == dg.DagsterRunStatus.FAILURE
            assert list(status.values()) == [dg.DagsterRunStatus.SUCCESS]
    finally:
        _stop(victim)
