"""``python -m pipelines credit-rating --quarters 2023Q2..2023Q4``: rate (or re-rate, backfill) a
range of quarters as one run of ``credit_rating_quarterly`` on the instance in DWH_HOME.

Wired into ``pipelines/cli.py`` by one line at the top of ``main()`` (before argparse):
``if (code := __import__("pipelines.credit.cli").credit.cli.dispatch(argv)) is not None: return code``.
Until then, stand-alone: ``python -m pipelines.credit.cli --quarters 2023Q2..2023Q4``.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipelines.credit.quarters import label, parse, parse_range

COMMAND = "credit-rating"


def rate_quarters(keys: list[str]) -> bool:
    """One run of the job over the partition range (first..last key), printed like ``execute``."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from pipelines.cli import prepare_instance
    from pipelines.credit.jobs import credit_rating_quarterly
    from pipelines.credit.quarters import quarterly_partitions
    from pipelines.definitions import defs
    from pipelines.turn import cli_run_tags, warehouse_turn

    prepare_instance()
    known = set(quarterly_partitions.get_partition_keys())
    unknown = [label(parse(k)) for k in keys if k not in known]
    if unknown:
        print(f"not a rateable quarter (before DWH_PARTITIONS_START or not over yet): {', '.join(unknown)}",
              file=sys.stderr)
        return False
    all_keys = quarterly_partitions.get_partition_keys()
    span = all_keys[all_keys.index(keys[0]): all_keys.index(keys[-1]) + 1]
    if span != keys:
        print("quarters must be consecutive (one run covers a range)", file=sys.stderr)
        return False
    tags = {**cli_run_tags(), ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    job = defs.resolve_job_def(credit_rating_quarterly.name)
    quiet = {"loggers": {"console": {"config": {"log_level": os.environ.get("DWH_LOG_LEVEL", "WARNING")}}}}
    with dg.DagsterInstance.get() as instance:
        with warehouse_turn(instance):  # one run at a time on the warehouse (pipelines/turn.py)
            result = job.execute_in_process(instance=instance, tags=tags, run_config=quiet, raise_on_error=False)
        if not result.success:
            for event in result.all_events:
                if event.is_step_failure:
                    err = event.step_failure_data.error
                    print(f"FAILED step {event.step_key}: {err.message.strip()[:4000] if err else ''}", file=sys.stderr)
        else:
            summary: dict[str, dict] = {}
            for event in result.all_events:
                if event.is_step_materialization and event.asset_key and event.asset_key.path[0] == "credit":
                    ratings = event.materialization.metadata.get("ratings")
                    summary.update(ratings.value if ratings else {})
            for q, info in sorted(summary.items()):
                print(f"  {q}: {info['customers']} customers, final grades {info['grades']}, "
                      f"{len(info['branches'])} branch sheets -> {info['path']}")
        print(f"  run {result.run_id} {job.name} {label(parse(keys[0]))}..{label(parse(keys[-1]))}: "
              f"{'success' if result.success else 'FAILURE'}", flush=True)
        return result.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m pipelines {COMMAND}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quarters", required=True,
                        help="a quarter (2023Q2), a range (2023Q2..2023Q4) or a comma list of consecutive quarters")
    args = parser.parse_args(argv)
    try:
        keys = parse_range(args.quarters)
    except ValueError as exc:
        parser.error(str(exc))
    return 0 if rate_quarters(keys) else 1


def dispatch(argv: list[str] | None) -> int | None:
    """For pipelines/cli.py: handle ``credit-rating ...`` and return its exit code, else None."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == COMMAND:
        return main(argv[1:])
    return None


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
