"""Customer marts of issue 6 (R1–R5 of shared/domain-rules.md) built with dbt on generated data.

The ``S`` preset (200 customers, 1 year) is generated and ingested like the pipeline does
(``load_window`` per source), then dbt builds the five marts and everything upstream of them
(models, data tests, unit tests) on DuckDB:

* ``mart_customer_segments`` (customer × month end: ABC per channel type and overall, key
  customers, VIP tiers, nine-box cell and strategy, movement),
* ``mart_visit_compliance_customers`` / ``mart_visit_compliance`` (R4),
* ``mart_inventory_days`` / ``mart_inventory_turnover`` (R5).

The tests assert that every class, cell, band and tier is populated, recompute R1/R2 in Python
for one month end, and run the marts' dbt tests (their checks: models/marts/**.yml and tests/) —
passing on the build, failing on a corrupted copy. The PostgreSQL comparison of every mart is
tests/test_dbt_postgres.py.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from support import GENERATOR_SEED, ingest_generated, run_dbt, session_cache

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out

MARTS = ["mart_customer_segments", "mart_visit_compliance_customers", "mart_visit_compliance",
         "mart_inventory_days", "mart_inventory_turnover"]


def _build_s(folder: Path):
    warehouse = ingest_generated(folder, seed=GENERATOR_SEED, preset="S", warehouse_name="warehouse.duckdb")
    select = " ".join(f"+{m}" for m in MARTS)
    build = run_dbt(["build", "--select", select, "--indirect-selection", "cautious"], warehouse=warehouse, workdir=folder / "build", check=False)
    return warehouse, build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return session_cache("marts_s_built", tmp_path_factory, _build_s)


@pytest.fixture(scope="module")
def con(built):
    warehouse, build = built
    assert build.returncode == 0, build.output[-6000:]
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def _values(con, sql: str) -> dict:
    return dict(con.execute(sql).fetchall())


def test_build_passes_with_unit_tests(built):
    _, build = built
    assert build.returncode == 0, build.output[-6000:]
    results = build.run_results["results"]
    bad = [(r["unique_id"], r["status"]) for r in results if r["status"] not in ("success", "pass")]
    assert not bad, bad
    ran = {r["unique_id"] for r in results}
    for mart in MARTS:
        assert any(uid.startswith(f"model.distributor_dwh.{mart}") for uid in ran), mart
        assert any(uid.startswith(f"unit_test.distributor_dwh.{mart}.") for uid in ran), f"no unit test of {mart}"


def test_segments_every_class_tier_and_cell_populated(con):
    abc = _values(con, "SELECT abc_class, count(*) FROM marts.mart_customer_segments GROUP BY 1")
    overall = _values(con, "SELECT abc_class_overall, count(*) FROM marts.mart_customer_segments GROUP BY 1")
    tiers = _values(con, "SELECT vip_tier, count(*) FROM marts.mart_customer_segments WHERE vip_tier IS NOT NULL GROUP BY 1")
    cells = _values(con, "SELECT nine_box_cell, count(*) FROM marts.mart_customer_segments WHERE nine_box_cell IS NOT NULL GROUP BY 1")
    print("abc", abc, "overall", overall, "tiers", tiers, "cells", cells)
    assert set(abc) == {"A", "B", "C"} and set(overall) == {"A", "B", "C"}
    assert set(tiers) == {"diamond", "gold", "silver"}
    assert set(cells) == {f"{p}{c}" for p in "ABC" for c in "123"}
    flags = con.execute("""
        SELECT count(*) FILTER (WHERE is_key_customer), count(*) FILTER (WHERE NOT is_key_customer AND is_active),
               count(*) FILTER (WHERE is_inactive), count(*) FILTER (WHERE abc_class_changed_vs_prev_month),
               count(*) FILTER (WHERE NOT abc_class_changed_vs_prev_month),
               count(*) FILTER (WHERE nine_box_cell_changed_vs_prev_month),
               count(DISTINCT month_end), count(*) FILTER (WHERE nine_box_strategy IS NULL AND nine_box_cell IS NOT NULL)
        FROM marts.mart_customer_segments""").fetchone()
    key, non_key, inactive, moved, stayed, cell_moved, months, no_strategy = flags
    assert key and non_key and inactive and moved and stayed and cell_moved
    assert months >= 12 and no_strategy == 0
    # one row per customer of the customer file on each month end
    dup = con.execute("SELECT count(*) FROM (SELECT customer_code, month_end FROM marts.mart_customer_segments "
                      "GROUP BY 1, 2 HAVING count(*) > 1)").fetchone()[0]
    assert dup == 0


def _python_abc(sales: list[tuple[str, Decimal]], a_max: Decimal, b_max: Decimal) -> dict[str, str]:
    active = sorted(((c, s) for c, s in sales if s > 0), key=lambda r: (-r[1], r[0]))
    total = sum(s for _, s in active)
    out, preceding = {}, Decimal(0)
    for code, s in active:
        out[code] = "A" if preceding < total * a_max else ("B" if preceding < total * b_max else "C")
        preceding += s
    out.update({c: "C" for c, s in sales if s <= 0})
    return out


def test_abc_and_key_customers_match_python_recomputation(con):
    from pipelines.rules import load_rules

    rules = load_rules()
    a_max = Decimal(str(rules["r1_abc"]["a_max_cumulative_share"]))
    b_max = Decimal(str(rules["r1_abc"]["b_max_cumulative_share"]))
    key_share = Decimal(str(rules["r2_key_customers"]["key_customer_sales_share"]))
    month_end = con.execute("SELECT max(month_end) FROM marts.mart_customer_segments").fetchone()[0]
    rows = con.execute("SELECT customer_code, channel_type, trailing_net_sales, abc_class, abc_class_overall, is_key_customer "
                       "FROM marts.mart_customer_segments WHERE month_end = ?", [month_end]).fetchall()
    overall = _python_abc([(r[0], r[2]) for r in rows], a_max, b_max)
    channel: dict[str, str] = {}
    for ch in {r[1] for r in rows}:
        channel.update(_python_abc([(r[0], r[2]) for r in rows if r[1] == ch], a_max, b_max))
    key = _python_abc([(r[0], r[2]) for r in rows], key_share, key_share)
    assert {r[0]: r[3] for r in rows} == channel
    assert {r[0]: r[4] for r in rows} == overall
    assert {r[0]: r[5] for r in rows} == {c: v == "A" for c, v in key.items()}  # inactive customers are "C"
    # key customers: the smallest top set making the share
    key_sales = sum(r[2] for r in rows if r[5])
    total = sum(r[2] for r in rows if r[2] > 0)
    smallest_key = min(r[2] for r in rows if r[5])
    assert key_sales >= total * key_share > key_sales - smallest_key


def test_visit_compliance_every_band_populated(con):
    bands = _values(con, "SELECT band_status, count(*) FROM marts.mart_visit_compliance_customers "
                         "WHERE band_status IS NOT NULL GROUP BY 1")
    classes = _values(con, "SELECT abc_class, count(*) FROM marts.mart_visit_compliance_customers "
                           "WHERE abc_class IS NOT NULL GROUP BY 1")
    print("bands", bands, "classes", classes)
    assert set(bands) == {"under", "within", "over"} and set(classes) == {"A", "B", "C"}
    reps = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE customer_visits > 0
                 AND abs(share_visits_a + share_visits_b + share_visits_c + share_visits_unclassified - 1) > 0.00001),
               count(meets_target_share_visits_a), count(meets_target_visits_per_working_day),
               count(meets_target_selling_time_share), min(working_days), max(working_days)
        FROM marts.mart_visit_compliance""").fetchone()
    rows, bad_shares, flagged_a, flagged_day, flagged_sell, min_wd, max_wd = reps
    assert rows > 0 and bad_shares == 0 and flagged_a and flagged_day and flagged_sell
    assert 1 <= min_wd <= max_wd <= 23
    visits = con.execute("SELECT (SELECT sum(visits) FROM marts.mart_visit_compliance_customers), "
                         "(SELECT count(*) FROM marts.fct_visits WHERE is_customer_visit)").fetchone()
    assert visits[0] == visits[1]


def test_inventory_every_band_populated(con):
    bands = _values(con, "SELECT inventory_band, count(*) FROM marts.mart_inventory_days "
                         "WHERE inventory_band IS NOT NULL GROUP BY 1")
    stagnant, negative, rows, fact_rows = con.execute("""
        SELECT count(*) FILTER (WHERE is_stagnant),
               count(*) FILTER (WHERE days_of_inventory < 0 OR suggested_order_qty < 0),
               count(*), (SELECT count(*) FROM marts.fct_stock_weekly)
        FROM marts.mart_inventory_days""").fetchone()
    print("inventory bands", bands, "stagnant", stagnant)
    assert set(bands) == {"low", "normal", "high"} and stagnant > 0
    assert negative == 0 and rows == fact_rows
    turnover = con.execute("SELECT count(*), count(turnover_days), count(turnover_ratio) "
                           "FROM marts.mart_inventory_turnover").fetchone()
    assert turnover[0] > 0 and turnover[1] > 0 and turnover[2] > 0


def _mart_test_results(build) -> dict[str, dict[str, str]]:
    """mart -> {dbt test name: status} of the dbt tests of each mart in a dbt run's results."""
    manifest = build.artifact("manifest.json")
    out: dict[str, dict[str, str]] = {m: {} for m in MARTS}
    for r in build.run_results["results"]:
        node = manifest["nodes"].get(r["unique_id"], {})
        if node.get("resource_type") != "test":
            continue
        owner = node.get("attached_node") or ((node.get("config", {}).get("meta") or {}).get("dagster", {})
                                              .get("ref", {}).get("name")) or node["depends_on"]["nodes"][0]
        mart = owner.split(".")[-1]
        if mart in out:
            out[mart][node["name"]] = r["status"]
    return out


def test_dbt_tests_check_the_marts(built):
    """The marts' checks are dbt tests (GX checks only what is loaded): each mart has its own
    beyond the contract — non-empty, ranges, accepted values, cross-column rules, reconciliations —
    and they pass on the build."""
    _, build = built
    results = _mart_test_results(build)
    for mart in MARTS:
        names = set(results[mart])
        assert f"not_empty_{mart}_" in names, mart
        assert any("reconcile" in n or "every_customer_has_a_row" in n for n in names), mart
        assert set(results[mart].values()) == {"pass"}, (mart, results[mart])
    assert "mart_customer_segments_classes_follow_ranking" in results["mart_customer_segments"]
    assert "mart_inventory_days_bands_are_ordered" in results["mart_inventory_days"]


def test_dbt_tests_fail_on_a_corrupted_copy(built, tmp_path):
    warehouse, _ = built
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(warehouse, broken)
    con = duckdb.connect(str(broken))
    try:
        con.execute("UPDATE marts.mart_customer_segments SET abc_class = 'D' WHERE customer_code = "
                    "(SELECT min(customer_code) FROM marts.mart_customer_segments)")
        con.execute("INSERT INTO marts.mart_visit_compliance SELECT * FROM marts.mart_visit_compliance LIMIT 1")
        con.execute("UPDATE marts.mart_inventory_days SET days_of_inventory = -1 WHERE days_of_inventory IS NOT NULL "
                    "AND week_start = (SELECT min(week_start) FROM marts.mart_inventory_days)")
    finally:
        con.close()
    run = run_dbt(["test", "--select", " ".join(MARTS), "--exclude-resource-type", "unit_test"], warehouse=broken,
                  workdir=tmp_path / "dbt", check=False)
    assert run.returncode != 0
    failed = {m: {n for n, status in tests.items() if status == "fail"} for m, tests in _mart_test_results(run).items()}
    assert "accepted_values_mart_customer_segments_abc_class__A__B__C" in failed["mart_customer_segments"]
    assert "mart_customer_segments_classes_follow_ranking" in failed["mart_customer_segments"]
    assert "unique_combination_mart_visit_compliance_month_start__rep_code" in failed["mart_visit_compliance"]
    assert "mart_visit_compliance_visits_reconcile_with_customers" in failed["mart_visit_compliance"]
    assert "accepted_range_mart_inventory_days_days_of_inventory__0" in failed["mart_inventory_days"]
    assert failed["mart_inventory_turnover"] == set() and failed["mart_visit_compliance_customers"] == set()
