"""Quarterly credit rating (R6): the job on real generated data through the real Dagster instance,
dbt and DuckDB.

One generated dataset (tiny preset stretched to 280 days: 2023-01-01 .. 2023-10-07, three
complete quarters) is loaded in two stages, as it would land: first up to 2023-07-10, then the
rest (raw layer by the ingest's own load_window, then dbt build of the rating's upstream; the
daily job's per-partition validation runs would take minutes). The rating runs through the real
job on a real Dagster instance. The rating of the old quarters is taken after each stage and must not change (point in
time); the second rating is a three-quarter backfill through the CLI path. Overrides rejected at
ingest make the rating of their quarter fail, naming the rows.

The grade rule itself is covered by the dbt unit tests of int_credit_grades (every condition of
every grade and the first-match precedence), run here through ``dbt test``, and so are the rules
for missing data (unit tests of int_credit_indicators, int_credit_grades and mart_credit_rating):
no receivable due gives K4 B; an indicator whose source the company does not deliver is not
available and the rating INCOMPLETE, without grade. On the generated data, a company without
receivables (company.yml) gets INCOMPLETE ratings that pass the mart's tests and GX suite, and a
report that says what is missing.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, subprocess_env
from support import run_dbt

pytestmark = pytest.mark.slow  # runs the quarterly job over a generated world (real Dagster instance); `pytest -m "not slow"` leaves it out

DAYS = 280
CUTOFF = date(2023, 7, 10)

def _load(home: Path, start: date, end: date) -> None:
    """Load every source's files dated in [start, end] into the raw layer (the ingest's own SQL,
    without the per-partition validation runs, to keep the test short), the overrides file
    whole; then ``dbt build`` the rating's upstream like the daily job does."""
    from pipelines.ingest.assets import INGESTED_SOURCES
    from pipelines.ingest.load import load_window

    warehouse = home / "warehouse" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        for source in INGESTED_SOURCES:
            result = load_window(con, source, home / "landing", start, end, home / "tmp")
            assert not result.errors, (source, result.errors)
    finally:
        con.close()
    run_dbt(["build", "--select", "+mart_credit_rating", "--indirect-selection", "buildable"], warehouse=warehouse,
            workdir=home / "dbt")


def _run(env, *args, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _rate(env, quarters):
    return _run(env, "-m", "pipelines", "credit-rating", "--quarters", quarters)


def _ratings(home: Path, quarters: tuple[str, ...]) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        marks = ", ".join("?" for _ in quarters)
        return con.execute(f"select * from marts.mart_credit_rating where rating_quarter in ({marks}) "
                           "order by rating_quarter, customer_code", list(quarters)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """Stage 1 loaded and rated (2023Q1..2023Q2), then stage 2 loaded and 2023Q1..2023Q3 rated."""
    from sample_data import GeneratorConfig, generate

    home = tmp_path_factory.mktemp("credit") / "var"
    cfg = GeneratorConfig.from_preset("tiny", seed=3, days=DAYS)
    generate(cfg, home, clean=True)
    # no overrides yet (the generated file may name customers that only appear after stage 1);
    # test_rejected_overrides_fail_the_quarter_naming_the_rows writes its own
    (home / "landing" / "overrides" / "credit_rating_overrides.csv").write_text(
        "customer_code,quarter,grade,reason,approver,approved_date\n", encoding="utf-8")
    env = subprocess_env(home)
    _load(home, cfg.start_date, CUTOFF)
    first = _rate(env, "2023Q1..2023Q2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    before = _ratings(home, ("2023Q1", "2023Q2"))
    reports_before = sorted(p.name for p in (home / "reports" / "credit_rating").glob("*.xlsx"))
    _load(home, CUTOFF + timedelta(days=1), cfg.end_date)
    backfill = _rate(env, "2023Q1..2023Q3")
    return {"home": home, "env": env, "first": first, "before": before, "reports_before": reports_before,
            "backfill": backfill}


def test_rating_is_point_in_time(staged):
    """Rating 2023Q1–Q2 before and after later sales, payments, master versions and stock reports
    landed gives identical rows (every column)."""
    after = _ratings(staged["home"], ("2023Q1", "2023Q2"))
    assert staged["before"], "stage 1 rated nothing"
    assert after == staged["before"]


def test_backfill_of_three_quarters_through_the_cli(staged):
    proc = staged["backfill"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for q in ("2023Q1", "2023Q2", "2023Q3"):
        assert f"  {q}: " in out
    assert "credit_rating_quarterly 2023-01-01..2023-07-01: success" in out
    import dagster as dg

    with dg.DagsterInstance.from_config(str(staged["home"] / "dagster_home")) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="credit_rating_quarterly"))
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)


def test_mart_contents(staged):
    home = staged["home"]
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        quarters = [r[0] for r in con.execute(
            "select distinct rating_quarter from marts.mart_credit_rating order by 1").fetchall()]
        assert quarters == ["2023Q1", "2023Q2", "2023Q3"]  # 2023Q4 is not over in the data
        # 2023Q1: nobody has 90 days of invoices yet on 2023-03-31 (data starts 2023-01-01)
        assert con.execute("select count(*) from marts.mart_credit_rating where rating_quarter = '2023Q1' "
                           "and rating_status <> 'NEW'").fetchone()[0] == 0
        rated = con.execute("""select count(*), count(computed_grade), count(credit_score),
                                      count(*) filter (where credit_score < 0 or credit_score > 100)
                               from marts.mart_credit_rating where rating_status = 'RATED'""").fetchone()
        assert rated[0] > 0 and rated[0] == rated[1] == rated[2] and rated[3] == 0
        # final = override if any, else computed; action and limit follow the final grade
        assert con.execute("""select count(*) from marts.mart_credit_rating
                              where final_grade is distinct from coalesce(override_grade, computed_grade)""").fetchone()[0] == 0
        assert con.execute("""select count(*) from marts.mart_credit_rating
                              where final_grade = 5 and recommended_credit_limit <> 0""").fetchone()[0] == 0
        # change against the previous quarter
        bad = con.execute("""select count(*) from marts.mart_credit_rating
            where (grade_change = 'up' and not final_grade < previous_final_grade)
               or (grade_change = 'down' and not final_grade > previous_final_grade)
               or (grade_change = 'same' and final_grade <> previous_final_grade)
               or (grade_change = 'new' and previous_final_grade is not null and final_grade is not null)""").fetchone()[0]
        assert bad == 0
        # every reason is written
        assert con.execute("""select count(*) from marts.mart_credit_rating where k1_reason is null
                              or k4_reason is null or o2_reason is null or o5_reason is null""").fetchone()[0] == 0
        # the sample company delivers every source: nothing is INCOMPLETE, every letter is there
        assert {r[0] for r in con.execute("select distinct rating_status from marts.mart_credit_rating").fetchall()} \
            == {"NEW", "RATED"}
        assert con.execute("""select count(*) from marts.mart_credit_rating where not_available is not null
                              or k1_letter is null or k4_letter is null or o2_letter is null""").fetchone()[0] == 0
        # no receivable due in the trailing window: no payment record yet, K4 B (never A)
        no_record = con.execute("""select k4_letter, k4_reason, count(*) from marts.mart_credit_rating
                                   where k4_on_time_share is null group by all""").fetchall()
        assert no_record and all(letter == "B" and reason.startswith("no payment record yet")
                                 for letter, reason, _ in no_record), no_record
    finally:
        con.close()


def test_report_one_sheet_per_branch_sorted_for_review(staged):
    from python_calamine import CalamineWorkbook

    home = staged["home"]
    assert staged["reports_before"] == ["credit_rating_2023Q1.xlsx", "credit_rating_2023Q2.xlsx"]
    path = home / "reports" / "credit_rating" / "credit_rating_2023Q3.xlsx"
    assert path.exists()
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        branches = [r[0] for r in con.execute(
            "select distinct coalesce(branch_code, 'UNASSIGNED') from marts.mart_credit_rating "
            "where rating_quarter = '2023Q3' order by 1").fetchall()]
        n = con.execute("select count(*) from marts.mart_credit_rating where rating_quarter = '2023Q3'").fetchone()[0]
    finally:
        con.close()
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == branches
    total = 0
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python()
        assert rows[0][:5] == ["Customer code", "Customer name", "Sales rep", "Status", "Final grade"]
        body = rows[1:]
        total += len(body)
        rated = [r for r in body if r[3] == "RATED"]
        assert body[:len(rated)] == rated  # NEW last
        grades = [r[4] for r in rated]
        assert grades == sorted(grades, reverse=True)  # worst grade first
    assert total == n


def test_report_in_chinese(staged, monkeypatch, tmp_path):
    from python_calamine import CalamineWorkbook

    from pipelines.credit.report import build_rating_report

    con = duckdb.connect(str(staged["home"] / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        path, counts = build_rating_report(con, "2023Q3", tmp_path, lang="zh", relation="marts.mart_credit_rating")
    finally:
        con.close()
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "客户编码" and rows[0][4] == "最终等级"
    assert sum(counts.values()) > 0


def test_rejected_overrides_fail_the_quarter_naming_the_rows(staged):
    """An override for an unknown customer, with an invalid grade or without approver is
    quarantined at ingest; rating its quarter then fails naming every such row, other quarters
    still rate, and an accepted override sets the final grade."""
    home, env = staged["home"], staged["env"]
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        code = con.execute("""select customer_code from marts.mart_credit_rating
                              where rating_quarter = '2023Q3' and rating_status = 'RATED' and computed_grade <> 1
                              order by customer_code limit 1""").fetchone()[0]
        other = con.execute("""select customer_code from marts.mart_credit_rating
                               where rating_quarter = '2023Q2' order by customer_code limit 1""").fetchone()[0]
    finally:
        con.close()
    overrides = home / "landing" / "overrides" / "credit_rating_overrides.csv"
    overrides.write_text(
        "customer_code,quarter,grade,reason,approver,approved_date\n"
        f"{code},2023Q3,1,strategic account,Director Wang,2023-10-05\n"
        "C99999,2023Q2,2,unknown customer,Director Wang,2023-07-05\n"
        f"{other},2023Q2,7,invalid grade,Director Wang,2023-07-05\n"
        f"{code},2023Q2,3,no approver,,2023-07-05\n", encoding="utf-8")
    from pipelines.ingest.load import load_window

    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"))
    try:
        load_window(con, "credit_overrides", home / "landing", date(2000, 1, 1), date(2099, 12, 31), home / "tmp")
    finally:
        con.close()

    failed = _rate(env, "2023Q2")
    assert failed.returncode != 0
    err = failed.stderr
    assert "3 credit-rating override row(s) rejected" in err, err[-3000:]
    for reason in ("unknown_customer", "invalid_grade", "missing_approver"):
        assert reason in err, err[-3000:]
    for line in ("line 3", "line 4", "line 5"):
        assert line in err, err[-3000:]

    ok = _rate(env, "2023Q3")
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        row = con.execute("""select computed_grade, override_grade, final_grade, override_approver
                             from marts.mart_credit_rating where rating_quarter = '2023Q3' and customer_code = ?""",
                          [code]).fetchone()
    finally:
        con.close()
    assert row[1] == 1 and row[2] == 1 and row[0] != 1 and row[3] == "Director Wang"


def test_grade_rule_unit_tests(staged):
    """The dbt unit tests of the grade rule and score (every condition of every grade, first-match
    precedence) pass with the rules file."""
    proc = _run(staged["env"], "-m", "pipelines", "dbt", "test", "--select", "int_credit_grades,test_type:unit")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "credit_grade_every_condition_and_precedence" in proc.stdout
    assert "incomplete_rating_has_no_grade_and_no_score" in proc.stdout
    assert "PASS=3" in proc.stdout


MISSING_DATA_UNIT_TESTS = {
    "k4_without_receivable_due_is_b",
    "receivables_not_delivered_k4_not_available",
    "undelivered_customer_column_indicator_not_available",
    "customers_not_delivered_every_attribute_indicator_not_available",
    "one_licence_not_delivered_o2_from_the_other",
    "incomplete_rating_has_no_grade_and_no_score",
    "incomplete_rating_final_grade_is_the_override",
}


def test_missing_data_unit_tests(staged, tmp_path):
    """The dbt unit tests of the credit models pass, among them the missing-data ones (each sets
    the var undelivered itself)."""
    result = run_dbt(["test", "--select", "int_credit_indicators,test_type:unit int_credit_grades,test_type:unit "
                      "mart_credit_rating,test_type:unit"], warehouse=staged["home"] / "warehouse" / "warehouse.duckdb",
                     workdir=tmp_path / "dbt")
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in result.run_results["results"]}
    assert MISSING_DATA_UNIT_TESTS <= set(statuses), sorted(statuses)
    assert set(statuses.values()) == {"pass"}, statuses


def test_company_without_receivables_is_rated_incomplete(staged, tmp_path, monkeypatch):
    """A company whose company.yml says it has no receivables: on a copy of the warehouse, every
    customer that is not NEW is INCOMPLETE (K4 not available, no computed grade or score), the other
    indicators are computed as before, the final grade is the override if any; the mart passes its
    dbt tests (the build below runs them: its checks), and the report says what is missing instead
    of a grade."""
    import shutil

    from python_calamine import CalamineWorkbook

    from pipelines.credit.report import build_rating_report

    folder = tmp_path / "company"
    folder.mkdir()
    (folder / "company.yml").write_text("company: {name: No receivables}\nsources:\n  receivables: {delivered: false}\n",
                                        encoding="utf-8")
    monkeypatch.setenv("DWH_CONFIG", str(folder))
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(staged["home"] / "warehouse" / "warehouse.duckdb", warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        before = {r[0]: r[1:] for r in con.execute(
            """select customer_code || rating_quarter, rating_status, k1_letter, k2_letter, o4_letter, o5_letter
               from marts.mart_credit_rating""").fetchall()}
    finally:
        con.close()
    run_dbt(["build", "--select", "int_credit_indicators+"], warehouse=warehouse, workdir=tmp_path / "dbt")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("""select customer_code || rating_quarter, rating_status, k1_letter, k2_letter, o4_letter,
                                     o5_letter, k4_letter, k4_reason, k4_on_time_share, computed_grade, credit_score,
                                     override_grade, final_grade, not_available
                              from marts.mart_credit_rating""").fetchall()
    finally:
        con.close()
    assert len(rows) == len(before)
    statuses = {r[1] for r in rows}
    assert statuses == {"NEW", "INCOMPLETE"}
    for key, status, k1, k2, o4, o5, k4, k4_reason, share, computed, score, override, final, na in rows:
        assert (status == "NEW") == (before[key][0] == "NEW")
        assert (k1, k2, o4, o5) == before[key][1:]  # the other indicators are unchanged
        assert k4 is None and share is None and k4_reason == "not available: receivables not delivered"
        assert computed is None and score is None and final == override and na == "K4 receivables"

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        path, counts = build_rating_report(con, "2023Q3", tmp_path / "reports", lang="en",
                                           relation="marts.mart_credit_rating")
        zh_path, _ = build_rating_report(con, "2023Q3", tmp_path / "reports_zh", lang="zh",
                                         relation="marts.mart_credit_rating")
    finally:
        con.close()
    book = CalamineWorkbook.from_path(str(path))
    body = [row for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()[1:]]
    assert len(body) == sum(counts.values()) > 0
    header = book.get_sheet_by_index(0).to_python()[0]
    status, on_time = header.index("Status"), header.index("On-time share")
    assert {r[status] for r in body} <= {"incomplete (not available: K4 receivables)", "NEW"}
    assert {r[on_time] for r in body} == {"No data delivered: the company does not deliver receivables"}
    zh = CalamineWorkbook.from_path(str(zh_path))
    zh_body = [row for name in zh.sheet_names for row in zh.get_sheet_by_name(name).to_python()[1:]]
    assert any(r[3] == "不完整（数据缺失：K4 应收账款）" for r in zh_body)
    assert all(str(r[on_time]).startswith("未提供数据") for r in zh_body)
