"""Quarterly partitions, the quarter notation of the CLI and the rating schedule (no data needed)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.credit.quarters import label, parse, parse_range, quarter_end, quarterly_partitions


def test_quarter_notation():
    assert parse("2023Q2") == date(2023, 4, 1) and parse("2023-05-17") == date(2023, 4, 1)
    assert label(date(2023, 12, 31)) == "2023Q4" and quarter_end(date(2023, 10, 1)) == date(2023, 12, 31)
    assert parse_range("2023Q2..2023Q4") == ["2023-04-01", "2023-07-01", "2023-10-01"]
    assert parse_range("2023Q4..2024Q1") == ["2023-10-01", "2024-01-01"]
    with pytest.raises(ValueError):
        parse("2023Q5")
    with pytest.raises(ValueError):
        parse_range("2024Q1..2023Q4")


def test_partitions_start_at_the_first_quarter_of_the_data():
    keys = quarterly_partitions.get_partition_keys(current_time=datetime(2024, 1, 3, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert keys[0] == "2023-01-01"  # DWH_PARTITIONS_START default 2023-01-01
    assert keys[-1] == "2023-10-01"  # a quarter is a partition once it is over


def test_schedule_rates_the_quarter_just_ended():
    from pipelines.credit.jobs import credit_rating_quarterly_schedule

    assert credit_rating_quarterly_schedule.cron_schedule == "0 8 5 1,4,7,10 *"
    tick = datetime(2023, 7, 5, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        request = credit_rating_quarterly_schedule(ctx)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2023-04-01"


def test_job_and_schedule_are_in_the_definitions():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("credit_rating_quarterly")
    assert job.partitions_def == quarterly_partitions
    assert [k.to_user_string() for k in job.asset_layer.selected_asset_keys] == ["credit/credit_rating"]
    assert defs.resolve_schedule_def("credit_rating_quarterly_schedule").job_name == "credit_rating_quarterly"
    # the daily job does not pick up the quarterly asset
    daily = defs.resolve_job_def("daily_pipeline")
    assert dg.AssetKey(["credit", "credit_rating"]) not in daily.asset_layer.selected_asset_keys
