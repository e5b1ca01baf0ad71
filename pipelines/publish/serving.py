"""The serving database: a separate DuckDB file that BI tools open read-only.

A publish builds a complete new file next to the live one, closes it and swaps it in with
``os.replace`` (atomic on POSIX), so a reader sees either the previous version or the new
one, never a mix, and a failed or killed publish leaves the previous file untouched. The
table ``_publish`` in it records the publish id, time, source run and tables.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.ingest.readers import lit, q


@dataclass(frozen=True)
class PublishResult:
    publish_id: str
    published_at: str
    path: Path
    row_counts: dict[str, int]


def publish(warehouse: Path, serving: Path, tables: list[tuple[str, str]], source_run_id: str,
            forbidden_columns: set[str] = frozenset()) -> PublishResult:
    """Copy ``tables`` ((schema, name) in the warehouse) into a new serving file and swap it in."""
    serving.parent.mkdir(parents=True, exist_ok=True)
    publish_id = uuid.uuid4().hex
    published_at = datetime.now(timezone.utc).isoformat()
    staging = serving.with_name(f".{serving.name}.{publish_id}.building")
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(str(staging))
        try:
            con.execute(f"ATTACH {lit(str(warehouse))} AS wh (READ_ONLY)")
            for schema, name in tables:
                cols = [r[0] for r in con.execute(
                    f"SELECT column_name FROM information_schema.columns WHERE table_catalog = 'wh' "
                    f"AND table_schema = {lit(schema)} AND table_name = {lit(name)}").fetchall()]
                leaked = sorted(set(cols) & forbidden_columns)
                if leaked:
                    raise ValueError(f"refusing to publish {schema}.{name}: sensitive columns {leaked}")
                con.execute(f"CREATE TABLE main.{q(name)} AS SELECT * FROM wh.{q(schema)}.{q(name)}")
                counts[name] = con.execute(f"SELECT count(*) FROM main.{q(name)}").fetchall()[0][0]
            con.execute("DETACH wh")
            con.execute(
                "CREATE TABLE _publish (publish_id VARCHAR, published_at TIMESTAMPTZ, source_run_id VARCHAR, tables JSON)"
            )
            con.execute("INSERT INTO _publish VALUES (?, ?, ?, ?)",
                        [publish_id, published_at, source_run_id, json.dumps(counts)])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(staging, serving)
    finally:
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return PublishResult(publish_id, published_at, serving, counts)
