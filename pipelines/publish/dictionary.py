"""The data dictionary of the serving database: every served table's and column's description,
taken from the YAML dbt uses (the manifest: the marts' models, and the ``python_marts`` source
that documents the marts Python assets write), written as DuckDB comments, so that BI tools
(DBeaver, Metabase, Superset) show them beside the tables and columns. ``missing`` lists what
the YAML leaves undescribed (a test keeps it empty)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.ingest.readers import lit, q

PUBLISH_ID = ("_publish_id", "Publish that wrote this row; the table _publish records when it ran and from "
                             "which Dagster run.")
PUBLISH_TABLE = ("Publish record of this file: its id, time, source Dagster run and the row count of every table.", {
    "publish_id": "Identifier of the publish (the value of _publish_id in every table).",
    "published_at": "When the file was published (UTC).",
    "source_run_id": "Dagster run that published it.",
    "tables": "Rows per served table, as JSON."})

Described = tuple[str, dict[str, str]]


def from_manifest(manifest_path: Path, schema: str = "marts") -> dict[str, Described]:
    """Table name -> (description, {column: description}) of the manifest's models and sources in
    ``schema``."""
    manifest = json.loads(Path(manifest_path).read_text())
    out: dict[str, Described] = {}
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if node["resource_type"] in ("model", "source") and node.get("schema") == schema:
            name = node.get("alias") or node.get("identifier") or node["name"]
            out[name] = ((node.get("description") or "").strip(),
                         {c: (v.get("description") or "").strip() for c, v in node.get("columns", {}).items()})
    return out


def write_comments(con, table: str, described: Described | None) -> list[str]:
    """``COMMENT ON`` the table ``main.<table>`` and its columns; returns what has no description."""
    text, columns = described or ("", {})
    columns = {**columns, PUBLISH_ID[0]: PUBLISH_ID[1]}
    missing = [] if text else [table]
    if text:
        con.execute(f"COMMENT ON TABLE main.{q(table)} IS {lit(' '.join(text.split()))}")
    for (column,) in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                                 f"AND schema_name = 'main' AND table_name = {lit(table)} ORDER BY column_index").fetchall():
        if columns.get(column):
            con.execute(f"COMMENT ON COLUMN main.{q(table)}.{q(column)} IS {lit(' '.join(columns[column].split()))}")
        else:
            missing.append(f"{table}.{column}")
    return missing
