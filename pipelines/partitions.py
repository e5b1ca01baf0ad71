"""Partition definitions shared by every stage (days in China Standard Time)."""

import dagster as dg

from pipelines.settings import partitions_start

TIMEZONE = "Asia/Shanghai"

daily_partitions = dg.DailyPartitionsDefinition(start_date=partitions_start().isoformat(), timezone=TIMEZONE)
