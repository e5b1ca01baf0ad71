"""End-to-end benchmark: the pipeline as a user runs it (through Dagster) against the DuckDB
floor (the same landing files loaded by DuckDB and the compiled dbt SQL executed in one
DuckDB process, no orchestration), plus one day's incremental run and one quarter's credit
rating. Outside the test suite:

    .venv/bin/python benchmarks/run.py --scale S          # seconds
    .venv/bin/python benchmarks/run.py --scale M          # ~10 M sales lines (tens of minutes)

Writes/updates the scale's section of docs/benchmarks.md (with a description of the machine).
Peak RSS is the largest resident set of any process of a stage (getrusage of the children).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the pipelines package, for the job list and the Dagster instance reader
PY = sys.executable
DOC = REPO / "docs" / "benchmarks.md"


def _tree_peaks(root: int, peaks: dict[str, float]) -> None:
    """Update ``peaks`` (MiB by process kind: pipeline, dbt) with the peak resident set (VmHWM)
    of every live process under ``root``."""
    children: dict[int, list[int]] = defaultdict(list)
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(d.name))
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            cmd = (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode(errors="replace")
            hwm = next(int(l.split()[1]) for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if l.startswith("VmHWM:"))
        except (OSError, StopIteration, ValueError):
            continue
        kind = "dbt" if "/dbt " in cmd or cmd.startswith("dbt ") else "pipeline"
        peaks[kind] = max(peaks.get(kind, 0.0), hwm / 1024)


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child process; return (wall seconds, its peak RSS in MiB, output tail). The peak per
    kind of process (the pipeline process, dbt processes) is sampled every half second from
    /proc and kept in PEAKS (last call)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    PEAKS.clear()
    with subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        out: list[str] = []
        err: list[str] = []
        import threading

        readers = [threading.Thread(target=lambda s=stream, b=buf: b.append(s.read()), daemon=True)
                   for stream, buf in ((proc.stdout, out), (proc.stderr, err))]
        for t in readers:
            t.start()
        while proc.poll() is None:
            _tree_peaks(proc.pid, PEAKS)
            time.sleep(0.5)
        for t in readers:
            t.join()
    wall = time.monotonic() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over all children so far (KiB)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{''.join(out)[-3000:]}\n{''.join(err)[-3000:]}")
    return wall, max(peak, before) / 1024, "".join(out)


PEAKS: dict[str, float] = {}


def child_env(home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update({"DWH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"), "PYTHONPATH": str(REPO),
                "DWH_ENV": "prod"})
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    return env


STAGES = [("validation", re.compile(r"(gx_|freshness|_check)")), ("ingest", re.compile(r"^raw__")),
          ("clv", re.compile(r"lifetime_value")), ("publish", re.compile(r"^serving__")),
          ("reports", re.compile(r"^reports__")), ("credit rating (dbt, per quarter)", re.compile(r"credit")),
          ("dbt", re.compile(r"dbt|^marts__"))]


def stage_times(home: Path, since: float) -> dict[str, float]:
    """Seconds per stage, from the step events of the runs recorded in the Dagster instance."""
    import dagster as dg

    out: dict[str, float] = defaultdict(float)
    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        for run in instance.get_runs():
            starts: dict[str, float] = {}
            for rec in instance.all_logs(run.run_id):
                if rec.timestamp < since or not rec.dagster_event:
                    continue
                ev = rec.dagster_event
                if ev.event_type == dg.DagsterEventType.STEP_START:
                    starts[ev.step_key] = rec.timestamp
                elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    key = ev.step_key
                    stage = next((name for name, rx in STAGES if rx.search(key)), "other")
                    out[stage] += rec.timestamp - starts.get(key, rec.timestamp)
    return dict(out)


def floor(home: Path, floor_home: Path) -> tuple[float, float]:
    """The DuckDB floor in one child process: ingest SQL + compiled dbt SQL, no orchestration."""
    code = r"""
import json, sys, time
from datetime import date
from pathlib import Path
import duckdb
sys.path.insert(0, sys.argv[3])
from pipelines.ingest.assets import INGESTED_SOURCES
from pipelines.ingest.load import load_window
landing, db, repo = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
from pipelines.settings import duckdb_memory_limit
# the DuckDB settings of the pipeline's dbt processes (the larger of its two memory limits, 2
# threads): the floor measures the cost of orchestration, not of a bigger memory budget
con = duckdb.connect(db, config={"memory_limit": duckdb_memory_limit("dbt"), "threads": 2})
t0 = time.monotonic()
for name in INGESTED_SOURCES:
    load_window(con, name, landing, date(1990, 1, 1), date(2100, 1, 1), Path(db).parent / "tmp")
t1 = time.monotonic()
manifest = json.loads((repo / "dbt_project/target/manifest.json").read_text())
nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] in ("model", "seed")}
order, seen = [], set()
def visit(k):
    if k in seen or k not in nodes: return
    seen.add(k)
    for d in nodes[k]["depends_on"].get("nodes", []): visit(d)
    order.append(k)
for k in sorted(nodes): visit(k)
compiled = Path(sys.argv[4])
for k in order:
    n = nodes[k]
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{n["schema"]}"')
    rel = f'"{n["schema"]}"."{n["alias"]}"'
    if n["resource_type"] == "seed":
        path = repo / "dbt_project" / n["original_file_path"]
        con.execute(f"CREATE OR REPLACE TABLE {rel} AS SELECT * FROM read_csv('{path}')")
        continue
    sql = (compiled / n["original_file_path"]).read_text()
    kind = "VIEW" if n["config"]["materialized"] == "view" else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {rel} AS {sql}")
t2 = time.monotonic()
print(json.dumps({"ingest": t1 - t0, "transform": t2 - t1}))
"""
    compiled = floor_home / "compiled"
    env = child_env(floor_home)
    env["DWH_WAREHOUSE_PATH"] = str(floor_home / "warehouse.duckdb")  # same catalog name as the compiled SQL
    # compile with the rules (and no partition window: full build)
    run_child([PY, "-m", "pipelines", "dbt", "compile", "--target-path", str(floor_home / "target")], env)
    shutil.copytree(floor_home / "target" / "compiled" / "distributor_dwh", compiled, dirs_exist_ok=True)
    wall, peak, out = run_child([PY, "-c", code, str(home / "landing"), str(floor_home / "warehouse.duckdb"), str(REPO),
                                 str(compiled)], env)
    split = json.loads(out.strip().splitlines()[-1])
    return wall, peak, split


def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))) // 1024
    import duckdb

    return (f"{os.cpu_count()} cores ({cpu}), {mem / 1024:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="S", choices=["tiny", "S", "default", "M"])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None, help="work folder (default var/bench/<scale>)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--data", type=Path, default=None,
                    help="reuse landing/ and generated/ from this folder (made by an earlier run with --keep, or by "
                         "python -m sample_data --out DIR) instead of generating")
    args = ap.parse_args()
    home = (args.out or REPO / "var" / "bench" / args.scale).resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = child_env(home)
    results: dict[str, object] = {"scale": args.scale, "machine": machine(),
                                  "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}

    if args.data:
        gen_wall, gen_rss = 0.0, 0.0
        for part in ("landing", "generated"):  # hard links: instant, and the source stays untouched
            shutil.copytree(args.data / part, home / part, copy_function=os.link)
    else:
        gen_wall, gen_rss, _ = run_child([PY, "-m", "sample_data", "--out", str(home), "--scale", args.scale,
                                          "--seed", str(args.seed), "--clean", "--no-progress"], env)
    manifest = json.loads((home / "generated" / "manifest.json").read_text())
    results["generate"] = {"wall_s": gen_wall, "peak_rss_mib": gen_rss, "counts": manifest.get("counts")}

    since = time.time()
    wall, rss, _ = run_child([PY, "-m", "pipelines", "run"], env)
    stages = stage_times(home, since)
    results["pipeline"] = {"wall_s": wall, "peak_rss_mib": rss, "peak_rss_by_process_mib": dict(PEAKS),
                           "stages_s": stages}

    (home / "results.json").write_text(json.dumps(results, default=str))
    floor_wall, floor_rss, floor_split = floor(home, home / "floor")
    results["floor"] = {"wall_s": floor_wall, "peak_rss_mib": floor_rss, "split_s": floor_split}
    (home / "results.json").write_text(json.dumps(results, default=str))

    last = date.fromisoformat(manifest["period"]["end"])
    since = time.time()
    day_wall, day_rss, _ = run_child([PY, "-c", f"import sys; from datetime import date; from pipelines.cli import execute; "
                                             f"sys.exit(0 if execute('daily_pipeline', date.fromisoformat('{last}'), "
                                             f"date.fromisoformat('{last}')) else 1)"], env)
    results["incremental_day"] = {"wall_s": day_wall, "peak_rss_mib": day_rss, "stages_s": stage_times(home, since)}
    (home / "results.json").write_text(json.dumps(results, default=str))

    from pipelines.definitions import defs

    if "credit_rating_quarterly" in {j.name for j in defs.resolve_all_job_defs()}:
        q_end = date(last.year, 3 * ((last.month - 1) // 3) + 1, 1) - timedelta(days=1)
        q_start = date(q_end.year, q_end.month - 2, 1)
        q_wall, q_rss, _ = run_child([PY, "-c", f"import sys; from datetime import date; from pipelines.cli import execute; "
                                               f"sys.exit(0 if execute('credit_rating_quarterly', date.fromisoformat('{q_start}'), "
                                               f"date.fromisoformat('{q_end}')) else 1)"], env)
        results["credit_quarter"] = {"wall_s": q_wall, "peak_rss_mib": q_rss, "quarter_end": str(q_end)}
        (home / "results.json").write_text(json.dumps(results, default=str))
    write_doc(results)
    print(json.dumps(results, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


def write_doc(r: dict) -> None:
    p, f = r["pipeline"], r["floor"]

    def verdict(ok: bool) -> str:  # the targets are set for M
        return (": met" if ok else ": missed") if r["scale"] == "M" else ""

    stages = p["stages_s"]
    wall = p["wall_s"]
    day = r["incremental_day"]
    lines = [f"## Scale {r['scale']} — measured {r['date']}", "", f"Machine: {r['machine']}", "",
             f"Data: {json.dumps(r['generate']['counts'])}"
             + (f" (generated in {r['generate']['wall_s']:.0f} s, peak RSS {r['generate']['peak_rss_mib']:.0f} MiB)"
                if r['generate']['wall_s'] else " (reused from an earlier generation)"), "",
             "| measure | value | target (M) |", "|---|---:|---|",
             f"| full pipeline through Dagster (landing → serving + reports) | {wall:.1f} s | |",
             f"| DuckDB floor (ingest SQL + compiled dbt SQL, one process) | {f['wall_s']:.1f} s | |",
             f"| pipeline ÷ floor | {wall / f['wall_s']:.2f} | ≤ 1.5{verdict(wall / f['wall_s'] <= 1.5)} |",
             f"| peak RSS (pipeline, any process) | {p['peak_rss_mib']:.0f} MiB | ≤ 3 GiB{verdict(p['peak_rss_mib'] <= 3072)} |",
             *([f"| peak RSS by process (sampled) | "
                + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(p['peak_rss_by_process_mib'].items())) + " | |"]
               if p.get("peak_rss_by_process_mib") else []),
             f"| one day incremental on the full history | {day['wall_s']:.1f} s ({day['wall_s'] / wall:.1%} of full) "
             f"| ≤ 5 %{verdict(day['wall_s'] / wall <= 0.05)} |",
             f"| validation share of wall time | {stages.get('validation', 0) / wall:.1%} "
             f"| ≤ 10 %{verdict(stages.get('validation', 0) / wall <= 0.10)} |"]
    if "credit_quarter" in r:
        q = r["credit_quarter"]["wall_s"]
        lines.append(f"| one quarter's credit rating | {q:.1f} s | ≤ 30 s{verdict(q <= 30)} |")
    lines += ["", "Wall time per stage (sum of Dagster step durations; the rest is process start, "
              "definition loading and run bookkeeping):", "", "| stage | seconds | share |", "|---|---:|---:|"]
    for name in ("ingest", "validation", "dbt", "credit rating (dbt, per quarter)", "clv", "publish", "reports", "other"):
        if name in stages:
            lines.append(f"| {name} | {stages[name]:.1f} | {stages[name] / wall:.1%} |")
    section = "\n".join(lines) + "\n"
    head = "# Benchmarks\n\nProduced by `benchmarks/run.py`; each section is one run at one scale.\n\n"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else head
    # this scale's earlier section(s) are replaced in place; other sections are kept
    pattern = re.compile(rf"## Scale {re.escape(r['scale'])} — .*?(?=\n## |\Z)", re.S)
    first = pattern.search(text)
    if first:
        text = text[:first.start()] + "\0" + text[first.end():]
        text = pattern.sub("", text).replace("\0", section.rstrip() + "\n")
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
