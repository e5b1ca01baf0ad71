"""Blocking Dagster asset checks validating every load with Great Expectations (dbt tests own the dbt
models'): per ``expectations/raw_<table>.json``, the structural expectations (``structural.py``) and the
file's over the run's partition window (suite parameters ``partition_start``/``_end``) or the whole table;
per other suite, the Python mart it names (``meta.asset_key``/``relation``, default ``marts/<suite>``). An
undelivered source (company.yml) passes as skipped. Outcomes go to ``quality.validation_results`` and Data
Docs; a failed ``critical`` expectation fails at ERROR (blocking downstream), a ``warning`` at WARN."""

import json
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from pipelines.ingest.assets import INGESTED_SOURCES, partition_window
from pipelines.ingest.config import load_sources
from pipelines.resources import SettingsResource, WarehouseResource
from pipelines.settings import EXPECTATIONS_DIR

RESULTS_DDL = """CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.validation_results (run_id VARCHAR, check_name VARCHAR, asset VARCHAR,
    suite VARCHAR, partition_start DATE, partition_end DATE, success_blocking BOOLEAN, success BOOLEAN, evaluated INTEGER,
    failed_errors INTEGER, failed_warnings INTEGER, failed JSON, duration_s DOUBLE, validated_at TIMESTAMPTZ);
-- per raw asset and day, the latest validation covering it; valid = false: its rows failed an ERROR expectation
CREATE OR REPLACE VIEW quality.partition_status AS
WITH days AS (SELECT asset, suite, run_id, validated_at, success_blocking, success, CAST(unnest(generate_series(
        CAST(partition_start AS TIMESTAMP), CAST(partition_end AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS partition_date
    FROM quality.validation_results WHERE partition_start IS NOT NULL)
SELECT asset, suite, partition_date, arg_max(success_blocking, validated_at) AS valid,
       arg_max(success, validated_at) AS clean, max(validated_at) AS validated_at, arg_max(run_id, validated_at) AS run_id
FROM days GROUP BY asset, suite, partition_date"""
RAW_PREFIX = "raw_"  # suites validating raw partitions; all others validate a Python mart
SUITES_DIR_ENV = "DWH_EXPECTATIONS_DIR"  # another suites folder (tests, a suite change tried on a copy)


def suites_dir() -> Path:
    return Path(os.environ.get(SUITES_DIR_ENV) or EXPECTATIONS_DIR)


def _result(context, outcome, scope: str, data_docs: Path) -> dg.AssetCheckResult:
    """Rebuild Data Docs and turn the outcome into the check's result (ERROR blocks)."""
    from pipelines.quality import gx_runtime

    def _sample(values) -> str:
        text = json.dumps(values or [], ensure_ascii=False, default=str)
        return (text if len(text) <= 160 else text[:159] + "…").replace("|", "\\|")
    meta: dict = {"expectations_evaluated": outcome.evaluated, "failed_errors": len(outcome.errors),
                  "failed_warnings": len(outcome.warnings), "validation_seconds": round(outcome.duration_s, 3)}
    if outcome.failed:
        rows = [f"| {f['severity']} | {f['expectation_type']} | {f.get('column') or ''} | {f.get('unexpected_count')} | "
                + (f"exception: {str(f['exception']).splitlines()[0][:140]}" if f.get("exception") else
                   _sample(f["sample_unexpected_values"]) if f.get("sample_unexpected_values") else
                   "observed: " + _sample(f.get("observed_value"))) + " |" for f in outcome.failed]
        meta["failed_expectations"] = dg.MetadataValue.md(
            "| severity | expectation | column | unexpected | sample values |\n|---|---|---|---|---|\n" + "\n".join(rows))
    meta |= {"skipped_expectations": dg.MetadataValue.json(outcome.skipped)} if outcome.skipped else {}
    meta |= {"window": scope, "data_docs": dg.MetadataValue.path(str(gx_runtime.build_data_docs(data_docs)))}
    context.log.info(outcome.summary())
    if outcome.success:
        return dg.AssetCheckResult(passed=True, metadata=meta)
    failed = outcome.warnings if outcome.success_blocking else outcome.errors
    what = "; ".join((f.get("why") or f["expectation_type"].removeprefix("expect_").replace("_", " ")).split(":")[0]
                     + (f" on {f['column']}" if f.get("column") else "")
                     + (f" ({f['unexpected_count']:,} rows)" if isinstance(f.get("unexpected_count"), int) else "")
                     for f in failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
    return dg.AssetCheckResult(passed=False, metadata=meta, description=f"{scope}: {what}", severity=(
        dg.AssetCheckSeverity.WARN if outcome.success_blocking else dg.AssetCheckSeverity.ERROR))


def requirements() -> dict[dg.AssetKey, list[str]]:
    """Model asset key -> the sources it needs (dbt meta / Python mart metadata ``requires_sources``)."""
    from pipelines.clv.assets import mart_customer_lifetime_value
    from pipelines.transform.assets import model_requirements

    return {**model_requirements(), **{key: list(spec.metadata["requires_sources"]) for key, spec in
                                         mart_customer_lifetime_value.specs_by_key.items()
                                         if spec.metadata.get("requires_sources")}}


def _gx_check(suite: str, key: dg.AssetKey, relation: str | None = None) -> dg.AssetChecksDefinition:
    """The blocking check of ``suite`` on ``key``: a raw table's run window, or a Python mart's whole ``relation``."""
    description = (f"Great Expectations suite expectations/{suite}.json over the whole of {relation}." if relation else
                   f"Great Expectations: the structural expectations derived from sources.yml and "
                   f"expectations/{suite}.json over the run's partition window.")

    @dg.asset_check(asset=key, name=f"gx_{suite}", blocking=True, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
               settings: SettingsResource) -> dg.AssetCheckResult:
        from pipelines.quality import gx_runtime, structural

        sources, table, tz, run_name = settings.sources(), key.path[-1], settings.company.timezone, \
            f"{context.run.run_id}-{suite}"
        needs = [structural.source_of_table(table, sources).name] if relation is None else requirements().get(key, [])
        if unknown := [n for n in needs if n not in sources]:
            raise ValueError(f"{key.to_user_string()}: requires_sources: unknown source(s) {unknown}; "
                             f"sources.yml has {sorted(sources)}")
        if missing := [n for n in needs if not sources[n].delivered]:
            why = f"skipped: {', '.join(missing)} not delivered (company.yml)"
            context.log.info(why)
            return dg.AssetCheckResult(passed=True, description=why, metadata={"status": why})
        window = partition_window(context) if relation is None else None
        with warehouse.connect() as con:
            outcome = structural.validate_raw(
                table, connection=con, window=window, run_name=run_name, suites_dir=suites_dir(), sources=sources,
                timezone=tz) if relation is None else gx_runtime.validate(
                suite, connection=con, query_or_table=relation, run_name=run_name, suites_dir=suites_dir(),
                parameters=structural.suite_parameters(tz), skip_tables=structural.undelivered_tables(sources))
            con.execute(RESULTS_DDL)
            con.execute("INSERT INTO quality.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [context.run.run_id, f"gx_{suite}", key.to_user_string(), suite, *(window or (None, None)),
                         outcome.success_blocking, outcome.success, outcome.evaluated, len(outcome.errors),
                         len(outcome.warnings), json.dumps(outcome.failed, default=str, ensure_ascii=False),
                         outcome.duration_s, datetime.now(timezone.utc)])
        scope = f"whole {relation}" if relation else f"{window[0]} .. {window[1]}" if window else "whole table"
        return _result(context, outcome, scope, settings.paths.data_docs)

    return _check


def build_raw_check(table: str) -> dg.AssetChecksDefinition:
    return _gx_check(f"{RAW_PREFIX}{table}", dg.AssetKey(["raw", table]))


build_model_check = _gx_check  # (suite, asset key, relation) of a Python mart


def model_suites() -> list[tuple[str, dg.AssetKey, str]]:
    """(suite, asset key, relation) of every model suite file (all but ``raw_*``)."""
    from pipelines.quality import gx_runtime

    names = sorted(p.stem for p in suites_dir().glob("*.json") if not p.stem.startswith(RAW_PREFIX))
    return [(n, dg.AssetKey.from_user_string(m.get("asset_key") or f"marts/{n}"), m.get("relation") or f"marts.{n}")
            for n, m in ((n, gx_runtime.suite_meta(n, suites_dir())) for n in names)]


def dbt_model_keys() -> set[dg.AssetKey]:
    """Asset keys of every dbt model (their checks are dbt tests)."""
    from pipelines.transform.assets import translator
    from pipelines.transform.project import dbt_project

    return {translator.get_asset_key(n) for n in json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
            if n["resource_type"] == "model"}


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    """Every GX check: per raw suite of an ingested source and per suite of a Python mart (the CLV models); a
    suite naming a dbt model or an unknown asset is left out with a warning, so a rename does not break loading."""
    from pipelines.clv.assets import mart_customer_lifetime_value

    sources = load_sources()
    checks = [build_raw_check(t) for t in (sources[n].table for n in INGESTED_SOURCES)
              if (suites_dir() / f"{RAW_PREFIX}{t}.json").exists()]
    for suite, key, relation in model_suites():
        if key in mart_customer_lifetime_value.keys:
            checks.append(build_model_check(suite, key, relation))
            continue
        why = "a dbt model: its checks are dbt tests" if key in dbt_model_keys() else "not a Python mart asset"
        warnings.warn(f"expectations/{suite}.json: {key.to_user_string()} is {why}; its GX check is not defined",
                      stacklevel=2)
    return checks
