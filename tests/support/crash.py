"""Harness of the crash-safety and idempotency tests: run the whole pipeline (``python -m
pipelines run``, i.e. ``run_all``) in a child process, kill it with SIGKILL at a chosen point,
and compare warehouse and serving states by content hashes.

Kill points are chosen from an uninterrupted reference run: its step spans are read from the
Dagster instance's event log (``STEP_START`` → ``STEP_SUCCESS``), each step is assigned to a
stage (ingest, dbt, CLV, publish), and a point is (stage, step, occurrence of the step in the
run, offset into the step). The child logs its Dagster events at DEBUG into its run log
(``<home>/logs/run-*.log``); the parent tails it for the ``STEP_START`` line of the chosen step, sleeps the offset and sends SIGKILL to the
child's whole process group (the child is started with ``start_new_session=True``, so dbt's
subprocess dies with it). Where the kill really landed is then read back from the instance
(the killed run stays STARTED, its last step has no end event).

Content hashes (``table_hashes``) are sha256 over the rows of a table sorted by all columns,
leaving out only columns whose value legitimately differs between two runs over the same
data (``RUN_SPECIFIC_COLUMNS``, each with the reason).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "dbt", "clv", "publish")

# Columns left out of the content hashes, per table name (any schema; the serving copy of a
# mart has the same name), and why their values differ between two runs over the same data.
RUN_SPECIFIC_COLUMNS: dict[str, dict[str, str]] = {
    "*": {
        "_publish_id": "serving: the id of the publish that wrote the row (new uuid per publish)",
        "_load_id": "raw: the id of the load that wrote the row (new uuid per load)",
        "_loaded_at": "raw: wall-clock time of the load",
    },
    "mart_customer_lifetime_value": {"run_id": "the Dagster run that computed the CLV"},
    "clv_model_fits": {
        "run_id": "the Dagster run that fitted the models",
        "fit_seconds": "wall-clock duration of the fit",
        "fitted_at": "wall-clock time of the fit",
    },
    "_publish": {
        "publish_id": "serving: new uuid per publish",
        "published_at": "serving: wall-clock time of the publish",
        "source_run_id": "serving: the Dagster run that published",
    },
}

# ``marts.clv_model_fits`` is a deliberate run history (pipelines/clv/assets.py: "appended: one
# row per run, as-of date and model"; tests/test_clv_asset.py asserts the append): it grows by
# 2 models x month ends on every run that computes the CLV. The hashes compare only the fits of
# the run that produced the current CLV mart; ``clv_fits_history`` checks the history is
# whole runs (all-or-nothing) of exactly that size.
FITS_TABLE = "clv_model_fits"
CURRENT_FITS_FILTER = "run_id = (SELECT any_value(run_id) FROM marts.mart_customer_lifetime_value)"


def excluded_columns(table: str) -> set[str]:
    return set(RUN_SPECIFIC_COLUMNS["*"]) | set(RUN_SPECIFIC_COLUMNS.get(table, {}))


# --------------------------------------------------------------------------- content hashes

def _hash_rows(rows: list[tuple]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row).encode())
        h.update(b"\n")
    return h.hexdigest()


def table_hashes(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], catalog: str | None = None) -> dict[str, tuple[int, str]]:
    """``{schema.table: (rows, sha256)}`` of every base table in ``schemas`` (rows sorted by all
    kept columns; run-specific columns left out, see ``RUN_SPECIFIC_COLUMNS``)."""
    where_cat = f" AND database_name = '{catalog}'" if catalog else ""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN "
        f"({', '.join(repr(s) for s in schemas)}){where_cat} ORDER BY 1, 2").fetchall()
    out = {}
    for schema, table in tables:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
            + (" AND database_name = ?" if catalog else "") + " ORDER BY column_index",
            [schema, table] + ([catalog] if catalog else [])).fetchall()]
        kept = [c for c in cols if c not in excluded_columns(table)]
        where = f" WHERE {CURRENT_FITS_FILTER}" if table == FITS_TABLE else ""
        col_sql = ", ".join(f'"{c}"' for c in kept)
        rows = con.execute(f'SELECT {col_sql} FROM "{schema}"."{table}"{where} ORDER BY ALL').fetchall()
        out[f"{schema}.{table}"] = (len(rows), _hash_rows(rows))
    return out


# Schemas of the warehouse compared between runs: the marts (every dbt mart, the facts and
# dimensions, the CLV mart and its fits), the seeds, and the raw layer (its lineage ids left
# out). Not compared: ``quality`` (quality.validation_results is the append-only history of
# every validation, with run ids and timings), and the staging/intermediate views (they are
# views over raw: no data of their own).
WAREHOUSE_SCHEMAS = ("marts", "reference", "raw")


def warehouse_hashes(warehouse: Path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return table_hashes(con, WAREHOUSE_SCHEMAS)
    finally:
        con.close()


@dataclass
class ServingState:
    publish_id: str | None
    source_run_id: str | None
    tables: dict[str, int]          # the _publish record's row counts
    hashes: dict[str, tuple[int, str]]
    parquet_current: str | None     # publish id the parquet `current` link points at


def serving_state(home: Path) -> ServingState:
    """The serving database as a fresh read-only connection sees it (or an empty state when no
    publish ever completed), checked to be one whole version, and the parquet export's
    ``current`` link (checked to be a whole version too)."""
    serving = home / "serving" / "serving.duckdb"
    current = current_parquet_version(home)
    if not serving.exists():
        return ServingState(None, None, {}, {}, current)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        pub = con.execute("SELECT publish_id, source_run_id, tables FROM _publish").fetchall()
        assert len(pub) == 1, f"_publish should hold one row, holds {pub}"
        publish_id, run_id, tables_json = pub[0]
        counts = json.loads(tables_json)
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        assert names == set(counts) | {"_publish"}, f"serving tables {sorted(names)} vs _publish {sorted(counts)}"
        for name, n in counts.items():
            got = con.execute(f'SELECT count(*), count(DISTINCT _publish_id), min(_publish_id) FROM "{name}"').fetchall()[0]
            assert got[0] == n, f"serving {name}: {got[0]} rows, _publish says {n}"
            assert n == 0 or (got[1] == 1 and got[2] == publish_id), f"serving {name}: publish ids {got}"
        hashes = table_hashes(con, ("main",))
    finally:
        con.close()
    return ServingState(publish_id, run_id, counts, hashes, current)


def current_parquet_version(home: Path) -> str | None:
    """Publish id of ``serving/parquet/current`` after checking it is a whole version: one
    readable data.parquet per table of that publish, every row carrying that publish id."""
    current = home / "serving" / "parquet" / "current"
    if not current.is_symlink():
        assert not current.exists(), f"{current} exists but is not a symlink"
        return None
    target = current.resolve()
    assert target.is_dir(), f"parquet current points at a missing version {target}"
    publish_id = target.name
    tables = sorted(p.name for p in target.iterdir())
    assert tables, f"parquet version {publish_id} is empty"
    for name in tables:
        f = target / name / "data.parquet"
        got = duckdb.sql(f"SELECT count(*), count(DISTINCT _publish_id), min(_publish_id) FROM '{f}'").fetchall()[0]
        assert got[0] == 0 or (got[1] == 1 and got[2] == publish_id), f"{f}: publish ids {got}"
    return publish_id


def parquet_tables(home: Path, publish_id: str) -> dict[str, int]:
    root = home / "serving" / "parquet" / publish_id
    return {p.name: duckdb.sql(f"SELECT count(*) FROM '{p / 'data.parquet'}'").fetchall()[0][0]
            for p in sorted(root.iterdir())}


def serving_leftovers(home: Path) -> list[str]:
    """Files a publish leaves only while it runs: staging databases, temporary links, and
    parquet versions other than the current and the previous one."""
    serving_dir = home / "serving"
    out = [p.name for p in serving_dir.iterdir() if p.name.endswith((".building", ".building.wal"))]
    out += [p.name for p in serving_dir.glob("serving.duckdb.wal")]
    parquet = serving_dir / "parquet"
    if parquet.exists():
        out += [f"parquet/{p.name}" for p in parquet.iterdir() if p.name.startswith(".current.")]
        versions = [p for p in parquet.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
        if len(versions) > 2:
            out += [f"parquet/{p.name} (one of {len(versions)} versions)" for p in versions]
    return out


# ------------------------------------------------------------------ raw-layer invariants

def raw_partition_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What pipelines/ingest/load.py guarantees for every partition of every source, whatever
    the moment the process died: a partition is replaced in one transaction together with its
    load_log and quarantine rows, so per (source, _partition_date) the rows in raw.<table>
    equal the sum of load_log.rows_loaded, the rows in raw.quarantine equal the sum of
    rows_quarantined, all come from the one load the log names, and per file rows read =
    loaded + quarantined."""
    from pipelines.ingest.config import load_sources

    problems = []
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    if "load_log" not in have:
        return [f"raw tables without raw.load_log: {sorted(have)}"] if have - {"quarantine"} else []
    bad = con.execute("SELECT source, _source_file, rows_read, rows_loaded, rows_quarantined FROM raw.load_log "
                      "WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()
    problems += [f"load_log conservation broken: {b}" for b in bad]
    for name, source in load_sources().items():
        if source.table not in have:
            n_log = con.execute("SELECT count(*) FROM raw.load_log WHERE source = ?", [name]).fetchall()[0][0]
            if n_log:
                problems.append(f"{name}: load_log has {n_log} rows but raw.{source.table} does not exist")
            continue
        rows = con.execute(f"""
            WITH t AS (SELECT _partition_date, count(*) AS n, list(DISTINCT _load_id) AS ids
                       FROM raw."{source.table}" GROUP BY ALL),
                 qq AS (SELECT _partition_date, count(*) AS n, list(DISTINCT _load_id) AS ids
                        FROM raw.quarantine WHERE source = $1 GROUP BY ALL),
                 l AS (SELECT _partition_date, sum(rows_loaded) AS loaded, sum(rows_quarantined) AS quarantined,
                              list(DISTINCT _load_id) AS ids
                       FROM raw.load_log WHERE source = $1 GROUP BY ALL),
                 keys AS (SELECT _partition_date FROM t UNION SELECT _partition_date FROM qq
                          UNION SELECT _partition_date FROM l)
            SELECT k._partition_date, coalesce(t.n, 0), coalesce(l.loaded, 0), coalesce(qq.n, 0),
                   coalesce(l.quarantined, 0), t.ids, qq.ids, l.ids
            FROM keys k
            LEFT JOIN t ON t._partition_date IS NOT DISTINCT FROM k._partition_date
            LEFT JOIN qq ON qq._partition_date IS NOT DISTINCT FROM k._partition_date
            LEFT JOIN l ON l._partition_date IS NOT DISTINCT FROM k._partition_date
            ORDER BY 1""", [name]).fetchall()
        for day, n, loaded, nq, quarantined, ids_t, ids_q, ids_l in rows:
            where = f"{name} partition {day}"
            if n != loaded or nq != quarantined:
                problems.append(f"{where}: {n} rows / {nq} quarantined, load_log says {loaded} / {quarantined}")
            if ids_l is not None and len(ids_l) != 1:
                problems.append(f"{where}: load_log rows from {len(ids_l)} loads {ids_l}")
            for what, ids in (("rows", ids_t), ("quarantine rows", ids_q)):
                if ids and set(ids) - set(ids_l or []):
                    problems.append(f"{where}: {what} from loads {sorted(set(ids) - set(ids_l or []))} not in load_log")
    return problems


def clv_fits_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The CLV mart and its fits are written in one transaction: every run in the fits history
    has 2 models x the same number of month ends, and the mart is the output of the latest."""
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
    if "clv_model_fits" not in have:
        return [] if "mart_customer_lifetime_value" not in have else ["CLV mart without its fits table"]
    per_run = con.execute("""SELECT run_id, count(*), count(DISTINCT as_of_date), count(DISTINCT model), max(fitted_at)
                             FROM marts.clv_model_fits GROUP BY ALL ORDER BY max(fitted_at)""").fetchall()
    problems = [f"fits of run {r[0]}: {r[1]} rows for {r[2]} month ends x {r[3]} models" for r in per_run
                if r[1] != 2 * r[2] or r[3] != 2]
    mart_runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM marts.mart_customer_lifetime_value").fetchall()]
    if len(mart_runs) > 1:
        problems.append(f"CLV mart mixes runs {mart_runs}")
    if per_run and mart_runs and mart_runs[0] != per_run[-1][0]:
        problems.append(f"CLV mart is from run {mart_runs[0]}, latest fits from {per_run[-1][0]}")
    return problems


def open_copy(db: Path, workdir: Path) -> duckdb.DuckDBPyConnection:
    """Open a copy of a DuckDB file and its WAL read-write (WAL replayed and checkpointed on
    the copy), leaving the original for the pipeline's own recovery."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copyfile(db, workdir / db.name)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, workdir / wal.name)
    return duckdb.connect(str(workdir / db.name))


# ------------------------------------------------------------------------ pipeline runs

def pipeline_env(home: Path, **extra: str) -> dict[str, str]:
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    env.update({"DWH_HOME": str(home), "DWH_ENV": "test", "DAGSTER_HOME": str(home / "dagster_home"),
                "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra})
    env.pop("DWH_LANDING_DIR", None)
    return env


RUN_CMD = [sys.executable, "-m", "pipelines", "run"]


def run_pipeline(home: Path, args: list[str] | None = None, timeout: float = 1200) -> subprocess.CompletedProcess:
    """``python -m pipelines run`` (or ``args``) to completion; fails with the output's tail."""
    proc = subprocess.run(args or RUN_CMD, cwd=REPO, env=pipeline_env(home), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args or RUN_CMD} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@dataclass(frozen=True)
class StepSpan:
    job: str
    run_index: int      # position of the run in run_all's sequence of runs
    step: str
    occurrence: int     # n-th STEP_START of this step key in the whole pipeline run (1-based)
    start: float        # seconds since the first run started
    duration: float


def stage_of(step: str) -> str:
    """ingest: raw loads, their validations, freshness; dbt: the dbt steps; clv: the CLV
    asset; publish: the blocking mart validations gating the publish, the serving database
    swap and the reports built from it."""
    if step.startswith("dbt_"):
        return "dbt"
    if step == "marts__mart_customer_lifetime_value":
        return "clv"
    if step.startswith(("raw__", "source_freshness")):
        return "ingest"
    if step.startswith(("serving__", "reports__", "marts__")) or step.startswith("credit"):
        return "publish"
    raise ValueError(f"no stage for step {step}")


def step_spans(dagster_home: Path) -> list[StepSpan]:
    """Step spans of every run in the instance, in run order, from the event log."""
    import dagster as dg
    from dagster import DagsterEventType as E

    spans = []
    seen: Counter = Counter()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = sorted((instance.get_run_record_by_id(r.run_id) for r in instance.get_runs()),
                         key=lambda r: r.start_time)
        t0 = records[0].start_time
        for i, rec in enumerate(records):
            starts: dict[str, float] = {}
            for e in instance.all_logs(rec.dagster_run.run_id, of_type={E.STEP_START, E.STEP_SUCCESS, E.STEP_FAILURE}):
                if e.dagster_event.event_type == E.STEP_START:
                    starts[e.step_key] = e.timestamp
                    seen[e.step_key] += 1
                    occurrence = seen[e.step_key]
                    spans.append(StepSpan(rec.dagster_run.job_name, i, e.step_key, occurrence, e.timestamp - t0, 0.0))
                else:
                    for j in range(len(spans) - 1, -1, -1):
                        if spans[j].step == e.step_key and spans[j].run_index == i:
                            spans[j] = StepSpan(**{**asdict(spans[j]), "duration": e.timestamp - starts[e.step_key]})
                            break
    return spans


@dataclass(frozen=True)
class KillPoint:
    trial: int
    stage: str
    step: str
    occurrence: int
    offset: float       # seconds after the step's STEP_START
    fresh: bool         # the killed run starts from an empty DWH_HOME (else: after a complete run)

    def describe(self) -> str:
        return (f"trial {self.trial}: stage={self.stage} step={self.step}#{self.occurrence} "
                f"offset={self.offset:.3f}s {'from empty home' if self.fresh else 'over a complete run'}")


def draw_kill_points(spans: list[StepSpan], trials: int, seed: int) -> list[KillPoint]:
    """Stratified kill points: the stages take turns (each cycle of four visits every stage, in
    an order shuffled per cycle), so n trials give every stage n/4 of them (±1). Within a
    stage the step is drawn with probability proportional to its duration, except that half
    of the time a core step is drawn uniformly: in ingest the loads (not their longer
    validations), in publish the serving swap (0.3 s on tiny data, beside ~8 s of mart
    validations). The offset is uniform over the step's reference duration. Every fourth
    trial (the first included) kills a run on an empty DWH_HOME, the others a re-run over a
    complete state (a copy of the reference run)."""
    rng = random.Random(seed)
    by_stage: dict[str, list[StepSpan]] = {s: [] for s in STAGES}
    for span in spans:
        by_stage[stage_of(span.step)].append(span)
    missing = [s for s, v in by_stage.items() if not v]
    assert not missing, f"the reference run has no step in stages {missing}"
    points = []
    order: list[str] = []
    for trial in range(trials):
        if not order:
            order = rng.sample(STAGES, len(STAGES))
        stage = order.pop(0)
        candidates = by_stage[stage]
        core = [s for s in candidates if s.step == "serving__database"
                or (stage == "ingest" and s.step.startswith("raw__") and "_gx_" not in s.step)]
        if core and rng.random() < 0.5:  # the swap itself, or a load (not its validation)
            span = rng.choice(core)
        else:
            span = rng.choices(candidates, weights=[max(s.duration, 0.05) for s in candidates])[0]
        offset = rng.uniform(0, max(span.duration, 0.05))
        points.append(KillPoint(trial, stage, span.step, span.occurrence, round(offset, 3), trial % 4 == 0))
    return points


STEP_START_RE = re.compile(r" - (?P<step>[\w]+) - STEP_START - ")


@dataclass
class KillOutcome:
    point: KillPoint
    killed: bool
    trigger_seen_at: float | None = None   # seconds since the child started
    killed_at: float | None = None
    exit_status: int | None = None
    landed_run_id: str | None = None
    landed_job: str | None = None          # where the kill landed, read from the Dagster instance
    landed_step: str | None = None
    landed_offset: float | None = None
    landed_stage: str | None = None
    run_status: str | None = None
    wal_left: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.killed:
            return f"{self.point.describe()}: NOT KILLED (the run ended before the kill point)"
        where = (f"{self.landed_job}/{self.landed_step} +{self.landed_offset:.3f}s (stage {self.landed_stage})"
                 if self.landed_step else f"between steps of {self.landed_job}")
        return (f"{self.point.describe()}: killed {self.killed_at:.2f}s after start, in {where}; "
                f"run left {self.run_status}; warehouse WAL left: {self.wal_left}")


def run_and_kill(home: Path, point: KillPoint, log_dir: Path, timeout: float = 900) -> KillOutcome:
    """Start ``python -m pipelines run`` in its own session, SIGKILL its process group
    ``point.offset`` seconds after the chosen step starts, and wait until every process of the
    group is gone."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out = open(log_dir / "stdout.log", "w")
    err = open(log_dir / "stderr.log", "w")
    env = pipeline_env(home, DWH_LOG_LEVEL="DEBUG")
    started = time.monotonic()
    logs_before = set((home / "logs").glob("run-*.log"))
    proc = subprocess.Popen(RUN_CMD, cwd=REPO, env=env, stdout=out, stderr=err, text=True, start_new_session=True)
    fired = threading.Event()
    seen: Counter = Counter()
    outcome = KillOutcome(point, killed=False)

    def lines():  # the run's own output (Dagster's DEBUG events included) goes to its run log
        while not (new := set((home / "logs").glob("run-*.log")) - logs_before):
            if proc.poll() is not None:
                return
            time.sleep(0.01)
        with open(new.pop(), encoding="utf-8", errors="replace") as f:
            buffer = ""
            while True:
                chunk = f.readline()
                if chunk:
                    buffer += chunk
                    if buffer.endswith("\n"):
                        yield buffer
                        buffer = ""
                elif proc.poll() is not None:
                    return
                else:
                    time.sleep(0.005)

    def read() -> None:
        for line in lines():
            m = STEP_START_RE.search(line)
            if m and not fired.is_set():
                seen[m["step"]] += 1
                if m["step"] == point.step and seen[m["step"]] == point.occurrence:
                    outcome.trigger_seen_at = time.monotonic() - started
                    fired.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not fired.wait(0.02):
            if proc.poll() is not None or time.monotonic() - started > timeout:
                break
        if fired.is_set():
            time.sleep(max(0.0, point.offset - (time.monotonic() - started - outcome.trigger_seen_at)))
            kill_wall = time.time()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
                outcome.killed = proc.poll() is None
            except ProcessLookupError:
                outcome.killed = False
            outcome.killed_at = time.monotonic() - started
    finally:
        if proc.poll() is None and not outcome.killed:  # timeout: do not leave it running
            os.killpg(proc.pid, signal.SIGKILL)
        outcome.exit_status = proc.wait(timeout=60)
        _wait_group_gone(proc.pid)
        reader.join(timeout=10)
        out.close()
        err.close()
    warehouse = home / "warehouse" / "warehouse.duckdb"
    outcome.wal_left = warehouse.with_name(warehouse.name + ".wal").exists()
    if outcome.killed:
        _landed(home / "dagster_home", kill_wall, outcome)
    return outcome


def _wait_group_gone(pgid: int, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive {seconds}s after SIGKILL")


def _landed(dagster_home: Path, kill_wall: float, outcome: KillOutcome) -> None:
    """Where the kill landed: the newest run of the instance and its step without an end event."""
    import dagster as dg
    from dagster import DagsterEventType as E

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            outcome.notes.append("no run recorded yet (killed while starting)")
            return
        run = runs[0]
        outcome.landed_run_id, outcome.landed_job, outcome.run_status = run.run_id, run.job_name, run.status.value
        open_steps: dict[str, float] = {}
        for e in instance.all_logs(run.run_id, of_type={E.STEP_START, E.STEP_SUCCESS, E.STEP_FAILURE}):
            if e.dagster_event.event_type == E.STEP_START:
                open_steps[e.step_key] = e.timestamp
            else:
                open_steps.pop(e.step_key, None)
        if open_steps:
            step, ts = max(open_steps.items(), key=lambda kv: kv[1])
            outcome.landed_step, outcome.landed_offset, outcome.landed_stage = step, kill_wall - ts, stage_of(step)


def fresh_home(home: Path, landing_src: Path) -> Path:
    """An empty DWH_HOME holding only the landing zone (copied from a generated dataset)."""
    if home.exists():
        shutil.rmtree(home)
    (home / "dagster_home").mkdir(parents=True)
    shutil.copytree(landing_src / "landing", home / "landing")
    if (landing_src / "generated").exists():  # the generator's side files (sensitive values, faults)
        shutil.copytree(landing_src / "generated", home / "generated")
    return home


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run of the whole pipeline on the tiny preset (never modified)."""

    home: Path
    seconds: float
    warehouse: dict[str, tuple[int, str]]
    serving: ServingState
    spans: list[StepSpan]
    output: str = ""  # what the run command printed


def reference_run(tmp_path_factory, landing_src: Path) -> Reference:
    """The reference run of the whole pipeline (``python -m pipelines run`` on the tiny preset),
    made once per test session and shared by every module that needs one (end to end, crash
    safety, idempotency, hostile days): a test that changes the state works on a copy."""
    from support import session_cache

    def make(folder: Path) -> Reference:
        home = fresh_home(folder / "var", landing_src)
        started = time.monotonic()
        proc = run_pipeline(home)
        seconds = time.monotonic() - started
        return Reference(home, seconds, warehouse_hashes(home / "warehouse" / "warehouse.duckdb"),
                         serving_state(home), step_spans(home / "dagster_home"), proc.stdout)

    return session_cache("tiny_reference_run", tmp_path_factory, make)


def copy_home(src: Path, dst: Path) -> Path:
    """A copy of a DWH_HOME (warehouse, serving, parquet links, Dagster instance, landing)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def diff_hashes(got: dict, want: dict) -> list[str]:
    out = [f"{t}: missing" for t in want if t not in got] + [f"{t}: unexpected" for t in got if t not in want]
    out += [f"{t}: {got[t][0]} rows {got[t][1][:12]} vs reference {want[t][0]} rows {want[t][1][:12]}"
            for t in want if t in got and got[t] != want[t]]
    return out
