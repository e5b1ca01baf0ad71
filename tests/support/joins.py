"""The documented joins of the BI-facing tables (dbt YAML ``config.meta.joins``: column ->
dimension[.column]) and the check that one keeps a table's rows and measure totals."""

from __future__ import annotations

import json
import math

NUMERIC = ("DECIMAL", "INTEGER", "BIGINT", "DOUBLE", "FLOAT", "HUGEINT", "SMALLINT")


def documented_joins() -> dict[str, dict[str, str]]:
    from pipelines.transform.project import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    out = {}
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        joins = (node.get("config") or {}).get("meta", {}).get("joins") or node.get("meta", {}).get("joins")
        if node["resource_type"] in ("model", "source") and joins:
            out[node.get("alias") or node.get("identifier") or node["name"]] = joins
    return out


def _totals(con, sql_from: str, measures: list[str]) -> list:
    sums = "".join(f', sum(t."{m}")' for m in measures)
    return list(con.execute(f"SELECT count(*){sums} {sql_from}").fetchone())


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x == y or (isinstance(x, float) and math.isclose(x, y, rel_tol=1e-9))
                                    for x, y in zip(a, b))


def assert_joins_keep_totals(con, table: str, by_column: dict[str, str]) -> int:
    """Each documented join of ``table`` in the serving database ``con`` keeps its row count and
    the totals of its numeric columns; returns how many joins were checked."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()}
    assert table in tables, f"{table} documents joins but is not served"
    measures = [c for c, t in con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                          "WHERE table_name = ? AND NOT internal", [table]).fetchall()
                if t.split("(")[0] in NUMERIC]
    base = _totals(con, f'FROM "{table}" t', measures)
    assert base[0] > 0, f"{table} is empty: its joins prove nothing"
    for column, target in by_column.items():
        dim, _, key = target.partition(".")
        key = key or column
        assert dim in tables, f"{table}.{column} documents a join to {dim}, which is not served"
        dupes = con.execute(f'SELECT count(*) - count(DISTINCT "{key}") FROM "{dim}"').fetchone()[0]
        assert dupes == 0, f"{dim}.{key} is not unique: joining {table}.{column} to it fans out"
        joined = _totals(con, f'FROM "{table}" t LEFT JOIN "{dim}" d ON t."{column}" = d."{key}"', measures)
        assert _same(joined, base), (table, column, target, base, joined)
    return len(by_column)
