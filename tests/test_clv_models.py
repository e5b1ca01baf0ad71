"""Unit tests of the CLV models (rule R7): likelihoods against hand computations, gradients,
predictions against independent integrals, discounting, and the edge customers of the mart."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from pipelines.clv import models
from pipelines.clv.compute import CustomerDays, compute_as_of
from pipelines.clv.summary import MONTH_WEEKS, aggregate_customer_days, month_ends, summarise

BG = {"r": 0.5, "alpha": 2.0, "a": 1.5, "b": 3.0}
GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


# --------------------------------------------------------------------------- likelihoods


def test_bgnbd_likelihood_no_repeat_is_hand_computed():
    # x = 0: L = (α / (α + T))^r = (2 / 8)^0.5 = 0.5
    ll = models.bgnbd_log_likelihood(list(BG.values()), np.array([0.0]), np.array([0.0]), np.array([6.0]))
    assert ll[0] == pytest.approx(math.log(0.5), abs=1e-12)


def test_bgnbd_likelihood_matches_paper_equation_6():
    """FHL 2005 eq. 6 with Beta functions, written out for one customer (x = 2, t_x = 4, T = 6)."""
    r, alpha, a, b = BG.values()
    x, t_x, T = 2, 4.0, 6.0
    beta = lambda u, v: math.gamma(u) * math.gamma(v) / math.gamma(u + v)  # noqa: E731
    common = math.gamma(r + x) * alpha ** r / math.gamma(r)
    expected = (beta(a, b + x) / beta(a, b) * common / (alpha + T) ** (r + x)
                + beta(a + 1, b + x - 1) / beta(a, b) * common / (alpha + t_x) ** (r + x))
    ll = models.bgnbd_log_likelihood(list(BG.values()), np.array([x]), np.array([t_x]), np.array([T]))
    assert ll[0] == pytest.approx(math.log(expected), rel=1e-12)


def test_gamma_gamma_likelihood_is_a_density_and_hand_computed():
    p, q, g = GG.values()
    x, z = 3.0, 20.0
    expected = (math.gamma(p * x + q) / (math.gamma(p * x) * math.gamma(q))
                * g ** q * z ** (p * x - 1) * x ** (p * x) / (g + x * z) ** (p * x + q))
    ll = models.gamma_gamma_log_likelihood(list(GG.values()), np.array([x]), np.array([z]))
    assert ll[0] == pytest.approx(math.log(expected), rel=1e-12)
    density = lambda v: math.exp(models.gamma_gamma_log_likelihood(list(GG.values()), np.array([x]), np.array([v]))[0])  # noqa: E731
    assert integrate.quad(density, 0, np.inf)[0] == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("which", ["bgnbd", "gamma_gamma"])
def test_analytic_gradients(which):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 50).astype(float)
    if which == "bgnbd":
        T = rng.uniform(5, 40, 50)
        t_x = np.where(x > 0, rng.uniform(0, 1, 50) * T, 0.0)
        params = np.array(list(BG.values()))
        f = lambda th: models.bgnbd_log_likelihood(th, x, t_x, T).sum()  # noqa: E731
        g = lambda th: models.bgnbd_log_likelihood(th, x, t_x, T, gradient=True)[1].sum(axis=0)  # noqa: E731
    else:
        x = x + 1
        z = rng.gamma(5, 4, 50)
        params = np.array(list(GG.values()))
        f = lambda th: models.gamma_gamma_log_likelihood(th, x, z).sum()  # noqa: E731
        g = lambda th: models.gamma_gamma_log_likelihood(th, x, z, gradient=True)[1].sum(axis=0)  # noqa: E731
    numeric = optimize.approx_fprime(params, f, 1e-7)
    np.testing.assert_allclose(g(params), numeric, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- predictions


def _expected_by_integral(params, x, t_x, T, t):
    """E[Y(t)] = P(alive) · E_p[(1 − ((α+T)/(α+T+p t))^(r+x)) / p], p ~ Beta(a, b+x): a derivation
    independent of eq. 10's hypergeometric function."""
    r, alpha, a, b = params.values()
    alive = models.bgnbd_p_alive(params, np.array([x]), np.array([t_x]), np.array([T]))[0]
    log_beta = special.betaln(a, b + x)

    def integrand(p):
        weight = math.exp((a - 1) * math.log(p) + (b + x - 1) * math.log1p(-p) - log_beta)
        return weight * -math.expm1((r + x) * (math.log(alpha + T) - math.log(alpha + T + p * t))) / p

    return alive * integrate.quad(integrand, 0, 1, limit=200)[0]


@pytest.mark.parametrize("x, t_x, T, t", [(0, 0, 38.86, 39), (2, 30.43, 38.86, 39), (26, 30.86, 31.0, 39),
                                          (1000, 155, 156, 156), (3000, 155, 156, 156), (5, 10, 52, 4.35)])
def test_expected_purchases_against_integral(x, t_x, T, t):
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    got = models.bgnbd_expected_purchases(params, np.array([x], float), np.array([t_x], float), np.array([T], float), t)
    assert got[0] == pytest.approx(_expected_by_integral(params, x, t_x, T, t), rel=1e-7)


def test_expected_purchases_curve_shape():
    x, t_x, T = np.array([0.0, 3.0, 10.0]), np.array([0.0, 20.0, 5.0]), np.array([30.0, 30.0, 30.0])
    curve = models.bgnbd_expected_purchases(BG, x, t_x, T, np.arange(0, 37) * MONTH_WEEKS)
    assert curve.shape == (3, 37)
    assert np.all(curve[:, 0] == 0) and np.all(np.diff(curve, axis=1) > 0)


def test_p_alive():
    alive = models.bgnbd_p_alive(BG, np.array([0.0, 5.0, 5.0]), np.array([0.0, 29.0, 2.0]), np.array([30.0, 30.0, 30.0]))
    assert alive[0] == 1.0                       # no repeat purchase: cannot have dropped out yet
    assert 0 < alive[2] < alive[1] < 1           # a long silence since the last purchase lowers it


def test_gamma_gamma_expected_value():
    p, q, g = GG.values()
    value = models.gamma_gamma_expected_value(GG, np.array([0.0, 4.0, 1e9]), np.array([np.nan, 30.0, 30.0]))
    assert value[0] == pytest.approx(p * g / (q - 1))                       # x = 0: population mean
    assert value[1] == pytest.approx((g + 4 * 30.0) * p / (p * 4 + q - 1))  # shrunk towards it
    assert value[2] == pytest.approx(30.0, rel=1e-6)                        # many purchases: own mean
    assert np.isnan(models.gamma_gamma_expected_value({"p": 1.0, "q": 0.9, "gamma": 1.0}, np.array([1.0]), np.array([2.0]))[0])


# --------------------------------------------------------------------------- discounting


def test_discount_factors():
    factors = models.monthly_discount_factors(36, 0.10)
    assert len(factors) == 36
    assert factors[11] == pytest.approx(1 / 1.10) and factors[35] == pytest.approx(1 / 1.10 ** 3)
    assert np.all(models.monthly_discount_factors(36, 0.0) == 1.0)


def test_zero_discount_clv_is_purchases_times_margin_and_discount_lowers_it():
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 10.0, 25.0]), np.array([20.0, 30.0, 26.0])
    zbar = np.array([np.nan, 40.0, 15.0])
    kwargs = {"horizon_months": 36, "month_length": MONTH_WEEKS}
    clv0, purchases, value = models.predictive_clv(BG, GG, x, t_x, T, zbar, annual_discount_rate=0.0, **kwargs)
    np.testing.assert_allclose(clv0, purchases * value, rtol=1e-12)
    np.testing.assert_allclose(
        purchases, models.bgnbd_expected_purchases(BG, x, t_x, T, 36 * MONTH_WEEKS), rtol=1e-12)
    clv10, purchases10, _ = models.predictive_clv(BG, GG, x, t_x, T, zbar, annual_discount_rate=0.10, **kwargs)
    np.testing.assert_allclose(purchases10, purchases)
    assert np.all(clv10 < clv0) and np.all(clv10 > clv0 / 1.10 ** 3)
    # month by month: Σ_m ΔE_m (1.1)^(−m/12), by hand for the second customer
    curve = models.bgnbd_expected_purchases(BG, x[1:2], t_x[1:2], T[1:2], np.arange(37) * MONTH_WEEKS)[0]
    by_hand = sum((curve[m] - curve[m - 1]) * 1.10 ** (-m / 12) for m in range(1, 37)) * value[1]
    assert clv10[1] == pytest.approx(by_hand, rel=1e-12)


# --------------------------------------------------------------------------- summary and edge customers


def test_summary_purchase_days_and_as_of():
    # customer 0: two lines on day 1 (one purchase), a returns-only day, a purchase after the as-of date
    customer = [0, 0, 0, 0, 0, 1]
    day = [_day("2024-01-01")] * 2 + [_day("2024-01-08"), _day("2024-01-15"), _day("2024-03-01"), _day("2024-01-20")]
    net = [100.0, 50.0, -30.0, 80.0, 70.0, -10.0]
    c, d, n_, m_ = aggregate_customer_days(customer, day, net, np.array(net) / 2)
    assert len(c) == 5 and n_[0] == 150.0
    s = summarise(c, d, n_ > 0, m_, n_customers=2, as_of_day=_day("2024-01-31"))
    assert s.has_purchase.tolist() == [True, False]
    assert s.x[0] == 1 and s.t_x[0] == 2.0 and s.T[0] == 30 / 7
    assert s.zbar[0] == 40.0 and np.isnan(s.zbar[1])


def test_month_ends():
    ends = month_ends(_day("2024-01-15"), _day("2024-04-29"))
    assert ends.astype("datetime64[D]").astype(str).tolist() == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert month_ends(_day("2024-01-15"), _day("2024-01-31")).tolist() == [_day("2024-01-31")]
    assert len(month_ends(_day("2024-01-15"), _day("2024-01-30"))) == 0


def test_compute_as_of_edge_customers():
    rng = np.random.default_rng(11)
    # 120 ordinary customers: weekly-ish purchases with positive margins
    n = 120
    codes, days, net, margin = [], [], [], []
    for i in range(n):
        k = rng.integers(1, 12)
        dd = np.unique(rng.integers(_day("2024-01-01"), _day("2024-06-30"), k))
        codes += [f"C{i:03d}"] * len(dd)
        days += dd.tolist()
        amounts = rng.gamma(4, 50, len(dd))
        net += amounts.tolist()
        margin += (amounts * 0.2).tolist()
    # ONE: a single purchase; LOSS: repeat purchases at a loss; RET: returns only
    codes += ["ONE", "LOSS", "LOSS", "LOSS", "RET"]
    days += [_day("2024-03-01"), _day("2024-02-01"), _day("2024-03-01"), _day("2024-04-01"), _day("2024-05-01")]
    net += [100.0, 100.0, 100.0, 100.0, -50.0]
    margin += [20.0, 10.0, -5.0, -7.0, -10.0]
    data = CustomerDays.from_arrays(codes, days, net, margin, np.zeros(len(codes)),
                                    dim_codes=["NOSALE", "C000", "LATER"],
                                    dim_known_from=[_day("2023-12-01"), _day("2023-12-01"), _day("2024-09-01")])
    res = compute_as_of(data, _day("2024-06-30"), horizon_months=36, annual_discount_rate=0.10)
    assert res.bgnbd.converged and res.gamma_gamma.converged
    assert res.gg_excluded_nonpositive == 1
    mart = res.mart.set_index("customer_code")
    assert "LATER" not in mart.index                       # not a customer yet
    assert len(mart) == n + 4
    one, loss, ret, nosale = (mart.loc[k] for k in ("ONE", "LOSS", "RET", "NOSALE"))
    p, q, g = (res.gamma_gamma.params[k] for k in ("p", "q", "gamma"))
    assert one.frequency == 0 and one.p_alive == 1.0
    assert one.expected_margin_per_purchase == pytest.approx(p * g / (q - 1))
    assert one.predictive_clv > 0
    assert loss.frequency == 2 and loss.mean_repeat_margin == -6.0
    assert loss.expected_margin_per_purchase == 0.0 and loss.predictive_clv == 0.0 and loss.expected_purchases > 0
    assert loss.historical_clv == pytest.approx(-2.0)
    assert ret.purchase_days == 0 and np.isnan(ret.p_alive) and ret.predictive_clv == 0.0
    assert ret.historical_clv == -10.0 and ret.historical_net_amount == -50.0
    assert nosale.historical_clv == 0.0 and nosale.predictive_clv == 0.0 and nosale.expected_purchases == 0.0
    assert np.isnan(nosale.p_alive) and np.isnan(nosale.expected_margin_per_purchase)
    assert (mart.predictive_clv >= 0).all() and mart.p_alive.dropna().between(0, 1).all()


def test_expected_purchases_quadrature_fallback():
    """Large a, b (dropout probability nearly the same for everyone): eq. 10's hypergeometric
    function overflows and the Beta-quantile quadrature takes over; it agrees with eq. 10 where
    both work and with the fixed-p limit where the Beta is a spike."""
    x, T, t = np.array([0.0, 10.0, 1000.0]), np.array([100.0, 100.0, 156.0]), np.array([4.0, 156.0, 52.0])
    for a in (0.8, 5.0, 50.0, 500.0):
        params = {"r": 2.0, "alpha": 2.0, "a": a, "b": 30 * a}
        quadrature = models._expected_alive_by_quadrature(2.0, 2.0, a, 30 * a, x, T, t)
        t_x = T - 1.0
        exact = np.array([models.bgnbd_expected_purchases(params, x[i:i + 1], t_x[i:i + 1], T[i:i + 1], t[i])[0]
                          for i in range(3)]) / models.bgnbd_p_alive(params, x, t_x, T)
        np.testing.assert_allclose(quadrature, exact, rtol=2e-5)
    a, b = 5e6, 1.5e8
    params = {"r": 2.0, "alpha": 2.0, "a": a, "b": b}
    t_x = np.array([0.0, 90.0, 150.0])
    with np.errstate(over="raise", invalid="raise"):
        got = models.bgnbd_expected_purchases(params, x, t_x, T, t)[np.arange(3), np.arange(3)]
    p0 = a / (a + b + x)
    limit = -np.expm1(-(2.0 + x) * np.log1p(p0 * t / (2.0 + T))) / p0 * models.bgnbd_p_alive(params, x, t_x, T)
    np.testing.assert_allclose(got, limit, rtol=1e-4)
    assert np.all(np.isfinite(got))


def test_fit_on_homogeneous_data_reaches_the_limit_and_is_flagged():
    """Every customer with the same spend distribution: q and γ grow without bound (no
    heterogeneity); the fit still converges, predictions stay finite."""
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, 400).astype(float)
    zbar = rng.gamma(4.0 * x, 25.0 / (4.0 * x))         # mean of x Gamma(4, 25/4) spends, same ν for all
    fit = models.fit_gamma_gamma(x, zbar)
    assert fit.converged and fit.params["q"] > 100
    value = models.gamma_gamma_expected_value(fit.params, np.array([0.0, 5.0]), np.array([np.nan, 30.0]))
    assert np.all(np.isfinite(value)) and value[0] == pytest.approx(25.0, rel=0.1)
