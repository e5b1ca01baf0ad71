"""Jobs: what a scheduled or manual run materializes.

``daily_pipeline`` is the whole daily path for a partition range: ingest → validation →
incremental facts → dimensions and marts → publish. Daily-partitioned assets run for the
range; unpartitioned ones (views, marts, publish) once, after them.
"""

import dagster as dg

from pipelines.partitions import daily_partitions

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Ingest, validate, transform and publish a range of daily partitions.",
)


def build_jobs() -> list:
    return [daily_pipeline]
