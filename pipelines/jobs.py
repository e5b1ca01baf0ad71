"""Jobs and schedules: what a scheduled, sensor-triggered or manual run materializes.

* ``daily_pipeline`` — the daily path for a range of days: ingest of every daily source →
  validation → incremental facts → dimensions and marts → publish → reports. Unpartitioned assets
  downstream (views, marts, publish) run once, after the partitioned ones. The quarterly credit
  rating (its dbt models and workbook, ``pipelines.credit.jobs.QUARTERLY_ASSETS``) is downstream
  of the daily facts but left out: it is partitioned by quarter and built by
  ``credit_rating_quarterly`` only; the publish copies the mart as that job last wrote it.
* ``weekly_stock`` — distributor stock reports for a range of weeks, with their validation.
* ``reference_data`` — the hand-maintained credit-rating overrides file.
"""

import dagster as dg

from pipelines.credit.jobs import QUARTERLY_ASSETS
from pipelines.ingest.config import load_sources
from pipelines.partitions import daily_partitions, weekly_partitions


def _raw_keys(partitioning: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["raw", s.table]) for s in load_sources().values() if s.partitioning == partitioning]


daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=(dg.AssetSelection.assets(*_raw_keys("daily")).downstream()
               | dg.AssetSelection.groups("reference").downstream())  # seeds (CNY dates) and dim_date
    - dg.AssetSelection.assets(*_raw_keys("weekly"), *_raw_keys("none"))
    - QUARTERLY_ASSETS,
    partitions_def=daily_partitions,
    description="Ingest, validate, transform and publish a range of days.",
)

weekly_stock = dg.define_asset_job(
    name="weekly_stock",
    selection=dg.AssetSelection.assets(*_raw_keys("weekly")),
    partitions_def=weekly_partitions,
    description="Ingest and validate the distributor stock reports of a range of weeks.",
)

reference_data = dg.define_asset_job(
    name="reference_data",
    selection=dg.AssetSelection.assets(*_raw_keys("none")),
    description="Load the hand-maintained credit-rating overrides file.",
)

# Daily at 06:00 China time for the day just ended; weekly stock on Tuesday 06:00 for the
# week just ended (distributors report on Monday).
daily_schedule = dg.build_schedule_from_partitioned_job(daily_pipeline, hour_of_day=6, name="daily_ingest_schedule")
weekly_schedule = dg.build_schedule_from_partitioned_job(weekly_stock, day_of_week=2, hour_of_day=6,
                                                         name="weekly_stock_schedule")


def build_jobs() -> list:
    return [daily_pipeline, weekly_stock, reference_data]


def build_schedules() -> list:
    return [daily_schedule, weekly_schedule]
