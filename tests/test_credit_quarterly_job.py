"""The credit rating inside the asset graph: the job ``credit_rating_quarterly`` (overrides →
override gate → quarterly dbt credit models and their checks → serving database → rating
workbook), on real generated data, a real Dagster instance, dbt and DuckDB.

One tiny dataset stretched to 190 days (2023-01-01 .. 2023-07-09: 2023Q1 and 2023Q2 are over) is
loaded into the raw layer by the ingest's own SQL and the rating's upstream (dimensions, facts)
is built by ``dbt build``, leaving out the credit models: the job's first run is the mart's first
build. Runs go through ``pipelines.runs.run_job``, as the command line and the schedule's runs
do. Tests that break something (a corrupt mart, a rejected override) work on a copy of the home.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from support import run_dbt

pytestmark = pytest.mark.slow  # runs the quarterly job through Dagster several times; `pytest -m "not slow"` leaves it out

DAYS = 190
Q1, Q2 = "2023-01-01", "2023-04-01"
MART = dg.AssetKey(["marts", "mart_credit_rating"])
WORKBOOK = dg.AssetKey(["reports", "credit_rating_workbook"])
SERVING = dg.AssetKey(["serving", "database"])
OVERRIDES = dg.AssetKey(["raw", "credit_rating_overrides"])
OVERRIDES_HEADER = "customer_code,quarter,grade,reason,approver,approved_date\n"


def _point_at(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Point DWH_HOME and the Dagster instance at ``home`` (its dagster.yaml names its own folder)."""
    from pipelines.cli import prepare_instance

    mp.setenv("DWH_HOME", str(home))
    mp.setenv("DWH_ENV", "test")
    mp.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    mp.delenv("DWH_LANDING_DIR", raising=False)
    prepare_instance()


def _copy_home(home: Path, dest: Path) -> Path:
    """A copy of a home (warehouse, serving database, reports, landing, Dagster instance)."""
    shutil.copytree(home, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from pipelines.credit.assets import OVERRIDES_SOURCE
    from pipelines.ingest.assets import INGESTED_SOURCES
    from pipelines.ingest.load import load_window
    from pipelines.transform.assets import CREDIT_SELECT
    from sample_data import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("credit_job") / "var"
    generate(GeneratorConfig.from_preset("tiny", seed=5, days=DAYS), home, clean=True)
    (home / "landing" / "overrides" / "credit_rating_overrides.csv").write_text(OVERRIDES_HEADER, encoding="utf-8")
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    warehouse = home / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        for source in INGESTED_SOURCES:
            if source != OVERRIDES_SOURCE:  # the job loads the overrides file itself
                result = load_window(con, source, home / "landing", date(2000, 1, 1), date(2099, 12, 31), home / "tmp")
                assert not result.errors, (source, result.errors)
    finally:
        con.close()
    run_dbt(["build", "--select", "+mart_credit_rating +dim_customer_current +dim_branch", "--exclude", CREDIT_SELECT, "--indirect-selection", "buildable"],
            warehouse=warehouse, workdir=home.parent / "dbt")
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, home)
        yield home


def _rate(keys: list[str], assets: list[str] | None = None):
    from pipelines.runs import run_job

    return run_job("credit_rating_quarterly", keys, assets)


def _steps_started(outcome) -> set[str]:
    return {e.step_key for e in outcome.events if e.event_type == dg.DagsterEventType.STEP_START}


def _check_results(outcome) -> list:
    return [e.asset_check_evaluation_data for e in outcome.events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]


def _publish_id(serving: Path) -> str:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute("SELECT publish_id FROM _publish").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def rated(home):
    """2023Q1..2023Q2 rated in one run of the job."""
    outcome = _rate([Q1, Q2])
    assert outcome.success, "\n".join(outcome.failures)
    return outcome


def test_daily_job_leaves_the_credit_models_out():
    from pipelines.definitions import defs
    from pipelines.transform.assets import dbt_credit_models, dbt_models, dbt_partitioned_models

    credit = set(dbt_credit_models.keys)
    assert {k.to_user_string() for k in credit} == {
        "staging/stg_credit__rating_overrides", "intermediate/int_credit_rating_quarters",
        "intermediate/int_credit_indicators", "intermediate/int_credit_grades", "marts/mart_credit_rating"}
    # one writer: no other dbt asset set holds them
    assert not credit & (set(dbt_models.keys) | set(dbt_partitioned_models.keys))
    daily = set(defs.resolve_job_def("daily_pipeline").asset_layer.selected_asset_keys)
    assert not credit & daily and WORKBOOK not in daily
    assert SERVING in daily  # the daily job still publishes (the mart as the quarterly job wrote it)
    quarterly = defs.resolve_job_def("credit_rating_quarterly")
    assert set(quarterly.asset_layer.selected_asset_keys) == credit | {
        OVERRIDES, SERVING, WORKBOOK, dg.AssetKey(["reports", "dashboard"]), dg.AssetKey(["reports", "branch_workbooks"])}
    assert dbt_credit_models.partitions_def == quarterly.partitions_def


def test_the_job_records_the_mart_per_quarter(home, rated):
    """The mart's materialization is the job's, recorded for each quarter of the run; its dbt tests
    ran as its asset checks in the same run and passed; the workbooks are there."""
    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(MART) == {Q1, Q2}
        assert instance.get_materialized_partitions(WORKBOOK) == {Q1, Q2}
        records = instance.fetch_materializations(MART, limit=10).records
        assert {(r.run_id, r.partition_key) for r in records} == {(rated.run_id, Q1), (rated.run_id, Q2)}
        logged = instance.all_logs(rated.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert {(e.dagster_event.asset_key, e.dagster_event.partition) for e in logged} >= {
            (MART, Q1), (MART, Q2), (WORKBOOK, Q1), (WORKBOOK, Q2), (SERVING, None)}
    mart_checks = [c for c in _check_results(rated) if c.asset_key == MART]
    assert len(mart_checks) >= 5 and all(c.passed for c in mart_checks)
    assert any(c.check_name == "overrides_accepted" and c.passed for c in _check_results(rated))
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        served = [r[0] for r in con.execute("SELECT DISTINCT rating_quarter FROM mart_credit_rating ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert served == ["2023Q1", "2023Q2"]
    for q in ("2023Q1", "2023Q2"):
        assert (home / "reports" / "credit_rating" / f"credit_rating_{q}.xlsx").exists()


def test_re_rating_a_quarter_replaces_exactly_its_rows(home, rated):
    """Incremental by quarter: re-rating 2023Q2 alone deletes and writes 2023Q2 only, with the same
    rows (point in time), and 2023Q1 is untouched."""
    def rows():
        con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute("SELECT * FROM marts.mart_credit_rating ORDER BY rating_quarter, customer_code").fetchall()
        finally:
            con.close()

    before = rows()
    outcome = _rate([Q2], assets=["marts/mart_credit_rating", "intermediate/int_credit_indicators",
                                  "intermediate/int_credit_grades", "intermediate/int_credit_rating_quarters",
                                  "staging/stg_credit__rating_overrides"])
    assert outcome.success, "\n".join(outcome.failures)
    assert rows() == before
    with dg.DagsterInstance.get() as instance:
        latest = instance.fetch_materializations(MART, limit=1).records[0]
        assert (latest.run_id, latest.partition_key) == (outcome.run_id, Q2)


def test_the_workbook_reads_the_serving_database(home, rated, tmp_path):
    """The published copy is what the workbook shows: names changed in the serving database only
    appear in it, while the warehouse is moved away for the run."""
    from python_calamine import CalamineWorkbook

    serving = home / "serving" / "serving.duckdb"
    con = duckdb.connect(str(serving))
    try:
        con.execute("UPDATE mart_credit_rating SET customer_name = 'served ' || customer_code "
                    "WHERE rating_quarter = '2023Q2'")
        n = con.execute("SELECT count(*) FROM mart_credit_rating WHERE rating_quarter = '2023Q2'").fetchone()[0]
    finally:
        con.close()
    warehouse = home / "warehouse" / "warehouse.duckdb"
    aside = tmp_path / "warehouse.duckdb"
    shutil.move(warehouse, aside)
    try:
        outcome = _rate([Q2], assets=["reports/credit_rating_workbook"])
    finally:
        shutil.move(aside, warehouse)
    assert outcome.success, "\n".join(outcome.failures)
    assert not (home / "warehouse" / "warehouse.duckdb.wal").exists()
    book = CalamineWorkbook.from_path(str(home / "reports" / "credit_rating" / "credit_rating_2023Q2.xlsx"))
    body = [row for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()[1:]]
    assert len(body) == n > 0
    assert all(row[1] == f"served {row[0]}" for row in body)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM marts.mart_credit_rating WHERE customer_name LIKE 'served %'"
                           ).fetchone()[0] == 0
    finally:
        con.close()


def test_a_failing_dbt_test_of_the_mart_blocks_the_workbook(home, rated, tmp_path, monkeypatch):
    """A copy whose mart holds a row with an impossible final grade (a quarter the run does not
    rewrite: the incremental mart keeps it): the mart's ERROR-severity dbt test fails in the run,
    so neither the serving database nor the workbook is written. A later publish refuses to ship
    the unvalidated mart."""
    copy = _copy_home(home, tmp_path / "var")
    _point_at(monkeypatch, copy)
    con = duckdb.connect(str(copy / "warehouse" / "warehouse.duckdb"))
    try:
        con.execute("""INSERT INTO marts.mart_credit_rating
                       SELECT * REPLACE ('2022Q4' AS rating_quarter, DATE '2022-12-31' AS rating_date, 9 AS final_grade)
                       FROM marts.mart_credit_rating WHERE rating_quarter = '2023Q1' LIMIT 1""")
    finally:
        con.close()
    serving = copy / "serving" / "serving.duckdb"
    published = _publish_id(serving)
    workbook = copy / "reports" / "credit_rating" / "credit_rating_2023Q2.xlsx"
    workbook.unlink()

    outcome = _rate([Q2])
    assert not outcome.success
    failed = [c for c in _check_results(outcome) if not c.passed]
    assert failed and {(c.asset_key, c.severity) for c in failed} == {(MART, dg.AssetCheckSeverity.ERROR)}, failed
    failed = [c for c in failed if c.check_name.startswith("accepted_values_mart_credit_rating_final_grade")]
    assert len(failed) == 1
    started = _steps_started(outcome)
    assert "dbt_credit_models" in started
    assert not started & {"serving__database", "reports__credit_rating_workbook"}, started
    assert _publish_id(serving) == published and not workbook.exists()
    with dg.DagsterInstance.get() as instance:
        assert instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(MART, failed[0].check_name)).run_id == outcome.run_id

    # the daily job's publish does not build the mart, and will not ship it while its check fails
    from pipelines.runs import run_job

    publish = run_job("daily_pipeline", None, ["serving/database"])
    assert not publish.success
    assert "marts/mart_credit_rating" in "\n".join(publish.failures) and _publish_id(serving) == published


def test_a_rejected_override_fails_the_gate_and_blocks_the_mart(home, rated, tmp_path, monkeypatch):
    """An override of 2023Q2 with an invalid grade and one for an unknown customer are quarantined
    when the job reloads the file; the gate fails at ERROR naming file, line, reason and row, and
    the credit models are not built (the mart keeps its rows); reloading the file in
    reference_data only warns."""
    copy = _copy_home(home, tmp_path / "var")
    _point_at(monkeypatch, copy)
    warehouse = copy / "warehouse" / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        code = con.execute("SELECT min(customer_code) FROM marts.mart_credit_rating WHERE rating_quarter = '2023Q2'"
                           ).fetchone()[0]
        before = con.execute("SELECT * FROM marts.mart_credit_rating ORDER BY ALL").fetchall()
    finally:
        con.close()
    (copy / "landing" / "overrides" / "credit_rating_overrides.csv").write_text(
        OVERRIDES_HEADER
        + f"{code},2023Q2,7,invalid grade,Director Wang,2023-07-05\n"
        + "C99999,2023Q2,2,unknown customer,Director Wang,2023-07-05\n", encoding="utf-8")

    outcome = _rate([Q2])
    assert not outcome.success
    gate = [c for c in _check_results(outcome) if c.check_name == "overrides_accepted"]
    assert len(gate) == 1 and not gate[0].passed and gate[0].severity == dg.AssetCheckSeverity.ERROR
    text = gate[0].description
    assert "2023Q2: 2 credit-rating override row(s) rejected" in text
    for expected in ("overrides/credit_rating_overrides.csv line 2: invalid_grade",
                     "overrides/credit_rating_overrides.csv line 3: unknown_customer", 'row={"customer_code":"C99999"'):
        assert expected in text, text
    rejected = gate[0].metadata["rejected_overrides"].value["2023Q2"]
    assert {(r["line"], r["reason"]) for r in rejected} == {(2, "invalid_grade"), (3, "unknown_customer")}
    started = _steps_started(outcome)
    assert not started & {"dbt_credit_models", "serving__database", "reports__credit_rating_workbook"}, started
    with dg.DagsterInstance.get() as instance:
        assert not [r for r in instance.fetch_materializations(MART, limit=50).records if r.run_id == outcome.run_id]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT * FROM marts.mart_credit_rating ORDER BY ALL").fetchall() == before
    finally:
        con.close()

    # outside a rating run the same rows are a warning: loading the file does not fail
    from pipelines.runs import run_job

    reference = run_job("reference_data")
    assert reference.success, "\n".join(reference.failures)
    gate = [c for c in _check_results(reference) if c.check_name == "overrides_accepted"]
    assert len(gate) == 1 and not gate[0].passed and gate[0].severity == dg.AssetCheckSeverity.WARN


def test_the_rating_joins_its_dimensions_without_fan_out(home, rated):
    """The credit rating's documented joins (dbt YAML meta.joins) keep its rows and totals in the
    serving database the quarterly job published (the other tables: tests/test_joins.py)."""
    from support.joins import assert_joins_keep_totals, documented_joins

    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        assert assert_joins_keep_totals(con, "mart_credit_rating", documented_joins()["mart_credit_rating"]) >= 5
    finally:
        con.close()
