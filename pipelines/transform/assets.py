"""dbt models as Dagster assets (dagster-dbt ``@dbt_assets`` with a translator).

Two asset sets from one manifest: the daily-partitioned incremental facts (dbt tag
``partitioned_daily``), which get the run's partition window as the dbt vars ``min_date`` /
``max_date``, and everything else (staging views, dimensions, marts), rebuilt whole. Every
invocation also receives ``rules.yml`` as the var ``rules``.
"""


from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.partitions import daily_partitions
from pipelines.resources import export_dbt_env
from pipelines.rules import dbt_vars
from pipelines.transform.project import dbt_project

PARTITIONED_TAG = "partitioned_daily"


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer (staging, intermediate, marts, reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=f"tag:{PARTITIONED_TAG}",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="dbt_partitioned_models",
)
def dbt_partitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    window = context.partition_time_window
    run_vars = {"min_date": window.start.date().isoformat(),
                "max_date": (window.end - timedelta(days=1)).date().isoformat()}
    export_dbt_env()
    yield from dbt.cli(["build", "--vars", dbt_vars(run_vars)], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=f"tag:{PARTITIONED_TAG}",
    dagster_dbt_translator=translator,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    export_dbt_env()
    yield from dbt.cli(["build", "--vars", dbt_vars()], context=context).stream()


def bi_facing_models() -> list[tuple[str, str, dg.AssetKey]]:
    """(schema, table, asset key) of every model the serving database publishes: the marts
    whose contract is enforced."""
    import json

    manifest = json.loads(dbt_project.manifest_path.read_text())
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        if node["config"].get("schema") == "marts" and node["config"].get("contract", {}).get("enforced"):
            out.append((node["schema"], node["alias"] or node["name"], translator.get_asset_key(node)))
    return sorted(out, key=lambda t: t[1])
