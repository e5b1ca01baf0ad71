"""Running a job from the command line: the one helper every command uses (``run_job``).

A command-line run executes in this process (DuckDB has one writer; the steps share it), on the
instance in ``DAGSTER_HOME``, waiting for its turn on the warehouse (``pipelines/turn.py``), and
is recorded **with its code location** (the one ``python3.11 dwh.py ui`` serves, named
``LOCATION_NAME``), so it shows under its job in the UI (runs tab, timeline) and can be
re-executed from there. A range of partitions is one run (the assets' single-run backfill
policy); the partition range goes in the run's tags as Dagster's own backfills do.

Private Dagster APIs, each used because no public one does this:

* ``execute_run_iterator`` (``dagster._core.execution.api``) executes a run created beforehand,
  yielding its events as they happen (the progress lines). The
  public ``JobDefinition.execute_in_process`` and ``dagster.execute_job`` create their run
  themselves, without a code location (``remote_job_origin``), which is what left the UI's job
  pages empty; ``dagster job launch`` records the location but hands the run to the queue,
  which only the daemon drains.
* ``ReconstructableRepository`` (``dagster._core.definitions.reconstruct``) points at the
  ``defs`` of ``pipelines.definitions`` so the run's code origin can be reloaded (re-execution);
  ``dagster.reconstructable`` only takes module-level jobs, ours are built by ``Definitions``.
* ``InProcessCodeLocationOrigin``, ``RemoteRepositoryOrigin``, ``RemoteJobOrigin``
  (``dagster._core.remote_origin``) and ``LoadableTargetOrigin`` name that code location; the
  public path to them is a workspace (``dagster dev``/``dagster job launch``), which starts a
  code server process for nothing here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipelines.company import REPO_ROOT, company

# The code location `dwh.py ui` loads (pyproject.toml [tool.dagster] code_location_name): runs
# started here carry it, so the UI lists them under their jobs.
LOCATION_NAME = "distributor_dwh"
DEFINITIONS_MODULE = "pipelines.definitions"
REPOSITORY_NAME = "__repository__"  # what Dagster names the repository of a Definitions object


@dataclass
class RunOutcome:
    run_id: str
    job_name: str
    success: bool
    partition_range: tuple[str, str] | None
    failures: list[str] = field(default_factory=list)  # "step: error" of each failed step
    events: list = field(default_factory=list)  # the run's Dagster events (materializations, checks)

    def line(self) -> str:
        where = f" {self.partition_range[0]}..{self.partition_range[1]}" if self.partition_range else ""
        return f"run {self.run_id} {self.job_name}{where}: {'success' if self.success else 'FAILURE'}"


def partition_keys(job_name: str, start: date, end: date) -> list[str]:
    """The job's partition keys whose time windows start in [start, end] (business time zone)."""
    from pipelines.definitions import defs

    partitions = defs.resolve_job_def(job_name).partitions_def
    if partitions is None:
        return []
    tz = ZoneInfo(company().timezone)
    import dagster as dg

    window = dg.TimeWindow(datetime(start.year, start.month, start.day, tzinfo=tz),
                           datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1))
    return list(partitions.get_partition_keys_in_time_window(window))


def cli_tags() -> dict[str, str]:
    from pipelines.turn import cli_run_tags

    return cli_run_tags()


def stage_of(step_key: str) -> str:
    """The pipeline stage a step belongs to, for the progress lines."""
    if "_gx_" in step_key or step_key.endswith(("_landing_files", "_overrides_accepted")) or "freshness" in step_key:
        return "validation"
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key.startswith("dbt_credit"):
        return "credit rating (dbt)"
    if step_key.startswith("dbt_"):
        return "dbt models and tests"
    if "customer_lifetime_value" in step_key:
        return "customer lifetime value"
    if step_key.startswith("serving__"):
        return "publish"
    return "reports" if step_key.startswith("reports__") else step_key


def run_job(job_name: str, keys: list[str] | None = None, assets: list[str] | None = None,
            log_level: str | None = None, progress=None, log_path=None) -> RunOutcome:
    """Execute ``job_name`` (optionally a subset of its assets) over the partition keys ``keys``
    (consecutive; one run) as a run of this instance, recorded under the code location.
    ``progress(stage)`` is called as the run enters each stage; with ``log_path``, whatever the
    steps print (dbt's own lines, library warnings) goes to that file, not the terminal."""
    import contextlib

    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run_iterator
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
    from pipelines.turn import warehouse_turn

    tags = cli_tags()
    if keys:
        tags |= {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    selection = {dg.AssetKey.from_user_string(a) for a in assets} if assets else None
    recon_job = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", str(REPO_ROOT)) \
        .get_reconstructable_job(job_name)
    if selection:
        recon_job = recon_job.get_subset(asset_selection=selection)
    job_def = recon_job.get_definition()
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                loadable_target_origin=LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE,
                                                            working_directory=str(REPO_ROOT)),
                location_name=LOCATION_NAME),
            repository_name=REPOSITORY_NAME),
        job_name=job_name)
    # The console shows warnings and errors only; every event is in the instance (the UI).
    run_config = {"loggers": {"console": {"config": {"log_level": log_level or os.environ.get("DWH_LOG_LEVEL", "WARNING")}}}}
    with dg.DagsterInstance.get() as instance:
        run = instance.create_run_for_job(job_def=job_def, run_config=run_config, tags=tags, asset_selection=selection,
                                          remote_job_origin=origin, job_code_origin=recon_job.get_python_origin())
        events, stage = [], None
        with contextlib.ExitStack() as stack:
            stack.enter_context(warehouse_turn(instance))  # says on the terminal when it waits
            if log_path is not None:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log = stack.enter_context(open(log_path, "a", encoding="utf-8"))
                stack.enter_context(contextlib.redirect_stdout(log))
                stack.enter_context(contextlib.redirect_stderr(log))
            for event in execute_run_iterator(recon_job, run, instance):
                events.append(event)
                if progress and event.is_step_start and stage_of(event.step_key) != stage:
                    stage = stage_of(event.step_key)
                    progress(stage)
        success = instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        failures = [f"{e.step_key}: {e.step_failure_data.error.message.strip() if e.step_failure_data.error else ''}"
                    for e in events if e.is_step_failure]
        for e in events:  # a blocking check that failed says why (its description names rows, files, tests)
            evaluation = e.event_specific_data if e.event_type_value == "ASSET_CHECK_EVALUATION" else None
            if evaluation is not None and not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                what = evaluation.description or ""
                failures.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
                                + (f": {what}" if what else ""))
        return RunOutcome(run.run_id, job_name, success, (keys[0], keys[-1]) if keys else None, failures, events)
