"""Dagster asset that publishes the BI-facing marts to the serving database after every
upstream check of the run has passed."""


import dagster as dg

from pipelines.ingest.config import load_sources
from pipelines.publish.serving import publish
from pipelines.settings import paths
from pipelines.transform.assets import bi_facing_models

# BI-facing tables: the dbt marts with an enforced contract, plus the marts written by
# Python assets (fitted models), which carry their own schema tests.
PYTHON_MARTS = [("marts", "mart_customer_lifetime_value", dg.AssetKey(["marts", "mart_customer_lifetime_value"]))]
BI_TABLES = bi_facing_models() + PYTHON_MARTS


def sensitive_columns() -> set[str]:
    """Columns declared sensitive in sources.yml: never allowed in the serving database."""
    return {c.name for s in load_sources().values() for c in s.columns.values() if c.sensitive}


@dg.asset(
    key=dg.AssetKey(["serving", "database"]),
    group_name="publish",
    deps=[key for _, _, key in BI_TABLES],
    kinds={"duckdb"},
    description="Serving DuckDB file for BI tools (read-only copy of the BI-facing marts, swapped in atomically).",
)
def serving_database(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    p = paths()
    result = publish(p.warehouse, p.serving, [(schema, name) for schema, name, _ in BI_TABLES],
                     source_run_id=context.run_id, forbidden_columns=sensitive_columns(),
                     parquet_dir=p.parquet_export)
    context.log.info(f"published {result.row_counts} to {result.path} as {result.publish_id}")
    return dg.MaterializeResult(metadata={
        "publish_id": result.publish_id,
        "path": dg.MetadataValue.path(str(result.path)),
        "parquet": dg.MetadataValue.path(str(p.parquet_export / "current")),
        "row_counts": dg.MetadataValue.json(result.row_counts),
    })
