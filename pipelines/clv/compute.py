"""Rule R7 on arrays: customer-days in, the customer-lifetime-value mart and the model fits out.

Design (documented in the mart's description too):

* **Purchase** = a customer-day with positive net sales (all lines of the day summed, returns
  included). Days whose net is zero or negative (returns only) are not purchases, but their
  margin still counts in the historical CLV.
* **Historical CLV** = cumulative gross margin (net amount − standard cost) of every line up to
  the as-of date. Lines of an unknown product have no standard cost; they add nothing to the
  margin and are counted in ``uncosted_lines``.
* **BG/NBD** on (x = repeat purchase days, t_x, T) in weeks, fitted on every customer with at
  least one purchase by the as-of date. **Gamma-Gamma** on the mean gross margin of the repeat
  purchase days, fitted on customers with x > 0 and a positive mean; customers with x > 0 and a
  mean margin ≤ 0 get expected margin 0 (the model needs positive values, and a customer that
  has only ever bought at a loss is not expected to turn a profit); customers with x = 0 get the
  population mean p γ / (q − 1).
* **Predictive CLV** = Σ over the months m = 1..horizon of the BG/NBD expected purchases in month
  m, discounted by (1 + annual rate)^(−m/12), × the Gamma-Gamma expected margin per purchase.
* **As-of dates**: every month end from the first sale's month to the last month end on or
  before the latest invoice date (the current month waits until it is complete). Each as-of
  date fits both models on the data up to that date only (point in time: a past month end
  always gets the numbers it would have got then), from the same cold start.
* **Customers without a purchase** by the as-of date (in the customer dimension already, or only
  with returns/zero days): historical CLV = their margin to date (0 without any line), expected
  purchases 0, predictive CLV 0, p_alive and expected margin NULL (BG/NBD describes customers
  from their first purchase on).
* A model that did not converge leaves its outputs NULL for that as-of date (p_alive and
  expected purchases for BG/NBD, expected margin for Gamma-Gamma, predictive CLV for either);
  the fits table says why. A fit whose parameters ran to the edge of the search box (customers
  that do not differ in dropout or in margin: the MLE is the limiting model) is used and
  flagged ``at_bound`` there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.clv import models
from pipelines.clv.summary import MONTH_WEEKS, month_ends, summarise

TIME_UNIT = "week"


@dataclass(frozen=True)
class CustomerDays:
    """The facts aggregated per customer-day, plus the customer universe.

    ``codes`` are the customers (index 0..n-1); ``known_from`` is the day number from which each
    customer exists without having bought (first customer-dimension version; a large number when
    unknown). The day arrays hold one entry per customer-day with lines.
    """

    codes: np.ndarray
    known_from: np.ndarray
    customer: np.ndarray
    day: np.ndarray
    net_amount: np.ndarray
    margin_amount: np.ndarray
    uncosted_lines: np.ndarray

    @classmethod
    def from_arrays(cls, day_codes, day, net_amount, margin_amount, uncosted_lines,
                    dim_codes=(), dim_known_from=()) -> "CustomerDays":
        """Build from the SQL results: customer-day rows (by customer code) and the dimension's
        customers with their first valid-from day."""
        day_codes = np.asarray(day_codes, dtype=object)
        dim_codes = np.asarray(dim_codes, dtype=object)
        codes, inverse = np.unique(np.concatenate([day_codes, dim_codes]).astype(str), return_inverse=True)
        customer = inverse[: len(day_codes)]
        known_from = np.full(len(codes), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(known_from, inverse[len(day_codes):], np.asarray(dim_known_from, dtype=np.int64))
        return cls(codes, known_from, customer.astype(np.int64), np.asarray(day, dtype=np.int64),
                   np.asarray(net_amount, dtype=float), np.asarray(margin_amount, dtype=float),
                   np.asarray(uncosted_lines, dtype=np.int64))

    def as_of_days(self) -> np.ndarray:
        """Every month end from the first sale's month to the last complete month."""
        if len(self.day) == 0:
            return np.array([], dtype=np.int64)
        return month_ends(int(self.day.min()), int(self.day.max()))


@dataclass(frozen=True)
class AsOfResult:
    as_of_day: int
    mart: pd.DataFrame
    bgnbd: models.FitResult
    gamma_gamma: models.FitResult
    gg_excluded_nonpositive: int


def compute_as_of(data: CustomerDays, as_of_day: int, *, horizon_months: int,
                  annual_discount_rate: float) -> AsOfResult:
    """The mart rows and both fits for one as-of date (data up to that date only)."""
    n = len(data.codes)
    upto = data.day <= as_of_day
    c = data.customer[upto]
    historical = np.bincount(c, weights=data.margin_amount[upto], minlength=n)
    net = np.bincount(c, weights=data.net_amount[upto], minlength=n)
    uncosted = np.bincount(c, weights=data.uncosted_lines[upto], minlength=n)
    has_lines = np.bincount(c, minlength=n) > 0
    exists = has_lines | (data.known_from <= as_of_day)

    s = summarise(data.customer, data.day, data.net_amount > 0, data.margin_amount,
                  n_customers=n, as_of_day=as_of_day)
    buyer = s.has_purchase
    bg = models.fit_bgnbd(s.x[buyer], s.t_x[buyer], s.T[buyer])
    gg_rows = buyer & (s.x > 0) & (s.zbar > 0)
    gg = models.fit_gamma_gamma(s.x[gg_rows], s.zbar[gg_rows])
    nonpositive = buyer & (s.x > 0) & ~(s.zbar > 0)

    p_alive = np.full(n, np.nan)
    purchases = np.where(buyer, np.nan, 0.0)
    discounted = np.where(buyer, np.nan, 0.0)
    if bg.converged and buyer.any():
        p_alive[buyer] = models.bgnbd_p_alive(bg.params, s.x[buyer], s.t_x[buyer], s.T[buyer])
        disc, undisc = models.discounted_expected_purchases(
            bg.params, s.x[buyer], s.t_x[buyer], s.T[buyer], horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate, month_length=MONTH_WEEKS)
        purchases[buyer], discounted[buyer] = undisc, disc
    margin = np.full(n, np.nan)
    if gg.converged:
        margin[buyer] = models.gamma_gamma_expected_value(gg.params, s.x[buyer], s.zbar[buyer])
    margin[nonpositive] = 0.0
    predictive = np.where(buyer, discounted * margin, 0.0)

    def as_date(days):
        return np.where(days >= 0, days, 0).astype("datetime64[D]")

    rows = exists
    mart = pd.DataFrame({
        "as_of_date": np.full(rows.sum(), as_of_day).astype("datetime64[D]"),
        "customer_code": data.codes[rows],
        "first_purchase_date": pd.Series(as_date(s.first_day[rows])).where(buyer[rows]),
        "last_purchase_date": pd.Series(as_date(s.last_day[rows])).where(buyer[rows]),
        "purchase_days": s.n_purchases[rows],
        "frequency": s.x[rows].astype(np.int64),
        "recency_weeks": np.where(buyer, s.t_x, np.nan)[rows],
        "age_weeks": np.where(buyer, s.T, np.nan)[rows],
        "historical_net_amount": net[rows],
        "historical_clv": historical[rows],
        "uncosted_lines": uncosted[rows].astype(np.int64),
        "mean_repeat_margin": s.zbar[rows],
        "p_alive": p_alive[rows],
        "expected_purchases": purchases[rows],
        "expected_margin_per_purchase": margin[rows],
        "predictive_clv": predictive[rows],
    })
    return AsOfResult(int(as_of_day), mart, bg, gg, int(nonpositive.sum()))


def compute_all(data: CustomerDays, *, horizon_months: int, annual_discount_rate: float,
                as_of_days=None) -> list[AsOfResult]:
    """``compute_as_of`` for every as-of date (default: ``data.as_of_days()``)."""
    days = data.as_of_days() if as_of_days is None else np.asarray(as_of_days, dtype=np.int64)
    return [compute_as_of(data, int(d), horizon_months=horizon_months, annual_discount_rate=annual_discount_rate)
            for d in days]
