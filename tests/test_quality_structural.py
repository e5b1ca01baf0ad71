"""Structural expectations derived from sources.yml (pipelines.quality.structural) and checks of
sources a company does not deliver: real GX, real DuckDB, real Dagster runs (in process), with
company settings in a temporary DWH_CONFIG folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from conftest import REPO

from pipelines.quality import gx_runtime as gr
from pipelines.quality import structural
from support.suite_signatures import repeats, signature

DAY = dt.date(2024, 3, 5)


def _company(tmp_path: Path, monkeypatch, extra: str) -> Path:
    """A company configuration folder: the repository's company.yml plus ``extra`` YAML."""
    folder = tmp_path / "company"
    folder.mkdir()
    (folder / "company.yml").write_text((REPO / "company.yml").read_text(encoding="utf-8") + "\n" + extra,
                                        encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(folder))
    return folder


def _sources():
    from pipelines.ingest.config import load_sources

    return load_sources()


def _by(derived: list[dict], etype: str) -> dict:
    out = {}
    for e in derived:
        if e["type"] == etype:
            k = e["kwargs"]
            out[k.get("column") or e["meta"].get("column") or tuple(k.get("column_list", ()))] = e
    return out


def _file(table: str) -> list[dict]:
    return json.loads((REPO / "expectations" / f"raw_{table}.json").read_text(encoding="utf-8"))["expectations"]


# ------------------------------------------------------------------ what is derived


def test_required_columns_are_not_null_and_optional_ones_are_not():
    sources = _sources()
    sales = sources["sales_lines"]
    derived = structural.derived_expectations(sales, sources)
    not_null = _by(derived, "expect_column_values_to_not_be_null")
    assert not sales.columns["unit_price"].required and not sales.columns["payment_terms"].required
    assert "unit_price" not in not_null and "payment_terms" not in not_null  # optional: may be empty
    assert sales.columns["qty"].required and "qty" in not_null
    lineage = {"_source_file", "_source_line", "_partition_date", "_load_id", "_loaded_at"}
    assert set(not_null) == set(sales.required_columns) | lineage
    assert all(e["severity"] == "critical" and e["meta"][structural.DERIVED] for e in derived)
    # an unpartitioned source's rows have no partition date
    overrides = structural.derived_expectations(sources["credit_overrides"], sources)
    assert "_partition_date" not in _by(overrides, "expect_column_values_to_not_be_null")


def test_keys_references_and_window_follow_sources_yml():
    sources = _sources()
    sales = _by(structural.derived_expectations(sources["sales_lines"], sources), "expect_compound_columns_to_be_unique")
    assert list(sales) == [("invoice_no", "line_no")]
    customers = structural.derived_expectations(sources["customers"], sources)
    (key,) = _by(customers, "expect_compound_columns_to_be_unique").values()
    assert key["kwargs"]["column_list"] == ["_partition_date", "customer_code"]  # unique per extract
    receivables = structural.derived_expectations(sources["receivables"], sources)
    sql = _by(receivables, "unexpected_rows_expectation")
    assert "GROUP BY" in "\n".join(sql["record_type,invoice_no,payment_no"]["kwargs"]["unexpected_rows_query"])
    refs = {signature(e)[1:] for e in receivables if (signature(e) or ("",))[0] == "references"}
    assert refs == {("customer_code", "master_customers")}
    visits = "\n".join(_by(structural.derived_expectations(sources["visits"], sources),
                           "unexpected_rows_expectation")["check_in"]["kwargs"]["unexpected_rows_query"])
    assert "timezone({timezone}" in visits and "Asia/Shanghai" not in visits


def test_enum_value_set_is_the_configured_values_with_a_company_addition(tmp_path, monkeypatch):
    _company(tmp_path, monkeypatch, "enums:\n  channel_type: {RESTAURANT: [Restaurant]}\n")
    sources = _sources()
    customers = sources["customers"]
    (in_set,) = [e for e in structural.derived_expectations(customers, sources)
                 if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "channel_type"]
    assert in_set["kwargs"]["value_set"] == list(customers.columns["channel_type"].values)
    assert "RESTAURANT" in in_set["kwargs"]["value_set"] and "HOSPITAL_CLINIC" in in_set["kwargs"]["value_set"]

    # validated on a real raw table: the company's value passes, an unknown one fails
    from pipelines.ingest.load import ensure_raw_tables

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    try:
        ensure_raw_tables(con, sources)
        con.execute("""INSERT INTO raw.master_customers (customer_code, channel_type, extract_date, _source_file,
                           _source_line, _partition_date, _load_id, _loaded_at)
                       VALUES ('C1', 'RESTAURANT', ?, 'master/c.csv', 2, ?, 'l1', now()),
                              ('C2', 'CANTEEN', ?, 'master/c.csv', 3, ?, 'l1', now())""", [DAY, DAY, DAY, DAY])
    finally:
        con.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = structural.validate_raw("master_customers", connection=con, window=(DAY, DAY))
    finally:
        con.close()
    assert not out.success_blocking
    (failed,) = out.errors
    assert (failed["expectation_type"], failed["column"]) == ("expect_column_values_to_be_in_set", "channel_type")
    assert failed["sample_unexpected_values"] == ["CANTEEN"]


def test_a_reference_to_an_undelivered_master_is_not_checked(tmp_path, monkeypatch):
    _company(tmp_path, monkeypatch, "sources:\n  reps: {delivered: false}\n")
    sources = _sources()
    assert not sources["reps"].delivered
    refs = {s[1:] for s in map(signature, structural.derived_expectations(sources["sales_lines"], sources))
            if s and s[0] == "references"}
    assert refs == {("customer_code", "master_customers"), ("sku", "master_products")}


# ---------------------------------------------------- the suite files hold only the rest


@pytest.mark.parametrize("name", ["sales_lines", "customers", "products", "reps", "branches", "receivables", "stock",
                                  "visits", "credit_overrides"])
def test_no_raw_suite_repeats_or_contradicts_a_derived_expectation(name):
    sources = _sources()
    source = sources[name]
    found = repeats(source, _file(source.table), sources)
    assert found == [], f"expectations/raw_{source.table}.json: {found}"


def test_repeats_finds_a_repeated_or_contradicting_expectation():
    sources = _sources()
    sales = sources["sales_lines"]
    hand = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "qty"}, "severity": "warning"},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "unit_price"}},  # optional: critical
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "payment_terms", "value_set": ["COD"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "rep_code"},
         "severity": "warning"},  # optional, should usually be filled: kept
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "qty", "max_value": 100000}},
    ]
    assert [i for i, _sig, _why in repeats(sales, hand, sources)] == [0, 1, 2]


# ------------------------------------------------------ sources the company does not have


def _check_result(checks_def, assets, partition_key=None):
    """Run only ``checks_def`` (real Dagster, in process) and return its evaluation."""
    import dagster as dg

    from pipelines.resources import WarehouseResource, build_resources

    result = dg.materialize([*assets, checks_def], selection=dg.AssetSelection.checks(checks_def),
                            resources={"warehouse": WarehouseResource(), "settings": build_resources()["settings"]},
                            partition_key=partition_key,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return result, result.get_asset_check_evaluations()


def test_an_undelivered_source_raw_check_passes_as_skipped(dwh_home, tmp_path, monkeypatch):
    from pipelines.ingest.assets import build_ingest_assets
    from pipelines.quality.checks import build_raw_check

    _company(tmp_path, monkeypatch, "sources:\n  visits: {delivered: false}\n")
    visits = [a for a in build_ingest_assets() if a.key.to_user_string() == "raw/visits"]
    result, (evaluation,) = _check_result(build_raw_check("visits"), visits)
    assert result.success and evaluation.passed
    assert evaluation.description == "skipped: visits not delivered (company.yml)"
    assert evaluation.metadata["status"].value == "skipped: visits not delivered (company.yml)"
    assert not (dwh_home / "warehouse" / "warehouse.duckdb").exists()  # nothing was validated


def test_a_mart_requiring_an_undelivered_source_passes_as_skipped(dwh_home, tmp_path, monkeypatch):
    """The Python mart's check (GX) is skipped when a source it needs is not delivered; the dbt
    marts' not_empty tests do the same (tests/test_quality_blocking.py)."""
    import dagster as dg

    from pipelines.quality.checks import build_model_check, requirements

    key = dg.AssetKey(["marts", "mart_customer_lifetime_value"])
    relation = "marts.mart_customer_lifetime_value"
    assert requirements()[key] == ["sales_lines"]  # the asset's metadata says it
    # delivered (the sample company): the suite runs, and fails on a warehouse without the mart
    result, (evaluation,) = _check_result(
        build_model_check("mart_customer_lifetime_value", key, relation), [dg.AssetSpec(key)])
    assert not result.success and not evaluation.passed
    # not delivered: skipped, passing, without GX
    _company(tmp_path, monkeypatch, "sources:\n  sales_lines: {delivered: false}\n")
    result, (evaluation,) = _check_result(
        build_model_check("mart_customer_lifetime_value", key, relation), [dg.AssetSpec(key)])
    assert result.success and evaluation.passed
    assert evaluation.description == "skipped: sales_lines not delivered (company.yml)"
