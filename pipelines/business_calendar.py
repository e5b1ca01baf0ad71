"""The business calendar: the company's public holidays, one source of truth for non-working days.

They are the rows of ``dbt_project/seeds/public_holidays.csv`` of the calendar that
``holiday_calendars.csv`` gives the business time zone (company.yml ``timezone``; a zone not
listed has none): the CSV files dbt seeds for ``dim_date`` (is_holiday, is_working_day).
``load_holidays`` copies them into ``quality.public_holidays`` for the raw-load volume checks,
which run before dbt (on a first run, before any seed is in the warehouse). Company configuration:
imports nothing downstream of it.
"""

from __future__ import annotations

import csv
import functools
from datetime import date
from typing import Any

from pipelines.settings import DBT_PROJECT_DIR

HOLIDAYS_CSV = DBT_PROJECT_DIR / "seeds" / "public_holidays.csv"
CALENDARS_CSV = DBT_PROJECT_DIR / "seeds" / "holiday_calendars.csv"
#: the checks' copy of the company's holidays (holiday_date, holiday_name)
HOLIDAYS_TABLE = "quality.public_holidays"


@functools.lru_cache(maxsize=4)
def _calendars(holidays_csv: str, calendars_csv: str, _stamp: tuple) -> tuple[dict[str, str], dict[str, dict[date, str]]]:
    with open(calendars_csv, newline="", encoding="utf-8") as f:
        zones = {r["timezone"].strip(): r["calendar"].strip() for r in csv.DictReader(f)}
    days: dict[str, dict[date, str]] = {}
    with open(holidays_csv, newline="", encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            try:
                day = date.fromisoformat(r["holiday_date"].strip())
            except (TypeError, ValueError):
                raise ValueError(f"{holidays_csv}:{i}: holiday_date {r.get('holiday_date')!r} is not a "
                                 f"date written YYYY-MM-DD") from None
            days.setdefault(r["calendar"].strip(), {})[day] = r["holiday_name"]
    return zones, days


def public_holidays(timezone: str | None = None) -> dict[date, str]:
    """Date -> name of the public holidays of the business time zone ``timezone`` (default: the
    company's); none when ``holiday_calendars.csv`` gives it no calendar. Re-read when the files change."""
    if timezone is None:
        from pipelines.company import company

        timezone = company().timezone
    files = (HOLIDAYS_CSV, CALENDARS_CSV)
    zones, days = _calendars(*map(str, files), tuple(p.stat().st_mtime_ns for p in files))
    return dict(days.get(zones.get(timezone, ""), {}))


def load_holidays(connection: Any, timezone: str | None = None) -> str | None:
    """(Re)write ``HOLIDAYS_TABLE`` on the DuckDB ``connection`` with ``public_holidays(timezone)``
    in one statement (readers see the old or the new calendar). A read-only connection leaves the
    table as it is; returns why the calendar cannot be read when there is none, else None."""
    import duckdb

    days = public_holidays(timezone)
    dates = sorted(days)
    schema, _, table = HOLIDAYS_TABLE.partition(".")
    try:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        connection.execute(
            f"CREATE OR REPLACE TABLE {HOLIDAYS_TABLE} AS SELECT CAST(unnest(CAST(? AS DATE[])) AS DATE) AS holiday_date, "
            "CAST(unnest(CAST(? AS VARCHAR[])) AS VARCHAR) AS holiday_name", [dates, [days[d] for d in dates]])
        return None
    except duckdb.Error:
        if connection.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                              [schema, table]).fetchone()[0]:
            return None
        return (f"reads {HOLIDAYS_TABLE}: no business calendar in this warehouse, and the connection cannot write "
                f"it (read-only)")
