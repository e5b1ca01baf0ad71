"""One run at a time on the warehouse: DuckDB allows a single writer process per file.

Two layers, both scoped to the Dagster instance (DAGSTER_HOME):

* **The run queue** (dagster.yaml ``concurrency.runs.max_concurrent_runs: 1``, enforced by the
  QueuedRunCoordinator in the daemon): runs launched from the UI, schedules, sensors, backfills
  or ``dagster job launch`` wait as QUEUED until no run is in progress. A run the command line
  executes in process counts as in progress too, so queued runs also wait for it.
* **The warehouse turn**, a file lock in DAGSTER_HOME held for the whole execution of a run
  (the OS releases it when the process dies, so a killed run never blocks the next). The
  command line (``python -m pipelines ...``, whose ``execute_in_process`` bypasses the queue)
  takes it around the run, once the queue's active runs have finished; runs launched
  through the queue take it in their executor (``turn_taking_executor``). So two command-line
  runs, or a command-line run and a launched run started in the same instant, run one after
  the other, never interleaved.

Concurrency pools do not give this for ``execute_in_process``: at op granularity they serialise
single steps, so two runs would interleave step by step (one run's publish could pick up the
other's ingested but not yet validated rows); at run granularity they are enforced only when
the queue dequeues a run.
"""

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from filelock import FileLock

TURN_LOCK_FILE = "warehouse-turn.lock"
# Tags on runs the command line executes in process.
CLI_TAG, CLI_HOST_TAG, CLI_PID_TAG = "dwh/launched_by", "dwh/cli_host", "dwh/cli_pid"
ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def cli_run_tags() -> dict[str, str]:
    return {CLI_TAG: "cli", CLI_HOST_TAG: socket.gethostname(), CLI_PID_TAG: str(os.getpid())}


_HELD: dict[str, int] = {}  # lock file -> how deep this process holds it (the command line, then the executor)


@contextmanager
def hold_turn(instance: dg.DagsterInstance, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the instance's warehouse turn (blocking until it is free). Re-entrant within a
    process: a command-line run holds it, and its executor then finds it held."""
    path = str(Path(instance.root_directory) / TURN_LOCK_FILE)
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except TimeoutError:
        say("waiting for the warehouse: another run on this Dagster instance holds it (one run at a time)")
        lock.acquire()
    _HELD[path] = 1
    try:
        yield
    finally:
        _HELD[path] = 0
        lock.release()


@contextmanager
def warehouse_turn(instance: dg.DagsterInstance, poll_seconds: float = 1.0) -> Iterator[None]:
    """For the command line: take the turn at a moment when the instance has no active run (one
    the queue launched), and hold it while the body executes a run in process on ``instance``,
    tagged with ``cli_run_tags()``. The turn is not held while waiting for an active run (that
    run takes the turn in its executor).

    An active run tagged as a command-line run of this host, seen while holding the turn, is
    left over from a killed process (a live one would hold the turn): it is marked failed, so
    it stops blocking the queue."""
    def say(msg: str) -> None:
        print(f"  {msg}", flush=True)

    announced: set[str] = set()
    while True:
        with hold_turn(instance, say):
            active = _active_runs(instance, say)
            if not active:
                yield
                return
        for run in active:
            if run.run_id not in announced:
                announced.add(run.run_id)
                say(f"waiting for run {run.run_id} ({run.job_name}, {run.status.value}) to finish "
                    "(one run at a time on the warehouse)")
        time.sleep(poll_seconds)


def _active_runs(instance: dg.DagsterInstance, say: Callable[[str], None]) -> list[dg.DagsterRun]:
    live = []
    for run in instance.get_runs(dg.RunsFilter(statuses=ACTIVE)):
        if run.tags.get(CLI_TAG) == "cli" and run.tags.get(CLI_HOST_TAG) == socket.gethostname():
            instance.report_run_failed(run, f"The command-line process (pid {run.tags.get(CLI_PID_TAG)}) "
                                            "executing this run exited before the run finished.")
            if instance.event_log_storage.supports_global_concurrency_limits:
                instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            say(f"marked run {run.run_id} ({run.job_name}) failed: its command-line process is gone")
        else:
            live.append(run)
    return live


class _TurnTakingExecutor(dg.Executor):
    """Dagster's in-process executor, run while holding the warehouse turn."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        with hold_turn(plan_context.instance, plan_context.log.info):
            yield from self._inner.execute(plan_context, execution_plan)


def _create_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    return _TurnTakingExecutor(dg.in_process_executor.executor_creation_fn(init_context))


# The in-process executor (steps of a run share one process: one DuckDB writer, Great
# Expectations imported once per run) holding the warehouse turn for the whole run. Same name
# and config as dagster's ``in_process`` executor.
turn_taking_executor = dg.ExecutorDefinition(
    name="in_process", config_schema=dg.in_process_executor.config_schema, executor_creation_fn=_create_executor,
    description="Execute all steps in a single process, holding the instance's warehouse turn (pipelines/turn.py).",
)
