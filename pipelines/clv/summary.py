"""Customer-day arrays → the per-customer summary the CLV models need, as of a date.

Everything is numpy over arrays of customer-days (customer index, day number, purchase flag,
value): no Python loop over customers. Days are integers (days since 1970-01-01); the model time
unit is weeks (``WEEK_DAYS``), as in the BG/NBD and Gamma-Gamma papers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEK_DAYS = 7.0
# One month in weeks (mean Gregorian month): the step of the monthly expected-purchases curve.
MONTH_WEEKS = 365.2425 / 12.0 / WEEK_DAYS


@dataclass(frozen=True)
class CustomerSummary:
    """Per customer (index 0..n-1), as of one day. Customers without a purchase by then have
    ``has_purchase`` False, x = t_x = T = 0 and NaN dates/values."""

    has_purchase: np.ndarray     # bool: at least one purchase on or before the as-of day
    n_purchases: np.ndarray      # purchase days (first one included)
    x: np.ndarray                # frequency: repeat purchase days
    t_x: np.ndarray              # recency: first → last purchase, weeks
    T: np.ndarray                # age: first purchase → as-of day, weeks
    first_day: np.ndarray        # day number of the first purchase (-1 without)
    last_day: np.ndarray         # day number of the last purchase (-1 without)
    zbar: np.ndarray             # mean value of the repeat purchases (NaN when x = 0)
    total_value: np.ndarray      # value of all purchase days


def aggregate_customer_days(customer, day, *values):
    """Sum ``values`` per (customer, day): returns (customer, day, *sums) sorted by customer and
    day, one entry per customer-day."""
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    if len(customer) == 0:
        return (customer, day, *(np.asarray(v, dtype=float) for v in values))
    span = int(day.max() - day.min()) + 1
    key = customer * span + (day - day.min())
    keys, inverse = np.unique(key, return_inverse=True)
    sums = [np.bincount(inverse, weights=np.asarray(v, dtype=float), minlength=len(keys)) for v in values]
    return (keys // span, keys % span + day.min(), *sums)


def summarise(customer, day, is_purchase, value, *, n_customers: int, as_of_day: int,
              time_unit_days: float = WEEK_DAYS) -> CustomerSummary:
    """Frequency/recency/age/mean repeat value per customer from one-row-per-customer-day arrays
    (see ``aggregate_customer_days``), using only days on or before ``as_of_day``.

    A purchase is a customer-day with ``is_purchase``; x = purchase days − 1; t_x and T run from
    the first purchase day to the last purchase day and to the as-of day; z̄ = mean ``value`` of
    the purchase days after the first.
    """
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    value = np.asarray(value, dtype=float)
    keep = (day <= as_of_day) & np.asarray(is_purchase, dtype=bool)
    c, d, v = customer[keep], day[keep], value[keep]

    count = np.bincount(c, minlength=n_customers)
    has = count > 0
    big = np.iinfo(np.int64).max
    first = np.full(n_customers, big, dtype=np.int64)
    np.minimum.at(first, c, d)
    last = np.full(n_customers, -1, dtype=np.int64)
    np.maximum.at(last, c, d)
    total = np.bincount(c, weights=v, minlength=n_customers)
    first_value = np.bincount(c, weights=np.where(d == first[c], v, 0.0), minlength=n_customers)

    x = np.maximum(count - 1, 0)
    first = np.where(has, first, -1)
    t_x = np.where(has, (last - first) / time_unit_days, 0.0)
    T = np.where(has, (as_of_day - first) / time_unit_days, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        zbar = np.where(x > 0, (total - first_value) / x, np.nan)
    return CustomerSummary(has, count, x.astype(float), t_x, T, first, last, zbar, total)


def month_ends(first_day: int, last_day: int) -> np.ndarray:
    """Day numbers of every month end from the month of ``first_day`` up to ``last_day``
    (a month end after ``last_day`` — the current, incomplete month — is left out)."""
    first_month = np.datetime64(int(first_day), "D").astype("datetime64[M]")
    last_month = np.datetime64(int(last_day), "D").astype("datetime64[M]")
    months = np.arange(first_month, last_month + 1)
    ends = ((months + 1).astype("datetime64[D]") - np.timedelta64(1, "D")).astype(np.int64)
    return ends[ends <= last_day]
