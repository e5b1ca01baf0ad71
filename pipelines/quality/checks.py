"""Blocking Dagster asset checks that validate every load with Great Expectations.

One owner per check: GX validates what is *loaded* (the raw partitions, and the marts written by
Python rather than dbt); dbt tests check what dbt *builds* — every dbt model's checks are its
contract and its dbt tests (models/**.yml ``data_tests``, generic tests in macros/, singular
tests in tests/), which dagster-dbt turns into asset checks of the model (an ERROR-severity test
is blocking: it fails the dbt step, so the serving database and the reports keep their last
published state; a ``severity: warn`` test only reports). A suite file naming a dbt model is
refused (its check is not defined, with a warning; ``tests/test_quality_suites.py`` fails).

* **Raw partitions** — one check per raw table that has a suite file
  ``expectations/raw_<table>.json``. It validates the structural expectations derived from
  ``sources.yml`` (``structural.py``: columns, types, required columns, enum values, key,
  references, partition window) together with the file's hand-written ones, over only the rows
  of the run's partition window (``_partition_date`` inside it; the window is also passed as
  the suite parameters ``partition_start`` / ``partition_end``; weekly stock windows are
  Monday..Sunday), or the whole table for an unpartitioned source. A source the company does
  not deliver (``company.yml``: ``delivered: false``) is not validated: its check passes with
  the status "skipped: <source> not delivered (company.yml)".
* **Python marts** — one check per other suite file (today ``mart_customer_lifetime_value.json``)
  on the asset that writes it (suite ``meta.asset_key``, default ``marts/<suite name>``),
  validating the whole relation (``meta.relation``, default ``marts.<suite name>``). The
  publish asset depends on the marts, so a failing check keeps the serving database as it was.
  A mart whose ``requires_sources`` (the asset's metadata) names a source the company does not
  deliver passes as skipped, the same way (such a mart is empty, and its row counts would fail).

Every validation gets the suite parameter ``timezone`` (the business time zone of
``company.yml``), for ``{timezone}`` in SQL expectations. A raw validation first writes the
company's public holidays into ``quality.public_holidays`` (the business calendar of its time
zone, from the CSV files dbt seeds for ``dim_date``: ``structural.load_holidays``), so the volume
expectations of sales lines, receivables, visits and stock reports excuse Chinese New Year, May
Day and National Day on a first run too, before dbt has built anything. Every validation
skips (does not fail) a SQL expectation reading the raw table of a source the company does not
deliver (e.g. a reference to an undelivered master: its members are inferred in dbt).

Suite files are read from ``expectations/`` (or ``$DWH_EXPECTATIONS_DIR``) at every
validation, so an edited suite takes effect on the next run; which checks exist is decided
when the definitions load. Every check runs through SQL on DuckDB, hands the step's warehouse
connection to GX (``gx_runtime.validate(connection=...)``), records the outcome in
``quality.validation_results`` and rebuilds the Data Docs site in the home's ``data_docs``
(offline, swapped in atomically: ``data_docs.py``).

``quality.partition_status`` (a view) gives, per raw asset and day, the outcome of the latest
validation covering that day: ``valid`` is false while the day's rows failed a critical
expectation and have not been re-validated; ``clean`` is false while they failed any.

Cost (default-scale sample data: 3 years, 521 k sales lines; 2 CPUs shared with other work,
so wall times vary ~1.5x; GX imported; median of 3): the sales-lines suite (38 expectations;
now 22 derived from sources.yml and 16 hand-written) takes 1.0 s wall / 0.7 s CPU for one day
and 2.3-2.8 s wall / 1.4 s CPU for the whole history in one validation; all nine raw suites
(then 208 expectations, now 223 with the lineage not-nulls the derivation adds) take 5.4-7.6 s
for one day (plus one stock week) and 8.8-11 s for the whole history. GX's fixed cost per expectation (~20 ms) dominates; the SQL
itself is a few ms per query. Rebuilding Data Docs after a check takes under a second, growing with
the number of validations the process holds (1.7-3.3 s with 55).

Severity is GX's own expectation field: a failed ``critical`` expectation (or one that could not
be evaluated, e.g. its query names a missing table) fails the check at severity ERROR, which —
the check being blocking — stops every downstream asset of the run: dbt models, the serving
database and reports keep their last validated state. Failures of ``warning`` expectations
only fail the check at severity WARN, are recorded and shown, and block nothing.
"""

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
CREATE TABLE IF NOT EXISTS quality.validation_results (
    run_id VARCHAR, check_name VARCHAR, asset VARCHAR, suite VARCHAR,
    partition_start DATE, partition_end DATE, success_blocking BOOLEAN, success BOOLEAN,
    evaluated INTEGER, failed_errors INTEGER, failed_warnings INTEGER, failed JSON,
    duration_s DOUBLE, validated_at TIMESTAMPTZ);
CREATE OR REPLACE VIEW quality.partition_status AS
-- per raw asset and day: the latest validation whose window covers the day. A day whose
-- latest validation failed an ERROR expectation (valid = false) holds rows that downstream
-- models have not seen validated; models reading raw across runs can exclude it.
WITH days AS (
    SELECT asset, suite, run_id, validated_at, success_blocking, success,
           CAST(unnest(generate_series(CAST(partition_start AS TIMESTAMP), CAST(partition_end AS TIMESTAMP),
                                       INTERVAL 1 DAY)) AS DATE) AS partition_date
    FROM quality.validation_results
    WHERE partition_start IS NOT NULL)
SELECT asset, suite, partition_date,
       arg_max(success_blocking, validated_at) AS valid,
       arg_max(success, validated_at) AS clean,
       max(validated_at) AS validated_at,
       arg_max(run_id, validated_at) AS run_id
FROM days
GROUP BY asset, suite, partition_date"""

#: suites whose name starts with this validate raw partitions; all others validate a model
RAW_PREFIX = "raw_"
#: environment variable pointing the checks at another suites folder (tests, trying a suite
#: change on a copy of the warehouse); the default is the repository's expectations/
SUITES_DIR_ENV = "DWH_EXPECTATIONS_DIR"


def suites_dir() -> Path:
    """The folder the checks read suite files from (read at every validation)."""
    return Path(os.environ.get(SUITES_DIR_ENV) or EXPECTATIONS_DIR)
_SAMPLE_CHARS = 160


def _sample_text(values) -> str:
    text = json.dumps(values or [], ensure_ascii=False, default=str)
    text = text if len(text) <= _SAMPLE_CHARS else text[:_SAMPLE_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def _metadata(outcome) -> dict:
    meta: dict = {
        "expectations_evaluated": outcome.evaluated,
        "failed_errors": len(outcome.errors),
        "failed_warnings": len(outcome.warnings),
        "validation_seconds": round(outcome.duration_s, 3),
    }
    if outcome.failed:
        rows = []
        for f in outcome.failed:
            if f.get("exception"):
                what = f"exception: {str(f['exception']).splitlines()[0][:140]}"
            elif f.get("sample_unexpected_values"):
                what = _sample_text(f["sample_unexpected_values"])
            else:  # a table-level expectation (row count, column set, mean): what GX saw
                what = "observed: " + _sample_text(f.get("observed_value"))
            rows.append(f"| {f['severity']} | {f['expectation_type']} | {f.get('column') or ''} | "
                        f"{f.get('unexpected_count')} | {what} |")
        meta["failed_expectations"] = dg.MetadataValue.md(
            "| severity | expectation | column | unexpected | sample values |\n|---|---|---|---|---|\n"
            + "\n".join(rows))
    if outcome.skipped:
        meta["skipped_expectations"] = dg.MetadataValue.json(outcome.skipped)
    return meta


def _record(con, context, check_name: str, asset: dg.AssetKey, suite: str, window, outcome) -> None:
    start, end = window or (None, None)
    con.execute(RESULTS_DDL)
    con.execute(
        "INSERT INTO quality.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [context.run.run_id, check_name, asset.to_user_string(), suite, start, end,
         outcome.success_blocking, outcome.success, outcome.evaluated, len(outcome.errors),
         len(outcome.warnings), json.dumps(outcome.failed, default=str, ensure_ascii=False),
         outcome.duration_s, datetime.now(timezone.utc)],
    )


def _result(context, outcome, scope: str, data_docs: Path) -> dg.AssetCheckResult:
    """Rebuild Data Docs and turn the outcome into the check's result (ERROR blocks)."""
    from pipelines.quality import gx_runtime

    docs = gx_runtime.build_data_docs(data_docs)
    meta = {**_metadata(outcome), "window": scope, "data_docs": dg.MetadataValue.path(str(docs))}
    context.log.info(outcome.summary())
    if not outcome.success_blocking:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=meta,
                                   description=_failed_text(outcome.errors, scope))
    if not outcome.success:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=meta,
                                   description=_failed_text(outcome.warnings, scope))
    return dg.AssetCheckResult(passed=True, metadata=meta)


def _failed_text(failed: list[dict], scope: str) -> str:
    """The failed expectations in one line a person can read: what, on which column, how many rows."""
    parts = []
    for f in failed[:3]:
        what = f["expectation_type"].removeprefix("expect_").replace("_", " ")
        column = f" on {f['column']}" if f.get("column") else ""
        rows = f" ({f['unexpected_count']:,} rows)" if isinstance(f.get("unexpected_count"), int) else ""
        parts.append(f"{what}{column}{rows}")
    more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    return f"{scope}: " + "; ".join(parts) + more


def _skipped(context, why: str) -> dg.AssetCheckResult:
    """A passing result for a check that does not apply to the company (nothing validated)."""
    context.log.info(why)
    return dg.AssetCheckResult(passed=True, description=why, metadata={"status": why})


def requirements() -> dict[dg.AssetKey, list[str]]:
    """Model asset key -> the sources it needs: the dbt models' meta ``requires_sources``, and the
    Python marts' metadata of the same name."""
    from pipelines.clv.assets import mart_customer_lifetime_value
    from pipelines.transform.assets import model_requirements

    out = model_requirements()
    for key, spec in mart_customer_lifetime_value.specs_by_key.items():
        if spec.metadata.get("requires_sources"):
            out[key] = list(spec.metadata["requires_sources"])
    return out


def not_delivered(names, sources=None) -> list[str]:
    """Those of the source ``names`` the company does not deliver (``company.yml``). An unknown
    name is an error (a typo would otherwise turn a check off silently)."""
    sources = sources if sources is not None else load_sources()
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; sources.yml has {sorted(sources)}")
    return [n for n in names if not sources[n].delivered]


def build_raw_check(table: str) -> dg.AssetChecksDefinition:
    suite = f"{RAW_PREFIX}{table}"
    key = dg.AssetKey(["raw", table])

    @dg.asset_check(
        asset=key,
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations: the structural expectations derived from sources.yml and "
                    f"expectations/{suite}.json over the run's partition window.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
               settings: SettingsResource) -> dg.AssetCheckResult:
        from pipelines.quality import structural

        sources = settings.sources()
        source = structural.source_of_table(table, sources)
        if not source.delivered:
            return _skipped(context, f"skipped: {source.name} not delivered (company.yml)")
        window = partition_window(context)
        with warehouse.connect() as con:
            outcome = structural.validate_raw(
                table, connection=con, window=window, run_name=f"{context.run.run_id}-{suite}",
                suites_dir=suites_dir(), sources=sources, timezone=settings.company.timezone,
            )
            _record(con, context, f"gx_{suite}", key, suite, window, outcome)
        return _result(context, outcome, f"{window[0]} .. {window[1]}" if window else "whole table",
                       settings.paths.data_docs)

    return _check


def model_suites() -> list[tuple[str, dg.AssetKey, str]]:
    """(suite, asset key, relation) of every model suite file (all but ``raw_*``)."""
    from pipelines.quality import gx_runtime

    out = []
    for path in sorted(suites_dir().glob("*.json")):
        name = path.stem
        if name.startswith(RAW_PREFIX):
            continue
        meta = gx_runtime.suite_meta(name, suites_dir())
        key = dg.AssetKey.from_user_string(meta.get("asset_key") or f"marts/{name}")
        out.append((name, key, meta.get("relation") or f"marts.{name}"))
    return out


def build_model_check(suite: str, key: dg.AssetKey, relation: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json over the whole of {relation}.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
               settings: SettingsResource) -> dg.AssetCheckResult:
        from pipelines.quality import gx_runtime, structural

        sources = settings.sources()
        try:
            missing = not_delivered(requirements().get(key, []), sources)
        except ValueError as e:
            raise ValueError(f"{key.to_user_string()}: requires_sources: {e}") from None
        if missing:
            return _skipped(context, f"skipped: {', '.join(missing)} not delivered (company.yml)")
        with warehouse.connect() as con:
            outcome = gx_runtime.validate(
                suite, connection=con, query_or_table=relation,
                run_name=f"{context.run.run_id}-{suite}",
                suites_dir=suites_dir(), parameters=structural.suite_parameters(settings.company.timezone),
                skip_tables=structural.undelivered_tables(sources),
            )
            _record(con, context, f"gx_{suite}", key, suite, None, outcome)
        return _result(context, outcome, f"whole {relation}", settings.paths.data_docs)

    return _check


def python_mart_keys() -> set[dg.AssetKey]:
    """The marts written by Python assets (the fitted CLV models): the only models GX checks."""
    from pipelines.clv.assets import mart_customer_lifetime_value

    return set(mart_customer_lifetime_value.keys)


def dbt_model_keys() -> set[dg.AssetKey]:
    """Asset keys of every dbt model (their checks are dbt tests)."""
    from pipelines.transform.assets import translator
    from pipelines.transform.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {translator.get_asset_key(n) for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def build_model_checks() -> list[dg.AssetChecksDefinition]:
    """One blocking check per model suite whose asset is a Python mart. A suite naming a dbt
    model (dbt tests own its checks) or an unknown asset is skipped with a warning (not an
    error, so a rename does not break loading the code location); ``tests/test_quality_suites.py``
    fails on it."""
    known = python_mart_keys()
    checks = []
    for suite, key, relation in model_suites():
        if key not in known:
            why = "a dbt model: its checks are dbt tests" if key in dbt_model_keys() else "not a Python mart asset"
            warnings.warn(f"expectations/{suite}.json: {key.to_user_string()} is {why}; "
                          f"its GX check is not defined", stacklevel=2)
            continue
        checks.append(build_model_check(suite, key, relation))
    return checks


def build_raw_checks_only() -> list[dg.AssetChecksDefinition]:
    sources = load_sources()
    tables = [sources[name].table for name in INGESTED_SOURCES]
    return [build_raw_check(t) for t in tables if (suites_dir() / f"{RAW_PREFIX}{t}.json").exists()]


def build_gx_checks() -> list[dg.AssetChecksDefinition]:
    """Every GX check: raw partitions and the Python marts."""
    return [*build_raw_checks_only(), *build_model_checks()]

