"""Safe joins in the serving database: every BI-facing table documents, in its dbt YAML
(``config.meta.joins``: column -> dimension[.column]), the dimensions it joins to, and each such
join keeps the table's row count and every measure's total (no fan-out), on the session's
reference run (real pipeline, tiny preset). The trap the branch grain removes is shown too:
joining the monthly sales to the territory-grain dimension on branch_code multiplies them."""

from __future__ import annotations

import duckdb
import pytest

from support.joins import assert_joins_keep_totals, documented_joins

pytestmark = pytest.mark.slow  # reads the session's whole-pipeline reference run

# built by the quarterly credit job, which the run command does not run on the tiny sample:
# its joins are checked on that job's serving database (tests/test_credit_quarterly_job.py)
QUARTERLY = {"mart_credit_rating"}


@pytest.fixture(scope="module")
def serving(reference):
    con = duckdb.connect(str(reference.home / "serving" / "serving.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_documented_join_keeps_rows_and_totals(serving):
    joins = documented_joins()
    served = {r[0] for r in serving.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()}
    assert {"fct_sales_lines", "mart_sales_monthly", "mart_customer_segments", "mart_credit_rating",
            "mart_customer_lifetime_value", "dim_customer", "dim_branch"} <= set(joins)
    assert set(joins) - served == QUARTERLY
    checked = sum(assert_joins_keep_totals(serving, table, by_column)
                  for table, by_column in sorted(joins.items()) if table not in QUARTERLY)
    assert checked >= 40


def test_the_branch_grain_removes_the_territory_fan_out(serving):
    """The trap seen in the field: sales per branch joined to the territory grain on branch_code."""
    branches, territories = serving.execute(
        "SELECT count(DISTINCT branch_code), count(*) FROM dim_territory WHERE NOT is_inferred").fetchone()
    assert territories > branches  # several territories per branch in the sample organisation
    base = serving.execute("SELECT count(*), sum(net_sales) FROM mart_sales_monthly").fetchone()
    trap = serving.execute("SELECT count(*), sum(m.net_sales) FROM mart_sales_monthly m "
                           "JOIN dim_territory t USING (branch_code)").fetchone()
    safe = serving.execute("SELECT count(*), sum(m.net_sales) FROM mart_sales_monthly m "
                           "LEFT JOIN dim_branch b USING (branch_code)").fetchone()
    assert trap[1] > base[1] and safe == base
    assert serving.execute("SELECT count(*), count(DISTINCT branch_code) FROM dim_branch").fetchone() == (
        serving.execute("SELECT count(DISTINCT branch_code) FROM dim_territory").fetchone()[0],) * 2
    current = serving.execute("SELECT count(*), count(DISTINCT customer_code) FROM dim_customer_current").fetchone()
    assert current[0] == current[1] == serving.execute("SELECT count(DISTINCT customer_code) FROM dim_customer").fetchone()[0]
