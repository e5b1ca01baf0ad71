"""The command line of the warehouse (``python -m pipelines <command>``), used by ``dwh.py``.

Commands:
  run       run the whole pipeline over the landing zone's dates through the Dagster instance in
            DWH_HOME (masters, stock weeks, overrides, the daily pipeline, the complete quarters'
            credit rating) and print a summary; ``dwh.py run`` generates sample data first when
            the landing zone is empty
  job       run one job (optionally over a date range or a subset of assets) as one run, e.g.
            ``python -m pipelines job reference_data`` or ``job daily_pipeline --start 2024-01-01 --end 2024-01-07``
  credit-rating --quarters 2024Q2..2024Q4
            rate (or backfill) quarters: one run of the credit_rating_quarterly job
  summary   rows per table, where the serving database and reports are, how to open the UI
  dbt       run dbt with rules.yml and company.yml passed as vars, e.g. ``python -m pipelines dbt build``
  instance  prepare the Dagster home (copies dagster.yaml) and print its path

Every run starts through one helper (``pipelines.runs.run_job``): recorded under its code
location in the instance, and waiting for its turn on the warehouse (pipelines/turn.py): DuckDB
allows one writer process per file, so runs on one instance never overlap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.settings import DAGSTER_YAML, DBT_PROJECT_DIR, paths


def prepare_instance() -> Path:
    """Point DAGSTER_HOME at $DWH_HOME/dagster_home with the repo's dagster.yaml in it (its
    ``{dagster_home}`` placeholder filled in, so the home opens by path alone);
    ``DWH_DAGSTER_STORAGE=postgres`` takes dagster.postgres.yaml instead (storage on PostgreSQL)."""
    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    storage = os.environ.get("DWH_DAGSTER_STORAGE", "sqlite")
    if storage not in {"sqlite", "postgres"}:
        raise SystemExit(f"DWH_DAGSTER_STORAGE must be sqlite or postgres, not {storage!r}")
    template = DAGSTER_YAML if storage == "sqlite" else DAGSTER_YAML.with_name("dagster.postgres.yaml")
    text = template.read_text(encoding="utf-8").replace("{dagster_home}", str(home.resolve()))
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def landing_date_range(landing: Path) -> tuple[date, date] | None:
    """First and last partition date of the landing zone: the dates in file names, and the row
    dates of files whose rows span many days (read for it)."""
    from pipelines.ingest.config import find_files, load_sources
    from pipelines.ingest.load import row_date_range

    dates: list[date] = []
    for s in load_sources().values():
        if not s.delivered:
            continue
        files = find_files(s, landing)
        dates += [f.partition_date for f in files if f.partition_date]
        spanning = [f for f in files if f.layout.spans_days]
        if spanning and (span := row_date_range(spanning, paths().tmp / "date_range")):
            dates += [d for d in span if d]
    return (min(dates), max(dates)) if dates else None


def check_first_day(window: tuple[date, date]) -> str | None:
    """An error naming the setting to change when the data starts before the partitions do."""
    from pipelines.company import company

    c = company()
    if window[0] < c.first_day:
        return (f"The landing data starts on {window[0]}, before the first day of the partitions, "
                f"{c.first_day} (company.first_day in {c.file}). Set company.first_day to {window[0]} or "
                f"earlier and run again; rows dated before it are not loaded (quarantined as before_first_day).")
    return None


# What the command line's runs left behind, for the closing summary of `run`.
OUTCOMES: list = []
RUN_LOG: list[Path] = []  # the file the runs' own output goes to (`run` only)


def execute(job_name: str, start: date | None = None, end: date | None = None,
            assets: list[str] | None = None, label: str | None = None) -> bool:
    """Run a job (optionally a subset of its assets) over the partitions of [start, end] as one
    run; print its line and the failed steps' errors. With ``label`` (the ``run`` command), print
    one progress line per stage as the run enters it, and send what the steps print (dbt's own
    lines) to the run log instead of the terminal."""
    from pipelines.runs import partition_keys, run_job

    prepare_instance()
    keys = None
    if start and end:
        if problem := check_first_day((start, end)):
            print(problem, file=sys.stderr)
            return False
        keys = partition_keys(job_name, start, end)
        if not keys:
            print(f"{job_name}: no partitions between {start} and {end}")
            return True
    terminal = sys.stdout
    started = time.monotonic()

    def progress(stage: str) -> None:
        print(f"  {label:<24} {stage:<26} {time.monotonic() - started:6.0f} s", file=terminal, flush=True)

    outcome = run_job(job_name, keys, assets, progress=progress if label else None,
                      log_path=RUN_LOG[0] if (label and RUN_LOG) else None)
    OUTCOMES.append(outcome)
    if label:
        for failure in outcome.failures:
            print(f"FAILED {failure[:2000]}", file=sys.stderr)
        if not outcome.success:
            print(f"  {outcome.line()}", flush=True)
        return outcome.success
    return report(outcome, subset=bool(assets))


def report(outcome, subset: bool = False) -> bool:
    for failure in outcome.failures:
        print(f"FAILED step {failure[:2000]}", file=sys.stderr)
    print(f"  {outcome.line()}{' (subset)' if subset else ''}", flush=True)
    return outcome.success


def credit_rating(spec: str) -> bool:
    """Rate (or re-rate, backfill) the quarters of ``spec`` (``2023Q2..2023Q4``, one quarter or a
    comma list of consecutive quarters) as one run of ``credit_rating_quarterly``."""
    from pipelines.credit.quarters import label, parse, parse_range, quarterly_partitions
    from pipelines.runs import run_job

    keys = parse_range(spec)
    known = quarterly_partitions.get_partition_keys()
    unknown = [label(parse(k)) for k in keys if k not in known]
    if unknown:
        print(f"not a rateable quarter (before company.first_day or not over yet): {', '.join(unknown)}",
              file=sys.stderr)
        return False
    if known[known.index(keys[0]): known.index(keys[-1]) + 1] != keys:
        print("quarters must be consecutive (one run covers a range)", file=sys.stderr)
        return False
    prepare_instance()
    outcome = run_job("credit_rating_quarterly", keys)
    if outcome.success:
        ratings: dict[str, dict] = {}
        for event in outcome.events:
            if event.is_step_materialization:
                meta = event.materialization.metadata.get("ratings")
                ratings.update(meta.value if meta else {})
        for q, info in sorted(ratings.items()):
            print(f"  {q}: {info['customers']} customers, final grades {info['grades']}, "
                  f"{len(info['branches'])} branch sheets -> {info['path']}")
    return report(outcome)


def run_all(start: date, end: date) -> bool:
    """The whole pipeline as a sequence of runs, as the schedules would run it: master data
    first (other sources are checked against it), then the weekly stock reports and the
    overrides file, then the daily pipeline (daily sources → validation → dbt → publish), then
    the credit rating of every quarter in the data."""
    from pipelines.ingest.config import load_sources

    sources = load_sources()
    masters = [f"raw/{s.table}" for s in sources.values() if s.master_entity and s.partitioning == "daily"]
    from pipelines.definitions import defs

    daily_rest = [k.to_user_string() for k in defs.resolve_job_def("daily_pipeline").asset_layer.selected_asset_keys
                  if k.to_user_string() not in masters]
    return (execute("daily_pipeline", start, end, assets=masters, label="master data")
            and execute("weekly_stock", start, end, label="stock reports")
            and execute("reference_data", label="rating overrides")
            and execute("daily_pipeline", start, end, assets=daily_rest, label="daily pipeline")
            and rate_complete_quarters(start, end))


def rate_complete_quarters(start: date, end: date) -> bool:
    """Rate every quarter of [start, end] whose last day the data reaches (a quarter still
    running is rated by the schedule once it has ended)."""
    q_end_month = 3 * ((end.month - 1) // 3) + 3
    last_day = date(end.year + q_end_month // 12, q_end_month % 12 + 1, 1) - timedelta(days=1)
    if last_day > end:  # the quarter containing `end` is incomplete: stop at the one before
        first_of_quarter = date(end.year, q_end_month - 2, 1)
        last_day = first_of_quarter - timedelta(days=1)
    if last_day < start:
        print("  credit rating: no complete quarter in the data yet")
        return True
    return execute("credit_rating_quarterly", start, last_day, label="credit rating")


def test_descriptions() -> dict[str, str]:
    """dbt test name -> its description (the YAML beside the model), for the summary's warnings."""
    import json

    from pipelines.transform.project import dbt_project

    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return {n["name"]: " ".join((n.get("description") or "").split()) for n in nodes if n["resource_type"] == "test"}


def summary(outcomes: list | None = None) -> str:
    """What a person wants after a run: the BI tables and their rows, what was quarantined and
    why, the warnings and where to read them, and where the reports are."""
    import duckdb

    p = paths()
    out: list[str] = []
    rel = (lambda path: os.path.relpath(path) if str(path).startswith(os.getcwd()) else str(path))
    if p.serving.exists():
        con = duckdb.connect(str(p.serving), read_only=True)
        try:
            tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name NOT LIKE '\\_%' "
                                                "ESCAPE '\\' ORDER BY 1").fetchall()]
            counts = [(t, con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]) for t in tables]
        finally:
            con.close()
        out.append(f"BI tables in {rel(p.serving)} (open it read-only):")
        half = (len(counts) + 1) // 2
        for left, right in zip(counts[:half], counts[half:] + [None]):
            line = f"  {left[0]:<32}{left[1]:>11,}"
            if right:
                line += f"    {right[0]:<32}{right[1]:>11,}"
            out.append(line)
    else:
        out.append("No serving database yet (nothing was published).")
    if p.warehouse.exists():
        con = duckdb.connect(str(p.warehouse), read_only=True)
        try:
            has_q = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' "
                                "AND table_name = 'quarantine'").fetchall()[0][0]
            reasons = con.execute("SELECT reason_code, count(*) FROM raw.quarantine WHERE released_at IS NULL "
                                  "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall() if has_q else []
        finally:
            con.close()
        total = sum(n for _, n in reasons)
        out.append(f"Quarantined rows: {total:,}" + (" (raw.quarantine: file, line, reason, message, raw row)" if total
                                                    else ""))
        if reasons:
            text = ", ".join(f"{r} {n:,}" for r, n in reasons)
            out += [f"  {chunk}" for chunk in textwrap.wrap(text, 96)][:3]
    warnings_ = []
    for outcome in outcomes or []:
        for e in outcome.events:
            ev = e.event_specific_data if e.event_type_value == "ASSET_CHECK_EVALUATION" else None
            if ev is not None and not ev.passed:
                meta = ev.metadata or {}
                rows = meta.get("dagster_dbt/failed_row_count")  # a dbt test: its YAML description says what it means
                detail = (ev.description or (f"{meta['failed_warnings'].value} warning expectation(s) failed"
                                             if "failed_warnings" in meta else
                                             f"{rows.value:,} row(s): {test_descriptions().get(ev.check_name, '')}"
                                             if rows is not None else "failed"))
                warnings_.append(f"{ev.asset_key.to_user_string()} {ev.check_name}: {str(detail).splitlines()[0][:150]}")
    if warnings_:
        out.append(f"Warnings: {len(warnings_)} check(s) warned (details in the Dagster UI and Data Docs):")
        out += [f"  {w}" for w in warnings_[:6]] + ([f"  … and {len(warnings_) - 6} more"] if len(warnings_) > 6 else [])
    else:
        out.append("Checks: every check passed.")
    workbooks = sorted((p.reports / "branches").glob("*.xlsx")) if (p.reports / "branches").exists() else []
    ratings = sorted((p.reports / "credit_rating").glob("*.xlsx")) if (p.reports / "credit_rating").exists() else []
    out += [
        f"Dashboard:        {rel(p.reports / 'dashboard.html')}",
        f"Branch workbooks: {rel(p.reports / 'branches')}/ ({len(workbooks)} files)"
        + (f"; credit ratings: {rel(p.reports / 'credit_rating')}/ ({len(ratings)} quarters)" if ratings else ""),
        f"Data Docs:        {rel(p.data_docs / 'index.html')}",
        f"dbt docs:         {rel(p.reports / 'dbt_docs' / 'index.html')}",
    ]
    if RUN_LOG:
        out.append(f"Run log (dbt and library output): {rel(RUN_LOG[0])}")
    out.append("Dagster UI on this instance: python3.11 dwh.py ui   (then http://127.0.0.1:3000)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    config_help = "company configuration folder (holds company.yml); default: the repository's"
    parser.add_argument("--config", help=config_help)
    common = argparse.ArgumentParser(add_help=False)  # --config after the command, too
    common.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[common], help="run the whole pipeline over the landing zone's dates")
    sub.add_parser("summary", parents=[common], help="print the warehouse summary")
    d = sub.add_parser("dbt", help="run dbt with the rules and company settings passed as vars")
    d.add_argument("dbt_args", nargs=argparse.REMAINDER)
    j = sub.add_parser("job", parents=[common],
                       help="run one job as one run (a date range of a partitioned job, or a subset)")
    j.add_argument("job_name")
    j.add_argument("--start", type=date.fromisoformat, help="first day (partitioned jobs)")
    j.add_argument("--end", type=date.fromisoformat, help="last day (default: --start)")
    j.add_argument("--asset", action="append", dest="assets", help="asset key to run (repeatable), e.g. raw/sales_lines")
    c = sub.add_parser("credit-rating", parents=[common],
                       help="rate or backfill quarters: credit-rating --quarters 2024Q2..2024Q4")
    c.add_argument("--quarters", required=True,
                   help="a quarter (2023Q2), a range (2023Q2..2023Q4) or a comma list of consecutive quarters")
    sub.add_parser("instance", help="prepare the Dagster home and print it")
    args = parser.parse_args(argv)
    if args.config:
        from pipelines.company import CONFIG_ENV

        os.environ[CONFIG_ENV] = str(Path(args.config).resolve())

    if args.command == "instance":
        print(prepare_instance())
        return 0
    if args.command == "summary":
        print(summary())
        return 0
    if args.command == "job":
        return 0 if execute(args.job_name, args.start, args.end or args.start, assets=args.assets) else 1
    if args.command == "credit-rating":
        try:
            return 0 if credit_rating(args.quarters) else 1
        except ValueError as exc:
            parser.error(str(exc))
    if args.command == "dbt":
        from pipelines.resources import dbt_executable, export_dbt_env
        from pipelines.rules import dbt_vars

        export_dbt_env()  # DWH_WAREHOUSE_PATH for profiles.yml
        cmd = [dbt_executable(), *args.dbt_args, "--vars", dbt_vars(),
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        return subprocess.call(cmd)

    # run
    p = paths()
    started = time.monotonic()
    window = landing_date_range(p.landing)
    if window is None:
        print(f"No landing files found under {p.landing}", file=sys.stderr)
        return 1
    if problem := check_first_day(window):
        print(problem, file=sys.stderr)
        return 1
    prepare_instance()
    RUN_LOG.append(p.home / "logs" / f"run-{datetime.now():%Y%m%d-%H%M%S}.log")
    print(f"Running the pipeline for {window[0]} .. {window[1]} (Dagster instance in {p.dagster_home})")
    ok = run_all(*window)
    print(f"{'Done' if ok else 'FAILED'} in {time.monotonic() - started:,.0f} s "
          f"({len(OUTCOMES)} runs{', all succeeded' if ok else ''}).\n")
    print(summary(OUTCOMES))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
