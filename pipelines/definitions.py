"""The one Dagster ``Definitions`` of the warehouse: assets by stage, checks, jobs, resources.

Runs use the in-process executor: DuckDB allows one writer process per file, so steps of a
run share one process (and Great Expectations is imported once per run, not once per step).
"""

from __future__ import annotations

import dagster as dg

from pipelines.ingest.assets import build_ingest_assets
from pipelines.jobs import build_jobs
from pipelines.publish.assets import serving_database
from pipelines.quality.checks import build_raw_checks
from pipelines.resources import build_resources
from pipelines.transform.assets import dbt_models, dbt_partitioned_models

ingest_assets = build_ingest_assets()

defs = dg.Definitions(
    assets=[*ingest_assets, dbt_partitioned_models, dbt_models, serving_database],
    asset_checks=build_raw_checks(),
    jobs=build_jobs(),
    resources=build_resources(),
    executor=dg.in_process_executor,
)
