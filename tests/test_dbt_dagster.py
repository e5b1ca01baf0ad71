"""The dbt project as Dagster assets (pipelines/transform/assets.py, on the manifest prepared by
``dagster-dbt project prepare-and-package``): dbt sources are the raw ingest assets, the daily
partitioned set is exactly the incremental facts, static reference nodes are known, and the
serving database publishes every contracted mart and nothing sensitive."""

from __future__ import annotations

import json

import dagster as dg

from support import sensitive_columns


def _manifest() -> dict:
    from pipelines.transform.project import dbt_project

    return json.loads(dbt_project.manifest_path.read_text())


def test_staging_models_depend_on_the_raw_ingest_assets():
    from pipelines.definitions import defs
    from pipelines.ingest.config import load_sources

    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    for source in load_sources().values():
        raw_key = dg.AssetKey(["raw", source.table])
        assert raw_key in specs, raw_key
        children = [k for k, s in specs.items() if any(d.asset_key == raw_key for d in s.deps)
                    and k.path[0] == "staging"]
        assert len(children) == 1, (raw_key, children)


def test_partitioned_asset_set_is_the_incremental_facts():
    from pipelines.transform.assets import dbt_partitioned_models

    names = {k.path[-1] for k in dbt_partitioned_models.keys}
    assert names == {"fct_sales_lines", "fct_visits"}
    assert dbt_partitioned_models.partitions_def is not None


def test_every_model_has_one_asset_set_and_the_credit_set_is_quarterly():
    """One @dbt_assets per partitioning, each dbt model in exactly one of them (one writer per table):
    the credit folders are the quarterly set, the incremental facts the daily one."""
    from pipelines.credit.quarters import quarterly_partitions
    from pipelines.transform.assets import dbt_credit_models, dbt_models, dbt_partitioned_models, translator

    sets = [set(dbt_partitioned_models.keys), set(dbt_credit_models.keys), set(dbt_models.keys)]
    models = {translator.get_asset_key(n) for n in _manifest()["nodes"].values() if n["resource_type"] == "model"}
    assert sum(len(s) for s in sets) == len(set().union(*sets)), "a model is in two asset sets"
    assert models <= set().union(*sets)
    credit = {n["name"] for n in _manifest()["nodes"].values()
              if n["resource_type"] == "model" and "/credit/" in n["original_file_path"]}
    assert {k.path[-1] for k in dbt_credit_models.keys} == credit and "mart_credit_rating" in credit
    assert dbt_credit_models.partitions_def == quarterly_partitions


def test_the_daily_job_builds_the_reference_nodes():
    """Seeds and the models fed only by seeds (the calendar) are downstream of no raw asset; the
    daily job selects them itself (jobs.py), so no step has to build them on the side."""
    import dagster as dg

    from pipelines.definitions import defs

    selected = defs.resolve_job_def("daily_pipeline").asset_layer.selected_asset_keys
    assert {dg.AssetKey(["reference", "chinese_new_year"]), dg.AssetKey(["marts", "dim_date"])} <= selected


def test_serving_publishes_every_contracted_mart_without_sensitive_columns():
    from pipelines.transform.assets import bi_facing_models

    published = {name for _, name, _ in bi_facing_models()}
    assert {"dim_date", "dim_customer", "dim_product", "dim_rep", "dim_branch", "dim_territory", "dim_region", "dim_customer_current", "fct_sales_lines",
            "fct_receivables", "fct_receivable_payments", "fct_stock_weekly", "fct_visits",
            "mart_sales_monthly", "mart_receivables_monthly"} <= published
    sensitive = sensitive_columns()
    for node in _manifest()["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in published:
            assert not set(node["columns"]) & sensitive, node["name"]
