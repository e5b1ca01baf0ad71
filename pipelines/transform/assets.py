"""dbt models as Dagster assets (dagster-dbt ``@dbt_assets`` with a translator).

Three asset sets from one manifest, one ``@dbt_assets`` per partitioning:

* ``dbt_partitioned_models`` — the daily-partitioned incremental facts (dbt tag
  ``partitioned_daily``);
* ``dbt_credit_models`` — the credit rating (R6), partitioned by quarter
  (``pipelines.credit.quarters``): the models of the credit folders (``CREDIT_SELECT``:
  ``stg_credit__rating_overrides``, the ``int_credit_*`` models, ``mart_credit_rating``), built by
  the job ``credit_rating_quarterly`` only (one writer of the mart; a job cannot mix the daily and
  the quarterly partitions, so the daily job leaves them out);
* ``dbt_models`` — everything else (staging views, dimensions, marts), unpartitioned, rebuilt whole.

The dbt command of every set is built in one place, ``dbt_args``: ``dbt build`` with
``rules.yml`` (and the company settings) as vars plus, for a partitioned set, the run's partition
window as the vars ``min_date`` / ``max_date`` (inclusive days: the days of a daily run, the first
day of the first quarter and the last day of the last quarter of a quarterly run;
``partition_vars``). The models turn the window into SQL with the macros of
``macros/partition_window.sql`` (and ``credit_rating_window``). Builds skip dbt unit tests (the
test suite runs them), and each rules-only invocation leaves its partial parse for the next one
(``reuse_parse``). dbt tests become asset checks of their models (translator setting
``enable_asset_checks``); a failing ERROR-severity test fails the dbt step, so nothing downstream
of it runs in that run (for the credit set: the serving database and the rating workbook).

The facts read the dimensions (as-of joins) and marts read the facts, so a run executes the
unpartitioned set in several steps around the partitioned one (Dagster splits the subsettable
multi-asset wherever a dependency path leaves it and comes back: 3–4 dbt steps per daily run).
Static reference nodes (seeds, and models fed only by seeds, e.g. dim_date) are downstream of
no raw asset; the daily job selects them itself (``pipelines/jobs.py``). dbt tests are selected
"buildable": a test runs in the step that builds the last of its parents, so a fact → dimension
relationship test runs with the fact, never before it.
"""


import os
import shutil
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.credit.quarters import quarterly_partitions
from pipelines.partitions import daily_partitions
from pipelines.resources import SettingsResource, export_dbt_env
from pipelines.rules import dbt_vars
from pipelines.transform.project import dbt_project

PARTITIONED_TAG = "partitioned_daily"
# The credit rating's models (R6): built per quarter by dbt_credit_models, excluded from dbt_models.
CREDIT_SELECT = "path:models/staging/credit path:models/intermediate/credit path:models/marts/credit"

# dbt's default (eager) indirect selection would run a relationship test of a fact in the step
# that builds only the dimension (before the fact exists). "buildable" runs a test once all its
# parents are selected or upstream of the selection. dagster-dbt reads this variable as the
# default and still overrides it when a subset of asset checks is selected.
INDIRECT_SELECTION = "buildable"

# `dbt build` as the pipeline runs it: models, seeds and data tests. dbt unit tests check the SQL
# logic on fixed inputs, so they belong to development and CI (the test suite runs them with
# `dbt build` / `dbt test --select test_type:unit`), not to every production run, as dbt advises;
# each one costs a fixture round trip (~200 ms) per run.
BUILD = ["build", "--exclude-resource-type", "unit_test"]


def prepare_dbt_env(settings: SettingsResource) -> None:
    """Environment of the dbt process about to start: the warehouse path for profiles.yml and
    the test selection mode (unless the operator set one). dagster-dbt hands dbt this process's
    environment and takes no other."""
    export_dbt_env(settings.paths.warehouse)
    os.environ.setdefault("DBT_INDIRECT_SELECTION", INDIRECT_SELECTION)


class WarehouseTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer (staging, intermediate, marts, reference)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def partition_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The run's partition window as the dbt vars ``min_date`` / ``max_date`` (inclusive ISO days)
    when the step's assets are partitioned; nothing for an unpartitioned step (even inside a
    partitioned run)."""
    if context.assets_def.partitions_def is None:
        return {}
    window = context.partition_time_window
    return {"min_date": window.start.date().isoformat(),
            "max_date": (window.end - timedelta(days=1)).date().isoformat()}


def dbt_args(context: dg.AssetExecutionContext, settings: SettingsResource) -> list[str]:
    """The dbt command of every dbt asset set: ``dbt build`` (no unit tests) with the rules and
    company settings as vars, plus the partition window of a partitioned set."""
    return [*BUILD, "--vars", dbt_vars(partition_vars(context), config_dir=settings.folder)]


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    """Run ``dbt_args`` for the step's selection; a model whose source is not delivered says so."""
    prepare_dbt_env(settings)
    invocation = dbt.cli(dbt_args(context, settings), context=context)
    yield from with_delivery_status(context, invocation.stream(), settings)
    if not partition_vars(context):  # rules-only vars: its parse can start the next one
        reuse_parse(invocation)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=f"tag:{PARTITIONED_TAG}",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="dbt_partitioned_models",
)
def dbt_partitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    yield from _build(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=CREDIT_SELECT,
    partitions_def=quarterly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    name="dbt_credit_models",
)
def dbt_credit_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    """The credit rating of the run's quarters: incremental mart_credit_rating (delete + insert of
    those quarters), its intermediate models and the overrides' staging view, with their dbt tests
    as asset checks."""
    yield from _build(context, dbt, settings)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=f"tag:{PARTITIONED_TAG} {CREDIT_SELECT}",
    dagster_dbt_translator=translator,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: SettingsResource):
    yield from _build(context, dbt, settings)


def model_requirements() -> dict[dg.AssetKey, list[str]]:
    """dbt model asset key -> the sources it cannot do without (model meta ``requires_sources``,
    the one place this is said; the checks of such a model are skipped when one is missing)."""
    import json

    manifest = json.loads(dbt_project.manifest_path.read_text())
    out = {}
    for node in manifest["nodes"].values():
        needs = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("requires_sources")
        if node["resource_type"] == "model" and needs:
            out[translator.get_asset_key(node)] = list(needs)
    return out


def undelivered_models(sources: Mapping[str, Any] | None = None) -> dict[dg.AssetKey, str]:
    """Models built empty because the company does not deliver a source they need (company.yml
    ``delivered: false``) -> the status their materialization and checks show."""
    from pipelines.ingest.config import load_sources

    missing = {name for name, s in (sources or load_sources()).items() if not s.delivered}
    if not missing:
        return {}
    return {key: f"empty: {', '.join(sorted(set(needs) & missing))} not delivered by this company (company.yml); "
                 f"its checks are skipped"
            for key, needs in model_requirements().items() if set(needs) & missing}


def with_delivery_status(context: dg.AssetExecutionContext, events, settings: SettingsResource):
    """dbt's events, a materialization of a model whose source the company does not deliver
    marked so (``status`` metadata) instead of looking like a model that lost its rows."""
    notes = undelivered_models(settings.sources())
    for event in events:
        if notes and isinstance(event, dg.Output):
            note = notes.get(context.asset_key_for_output(event.output_name))
            if note:
                event = event.with_metadata({**event.metadata, "status": dg.MetadataValue.text(note)})
        yield event


def reuse_parse(invocation) -> None:
    """Make this invocation's parse the starting point of the next invocation's.

    dagster-dbt copies ``target/partial_parse.msgpack`` into each invocation's own target folder.
    The one written when the manifest was prepared was parsed without the rules vars and this
    home's profile, so every invocation re-parsed the whole project (~3 s of a ~5 s start). Only
    invocations with the rules alone as vars call this (the partitioned one also has its window):
    dbt still checks vars, profile, versions and file hashes before reusing anything."""
    src = Path(invocation.target_path) / "partial_parse.msgpack"
    if not src.exists():
        return
    dst = dbt_project.project_dir / dbt_project.target_path / "partial_parse.msgpack"
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)  # atomic: a dbt process starting now copies the old or the new file


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
