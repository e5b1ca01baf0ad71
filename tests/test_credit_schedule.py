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
    keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"raw/credit_rating_overrides", "marts/mart_credit_rating", "serving/database",
            "reports/credit_rating_workbook"} <= keys
    assert defs.resolve_schedule_def("credit_rating_quarterly_schedule").job_name == "credit_rating_quarterly"
    # the daily job does not pick up the quarterly assets
    daily = defs.resolve_job_def("daily_pipeline")
    assert not {dg.AssetKey(["reports", "credit_rating_workbook"]), dg.AssetKey(["marts", "mart_credit_rating"])} \
        & set(daily.asset_layer.selected_asset_keys)


def test_the_workbook_and_the_credit_models_are_partitioned_by_quarter():
    from pipelines.definitions import defs

    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    for key in ("reports/credit_rating_workbook", "marts/mart_credit_rating", "intermediate/int_credit_indicators"):
        assert specs[key].partitions_def == quarterly_partitions, key
    assert specs["serving/database"].partitions_def is None
    # the overrides gate is a blocking check on the overrides raw asset
    from pipelines.credit.assets import overrides_accepted

    spec = next(iter(overrides_accepted.check_specs))
    assert spec.blocking and spec.key == dg.AssetCheckKey(dg.AssetKey(["raw", "credit_rating_overrides"]),
                                                          "overrides_accepted")
    assert spec.key in defs.resolve_asset_graph().asset_check_keys


def test_gate_reads_the_quarters_of_the_run():
    from pipelines.credit.assets import run_quarters
    from pipelines.partitions import RANGE_END_TAG, RANGE_START_TAG

    assert run_quarters({"dagster/partition": "2023-04-01"}) == ["2023Q2"]
    assert run_quarters({RANGE_START_TAG: "2023-01-01", RANGE_END_TAG: "2023-07-01"}) == ["2023Q1", "2023Q2", "2023Q3"]
    assert run_quarters({}) is None  # reference_data, a UI materialization: every rejected row, as a warning
    assert run_quarters({"dagster/partition": "2023-04-05"}) is None  # a day, not a quarter
