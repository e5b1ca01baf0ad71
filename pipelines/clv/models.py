"""BG/NBD and Gamma-Gamma models: maximum-likelihood fits and the per-customer predictions that
make the predictive CLV of rule R7.

Why scipy and not pymc-marketing (or lifetimes): pymc-marketing pulls PyMC and PyTensor, which
need a C compiler toolchain at run time and a large install, for what is two small maximum-
likelihood fits (4 and 3 parameters) of closed-form log-likelihoods; lifetimes is in
maintenance mode (its authors moved to pymc-marketing) and is only used by the tests, for the
CDNOW data files it ships. The closed forms below are a few lines of numpy +
``scipy.special``, vectorised over customers, minimised with ``scipy.optimize.minimize`` on
log-parameters (positivity without constraints) with analytic gradients.

References
----------
* BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", Marketing Science 24(2): the closed-form log-likelihood (their eq. 6,
  with B(a+1, b+x−1) / B(a, b+x) written as a / (b+x−1)), the conditional expectation (eq. 10)
  and P(alive) (their note "Computing P(alive) using the BG/NBD model").
* Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
  base analysis", JMR 42(4), after Colombo & Jiang (1999); Fader & Hardie's note "The
  Gamma-Gamma model of monetary value": likelihood of the mean repeat spend z̄ given x repeat
  transactions, and E[M | p, q, γ, x, z̄] = (γ + x z̄) p / (p x + q − 1).

Units: the caller chooses one time unit (the pipeline and the paper test use weeks) for
recency t_x, age T and the prediction horizon; α is in that unit. Monetary values are rescaled
by their mean before the Gamma-Gamma fit (γ scales with the data; p and q do not) and γ and the
log-likelihood are mapped back to the original units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "gamma")

# Search box of the log-parameters: exp(±20) covers any sensible scale after the rescaling
# above. A fit that stops on its edge has a parameter running off to 0 or infinity — typically
# a and b (BG/NBD) or q and γ (Gamma-Gamma) growing together when customers do not differ in
# dropout or spend: the MLE is then the limiting model, which the edge point approximates. Such
# fits count as converged and are flagged ``at_bound``.
_LOG_BOUND = 20.0
_GRADIENT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class FitResult:
    """A maximum-likelihood fit and its diagnostics (one row of ``marts.clv_model_fits``)."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    converged: bool
    iterations: int
    fit_seconds: float
    message: str = ""
    at_bound: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.params[name]


# --------------------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(params, x, t_x, T, *, gradient: bool = False):
    """Per-customer BG/NBD log-likelihood ln L(r, α, a, b | x, t_x, T) (FHL 2005, eq. 6).

    ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
           + ln[ (α+T)^−(r+x) + 1{x>0} · a/(b+x−1) · (α+t_x)^−(r+x) ]

    With ``gradient=True`` also returns the (n, 4) array of derivatives by (r, α, a, b).
    """
    r, alpha, a, b = (float(v) for v in params)
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    repeat = x > 0
    rx = r + x
    a1 = special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -rx * np.log(alpha + T)
    bx1 = np.where(repeat, b + x - 1.0, 1.0)            # b + x − 1 > 0 whenever x ≥ 1
    a4 = np.where(repeat, np.log(a) - np.log(bx1) - rx * np.log(alpha + t_x), -np.inf)
    last = np.logaddexp(a3, a4)
    ll = a1 + a2 + last
    if not gradient:
        return ll
    w3 = np.exp(a3 - last)
    w4 = np.where(repeat, np.exp(a4 - last), 0.0)
    psi_rx, psi_abx = special.digamma(rx), special.digamma(a + b + x)
    d_r = psi_rx - special.digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * rx / (alpha + T) - w4 * rx / (alpha + t_x)
    d_a = special.digamma(a + b) - psi_abx + w4 / a
    d_b = special.digamma(a + b) + special.digamma(b + x) - special.digamma(b) - psi_abx - w4 / bx1
    return ll, np.column_stack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(x, t_x, T, *, init: dict[str, float] | None = None) -> FitResult:
    """Maximum-likelihood BG/NBD fit on (x = repeat purchases, t_x = recency, T = age), one
    entry per customer with at least one purchase."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if init is None:
        # α is a time scale: start it at the mean age of the customers (in the caller's unit)
        init = {"r": 1.0, "alpha": max(float(np.mean(T)), 1e-3) if len(T) else 1.0, "a": 1.0, "b": 1.0}

    def nll(theta):
        ll, grad = bgnbd_log_likelihood(np.exp(theta), x, t_x, T, gradient=True)
        return -ll.mean(), -(grad.mean(axis=0) * np.exp(theta))

    return _minimise("bgnbd", BGNBD_PARAMS, nll, init, n=len(x), ll_scale=len(x))


def bgnbd_p_alive(params, x, t_x, T):
    """P(alive | x, t_x, T) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
    Customers without a repeat purchase get 1 (in BG/NBD a customer can only drop out right
    after a repeat purchase)."""
    r, alpha, a, b = (float(params[k]) for k in BGNBD_PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    repeat = x > 0
    log_odds_dead = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf)
    return special.expit(-log_odds_dead)


def bgnbd_expected_purchases(params, x, t_x, T, t):
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (FHL 2005, eq. 10), broadcast over
    customers (1-d x, t_x, T) and horizons t (any shape: the result has shape (n,) + t.shape).

    Eq. 10's ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z) is evaluated with Euler's
    transformation as (1−z)^(a−1) · ₂F₁(a−1, a+b−1−r; a+b+x−1; z), z = t/(α+T+t): small
    numerator parameters and no huge intermediate factors (the original form overflows to
    inf · 0 for customers with thousands of repeat purchases, e.g. distributors that buy daily).
    Where even that is not finite — a and b in the thousands and more, i.e. a dropout
    probability that is nearly the same for every customer, a limit the MLE reaches on
    homogeneous data — and at a = 1, the same expectation is integrated numerically
    (``_expected_alive_by_quadrature``).
    """
    r, alpha, a, b = (float(params[k]) for k in BGNBD_PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.asarray(t, dtype=float)
    extra = (slice(None),) + (None,) * t.ndim
    xe, Te = x[extra], T[extra]
    z = t / (alpha + Te + t)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        bracket = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * special.hyp2f1(a - 1.0, a + b - 1.0 - r, a + b + xe - 1.0, z)
        alive_expected = (a + b + xe - 1.0) / (a - 1.0) * bracket
    bad = ~np.isfinite(alive_expected)
    if bad.any():
        idx = np.nonzero(bad)
        alive_expected[idx] = _expected_alive_by_quadrature(
            r, alpha, a, b, x[idx[0]], T[idx[0]], np.broadcast_to(t, bad.shape)[idx])
    return alive_expected * bgnbd_p_alive(params, x, t_x, T)[extra]


# Gauss-Legendre nodes on (0, 1) for the quadrature fallback.
_GL_U, _GL_W = (np.polynomial.legendre.leggauss(64)[0] + 1.0) / 2.0, np.polynomial.legendre.leggauss(64)[1] / 2.0


def _expected_alive_by_quadrature(r, alpha, a, b, x, T, t):
    """E[Y(t) | alive at T, x] = E_p[(1 − ((α+T)/(α+T+p t))^(r+x)) / p] with p ~ Beta(a, b+x)
    (given alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); a customer alive with (λ, p) makes
    (1 − e^(−λ p t)) / p purchases in t on average). Gauss-Legendre over the Beta quantiles:
    robust where eq. 10's hypergeometric function overflows (large a, b: p nearly fixed)."""
    unique_x, which = np.unique(x, return_inverse=True)          # the nodes depend on x only
    p = special.betaincinv(a, (b + unique_x)[:, None], _GL_U[None, :])[which]   # (k, nodes)
    g = -np.expm1(-(r + x)[:, None] * np.log1p(p * (t / (alpha + T))[:, None])) / p
    return g @ _GL_W


# --------------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params, x, zbar, *, gradient: bool = False):
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend z̄ of x > 0 repeat
    transactions: f(z̄) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q z̄^(px−1) x^(px) / (γ + x z̄)^(px+q)."""
    p, q, g = (float(v) for v in params)
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    px = p * x
    log_gxz = np.log(g + x * zbar)
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
          + (px - 1.0) * np.log(zbar) + px * np.log(x) - (px + q) * log_gxz)
    if not gradient:
        return ll
    psi_pxq = special.digamma(px + q)
    d_p = x * (psi_pxq - special.digamma(px) + np.log(zbar) + np.log(x) - log_gxz)
    d_q = psi_pxq - special.digamma(q) + np.log(g) - log_gxz
    d_g = q / g - (px + q) / (g + x * zbar)
    return ll, np.column_stack([d_p, d_q, d_g])


def fit_gamma_gamma(x, zbar, *, init: dict[str, float] | None = None) -> FitResult:
    """Maximum-likelihood Gamma-Gamma fit on customers with x > 0 repeat purchases and a
    positive mean repeat value z̄ (the caller filters; non-positive values raise)."""
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    if len(x) and (np.any(x <= 0) or np.any(zbar <= 0)):
        raise ValueError("Gamma-Gamma needs x > 0 and a positive mean value for every customer")
    scale = float(np.mean(zbar)) if len(zbar) else 1.0
    zs = zbar / scale
    if init is None:
        init = {"p": 1.0, "q": 2.0, "gamma": 1.0}
    else:
        init = {**init, "gamma": init["gamma"] / scale}

    def nll(theta):
        ll, grad = gamma_gamma_log_likelihood(np.exp(theta), x, zs, gradient=True)
        return -ll.mean(), -(grad.mean(axis=0) * np.exp(theta))

    fit = _minimise("gamma_gamma", GAMMA_GAMMA_PARAMS, nll, init, n=len(x), ll_scale=len(x))
    # back to the original units: z = scale · z_s, γ = scale · γ_s, density f(z) = f_s(z_s) / scale
    params = {**fit.params, "gamma": fit.params["gamma"] * scale}
    ll = fit.log_likelihood - len(x) * np.log(scale)
    return FitResult(fit.model, params, float(ll), fit.n_customers, fit.converged, fit.iterations,
                     fit.fit_seconds, fit.message, fit.at_bound, {"value_scale": scale})


def gamma_gamma_expected_value(params, x, zbar):
    """E[M | x, z̄] = (γ + x z̄) p / (p x + q − 1): the expected value of one purchase, shrunk
    from the customer's mean repeat value towards the population mean p γ / (q − 1). Customers
    with x = 0 get the population mean. NaN when q ≤ 1 (the population mean does not exist)."""
    p, q, g = (float(params[k]) for k in GAMMA_GAMMA_PARAMS)
    x = np.asarray(x, dtype=float)
    zbar = np.where(x > 0, np.asarray(zbar, dtype=float), 0.0)
    denominator = p * x + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (g + x * zbar) * p / denominator
    return np.where(q > 1.0, value, np.nan)


# --------------------------------------------------------------------------- CLV


def monthly_discount_factors(horizon_months: int, annual_discount_rate: float) -> np.ndarray:
    """Factor of month m = 1..horizon (end of month): (1 + annual rate)^(−m/12), i.e. the
    monthly rate (1 + annual)^(1/12) − 1 compounded, as in lifetimes' customer_lifetime_value."""
    months = np.arange(1, int(horizon_months) + 1, dtype=float)
    return (1.0 + float(annual_discount_rate)) ** (-months / 12.0)


def discounted_expected_purchases(params, x, t_x, T, *, horizon_months: int, annual_discount_rate: float,
                                  month_length: float):
    """(discounted, undiscounted) expected purchases over the horizon: the BG/NBD curve
    E[Y(m · month_length)] at every month end m = 0..horizon, each month's increment discounted
    by its month-end factor. ``month_length`` is one month in the model's time unit."""
    months = np.arange(0, int(horizon_months) + 1, dtype=float) * float(month_length)
    curve = bgnbd_expected_purchases(params, x, t_x, T, months)          # (n, horizon + 1)
    increments = np.diff(curve, axis=1)
    discounted = increments @ monthly_discount_factors(horizon_months, annual_discount_rate)
    return discounted, curve[:, -1]


def predictive_clv(bgnbd_params, gg_params, x, t_x, T, zbar, *, horizon_months: int, annual_discount_rate: float,
                   month_length: float):
    """Predictive CLV = Σ_m ΔE[purchases in month m] · discount_m × E[value per purchase].
    Returns (clv, expected purchases over the horizon, expected value per purchase)."""
    discounted, purchases = discounted_expected_purchases(
        bgnbd_params, x, t_x, T, horizon_months=horizon_months, annual_discount_rate=annual_discount_rate,
        month_length=month_length)
    value = gamma_gamma_expected_value(gg_params, x, zbar)
    return discounted * value, purchases, value


# --------------------------------------------------------------------------- optimiser


def _minimise(model, names, nll, init, *, n: int, ll_scale: int) -> FitResult:
    start = time.perf_counter()
    if n == 0:
        return FitResult(model, {k: float("nan") for k in names}, float("nan"), 0, False, 0, 0.0, "no customers")
    theta0 = np.log([float(init[k]) for k in names])
    theta0 = np.clip(theta0, -_LOG_BOUND + 1, _LOG_BOUND - 1)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        res = optimize.minimize(nll, theta0, jac=True, method="L-BFGS-B",
                                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(names),
                                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
    seconds = time.perf_counter() - start
    upper, lower = res.x >= _LOG_BOUND - 1e-6, res.x <= -_LOG_BOUND + 1e-6
    on_edge = bool(np.any(upper | lower))
    finite = bool(np.isfinite(res.fun)) and bool(np.all(np.isfinite(res.x)))
    # L-BFGS-B also stops with "ABNORMAL" when a line search cannot improve f at rounding level,
    # which on a flat ridge (see _LOG_BOUND) happens before the gradient vanishes: accept any stop
    # whose gradient of the mean log-likelihood by log-parameter, projected on the search box, is
    # below _GRADIENT_TOLERANCE (on CDNOW, interior optima stop at ~1e-8).
    projected = np.where((upper & (res.jac < 0)) | (lower & (res.jac > 0)), 0.0, res.jac)
    grad_ok = finite and float(np.max(np.abs(projected))) < _GRADIENT_TOLERANCE
    converged = finite and (bool(res.success) or grad_ok)
    message = str(res.message) + ("; parameter on the search-box edge" if on_edge else "")
    params = {k: float(v) for k, v in zip(names, np.exp(res.x))}
    return FitResult(model, params, float(-res.fun * ll_scale), n, converged, int(res.nit), seconds, message, on_edge)
