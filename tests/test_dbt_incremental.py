"""Daily-incremental facts: N runs over consecutive partition windows equal one full build.

The facts tagged ``partitioned_daily`` (fct_sales_lines, fct_visits) are built the way
Dagster builds them (``pipelines/transform/assets.py``: the partition window as the dbt vars
min_date / max_date, each run deleting and re-inserting exactly its window), starting from no
table at all, over consecutive windows that cover the data; a window is then run again
(idempotency). Each fact must equal — same row count and same order-independent hash of
every row — the fact of a full build without vars.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import duckdb
import pytest

from support import built_warehouse, model_nodes, run_dbt

PARTITIONED_TAG = "partitioned_daily"


def table_digest(con, table: str) -> tuple[int, int]:
    """(row count, sum of the rows' hashes): equal for equal tables, whatever the row order."""
    n, h = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t").fetchone()
    return int(n), int(h)


def windows(first: date, last: date, parts: int) -> list[tuple[date, date]]:
    """``parts`` consecutive inclusive windows from a week before ``first`` to ``last``."""
    start = first - timedelta(days=7)
    days = (last - start).days + 1
    size = -(-days // parts)
    return [(start + timedelta(days=i * size), min(last, start + timedelta(days=(i + 1) * size - 1)))
            for i in range(parts)]


@pytest.fixture(scope="module")
def incremental_runs(tmp_path_factory):
    built = built_warehouse(tmp_path_factory)
    facts = sorted(n["alias"] for n in model_nodes(built.manifest) if PARTITIONED_TAG in n["tags"])
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        full = {t: table_digest(con, f"marts.{t}") for t in facts}
        first, last = con.execute(
            "SELECT least(min(invoice_date), (SELECT min(visit_date) FROM marts.fct_visits)), "
            "greatest(max(invoice_date), (SELECT max(visit_date) FROM marts.fct_visits)) "
            "FROM marts.fct_sales_lines").fetchone()
    finally:
        con.close()

    work = tmp_path_factory.mktemp("incremental")
    path = work / "warehouse.duckdb"
    shutil.copyfile(built.path, path)  # dimensions as in the full build; the facts start from nothing
    con = duckdb.connect(str(path))
    for t in facts:
        con.execute(f"DROP TABLE marts.{t}")
    con.close()

    plan = windows(first, last, 3)
    plan.append(plan[1])  # a window run again replaces itself
    after_each = []
    for start, end in plan:
        run_dbt(["run", "--select", f"tag:{PARTITIONED_TAG}"], warehouse=path, workdir=work / "dbt",
                run_vars={"min_date": start.isoformat(), "max_date": end.isoformat()})
        con = duckdb.connect(str(path), read_only=True)
        try:
            after_each.append({
                "window": (start, end),
                "dates": con.execute("SELECT min(invoice_date), max(invoice_date), count(*) FROM marts.fct_sales_lines").fetchone(),
            })
        finally:
            con.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        incremental = {t: table_digest(con, f"marts.{t}") for t in facts}
    finally:
        con.close()
    return facts, full, incremental, after_each


def test_the_daily_incremental_facts(incremental_runs):
    facts, _, _, _ = incremental_runs
    assert {"fct_sales_lines", "fct_visits"} <= set(facts)


def test_first_run_creates_only_its_window(incremental_runs):
    _, _, _, after_each = incremental_runs
    (start, end), (lo, hi, n) = after_each[0]["window"], after_each[0]["dates"]
    assert n > 0
    assert start <= lo and hi <= end


def test_each_window_adds_only_its_days(incremental_runs):
    _, _, _, after_each = incremental_runs
    for before, after in zip(after_each, after_each[1:3]):
        assert after["dates"][2] > before["dates"][2]
        assert after["dates"][1] <= after["window"][1]


def test_rerunning_a_window_changes_nothing(incremental_runs):
    _, _, _, after_each = incremental_runs
    assert after_each[3]["dates"] == after_each[2]["dates"]


def test_incremental_runs_equal_one_full_build(incremental_runs):
    facts, full, incremental, _ = incremental_runs
    for t in facts:
        assert full[t][0] > 0, t
        assert incremental[t] == full[t], (t, incremental[t], full[t])
