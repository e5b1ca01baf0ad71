"""The one Dagster ``Definitions`` of the warehouse: assets by stage, checks, jobs, schedules,
sensors and resources.

Partitionings: the daily sources, facts and the daily job by day; the stock reports by week; the
credit rating (the dbt credit models and the rating workbook, job ``credit_rating_quarterly``)
by quarter; dimensions, marts, the serving database and the other reports are unpartitioned.

Runs use the in-process executor: DuckDB allows one writer process per file, so steps of a
run share one process (and Great Expectations is imported once per run, not once per step).
It holds the instance's warehouse turn for the whole run, so runs never overlap on the
warehouse however they were started (pipelines/turn.py; the run queue is in dagster.yaml).
"""

import warnings

import dagster as dg

from pipelines.clv.assets import mart_customer_lifetime_value
from pipelines.credit.assets import overrides_accepted
from pipelines.credit.jobs import credit_rating_quarterly, credit_rating_quarterly_schedule
from pipelines.event_log import enable_event_batches
from pipelines.ingest.assets import build_ingest_assets
from pipelines.ingest.sensors import landing_zone_sensor, quarantine_release_sensor, run_failure_alert
from pipelines.jobs import build_jobs, build_schedules
from pipelines.publish.assets import serving_database
from pipelines.quality.checks import build_gx_checks
from pipelines.ingest.freshness import freshness_job, freshness_schedule, source_freshness
from pipelines.reports.assets import branch_workbooks, credit_rating_workbook, dashboard
from pipelines.reports.dbt_docs import dbt_docs
from pipelines.resources import build_resources
from pipelines.transform.assets import dbt_credit_models, dbt_models, dbt_partitioned_models
from pipelines.turn import turn_taking_executor

enable_event_batches()  # a range run's asset events are stored in batches (pipelines/event_log.py)
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

defs = dg.Definitions(
    assets=[*build_ingest_assets(), dbt_partitioned_models, dbt_models, dbt_credit_models, serving_database, dashboard,
            branch_workbooks, dbt_docs, mart_customer_lifetime_value, credit_rating_workbook],
    asset_checks=[*build_gx_checks(), source_freshness, overrides_accepted],
    jobs=[*build_jobs(), freshness_job, credit_rating_quarterly],
    schedules=[*build_schedules(), freshness_schedule, credit_rating_quarterly_schedule],
    sensors=[landing_zone_sensor, quarantine_release_sensor, run_failure_alert],
    resources=build_resources(),
    executor=turn_taking_executor,
)
