"""The ``credit_rating_quarterly`` job and its schedule.

The job materializes the quarterly-partitioned ``credit/credit_rating`` (pipelines/credit/assets.py):
override gate, dbt build of the rating models, rating workbook per quarter. A range of quarters
(a backfill from the UI or ``python -m pipelines credit-rating --quarters``) is one run.

Schedule: at 08:00 China time (after the daily pipeline of 06:00) on day ``DWH_CREDIT_RATING_DAY`` (default 5) of the month after a
quarter ends (January, April, July, October), for the quarter just ended, leaving the last
days of the quarter a few days to arrive. It is an operating setting, not a business threshold,
so it is an environment variable and not part of rules.yml.
"""


import os
from datetime import timedelta

import dagster as dg

from pipelines.credit.assets import RATING_KEY
from pipelines.credit.quarters import quarter_start, quarterly_partitions
from pipelines.partitions import TIMEZONE

credit_rating_quarterly = dg.define_asset_job(
    name="credit_rating_quarterly",
    selection=dg.AssetSelection.assets(RATING_KEY),
    partitions_def=quarterly_partitions,
    description="Rate every customer for a quarter (R6) as of its last day, fail on rejected overrides, "
                "write the rating workbook per quarter (one sheet per branch).",
)


def rating_day() -> int:
    """Day of the month after quarter end on which the schedule rates the quarter (1–28)."""
    raw = os.environ.get("DWH_CREDIT_RATING_DAY", "5")
    day = int(raw)
    if not 1 <= day <= 28:
        raise ValueError(f"DWH_CREDIT_RATING_DAY must be between 1 and 28, not {raw!r}")
    return day


@dg.schedule(
    name="credit_rating_quarterly_schedule",
    job=credit_rating_quarterly,
    cron_schedule=f"0 8 {rating_day()} 1,4,7,10 *",
    execution_timezone=TIMEZONE,
    description="Rates the quarter just ended on day DWH_CREDIT_RATING_DAY (default 5) of the next month, 08:00 China time (after the 06:00 daily pipeline).",
)
def credit_rating_quarterly_schedule(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    ended = quarter_start(tick.date()) - timedelta(days=1)
    key = quarter_start(ended).isoformat()
    if key not in quarterly_partitions.get_partition_keys(current_time=tick):
        return dg.SkipReason(f"quarter starting {key} is not a partition (before DWH_PARTITIONS_START?)")
    return dg.RunRequest(run_key=key, partition_key=key)
