"""Dagster assets of the raw layer: one asset per source in ``sources.yml``, partitioned by
day, loaded for a whole partition range in a single run (``BackfillPolicy.single_run``).

Each materialization records files read, rows loaded and rows quarantined (by reason) as
metadata; an unreadable file fails the run with an error naming the file, line and problem.
"""


from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from pipelines.ingest.config import Source, load_sources
from pipelines.ingest.load import load_window
from pipelines.partitions import BY_SOURCE_PARTITIONING
from pipelines.resources import SettingsResource, WarehouseResource

# Every source configured in sources.yml, masters first.
INGESTED_SOURCES = ["customers", "products", "reps", "branches", "sales_lines", "receivables", "stock", "visits",
                    "credit_overrides"]


def raw_asset_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["raw", source.table])


def partition_window(context) -> tuple[date, date] | None:
    """The run's partition window as inclusive dates, or None for an unpartitioned step."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


# A run over more partitions than this gets a pointer to raw.load_log instead of the table:
# Dagster stores a range run's metadata once per partition (a 3-year backfill would store the
# 1,096-row table 1,096 times, ~50 MB of event log per source).
PER_PARTITION_TABLE_MAX = 31


def per_partition_table(files: list[dict]) -> str:
    """Markdown table: files read, rows loaded and quarantined per partition of the run."""
    acc: dict[str, list[int]] = {}
    for f in files:
        row = acc.setdefault(f["partition_date"] or "(whole file)", [0, 0, 0, 0])
        row[0] += 1
        row[1] += f["rows_read"]
        row[2] += f["rows_loaded"]
        row[3] += f["rows_quarantined"]
    lines = ["| partition | files | rows read | loaded | quarantined |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {a} | {b} | {c} | {d} |" for k, (a, b, c, d) in sorted(acc.items())]
    return "\n".join(lines)


LANDING_FILES_CHECK = "landing_files"


def landing_files_result(result) -> dg.AssetCheckResult:
    """The load's file check: files nobody reads or dated impossibly fail it (ERROR: a re-run of
    their day would empty it); files lacking an optional column the layout maps warn; headers no
    layout column uses are listed."""
    ignored = {f["file"]: f["ignored_headers"] for f in result.files if f.get("ignored_headers")}
    missing = {f["file"]: f["missing_columns"] for f in result.files if f.get("missing_columns")}
    meta: dict = {"files_not_read": len(result.unseen)}
    if result.unseen:
        meta["not_read"] = dg.MetadataValue.md("\n".join(f"- `{u.relpath}` [{u.code}]: {u.message}"
                                                         for u in result.unseen[:50]))
    if ignored:
        meta["ignored_headers"] = dg.MetadataValue.json(dict(list(ignored.items())[:50]))
    if missing:
        meta["missing_optional_columns"] = dg.MetadataValue.json(dict(list(missing.items())[:50]))
    if result.unseen:
        return dg.AssetCheckResult(check_name=LANDING_FILES_CHECK, passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=meta, description=f"{len(result.unseen)} landing file(s) read by no layout: "
                                   + ", ".join(u.relpath for u in result.unseen[:10]))
    if missing:
        return dg.AssetCheckResult(check_name=LANDING_FILES_CHECK, passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   metadata=meta, description=f"{len(missing)} file(s) lack an optional column their "
                                   "layout maps (loaded as empty)")
    return dg.AssetCheckResult(check_name=LANDING_FILES_CHECK, passed=True, metadata=meta)


def request_release(home: Path, request_id: str, releasable: dict) -> None:
    """Record that partitions hold quarantined rows a master load just released, for the
    ``quarantine_release_sensor`` (which requests their runs); one JSON file per load."""
    import json
    import os

    folder = home / "state" / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{request_id}.json.tmp"
    tmp.write_text(json.dumps({s: [d.isoformat() for d in days] for s, days in releasable.items()}), encoding="utf-8")
    os.replace(tmp, folder / f"{request_id}.json")


def _build(source: Source, masters: dict[str, Source]) -> dg.AssetsDefinition:
    deps = sorted({raw_asset_key(masters[c.references]) for c in source.columns.values() if c.references},
                  key=lambda k: k.to_user_string())
    partitions_def = BY_SOURCE_PARTITIONING[source.partitioning]

    @dg.asset(
        key=raw_asset_key(source),
        description=source.description if source.delivered else
        f"{source.description} — NOT DELIVERED by this company (company.yml): skipped, the table stays empty.",
        group_name="ingest",
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None,
        deps=deps,
        kinds={"duckdb"},
        metadata={"source": source.name, "layouts": [l.name for l in source.layouts], "delivered": source.delivered},
        check_specs=[dg.AssetCheckSpec(
            LANDING_FILES_CHECK, asset=raw_asset_key(source), blocking=True,
            description="Every file in the source's landing folders is read by a layout (or ignored on purpose in "
                        "company.yml) and names a real date (ERROR, names the files); files lacking an optional "
                        "column the layout maps are a warning.")],
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               settings: SettingsResource) -> dg.MaterializeResult:
        start, end = partition_window(context) or (date.min, date.max)
        p = settings.paths
        with warehouse.connect() as con:
            result = load_window(con, source.name, p.landing, start, end, p.tmp / "ingest", load_id=context.run_id,
                                 config_dir=settings.folder)
        if not result.delivered:
            context.log.info(f"{source.name}: not delivered by this company (company.yml); skipped")
            skipped = f"skipped: {source.name} not delivered (company.yml)"
            return dg.MaterializeResult(
                metadata={"status": dg.MetadataValue.text(skipped), "rows_loaded": 0},
                check_results=[dg.AssetCheckResult(check_name=LANDING_FILES_CHECK, passed=True,
                                                   metadata={"status": dg.MetadataValue.text(skipped)})])
        meta = {
            "files_read": len(result.files),
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "quarantined_by_reason": dg.MetadataValue.json(dict(result.quarantined_by_reason)),
            "window": f"{start} .. {end}" if partitions_def else "whole file",
        }
        for reason, n in result.quarantined_by_reason.items():
            meta[f"quarantined_{reason}"] = n
        partitions = {f["partition_date"] for f in result.files}
        if result.files and len(partitions) <= PER_PARTITION_TABLE_MAX:
            meta["per_partition"] = dg.MetadataValue.md(per_partition_table(result.files))
        elif result.files:
            meta["per_partition"] = dg.MetadataValue.text(
                f"{len(partitions)} partitions: per file and partition in raw.load_log "
                f"(_load_id = '{context.run_id}')")
        if result.errors:
            lines = "\n".join(f"- {e}" for e in result.errors)
            raise dg.Failure(
                description=f"{len(result.errors)} landing file(s) of {source.name} could not be read; "
                f"their partitions were not loaded:\n{lines}",
                metadata={**meta, "file_errors": dg.MetadataValue.json([str(e) for e in result.errors])},
            )
        context.log.info(
            f"{source.name} {start}..{end}: {len(result.files)} files, {result.rows_loaded} rows loaded, "
            f"{result.rows_quarantined} quarantined {dict(result.quarantined_by_reason)}"
        )
        if result.released:
            meta["released_from_quarantine"] = result.released
        if result.releasable:
            meta["partitions_to_release"] = dg.MetadataValue.json(
                {s: [d.isoformat() for d in days] for s, days in result.releasable.items()})
            request_release(p.home, f"{context.run_id}-{source.name}", result.releasable)
        return dg.MaterializeResult(metadata=meta, check_results=[landing_files_result(result)])

    return _asset


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    sources = load_sources()
    masters = {s.master_entity: s for s in sources.values() if s.master_entity}
    return [_build(sources[name], masters) for name in INGESTED_SOURCES]
