"""The ``credit_rating_quarterly`` job and its schedule.

The job, partitioned by quarter (a range of quarters — a backfill from the UI or
``python -m pipelines credit-rating --quarters`` — is one run), materializes in order:

1. ``raw/credit_rating_overrides`` — the overrides file reloaded (pipelines/ingest), with its
   blocking checks: the landing-file and Great Expectations checks, and the override gate
   ``overrides_accepted`` (pipelines/credit/assets.py: a rejected override row of the run's
   quarters fails it, naming file, line, reason and row);
2. ``dbt_credit_models`` (pipelines/transform/assets.py) — the rating of the run's quarters:
   ``stg_credit__rating_overrides``, the ``int_credit_*`` models and ``marts/mart_credit_rating``
   (incremental by quarter), their dbt tests as asset checks; this job is the mart's only writer;
3. ``serving/database`` — the publish (pipelines/publish/assets.py), so the serving database holds
   the quarters just rated; it runs only if every blocking check of the run passed;
4. ``reports/credit_rating_workbook`` — one workbook per quarter of the run, read from the serving
   database (pipelines/reports/assets.py), with the dashboard and branch workbooks rebuilt from
   the same publish.

A failed check of the credit models (an ERROR-severity dbt test, a blocking GX check if a suite
remains) stops the run before the publish, so no workbook is written for a quarter that failed.

The daily job leaves these quarterly assets out (``QUARTERLY_ASSETS``): a job has one
partitioning, and the mart has one writer. The rating reads what the daily job built (facts,
dimensions), so the schedule runs after the daily pipeline.

Schedule: at 08:00 China time (after the daily pipeline of 06:00) on day ``DWH_CREDIT_RATING_DAY`` (default 5) of the month after a
quarter ends (January, April, July, October), for the quarter just ended, leaving the last
days of the quarter a few days to arrive. It is an operating setting, not a business threshold,
so it is an environment variable and not part of rules.yml.
"""


import os
from datetime import timedelta

import dagster as dg

from pipelines.credit.assets import OVERRIDES_KEY
from pipelines.credit.quarters import quarter_start, quarterly_partitions
from pipelines.partitions import TIMEZONE
from pipelines.reports.assets import SERVING, branch_workbooks, credit_rating_workbook, dashboard
from pipelines.transform.assets import dbt_credit_models

# The quarterly-partitioned assets: built by this job only, never by the daily one.
QUARTERLY_ASSETS = dg.AssetSelection.assets(dbt_credit_models, credit_rating_workbook)

credit_rating_quarterly = dg.define_asset_job(
    name="credit_rating_quarterly",
    selection=QUARTERLY_ASSETS | dg.AssetSelection.assets(OVERRIDES_KEY, SERVING, dashboard, branch_workbooks),
    partitions_def=quarterly_partitions,
    description="Rate every customer for the run's quarters (R6) as of their last days: reload the overrides file "
                "(a rejected row of those quarters fails the gate), build the credit models with their dbt tests, "
                "publish the serving database, write the rating workbook per quarter (one sheet per branch).",
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
