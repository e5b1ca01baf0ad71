"""Sensors of the ingest stage.

* ``landing_zone_sensor`` watches the landing zone and requests runs for the partitions whose
  files arrived or changed. Its cursor holds a fingerprint (names, sizes, modification times)
  per source partition, so an unchanged file never triggers again. Consecutive changed days
  become one range run (single-run backfill policy), so a month of late files is one run.
* ``run_failure_alert`` posts a JSON message to the webhook in ``DWH_ALERT_WEBHOOK_URL`` when a
  run fails; with the variable unset, alerting is off and each failure logs that it is off.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from collections import defaultdict
from datetime import date, timedelta

import dagster as dg

from pipelines.ingest.config import date_ranges, find_files, load_sources
from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG
from pipelines.resources import SettingsResource
from pipelines.settings import paths

JOB_BY_PARTITIONING = {"daily": "daily_pipeline", "weekly": "weekly_stock", "none": "reference_data"}
WEBHOOK_ENV = "DWH_ALERT_WEBHOOK_URL"


def landing_fingerprints(landing) -> dict[str, str]:
    """'<source>|<partition date or *>' -> digest of the partition's files (name, size, mtime);
    a file whose rows span many days is its own entry, '<source>|~<path>'.

    Files come from the same safe listing as ingest (``find_files`` → ``list_landing``). A refused
    entry (symlink out of the landing zone, dangling link) still counts, by the link itself and
    never by its target, so its partition is run and fails naming the path and the reason."""
    files: dict[str, list[str]] = defaultdict(list)
    for source in load_sources().values():
        for lf in find_files(source, landing, include_refused=True):
            st = lf.path.lstat() if lf.refused else lf.path.stat()
            where = (lf.partition_date.isoformat() if lf.partition_date
                     else f"~{lf.relpath}" if lf.layout.spans_days else "*")
            key = f"{source.name}|{where}"
            files[key].append(f"{lf.relpath}:{st.st_size}:{st.st_mtime_ns}")
    return {k: hashlib.sha1("\n".join(sorted(v)).encode()).hexdigest()[:16] for k, v in files.items()}


def add_row_dates(previous: dict[str, str], current: dict[str, str], landing, tmp_dir=None) -> dict[str, str]:
    """For each new or changed file whose rows span many days, read the range of its row dates
    and keep it with its digest (``digest@first..last``), so the runs cover the days it holds
    now and the days it held before."""
    from pipelines.ingest.load import row_date_range

    sources = load_sources()
    out = dict(current)
    for key, digest in current.items():
        name, where = key.split("|", 1)
        if not where.startswith("~"):
            continue
        old = previous.get(key, "")
        if old.split("@")[0] == digest:
            out[key] = old
            continue
        files = [f for f in find_files(sources[name], landing) if f.relpath == where[1:]]
        span = row_date_range(files, (tmp_dir or paths().tmp) / "sensor") if files else None
        out[key] = f"{digest}@{span[0]}..{span[1]}" if span else digest
    return out


def _span_days(value: str | None) -> list[date]:
    if not value or "@" not in value:
        return []
    lo, hi = (date.fromisoformat(d) for d in value.split("@")[1].split(".."))
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def plan_runs(previous: dict[str, str], current: dict[str, str], last_day: date) -> list[dict]:
    """Runs to request for partitions that are new or changed since ``previous``: one per job and
    contiguous range. Partitions after ``last_day`` (not yet closed) wait for a later tick. A
    changed file whose rows span many days requests every day it holds now or held before."""
    sources = load_sources()
    changed: dict[str, set[date | None]] = defaultdict(set)
    for key, digest in current.items():
        if previous.get(key) == digest:
            continue
        name, day = key.split("|", 1)
        partitioning = sources[name].partitioning
        if day.startswith("~"):
            changed[partitioning] |= {d for d in _span_days(digest) + _span_days(previous.get(key)) if d <= last_day}
            continue
        d = None if day == "*" else date.fromisoformat(day)
        if d is not None and d > last_day:
            continue
        changed[partitioning].add(d)
    runs = []
    for partitioning, days in sorted(changed.items()):
        job = JOB_BY_PARTITIONING[partitioning]
        if partitioning == "none":
            runs.append({"job_name": job, "start": None, "end": None})
            continue
        for lo, hi in date_ranges([d for d in days if d], 7 if partitioning == "weekly" else 1):
            runs.append({"job_name": job, "start": lo.isoformat(), "end": hi.isoformat()})
    return runs


@dg.sensor(
    name="landing_zone_sensor",
    minimum_interval_seconds=60,
    job_name="daily_pipeline",
    description="Requests runs for landing-zone partitions whose files arrived or changed.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource):
    previous = json.loads(context.cursor) if context.cursor else {}
    p = settings.paths
    current = add_row_dates(previous, landing_fingerprints(p.landing), p.landing, p.tmp)
    yesterday = date.today() - timedelta(days=1)
    runs = plan_runs(previous, current, yesterday)
    # A partition that is not yet closed keeps its old fingerprint, so it is seen again later.
    kept = {k: (previous.get(k) if k.split("|")[1][:1] not in "*~" and date.fromisoformat(k.split("|")[1]) > yesterday
                else v) for k, v in current.items()}
    for r in runs:
        tags = {} if r["start"] is None else {RANGE_START_TAG: r["start"],
                                               RANGE_END_TAG: r["end"]}
        run_key = f"{r['job_name']}:{r['start']}:{r['end']}:" + hashlib.sha1(
            json.dumps(sorted(kept.items())).encode()).hexdigest()[:12]
        yield dg.RunRequest(run_key=run_key, job_name=r["job_name"], tags=tags)
    context.update_cursor(json.dumps({k: v for k, v in kept.items() if v is not None}, sort_keys=True))
    if not runs:
        yield dg.SkipReason("no new or changed landing files")


@dg.sensor(
    name="quarantine_release_sensor",
    minimum_interval_seconds=60,
    job_name="daily_pipeline",
    description="Re-runs the partitions holding rows quarantined for a customer, product or rep that a later "
                "master extract brought: the rows then load, and the quarantine marks them released.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def quarantine_release_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource):
    done = set(json.loads(context.cursor)) if context.cursor else set()
    requests = release_requests(settings.paths.home / "state" / "releases", done)
    for run in requests["runs"]:
        tags = {RANGE_START_TAG: run["start"], RANGE_END_TAG: run["end"]}
        yield dg.RunRequest(run_key=f"release:{run['job_name']}:{run['start']}:{run['end']}:{run['request']}",
                            job_name=run["job_name"], tags=tags)
    context.update_cursor(json.dumps(sorted(done | set(requests["seen"]))))
    if not requests["runs"]:
        yield dg.SkipReason("no quarantined rows waiting for master data that has arrived")


def release_requests(folder, done: set[str]) -> dict:
    """Runs for the release requests master loads wrote (``pipelines.ingest.assets.request_release``)
    that are not in ``done``: one per job and contiguous range of days (weeks for weekly sources)."""
    sources = load_sources()
    seen, runs = [], []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        if path.stem in done:
            continue
        seen.append(path.stem)
        for name, days in json.loads(path.read_text(encoding="utf-8")).items():
            source = sources.get(name)
            if source is None or source.partitioning == "none":
                continue
            step = 7 if source.partitioning == "weekly" else 1
            for lo, hi in date_ranges([date.fromisoformat(d) for d in days], step):
                runs.append({"job_name": JOB_BY_PARTITIONING[source.partitioning], "start": lo.isoformat(),
                             "end": hi.isoformat(), "request": path.stem})
    return {"seen": seen, "runs": runs}


def post_webhook(url: str, payload: dict, timeout: float = 10.0) -> int:
    req = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URL from the operator's config)
        return resp.status


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                       description=f"Posts failed runs to the webhook in ${WEBHOOK_ENV} (off when unset).")
def run_failure_alert(context: dg.RunFailureSensorContext):
    url = os.environ.get(WEBHOOK_ENV)
    run = context.dagster_run
    if not url:
        context.log.info(f"run {run.run_id} of {run.job_name} failed; alerting is off ({WEBHOOK_ENV} is not set)")
        return
    error = context.failure_event.message if context.failure_event else ""
    payload = {"text": f"Dagster run failed: {run.job_name} ({run.run_id})", "job": run.job_name,
               "run_id": run.run_id, "tags": dict(run.tags), "error": error[:4000]}
    status = post_webhook(url, payload)
    context.log.info(f"alert for run {run.run_id} posted to the webhook (HTTP {status})")
