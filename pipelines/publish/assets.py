"""Dagster asset that publishes the BI-facing marts to the serving database after every
upstream check of the run has passed.

It runs in two jobs: ``daily_pipeline`` (after the daily marts were rebuilt) and
``credit_rating_quarterly`` (after the credit rating of the run's quarters was rebuilt, so the
rating workbook, which reads the serving database, sees them). Each publish copies every BI-facing
table as the warehouse holds it, so a table that the run did not build is copied as another job
last wrote it:

* a table the run does not build and the warehouse does not hold yet is left out (listed in the
  metadata ``not_built``), e.g. ``mart_credit_rating`` before the first quarter was rated; the
  reports leave out what is not published. A table the run builds must be there (the publish
  fails otherwise, as before);
* a table the run does not build whose latest check result in the instance is a failure at
  severity ERROR (it was written by a run whose checks then failed, e.g. a quarterly rating whose
  dbt test failed) is not validated data: the publish fails naming the table, the check and the
  run, and the serving database stays as it was until that table is rebuilt and passes. Within the
  run, blocking checks already keep this asset from running.
"""


import dagster as dg
import duckdb

from pipelines.ingest.config import load_sources
from pipelines.publish.dictionary import from_manifest
from pipelines.publish.serving import publish
from pipelines.resources import SettingsResource
from pipelines.transform.assets import bi_facing_models
from pipelines.transform.project import dbt_project

# BI-facing tables: the dbt marts with an enforced contract, plus the marts written by
# Python assets (fitted models), which carry their own schema tests.
PYTHON_MARTS = [("marts", "mart_customer_lifetime_value", dg.AssetKey(["marts", "mart_customer_lifetime_value"]))]
BI_TABLES = bi_facing_models() + PYTHON_MARTS


def sensitive_columns(sources=None) -> set[str]:
    """Columns declared sensitive in sources.yml: never allowed in the serving database."""
    return {c.name for s in (sources or load_sources()).values() for c in s.columns.values() if c.sensitive}


def warehouse_tables(warehouse) -> set[tuple[str, str]]:
    """(schema, table) of every table and view of the warehouse file."""
    if not warehouse.exists():
        return set()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {(s, t) for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    finally:
        con.close()


def failed_checks(instance: dg.DagsterInstance, asset_graph, keys) -> dict[str, str]:
    """Asset (user string) -> what failed, for each of ``keys`` whose latest result of some check
    is a failure at severity ERROR."""
    out: dict[str, str] = {}
    for check_key in sorted(asset_graph.get_check_keys_for_assets(set(keys)), key=lambda k: k.to_user_string()):
        # the most recent evaluation (a run that planned the check but stopped before it has none)
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=20)
        evaluated = [r for r in history if r.event and r.event.dagster_event
                     and r.event.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
        if not evaluated:
            continue
        record = evaluated[0]
        evaluation = record.event.dagster_event.asset_check_evaluation_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            name = check_key.asset_key.to_user_string()
            out[name] = (out[name] + ", " if name in out else "") + f"{check_key.name} (run {record.run_id})"
    return out


@dg.asset(
    key=dg.AssetKey(["serving", "database"]),
    group_name="publish",
    deps=[key for _, _, key in BI_TABLES],
    kinds={"duckdb"},
    description="Serving DuckDB file for BI tools (read-only copy of the BI-facing marts, swapped in atomically).",
)
def serving_database(context: dg.AssetExecutionContext, settings: SettingsResource) -> dg.MaterializeResult:
    p = settings.paths
    in_run = set(context.job_def.asset_layer.selected_asset_keys)
    if context.run.asset_selection:
        in_run &= set(context.run.asset_selection)
    held = warehouse_tables(p.warehouse)
    tables = [(schema, name, key) for schema, name, key in BI_TABLES if key in in_run or (schema, name) in held]
    not_built = sorted(f"{schema}.{name}" for schema, name, key in BI_TABLES if (schema, name, key) not in tables)
    failed = failed_checks(context.instance, context.repository_def.asset_graph,
                           [key for _, _, key in tables if key not in in_run])
    if failed:
        lines = "\n".join(f"  {asset}: {what}" for asset, what in failed.items())
        raise dg.Failure(
            description=f"not publishing: {len(failed)} table(s) this run does not build failed a check when they were "
                        f"last built, so the warehouse holds data that is not validated:\n{lines}\n"
                        "rebuild them (e.g. re-rate the quarter with credit_rating_quarterly) until their checks pass; "
                        "the serving database stays as it was",
            metadata={"failed_checks": dg.MetadataValue.json(failed)})
    if not_built:
        context.log.info(f"not built yet, left out of the serving database: {', '.join(not_built)}")
    result = publish(p.warehouse, p.serving, [(schema, name) for schema, name, _ in tables],
                     source_run_id=context.run_id, forbidden_columns=sensitive_columns(settings.sources()),
                     parquet_dir=p.parquet_export, dictionary=from_manifest(dbt_project.manifest_path))
    context.log.info(f"published {result.row_counts} to {result.path} as {result.publish_id}")
    if result.undescribed:
        context.log.warning(f"no description in the dbt YAML (so no comment in the serving database) for: "
                            f"{', '.join(result.undescribed)}")
    return dg.MaterializeResult(metadata={
        "publish_id": result.publish_id,
        "path": dg.MetadataValue.path(str(result.path)),
        "parquet": dg.MetadataValue.path(str(p.parquet_export / "current")),
        "row_counts": dg.MetadataValue.json(result.row_counts),
        "not_built": dg.MetadataValue.json(not_built),
        "undescribed": dg.MetadataValue.json(result.undescribed),
    })
