"""The business calendar: one source of truth for non-working days (the seeds
``public_holidays.csv`` and ``holiday_calendars.csv``), read by dbt's ``dim_date`` and, from the
same CSV files, by the raw-load volume checks (``quality.public_holidays``, which
``pipelines/business_calendar.py`` writes at every raw validation), so that a Chinese New Year or
National Day week with few or no rows does not warn while an ordinary working day without rows
still does (real GX, real DuckDB:
``structural.validate_raw``, what the raw checks run). The warehouse of these validations has
raw tables only — no seed, no ``dim_date`` — as on a first run, when the raw checks run before
dbt has built anything."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from conftest import REPO

from pipelines import business_calendar
from pipelines.quality import structural

SEEDS = REPO / "dbt_project" / "seeds"
D = dt.date.fromisoformat


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


# ------------------------------------------------------------------------------ the seed


def _new_years() -> dict[int, dt.date]:
    with open(SEEDS / "chinese_new_year.csv", newline="", encoding="utf-8") as f:
        return {int(r["year"]): D(r["new_year_date"]) for r in csv.DictReader(f)}


def test_the_china_calendar_covers_1990_to_2060_with_its_holidays():
    holidays = business_calendar.public_holidays("Asia/Shanghai")
    with open(SEEDS / "public_holidays.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len({(r["calendar"], r["holiday_date"]) for r in rows}), "one row per calendar and day"
    assert {r["calendar"] for r in rows} == {"CN"} and all(r["holiday_name"] and r["holiday_name_zh"] for r in rows)
    assert {d.year for d in holidays} == set(range(1990, 2061))
    new_years = _new_years()
    for year in range(1990, 2061):
        expected = {D(f"{year}-01-01"), *_days(D(f"{year}-05-01"), D(f"{year}-05-05")),
                    *_days(D(f"{year}-10-01"), D(f"{year}-10-07")),
                    # from New Year's Eve to the 7th day: the CNY period of dim_date (7 days) and the Eve
                    *_days(new_years[year] - dt.timedelta(days=1), new_years[year] + dt.timedelta(days=6))}
        assert expected <= set(holidays), year
        named = {holidays[d] for d in holidays if d.year == year}
        lunar = {"Qingming Festival", "Dragon Boat Festival", "Mid-Autumn Festival"}
        if year >= 2008:  # statutory since 2008: one day each, on its solar term or lunar date
            assert all(any(n in name for name in named) for n in lunar), (year, named)
        else:
            assert not any(n in name for n in lunar for name in named), (year, named)
    # spot checks against the published dates
    assert holidays[D("2024-04-04")] == "Qingming Festival"
    assert holidays[D("2024-06-10")] == "Dragon Boat Festival"
    assert holidays[D("2024-09-17")] == "Mid-Autumn Festival"
    assert holidays[D("2025-10-06")] == "Mid-Autumn Festival / National Day"
    assert holidays[D("2025-01-28")] == "Spring Festival (New Year's Eve)"
    assert D("2024-10-08") not in holidays and D("2024-05-06") not in holidays


def test_the_calendar_follows_the_business_time_zone():
    """Mainland China zones follow CN; a company elsewhere (Northwind) has no holidays."""
    china = business_calendar.public_holidays("Asia/Shanghai")
    assert china and business_calendar.public_holidays("PRC") == china
    assert business_calendar.public_holidays("America/Los_Angeles") == {}


def test_the_checks_copy_of_the_calendar(tmp_path):
    """load_holidays writes the company's holidays into quality.public_holidays (replacing what a
    previous company or edit left); a read-only connection uses the table as it is, and without
    one the expectations reading it are skipped, with the reason."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        assert business_calendar.load_holidays(con, "Asia/Shanghai") is None
        rows = con.execute(f"SELECT holiday_date, holiday_name FROM {business_calendar.HOLIDAYS_TABLE} ORDER BY 1").fetchall()
        assert dict(rows) == business_calendar.public_holidays("Asia/Shanghai") and len(rows) > 1500
        assert business_calendar.load_holidays(con, "America/Los_Angeles") is None
        assert con.execute(f"SELECT count(*) FROM {business_calendar.HOLIDAYS_TABLE}").fetchone()[0] == 0
        business_calendar.load_holidays(con, "Asia/Shanghai")
    finally:
        con.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert business_calendar.load_holidays(con, "Asia/Shanghai") is None  # there, as the last check wrote it
    finally:
        con.close()
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    con = duckdb.connect(str(empty), read_only=True)
    try:
        assert "quality.public_holidays" in business_calendar.load_holidays(con, "Asia/Shanghai")
    finally:
        con.close()


# ------------------------------------------------------ the volume checks on holidays


CNY_2024 = _days(D("2024-02-09"), D("2024-02-16"))       # New Year's Eve .. 7th day
NATIONAL_DAY_2024 = _days(D("2024-10-01"), D("2024-10-07"))
EMPTY_WORKING_DAY = D("2024-10-16")                     # an ordinary Wednesday
FIRST, LAST = D("2024-01-01"), D("2024-10-31")
DAILY = ["sales_lines", "receivables", "visits"]


def _warehouse(path: Path, table: str, rows_per_day: dict[dt.date, int]) -> Path:
    """A warehouse with the raw tables only (as ingest creates them) and ``rows_per_day`` rows of
    ``table`` per ``_partition_date`` (lineage filled, the business columns NULL: the volume
    expectations count rows)."""
    from pipelines.ingest.load import ensure_raw_tables

    con = duckdb.connect(str(path))
    try:
        ensure_raw_tables(con)
        values = ", ".join(f"(DATE '{d}', {n})" for d, n in rows_per_day.items() if n)
        con.execute(f"""
            INSERT INTO raw.{table} (_partition_date, _source_file, _source_line, _load_id, _loaded_at)
            SELECT day, 'synthetic/' || strftime(day, '%Y%m%d') || '.csv', k + 1, 'test', now()
            FROM (VALUES {values}) AS v(day, n), range(n) AS r(k)""")
    finally:
        con.close()
    return path


def _daily_rows() -> dict[dt.date, int]:
    """100 rows a day, a handful on National Day, none in the Chinese New Year week nor on one
    ordinary working day."""
    rows = {d: 100 for d in _days(FIRST, LAST)}
    rows.update({d: 0 for d in CNY_2024})
    rows.update({d: 3 for d in NATIONAL_DAY_2024})
    rows[EMPTY_WORKING_DAY] = 0
    return rows


def _calendar_warnings(path: Path, table: str, window, timezone: str = "Asia/Shanghai") -> list[dict]:
    """The failed expectations on ``_partition_date`` (the volume and empty-window checks) of a
    real validation of ``raw.<table>`` over ``window``."""
    con = duckdb.connect(str(path))  # a writer, as the check's connection
    try:
        out = structural.validate_raw(table, connection=con, window=window, timezone=timezone)
    finally:
        con.close()
    assert out.skipped == [], out.summary()
    found = [f for f in out.failed if f["column"] == "_partition_date"]
    assert all(f["severity"] == "warning" for f in found), found
    return found


@pytest.fixture(scope="module", params=DAILY)
def daily(request, tmp_path_factory) -> tuple[str, Path]:
    table = request.param
    return table, _warehouse(tmp_path_factory.mktemp(f"calendar_{table}") / "warehouse.duckdb", table, _daily_rows())


def _volume(found: list[dict]) -> list[dict]:
    return [f for f in found if "same_weekday_avg" in str(f["kwargs"])]


def test_a_chinese_new_year_week_without_rows_does_not_warn(daily):
    table, path = daily
    assert _calendar_warnings(path, table, (CNY_2024[0], CNY_2024[-1])) == []
    for day in CNY_2024:  # day by day, as the daily schedule validates
        assert _calendar_warnings(path, table, (day, day)) == [], day


def test_a_national_day_week_with_few_rows_does_not_warn(daily):
    table, path = daily
    assert _calendar_warnings(path, table, (NATIONAL_DAY_2024[0], NATIONAL_DAY_2024[-1])) == []
    # the day after: its baseline leaves the holiday out, so a normal day passes
    assert _calendar_warnings(path, table, (D("2024-10-08"), D("2024-10-08"))) == []


def test_an_ordinary_working_day_without_rows_still_warns(daily):
    table, path = daily
    found = _calendar_warnings(path, table, (EMPTY_WORKING_DAY, EMPTY_WORKING_DAY))
    (volume,) = _volume(found)
    (row,) = volume["sample_unexpected_values"]
    assert row["partition_date"] == EMPTY_WORKING_DAY.isoformat() and row["row_count"] == 0
    assert row["same_weekday_avg"] == 100 and row["weeks_seen"] == 3  # 2 October left out: a holiday
    if table != "visits":  # sales lines and receivables also expect rows on a day that is not a holiday
        (empty,) = [f for f in found if f is not volume]
        assert empty["sample_unexpected_values"] == [
            {"first_day": EMPTY_WORKING_DAY.isoformat(), "last_day": EMPTY_WORKING_DAY.isoformat(),
             "days_not_holidays": 1, "row_count": 0}]


def test_over_the_whole_history_only_the_ordinary_day_warns(daily):
    table, path = daily
    (volume,) = _volume(_calendar_warnings(path, table, (FIRST, LAST)))
    assert [r["partition_date"] for r in volume["sample_unexpected_values"]] == [EMPTY_WORKING_DAY.isoformat()]


def test_without_a_calendar_the_same_days_warn(daily):
    """A company whose time zone follows no calendar gets no holidays: the same empty Chinese New
    Year weekdays warn, so it is the calendar that keeps them quiet."""
    table, path = daily
    (volume,) = _volume(_calendar_warnings(path, table, (CNY_2024[0], CNY_2024[-1]), timezone="America/Los_Angeles"))
    assert {r["partition_date"] for r in volume["sample_unexpected_values"]} == {d.isoformat() for d in CNY_2024}


def test_stock_reports_of_holiday_weeks_do_not_warn(tmp_path):
    """Weekly stock reports: the Chinese New Year week (12-18 February 2024) and the National Day
    week (30 September - 6 October) have 3 or more weekday holidays and no reports: no warning;
    an ordinary week without reports still warns."""
    mondays = [FIRST + dt.timedelta(days=7 * k) for k in range(44)]  # 2024-01-01 is a Monday
    cny_week, national_day_week, ordinary = D("2024-02-12"), D("2024-09-30"), D("2024-10-21")
    rows = {m: 100 for m in mondays} | {cny_week: 0, national_day_week: 0, ordinary: 0}
    path = _warehouse(tmp_path / "warehouse.duckdb", "stock_reports", rows)
    week = lambda monday: (monday, monday + dt.timedelta(days=6))  # noqa: E731
    assert _calendar_warnings(path, "stock_reports", week(cny_week)) == []
    assert _calendar_warnings(path, "stock_reports", week(national_day_week)) == []
    assert _calendar_warnings(path, "stock_reports", week(D("2024-10-07"))) == []
    found = _calendar_warnings(path, "stock_reports", week(ordinary))
    assert len(found) == 2, found  # the volume anomaly and the empty window
    (volume,) = [f for f in found if "previous_4_weeks_avg" in str(f["kwargs"])]
    (row,) = volume["sample_unexpected_values"]
    assert row["week"] == ordinary.isoformat() and row["row_count"] == 0


# ------------------------------------------------------------ dim_date, built by dbt


def test_dim_date_marks_the_days_the_checks_excuse(tmp_path):
    """dim_date (built by dbt from the seeds) and the checks (reading the CSV files) agree: the
    same holidays, with their names; working days are Monday-Friday except them."""
    from support import run_dbt

    from pipelines.company import company

    path = tmp_path / "warehouse.duckdb"
    run_dbt(["build", "--select", "chinese_new_year", "public_holidays", "holiday_calendars", "dim_date"],
            warehouse=path, workdir=tmp_path / "dbt")
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT date_day, is_holiday, holiday_name, is_working_day, day_of_week "
                           "FROM marts.dim_date ORDER BY 1").fetchall()
    finally:
        con.close()
    holidays = business_calendar.public_holidays(company().timezone)
    assert holidays
    assert {d: n for d, is_holiday, n, _w, _dow in rows if is_holiday} == \
        {d: n for d, n in holidays.items() if rows[0][0] <= d <= rows[-1][0]}
    assert all(w == (dow <= 5 and not h) for _d, h, _n, w, dow in rows)
    assert all((n is None) == (not h) for _d, h, n, _w, _dow in rows)


# ---------------------------------------------------------------------- the suite files


def test_a_read_only_validation_without_the_calendar_skips_the_volume_checks(tmp_path):
    path = _warehouse(tmp_path / "warehouse.duckdb", "sales_lines", _daily_rows())
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = structural.validate_raw("sales_lines", connection=con, window=(EMPTY_WORKING_DAY, EMPTY_WORKING_DAY))
    finally:
        con.close()
    assert [s["column"] for s in out.skipped] == ["_partition_date", "_partition_date"]
    assert all("quality.public_holidays" in s["reason"] for s in out.skipped)
    assert not any(f["column"] == "_partition_date" for f in out.failed)


@pytest.mark.parametrize("table", [*DAILY, "stock_reports"])
def test_the_facts_volume_expectations_read_the_calendar(table):
    import json

    data = json.loads((REPO / "expectations" / f"raw_{table}.json").read_text(encoding="utf-8"))
    volume = [e for e in data["expectations"] if "volume anomaly" in (e.get("meta") or {}).get("why", "")]
    (query,) = ["\n".join(e["kwargs"]["unexpected_rows_query"]) for e in volume]
    assert business_calendar.HOLIDAYS_TABLE in query
    assert "NOT IN (SELECT day FROM holidays)" in query or "NOT IN (SELECT week FROM holiday_weeks)" in query
    # nothing expects rows on a day without knowing the calendar
    assert not any(e["type"] == "expect_table_row_count_to_be_between" for e in data["expectations"])

