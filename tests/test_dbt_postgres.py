"""Portability: the same dbt project builds on PostgreSQL and gives the same marts.

A tiny generated dataset is ingested into DuckDB and built there with dbt; its raw tables are
copied into a real PostgreSQL server (schema ``raw``, via CSV files exported by DuckDB and
``COPY ... FROM STDIN`` through psycopg2), ``dbt build --target postgres`` runs (models, data
tests, unit tests), and every model of the ``marts`` schema — dimensions, facts, marts — must
hold the same rows on both, after normalising numeric types and row order.

Adapter-specific code: none of the models needs a dispatch branch; the project's macros
(scd2_versions, local_timestamp, date_spine, receivables_as_of) use adapter.dispatch with a
default implementation that both DuckDB and PostgreSQL run, and the dbt cross-database
macros (dbt.date_trunc, dbt.dateadd, dbt.datediff, dbt.hash, dbt.concat, dbt.cast,
dbt.type_string) carry the adapter differences.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import duckdb
import pytest

from support import OK_STATUSES, built_warehouse, model_nodes, run_dbt
from support.postgres import PostgresServer, postgres_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow  # the README's test command runs it; `pytest -m "not slow"` leaves it out

# DuckDB raw column types → PostgreSQL
_PG_TYPES = {"VARCHAR": "varchar", "BIGINT": "bigint", "INTEGER": "integer", "DATE": "date",
             "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp", "BOOLEAN": "boolean",
             "DOUBLE": "double precision", "JSON": "jsonb"}


def _pg_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return duck_type.replace("DECIMAL", "numeric")
    return _PG_TYPES[duck_type]


def copy_raw_to_postgres(warehouse: Path, server: PostgresServer, csv_dir: Path) -> dict[str, int]:
    """Copy every table of the DuckDB schema ``raw`` into PostgreSQL schema ``raw`` (same
    column names and types): DuckDB writes CSV, psycopg2 streams it with COPY. Row counts."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    duck = duckdb.connect(str(warehouse), read_only=True)
    pg = server.connect()
    try:
        tables = [r[0] for r in duck.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1").fetchall()]
        with pg.cursor() as cur:
            cur.execute("DROP SCHEMA IF EXISTS raw CASCADE; CREATE SCHEMA raw")
            for table in tables:
                cols = duck.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                ddl = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in cols)
                cur.execute(f'CREATE TABLE raw."{table}" ({ddl})')
                path = csv_dir / f"{table}.csv"
                duck.execute(f"COPY (SELECT * FROM raw.\"{table}\") TO '{path}' (FORMAT csv, HEADER, NULL '')")
                with open(path, encoding="utf-8") as fh:
                    cur.copy_expert(f'COPY raw."{table}" FROM STDIN WITH (FORMAT csv, HEADER true)', fh)
                cur.execute(f'SELECT count(*) FROM raw."{table}"')
                counts[table] = cur.fetchone()[0]
                n_duck = duck.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0]
                assert counts[table] == n_duck, (table, counts[table], n_duck)
        pg.commit()
    finally:
        pg.close()
        duck.close()
    return counts


def _normal(value):
    """A comparable, adapter-independent form of one value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, float):
        return format(decimal.Decimal(repr(round(value, 6))).normalize(), "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _rows(cursor, sql: str) -> tuple[list[str], list[tuple]]:
    cursor.execute(sql)
    columns = [d[0] for d in cursor.description]
    rows = [tuple(_normal(v) for v in row) for row in cursor.fetchall()]
    return columns, sorted(rows, key=lambda r: tuple((v is None, v or "") for v in r))


@pytest.fixture(scope="module")
def both_builds(tmp_path_factory, postgres_server):  # noqa: F811  (fixture imported above)
    duck = built_warehouse(tmp_path_factory)
    work = tmp_path_factory.mktemp("postgres")
    counts = copy_raw_to_postgres(duck.raw, postgres_server, work / "csv")
    pg_build = run_dbt(["build"], warehouse=None, workdir=work / "dbt", target="postgres",
                       env=postgres_server.dbt_env(), check=False)
    return duck, postgres_server, counts, pg_build


def test_raw_layer_copied(both_builds):
    _, _, counts, _ = both_builds
    assert counts["sales_lines"] > 0 and counts["master_customers"] > 0 and counts["visits"] > 0


def test_dbt_build_passes_on_postgres(both_builds):
    duck, _, _, pg_build = both_builds
    assert pg_build.returncode == 0, pg_build.output[-6000:]
    results = pg_build.run_results["results"]
    assert all(r["status"] in OK_STATUSES for r in results), [
        (r["unique_id"], r["status"], r.get("message")) for r in results if r["status"] not in OK_STATUSES]
    # the same nodes ran on both adapters, unit tests included
    duck_nodes = {r["unique_id"] for r in duck.build.run_results["results"]}
    assert {r["unique_id"] for r in results} == duck_nodes
    assert any(uid.startswith("unit_test.") for uid in duck_nodes)


def test_every_mart_dim_and_fact_is_identical(both_builds):
    duck, server, _, pg_build = both_builds
    assert pg_build.returncode == 0, "the PostgreSQL build failed (see test_dbt_build_passes_on_postgres)"
    marts = sorted(n["alias"] for n in model_nodes(duck.manifest) if n["schema"] == "marts")
    core = {"dim_date", "dim_customer", "dim_product", "dim_rep", "dim_branch", "dim_territory", "dim_region", "dim_customer_current", "fct_sales_lines", "fct_receivables",
            "fct_receivable_payments", "fct_stock_weekly", "fct_visits", "mart_sales_monthly",
            "mart_receivables_monthly"}
    assert core <= set(marts)
    duck_con = duckdb.connect(str(duck.path), read_only=True)
    pg_con = server.connect()
    differences = {}
    try:
        pg_cur = pg_con.cursor()
        for table in marts:
            d_cols, d_rows = _rows(duck_con.cursor(), f"SELECT * FROM marts.{table}")
            p_cols, p_rows = _rows(pg_cur, f"SELECT * FROM marts.{table}")
            assert d_cols == p_cols, (table, d_cols, p_cols)
            # the core tables have rows on the tiny data, so their comparison proves something
            # (a mart of e.g. quarterly ratings may rightly be empty on 60 days of data)
            assert d_rows or table not in core, f"marts.{table} is empty on DuckDB"
            if d_rows != p_rows:
                only_duck = sorted(set(d_rows) - set(p_rows))[:3]
                only_pg = sorted(set(p_rows) - set(d_rows))[:3]
                differences[table] = {"rows": (len(d_rows), len(p_rows)), "only_duckdb": only_duck,
                                      "only_postgres": only_pg, "columns": d_cols}
    finally:
        pg_con.close()
        duck_con.close()
    assert not differences, differences
