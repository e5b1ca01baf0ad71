"""Freshness checks: one per source, failing (severity WARN) when the source's newest delivered
partition in the landing zone is older than its expected interval plus grace (``freshness``
in sources.yml). They read only the landing zone, so they never wait on the warehouse lock.
They run with every ingest run and on their own hourly schedule. A source the company does not
deliver (``company.yml``) has no freshness check: it is skipped, never failed."""

from datetime import date, datetime, timedelta

import dagster as dg

from pipelines.company import company
from pipelines.ingest.config import find_files, load_sources
from pipelines.resources import SettingsResource


def _specs() -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec("freshness", asset=dg.AssetKey(["raw", s.table]), blocking=False,
                              description=f"{s.name} delivered within {s.freshness_days[0]} + {s.freshness_days[1]} days")
            for s in load_sources().values() if s.freshness_days and s.delivered]


def newest_delivery(source, landing) -> date | None:
    files = find_files(source, landing)
    if not files:
        return None
    if source.partitioning == "none":
        return max(datetime.fromtimestamp(f.path.stat().st_mtime).date() for f in files)
    last = max(f.partition_date for f in files)
    return last + timedelta(days=source.period_days - 1)  # a weekly file covers its whole week


@dg.multi_asset_check(specs=_specs(), name="source_freshness", can_subset=True)
def source_freshness(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    today = date.today()
    by_key = {dg.AssetKey(["raw", s.table]): s for s in settings.sources().values()}
    for check_key in context.selected_asset_check_keys:
        source = by_key[check_key.asset_key]
        if not source.delivered or not source.freshness_days:  # company.yml changed since the definitions loaded
            why = (f"skipped: {source.name} not delivered (company.yml)" if not source.delivered
                   else f"skipped: no freshness check for {source.name} (company.yml)")
            yield dg.AssetCheckResult(asset_key=check_key.asset_key, check_name="freshness", passed=True,
                                      description=why, metadata={"status": why})
            continue
        expected, grace = source.freshness_days
        newest = newest_delivery(source, settings.paths.landing)
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
                                           execution_timezone=company().timezone)
