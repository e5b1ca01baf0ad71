"""Blocking Dagster asset checks that validate each raw partition with Great Expectations.

One check per raw table that has a suite file ``expectations/raw_<table>.json``. The check
validates only the rows of the run's partition window, through SQL on DuckDB (see
``gx_runtime``), records the outcome in ``quality.validation_results`` and rebuilds the Data
Docs site. A failed ERROR-severity expectation fails the check at severity ERROR, which —
the check being blocking — stops every downstream asset of the run; WARN-only failures are
reported at severity WARN and do not block.
"""

import json
from datetime import datetime, timezone

import dagster as dg

from pipelines.ingest.assets import INGESTED_SOURCES, partition_window
from pipelines.ingest.config import load_sources
from pipelines.resources import WarehouseResource
from pipelines.settings import EXPECTATIONS_DIR, paths

RESULTS_DDL = """CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.validation_results (
    run_id VARCHAR, check_name VARCHAR, asset VARCHAR, suite VARCHAR,
    partition_start DATE, partition_end DATE, success_blocking BOOLEAN, success BOOLEAN,
    evaluated INTEGER, failed_errors INTEGER, failed_warnings INTEGER, failed JSON,
    duration_s DOUBLE, validated_at TIMESTAMPTZ)"""


def _metadata(outcome) -> dict:
    meta: dict = {
        "expectations_evaluated": outcome.evaluated,
        "failed_errors": len(outcome.errors),
        "failed_warnings": len(outcome.warnings),
        "validation_seconds": round(outcome.duration_s, 3),
    }
    if outcome.failed:
        rows = [
            f"| {f['severity']} | {f['expectation_type']} | {f.get('column') or ''} | {f.get('unexpected_count')} | "
            f"{json.dumps(f.get('sample_unexpected_values') or [], ensure_ascii=False, default=str)[:120]} |"
            for f in outcome.failed
        ]
        meta["failed_expectations"] = dg.MetadataValue.md(
            "| severity | expectation | column | unexpected | sample values |\n|---|---|---|---|---|\n" + "\n".join(rows))
    return meta


def build_raw_check(table: str) -> dg.AssetChecksDefinition:
    suite = f"raw_{table}"
    key = dg.AssetKey(["raw", table])

    @dg.asset_check(
        asset=key,
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json over the run's partition window.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        from pipelines.quality import gx_runtime

        window = partition_window(context)
        start, end = window or (None, None)
        with warehouse.connect() as con:
            outcome = gx_runtime.validate(
                suite, connection=con, query_or_table=f"raw.{table}",
                partition_filter={"_partition_date": window} if window else None,
                run_name=f"{context.run.run_id}-{suite}",
            )
            con.execute(RESULTS_DDL)
            con.execute(
                "INSERT INTO quality.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [context.run.run_id, f"gx_{suite}", key.to_user_string(), suite, start, end, outcome.success_blocking,
                 outcome.success, outcome.evaluated, len(outcome.errors), len(outcome.warnings),
                 json.dumps(outcome.failed, default=str, ensure_ascii=False), outcome.duration_s,
                 datetime.now(timezone.utc)],
            )
        docs = gx_runtime.build_data_docs(paths().data_docs)
        meta = {**_metadata(outcome), "window": f"{start} .. {end}" if window else "whole table",
                "data_docs": dg.MetadataValue.path(str(docs))}
        context.log.info(outcome.summary())
        if not outcome.success_blocking:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=meta)
        if not outcome.success:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=meta)
        return dg.AssetCheckResult(passed=True, metadata=meta)

    return _check


def build_raw_checks() -> list[dg.AssetChecksDefinition]:
    sources = load_sources()
    tables = [sources[name].table for name in INGESTED_SOURCES]
    return [build_raw_check(t) for t in tables if (EXPECTATIONS_DIR / f"raw_{t}.json").exists()]
