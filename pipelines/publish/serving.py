"""The serving database: a separate DuckDB file that BI tools open read-only, and a Parquet
export of the same tables for tools that read files.

A publish builds a complete new file next to the live one, closes it and swaps it in with
``os.replace`` (atomic on POSIX), so a reader sees either the previous version or the new
one, never a mix, and a failed or killed publish leaves the previous file untouched. A reader
holding the old file keeps reading it (the inode lives until closed) and never blocks a run.
The table ``_publish`` records the publish id, time, source run and tables; every published
table carries the publish id in its column ``_publish_id``, and every table and column its
description as a comment (the data dictionary BI tools show: ``dictionary.py``).

The Parquet export is written to ``parquet/<publish id>/<table>/data.parquet`` and made
current by atomically repointing the symlink ``parquet/current``; every version other than the
new and the previous current one is removed.

Killed at any point (kill -9, tests/test_crash_safety.py), a publish leaves the previous
serving file and parquet version in place, or the new ones complete (the serving swap comes
before the parquet switch, so for a moment the parquet export may still be the previous
version). What a killed publish leaves behind — the staging file, a temporary link, a parquet
version never made current — is removed by the next publish, which holds an exclusive
``flock`` on ``.publish.lock`` in the serving folder while it runs (the kernel releases it
when the process dies: a killed publish never leaves a stale lock).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.ingest.readers import lit, q
from pipelines.publish.dictionary import PUBLISH_TABLE, Described, write_comments


@dataclass(frozen=True)
class PublishResult:
    publish_id: str
    published_at: str
    path: Path
    row_counts: dict[str, int]
    undescribed: list[str] = ()  # tables and columns the dictionary has no description for


def publish(warehouse: Path, serving: Path, tables: list[tuple[str, str]], source_run_id: str,
            forbidden_columns: set[str] = frozenset(), parquet_dir: Path | None = None,
            dictionary: dict[str, Described] | None = None) -> PublishResult:
    """Copy ``tables`` ((schema, name) in the warehouse) into a new serving file, with the
    descriptions of ``dictionary`` as comments (``pipelines.publish.dictionary``), and swap it in."""
    serving.parent.mkdir(parents=True, exist_ok=True)
    with publish_lock(serving.parent):
        remove_leftovers(serving, parquet_dir)
        return _publish(warehouse, serving, tables, source_run_id, forbidden_columns, parquet_dir, dictionary or {})


def _publish(warehouse: Path, serving: Path, tables: list[tuple[str, str]], source_run_id: str,
             forbidden_columns: set[str], parquet_dir: Path | None, dictionary: dict[str, Described]) -> PublishResult:
    publish_id = uuid.uuid4().hex
    published_at = datetime.now(timezone.utc).isoformat()
    staging = serving.with_name(f".{serving.name}.{publish_id}.building")
    counts: dict[str, int] = {}
    undescribed: list[str] = []
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
                con.execute(f"CREATE TABLE main.{q(name)} AS SELECT *, {lit(publish_id)} AS _publish_id "
                            f"FROM wh.{q(schema)}.{q(name)}")
                counts[name] = con.execute(f"SELECT count(*) FROM main.{q(name)}").fetchall()[0][0]
                undescribed += write_comments(con, name, dictionary.get(name))
            con.execute("DETACH wh")
            con.execute(
                "CREATE TABLE _publish (publish_id VARCHAR, published_at TIMESTAMPTZ, source_run_id VARCHAR, tables JSON)"
            )
            con.execute("INSERT INTO _publish VALUES (?, ?, ?, ?)",
                        [publish_id, published_at, source_run_id, json.dumps(counts)])
            con.execute(f"COMMENT ON TABLE _publish IS {lit(PUBLISH_TABLE[0])}")
            for column, text in PUBLISH_TABLE[1].items():
                con.execute(f"COMMENT ON COLUMN _publish.{q(column)} IS {lit(text)}")
            con.execute("CHECKPOINT")
            if parquet_dir is not None:
                export_parquet(con, [name for _, name in tables], parquet_dir, publish_id)
        finally:
            con.close()
        os.replace(staging, serving)
        _fsync_dir(serving.parent)
        if parquet_dir is not None:
            switch_current(parquet_dir, publish_id)
    finally:
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return PublishResult(publish_id, published_at, serving, counts, undescribed)


def export_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], parquet_dir: Path, publish_id: str) -> Path:
    """Write every table to ``parquet_dir/<publish_id>/<table>/data.parquet`` (not yet current)."""
    version = parquet_dir / publish_id
    for name in tables:
        (version / name).mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY main.{q(name)} TO {lit(str(version / name / 'data.parquet'))} (FORMAT parquet)")
    return version


def switch_current(parquet_dir: Path, publish_id: str) -> None:
    """Atomically point ``parquet_dir/current`` at the new version; remove every other version
    but the previous current one (a reader may still be reading it), including versions a
    killed publish wrote but never made current."""
    link = parquet_dir / "current"
    previous = os.readlink(link) if link.is_symlink() else None
    tmp_link = parquet_dir / f".current.{publish_id}"
    tmp_link.symlink_to(publish_id)
    os.replace(tmp_link, link)
    _fsync_dir(parquet_dir)
    for old in parquet_dir.iterdir():
        if (old.is_dir() and not old.is_symlink() and not old.name.startswith(".")
                and old.name not in (publish_id, previous)):
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def publish_lock(serving_dir: Path) -> Iterator[None]:
    """One publish at a time per serving folder: an exclusive ``flock``, released by the kernel
    when the holder exits or dies, so it can never go stale."""
    fd = os.open(serving_dir / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_leftovers(serving: Path, parquet_dir: Path | None) -> list[Path]:
    """Remove what a killed publish left (call under ``publish_lock``): staging databases
    (``.<name>.<id>.building`` and their WAL) and temporary ``.current.<id>`` links. Parquet
    versions never made current are removed by the next ``switch_current``."""
    removed = [p for p in serving.parent.glob(f".{serving.name}.*.building*")
               if p.name.endswith((".building", ".building.wal"))]
    if parquet_dir is not None and parquet_dir.exists():
        removed += [p for p in parquet_dir.glob(".current.*") if p.is_symlink() or p.is_file()]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (it survives a power loss, not only a killed process)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
