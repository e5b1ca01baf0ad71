"""Calendar of the generated period: Chinese New Year dates (read from the dbt seed), the daily
sales-intensity factor (month seasonality x Chinese New Year dip x weekday pattern x growth)
and rep working days (Mon-Fri except the Spring Festival and National Day holidays)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
CNY_SEED = REPO_ROOT / "dbt_project" / "seeds" / "chinese_new_year.csv"

# cold-and-flu season peaks in winter, summer is quiet
MONTH_FACTOR = np.array([1.15, 1.0, 1.0, 0.95, 0.9, 0.88, 0.85, 0.9, 1.0, 1.05, 1.15, 1.25])
# Monday .. Sunday: distributors invoice on weekdays, a little on Saturday, hardly on Sunday
WEEKDAY_FACTOR = np.array([1.15, 1.1, 1.1, 1.05, 1.05, 0.45, 0.15])
ANNUAL_GROWTH = 1.07
# (first offset, last offset, factor) relative to New Year's day (day 0)
CNY_WINDOWS = [(-21, -8, 1.25), (-7, -2, 1.1), (-1, 6, 0.08), (7, 13, 0.6), (14, 20, 0.9)]
SPRING_FESTIVAL_HOLIDAY = (-1, 6)  # rest days around New Year's day


@lru_cache(maxsize=4)
def load_cny_dates(path: str | None = None) -> dict[int, date]:
    """Year -> Chinese New Year's day, from ``dbt_project/seeds/chinese_new_year.csv``."""
    with open(path or CNY_SEED, newline="", encoding="utf-8") as f:
        return {int(r["year"]): date.fromisoformat(r["new_year_date"]) for r in csv.DictReader(f)}


def day_dates(start: date, days: int) -> np.ndarray:
    return np.datetime64(start, "D") + np.arange(days)


def _cny_offsets(start: date, days: int) -> np.ndarray:
    """Offset in days of every day to the nearest Chinese New Year (large if none known)."""
    d = day_dates(start, days)
    cny = load_cny_dates()
    best = np.full(days, 10_000, dtype=np.int64)
    for y in range(start.year - 1, (start + timedelta(days=days)).year + 2):
        if y in cny:
            off = (d - np.datetime64(cny[y], "D")).astype(np.int64)
            best = np.where(np.abs(off) < np.abs(best), off, best)
    return best


def sales_factor(start: date, days: int) -> np.ndarray:
    """Relative sales intensity of every day of the period, normalised to mean 1."""
    d = day_dates(start, days)
    months = d.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (d.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    f = MONTH_FACTOR[months] * WEEKDAY_FACTOR[weekday]
    off = _cny_offsets(start, days)
    for lo, hi, fac in CNY_WINDOWS:
        f = np.where((off >= lo) & (off <= hi), f * fac, f)
    f = f * ANNUAL_GROWTH ** (np.arange(days) / 365.25)
    return f / f.mean()


def working_days(start: date, days: int) -> np.ndarray:
    """Boolean per day: a normal working day for reps."""
    d = day_dates(start, days)
    weekday = (d.astype(np.int64) + 3) % 7
    off = _cny_offsets(start, days)
    months = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    national_day = (months == 10) & (dom <= 7)
    labour_day = (months == 5) & (dom <= 3)
    lo, hi = SPRING_FESTIVAL_HOLIDAY
    holiday = ((off >= lo) & (off <= hi)) | national_day | labour_day
    return (weekday < 5) & ~holiday


def weekday_of(start: date, days: int) -> np.ndarray:
    return (day_dates(start, days).astype(np.int64) + 3) % 7
