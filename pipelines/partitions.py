"""Partition definitions shared by every stage: days in the business time zone from the
company's first day (``company.timezone`` and ``company.first_day`` in company.yml); weeks
start Monday."""

from datetime import timedelta

import dagster as dg

from pipelines.company import company
from pipelines.settings import partitions_start

TIMEZONE = company().timezone
_start = partitions_start()

daily_partitions = dg.DailyPartitionsDefinition(start_date=_start.isoformat(), timezone=TIMEZONE)

# Stock reports cover Monday–Sunday weeks; the first week is the one containing the start day.
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=(_start - timedelta(days=_start.weekday())).isoformat(), day_offset=1, timezone=TIMEZONE)

BY_SOURCE_PARTITIONING = {"daily": daily_partitions, "weekly": weekly_partitions, "none": None}

# The run tags of a partition range (one run over many partitions), as Dagster's backfills write them.
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
