"""Freshness checks: one per source, failing (severity WARN) when the source's newest delivered
partition in the landing zone is older than its expected interval plus grace (``freshness``
in sources.yml). They read only the landing zone, so they never wait on the warehouse lock.
They run with every ingest run and on their own hourly schedule."""

from datetime import date, datetime, timedelta

import dagster as dg

from pipelines.ingest.config import find_files, load_sources
from pipelines.settings import paths


def _specs() -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec("freshness", asset=dg.AssetKey(["raw", s.table]), blocking=False,
                              description=f"{s.name} delivered within {s.freshness_days[0]} + {s.freshness_days[1]} days")
            for s in load_sources().values() if s.freshness_days]


def newest_delivery(source, landing) -> date | None:
    files = find_files(source, landing)
    if not files:
        return None
    if source.partitioning == "none":
        return max(datetime.fromtimestamp(f.path.stat().st_mtime).date() for f in files)
    last = max(f.partition_date for f in files)
    return last + timedelta(days=source.period_days - 1)  # a weekly file covers its whole week


@dg.multi_asset_check(specs=_specs(), name="source_freshness", can_subset=True)
def source_freshness(context: dg.AssetCheckExecutionContext):
    today = date.today()
    by_key = {dg.AssetKey(["raw", s.table]): s for s in load_sources().values() if s.freshness_days}
    for check_key in context.selected_asset_check_keys:
        source = by_key[check_key.asset_key]
        expected, grace = source.freshness_days
        newest = newest_delivery(source, paths().landing)
        age = (today - newest).days if newest else None
        passed = age is not None and age <= expected + grace
        yield dg.AssetCheckResult(
            asset_key=check_key.asset_key, check_name="freshness", passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"newest_delivery": str(newest), "age_days": age if age is not None else -1,
                      "allowed_days": expected + grace},
        )


freshness_job = dg.define_asset_job("freshness_checks", selection=dg.AssetSelection.checks(source_freshness),
                                    description="Evaluate every source's freshness check.")
freshness_schedule = dg.ScheduleDefinition(job=freshness_job, cron_schedule="0 * * * *", name="hourly_freshness",
                                           execution_timezone="Asia/Shanghai")
