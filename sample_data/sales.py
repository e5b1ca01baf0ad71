"""ERP sales lines and receivables: customer buying behaviour (order frequency, invoice length,
assortment over 1..all product categories, price level, discounts, returns, payer type -- by
the customer's strength: strong customers pay on time, weak ones late or not at all), one
day of invoice lines at a time (vectorised with numpy), and the receivables book that decides
each invoice's payment schedule when it is raised (punctual, slow, late, defaulting; one to
three instalments) and keeps only the outstanding scheduled payments, keyed by day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data.writers import zfill

from sample_data import fake
from sample_data.master import (CHAIN, NATIONAL, OTHER, REGIONAL, SINGLE, HOSPITAL, NEVER,
                                TERMS_DUE_DAYS, World, correlated_uniform, ranked_pick, rng_for)
from sample_data.seasons import sales_factor

PUNCTUAL, SLOW, LATE, DEFAULTER = range(4)
PAYER_TYPES = ["punctual", "slow", "late", "defaulter"]
PREPAY, COD = 0, 1

ASSORT_FRACTION = np.array([0.24, 0.15, 0.10, 0.06, 0.06, 0.03])
INVOICES_PER_MONTH = np.array([20, 10, 8, 2.5, 3, 1.5])
LINES_PER_INVOICE = np.array([40, 16, 12, 4, 6, 3], dtype=float)
PRICE_FACTOR = np.array([0.72, 0.78, 0.85, 0.92, 0.90, 0.95])
# payer types by the customer's strength (copula correlation RHO_PAYER), shares from the weakest:
# defaulter, late, slow, punctual; wholesalers and chains, the other channel types, cash on delivery
PAYER_MIX_REGULAR = np.array([0.04, 0.07, 0.22, 0.67])
PAYER_MIX_OTHER = np.array([0.08, 0.12, 0.28, 0.52])
PAYER_MIX_COD = np.array([0.0, 0.05, 0.15, 0.80])
RHO_PAYER = 0.7
MAX_LINE_QTY = 50_000  # units on one invoice line at most (the raw sales check stops a line over 100,000)
RETURN_FRACTION = (0.02, 0.15)  # per-customer return invoices per sale invoice
POSITION_SKEW = 1.6  # line position in the assortment = floor(size * u ** POSITION_SKEW): popular SKUs first


@dataclass
class Behaviour:
    inv_rate: np.ndarray  # expected sale invoices per day at sales factor 1
    lines_mean: np.ndarray
    assort: np.ndarray  # [customer, position] -> sku index, most popular first; -1 padding
    assort_n: np.ndarray
    n_categories: np.ndarray
    line_amount: np.ndarray  # CNY per line before trend
    trend: np.ndarray  # yearly growth multiplier of purchases
    price_factor: np.ndarray
    discount_pct: np.ndarray
    return_rate: np.ndarray
    payer: np.ndarray
    default_day: np.ndarray


def build_behaviour(world: World) -> Behaviour:
    cfg = world.cfg
    cu, pr = world.customers, world.products
    rng = rng_for(cfg.seed, 2)
    n, s = cu.n, len(pr.code)
    ch = cu.channel
    ncat = len(fake.CATEGORIES)
    present = np.unique(pr.category)

    # categories bought: wholesalers carry everything, small shops one to a few
    n_cat = np.empty(n, dtype=np.int64)
    n_cat[ch == NATIONAL] = ncat
    # most regional wholesalers carry every category, some are specialised
    n_cat[ch == REGIONAL] = np.where(rng.random((ch == REGIONAL).sum()) < 0.8, ncat,
                                     rng.integers(3, ncat, (ch == REGIONAL).sum()))
    n_cat[ch == CHAIN] = rng.integers(6, ncat + 1, (ch == CHAIN).sum())
    n_cat[ch == SINGLE] = rng.choice(np.arange(1, 8), (ch == SINGLE).sum(),
                                     p=[0.12, 0.15, 0.18, 0.17, 0.15, 0.13, 0.10])
    n_cat[ch == HOSPITAL] = rng.integers(2, 7, (ch == HOSPITAL).sum())
    n_cat[ch == OTHER] = rng.choice([1, 2, 3], (ch == OTHER).sum(), p=[0.5, 0.35, 0.15])
    n_cat = np.minimum(n_cat, len(present))

    size = np.clip(np.round(ASSORT_FRACTION[ch] * s * rng.lognormal(0, 0.3, n)), 3, s).astype(np.int64)
    size = np.maximum(size, n_cat)
    pop = pr.popularity
    assort_lists = []
    for i in range(n):
        cats = present if n_cat[i] >= len(present) else rng.choice(present, n_cat[i], replace=False)
        pool = np.flatnonzero(np.isin(pr.category, cats))
        k = min(size[i], len(pool))
        # one SKU of every chosen category, then popularity-weighted fill
        first = [int(rng.choice(np.flatnonzero(pr.category == c), p=_norm(pop[pr.category == c]))) for c in cats]
        rest = np.setdiff1d(pool, first)
        extra = rng.choice(rest, min(k - len(first), len(rest)), replace=False, p=_norm(pop[rest])) \
            if k > len(first) and len(rest) else np.array([], dtype=np.int64)
        a = np.concatenate([np.array(first, dtype=np.int64), extra.astype(np.int64)])
        a = a[np.argsort(-pop[a], kind="stable")]
        assort_lists.append(a)
    assort_n = np.array([len(a) for a in assort_lists])
    assort = np.full((n, assort_n.max()), -1, dtype=np.int64)
    for i, a in enumerate(assort_lists):
        assort[i, :len(a)] = a
    size = assort_n

    lines_mean = np.clip(LINES_PER_INVOICE[ch] * np.sqrt(s / 150) * rng.lognormal(0, 0.25, n), 1, None)
    lines_mean = np.minimum(lines_mean, np.maximum(1, 0.8 * size))
    weight = INVOICES_PER_MONTH[ch] / 30.4 * rng.lognormal(0, 0.4, n)
    # lines that survive "one line per SKU per invoice": E[distinct positions among L draws]
    eff_lines = np.array([expected_distinct(int(size[i]), float(lines_mean[i])) for i in range(n)])
    # calibrate invoice rates so that expected lines ~= intensity x customers x days
    active_days = np.clip(np.minimum(cu.sales_stop, world.days) - np.maximum(cu.sales_start, 0), 0, None)
    k = cfg.sales_intensity * n * world.days / max(1.0, float((weight * eff_lines * active_days).sum()))
    inv_rate = weight * k
    line_amount = cu.size_month / np.maximum(inv_rate * 30.4 * eff_lines, 1e-9)
    trend = rng.lognormal(0.03, 0.15, n)

    price_factor = PRICE_FACTOR[ch] * rng.uniform(0.97, 1.03, n)
    discount = rng.choice([0, 0, 1, 2, 3, 5], n) + np.where(ch <= CHAIN, rng.integers(0, 5, n), 0)
    return_rate = rng.uniform(*RETURN_FRACTION, n)

    # payment behaviour follows the customer's strength; prepaying customers cannot pay late
    u = correlated_uniform(rng, cu.strength, RHO_PAYER)
    mix = np.where((cu.terms == COD)[:, None], PAYER_MIX_COD,
                   np.where((ch <= CHAIN)[:, None], PAYER_MIX_REGULAR, PAYER_MIX_OTHER))
    payer = np.array([DEFAULTER, LATE, SLOW, PUNCTUAL])[ranked_pick(u, mix)]
    payer = np.where(cu.terms == PREPAY, PUNCTUAL, payer)
    if not (payer == DEFAULTER).any():
        cand = np.flatnonzero((cu.terms > COD) & (ch != NATIONAL))
        payer[cand[0] if len(cand) else n - 1] = DEFAULTER
    default_day = np.where(payer == DEFAULTER, rng.integers(int(0.15 * world.days), max(int(0.9 * world.days), 1) + 1, n),
                           NEVER)
    return Behaviour(inv_rate, lines_mean, assort, assort_n, n_cat, line_amount, trend, price_factor,
                     discount, return_rate, payer, default_day)


def position_probs(a: int) -> np.ndarray:
    """P(line position = j) for j < a under floor(a * u ** POSITION_SKEW)."""
    pos = np.arange(a + 1) / a
    return np.diff(pos ** (1 / POSITION_SKEW))


def expected_distinct(a: int, draws: float) -> float:
    return float((1 - (1 - position_probs(a)) ** draws).sum())


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


@dataclass
class SalesDay:
    """One day of invoice lines (row order = file order) plus per-invoice totals."""

    t: int
    invoice_no: np.ndarray  # per line (str)
    line_no: np.ndarray
    is_return: np.ndarray
    cust: np.ndarray
    sku: np.ndarray
    qty: np.ndarray
    price_cents: np.ndarray
    disc_pct: np.ndarray
    net_cents: np.ndarray
    terms: np.ndarray
    branch: np.ndarray
    rep: np.ndarray
    # per invoice
    inv_no: np.ndarray
    inv_cust: np.ndarray
    inv_is_return: np.ndarray
    inv_total: np.ndarray
    inv_terms: np.ndarray

    def __len__(self) -> int:
        return len(self.qty)


class SalesGenerator:
    def __init__(self, world: World, beh: Behaviour):
        self.w = world
        self.b = beh
        self.factor = sales_factor(world.cfg.start_date, world.days)
        self.first_sale = np.full(world.customers.n, NEVER, dtype=np.int64)

    def day(self, t: int) -> SalesDay:
        w, b, cu, pr = self.w, self.b, self.w.customers, self.w.products
        rng = rng_for(w.cfg.seed, 10, t)
        active = (cu.sales_start <= t) & (t < cu.sales_stop)
        lam = np.where(active, b.inv_rate * self.factor[t], 0.0)
        n_sale = rng.poisson(lam)
        forced = active & cu.late_arriving & (cu.sales_start == t)
        n_sale = np.where(forced, np.maximum(n_sale, 1), n_sale)
        n_ret = rng.poisson(lam * b.return_rate)
        n_ret = np.where(cu.sales_start == t, 0, n_ret)  # no return before the first purchase

        inv_cust = np.concatenate([np.repeat(np.arange(cu.n), n_sale), np.repeat(np.arange(cu.n), n_ret)])
        inv_ret = np.concatenate([np.zeros(n_sale.sum(), bool), np.ones(n_ret.sum(), bool)])
        perm = rng.permutation(len(inv_cust))
        inv_cust, inv_ret = inv_cust[perm], inv_ret[perm]
        n_inv = len(inv_cust)
        if n_inv == 0:
            return self._empty(t)

        lm = b.lines_mean[inv_cust]
        n_lines = np.where(inv_ret, 1 + rng.poisson(1.5, n_inv), 1 + rng.poisson(np.maximum(lm - 1, 0)))
        n_lines = np.minimum(n_lines, np.where(inv_ret, np.minimum(6, b.assort_n[inv_cust]), b.assort_n[inv_cust]))
        li = np.repeat(np.arange(n_inv), n_lines)
        lc = inv_cust[li]
        pos = np.floor(b.assort_n[lc] * rng.random(len(li)) ** POSITION_SKEW).astype(np.int64)
        sku = b.assort[lc, pos]
        # one line per SKU per invoice; only SKUs on sale today
        key = li * (len(pr.code) + 1) + sku
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(li), bool)
        keep[first] = True
        keep &= pr.sellable(t)[sku]
        li, lc, sku = li[keep], lc[keep], sku[keep]
        # invoices that lost all lines disappear; renumber invoices in order of appearance
        used = np.unique(li)
        remap = np.full(n_inv, -1)
        remap[used] = np.arange(len(used))
        li = remap[li]
        inv_cust, inv_ret = inv_cust[used], inv_ret[used]
        n_inv = len(used)
        order = np.argsort(li, kind="stable")
        li, lc, sku = li[order], lc[order], sku[order]
        starts = np.r_[0, np.flatnonzero(np.diff(li)) + 1]
        line_no = np.arange(len(li)) - np.repeat(starts, np.diff(np.r_[starts, len(li)])) + 1

        ret = inv_ret[li]
        price = np.maximum(1, np.round(pr.list_cents[sku] * b.price_factor[lc])).astype(np.int64)
        amount = b.line_amount[lc] * b.trend[lc] ** (t / 365.25) * rng.lognormal(-0.18, 0.6, len(li))
        qty = np.maximum(1, np.round(amount * 100 / price)).astype(np.int64)
        qty = np.where(qty >= 500, np.round(qty / 50) * 50, np.where(qty >= 50, np.round(qty / 10) * 10, qty)).astype(np.int64)
        qty = np.minimum(qty, MAX_LINE_QTY)
        ret_qty = np.maximum(1, np.round(qty * rng.uniform(0.05, 0.4, len(li)))).astype(np.int64)
        qty = np.where(ret, -ret_qty, qty)
        promo = rng.random(len(li)) < 0.08
        disc = np.minimum(30, b.discount_pct[lc] + np.where(promo, rng.integers(2, 9, len(li)), 0)).astype(np.int64)
        num = qty * price * (100 - disc)
        net = np.sign(num) * ((np.abs(num) + 50) // 100)

        ymd = w.cal.iso[t].replace("-", "")
        width = max(5, len(str(n_inv)))
        inv_no = np.strings.add(f"INV{ymd}", zfill(np.arange(1, n_inv + 1).astype(str), width))
        inv_total = np.bincount(li, weights=net, minlength=n_inv).astype(np.int64)
        seen = (self.first_sale == NEVER) & (np.bincount(inv_cust, minlength=cu.n) > 0)
        self.first_sale[seen] = t
        return SalesDay(
            t=t, invoice_no=inv_no[li], line_no=line_no, is_return=ret, cust=lc, sku=sku, qty=qty,
            price_cents=price, disc_pct=disc, net_cents=net, terms=cu.terms[lc].copy(),
            branch=cu.branch[lc].copy(), rep=cu.rep[lc].copy(),
            inv_no=inv_no, inv_cust=inv_cust, inv_is_return=inv_ret, inv_total=inv_total,
            inv_terms=cu.terms[inv_cust].copy())

    def _empty(self, t: int) -> SalesDay:
        e = np.array([], dtype=np.int64)
        s = np.array([], dtype="U16")
        b = np.array([], dtype=bool)
        return SalesDay(t, s, e, b, e, e, e, e, e, e, e, e, e, s, e, b, e, e)


@dataclass
class ReceivablesDay:
    inv_no: np.ndarray
    inv_cust: np.ndarray
    inv_due: np.ndarray
    inv_amount: np.ndarray
    pay_no: np.ndarray  # invoice_no of each payment
    pay_cust: np.ndarray
    pay_inv_day: np.ndarray
    pay_amount: np.ndarray
    pay_seq: np.ndarray

    def __len__(self) -> int:
        return len(self.inv_no) + len(self.pay_no)


class ReceivablesBook:
    """Decides each sale invoice's payments when it is raised; holds only payments still to come."""

    def __init__(self, world: World, beh: Behaviour):
        self.w = world
        self.b = beh
        self.pending: dict[int, list[tuple]] = {}
        self.stats = {"invoices": 0, "payments": 0, "never_paid_invoices": 0, "partially_paid_invoices": 0,
                      "payments_after_period": 0, "max_outstanding_scheduled": 0}

    def day(self, t: int, sd: SalesDay) -> ReceivablesDay:
        rng = rng_for(self.w.cfg.seed, 11, t)
        sel = ~sd.inv_is_return & (sd.inv_total > 0)  # credit notes for returns are settled outside AR
        no, cust, amount, terms = sd.inv_no[sel], sd.inv_cust[sel], sd.inv_total[sel], sd.inv_terms[sel]
        n = len(no)
        due = t + TERMS_DUE_DAYS[terms]
        if n:
            self._schedule(t, rng, no, cust, amount, terms, due)
        self.stats["invoices"] += n
        chunks = self.pending.pop(t, [])
        if chunks:
            pno, pcust, pday, pamt, pseq = (np.concatenate(c) for c in zip(*chunks))
            order = np.lexsort((pseq, pno))
            pno, pcust, pday, pamt, pseq = pno[order], pcust[order], pday[order], pamt[order], pseq[order]
        else:
            pno = np.array([], dtype="U16")
            pcust = pday = pamt = pseq = np.array([], dtype=np.int64)
        self.stats["payments"] += len(pno)
        out = sum(len(c[0]) for cs in self.pending.values() for c in cs) if t % 30 == 0 else 0
        self.stats["max_outstanding_scheduled"] = max(self.stats["max_outstanding_scheduled"], out)
        return ReceivablesDay(no, cust, due, amount, pno, pcust, pday, pamt, pseq)

    def _schedule(self, t, rng, no, cust, amount, terms, due) -> None:
        b = self.b
        n = len(no)
        payer = b.payer[cust].copy()
        defaulting = (payer == DEFAULTER) & (t >= b.default_day[cust])
        payer = np.where(payer == DEFAULTER, LATE, payer)  # before default: a late payer
        terms_days = TERMS_DUE_DAYS[terms]
        early = np.minimum(rng.integers(0, 6, n), terms_days)
        late_inv = rng.random(n)
        delay = np.select(
            [payer == PUNCTUAL, payer == SLOW, payer == LATE],
            [np.where(late_inv < 0.97, -early, rng.integers(1, 11, n)),
             np.where(late_inv < 0.85, -early, rng.integers(5, 46, n)),
             rng.integers(10, 121, n)])
        delay = np.where(terms == COD, np.minimum(np.maximum(delay, -2), 20), delay)
        final = np.maximum(t, due + delay)
        # defaulting invoices: mostly never paid (half of those get a partial first instalment)
        u = rng.random(n)
        never = defaulting & (u < 0.85)
        partial = never & (u < 0.42)
        final = np.where(defaulting & ~never, due + rng.integers(90, 301, n), final)
        final = np.where(terms == PREPAY, t, final)
        never &= terms != PREPAY
        partial &= terms != PREPAY
        k = np.select([payer == PUNCTUAL, payer == SLOW], [1 + (rng.random(n) < 0.1), rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])],
                      rng.choice([1, 2, 3], n, p=[0.4, 0.35, 0.25]))
        k = np.where((terms <= COD) | (final - t < 3), 1, k)
        k = np.where(never, np.where(partial, 1, 0), k)
        self.stats["never_paid_invoices"] += int((never & ~partial).sum())
        self.stats["partially_paid_invoices"] += int(partial.sum())

        rows = np.repeat(np.arange(n), k)
        if len(rows) == 0:
            return
        starts = np.r_[0, np.cumsum(k)[:-1]]
        j = np.arange(len(rows)) - np.repeat(starts, k)  # instalment index 0..k-1
        last = j == k[rows] - 1
        span = final[rows] - t
        when = np.where(last, final[rows], t + np.floor(rng.random(len(rows)) * np.maximum(span, 1)).astype(np.int64))
        # keep instalment dates ordered within an invoice
        when = np.where(last, when, np.minimum(when, final[rows]))
        order = np.lexsort((when, rows))
        when = when[order]
        pay_amt_total = np.where(partial, np.round(amount * rng.uniform(0.3, 0.6, n)).astype(np.int64), amount)
        shares = rng.uniform(0.5, 1.5, len(rows))
        tot = np.bincount(rows, weights=shares, minlength=n)
        cents = np.floor(pay_amt_total[rows] * shares / tot[rows]).astype(np.int64)
        paid_so_far = np.bincount(rows, weights=cents, minlength=n).astype(np.int64)
        cents = np.where(last, cents + (pay_amt_total - paid_so_far)[rows], cents)
        when = np.where(partial[rows], due[rows] + rng.integers(0, 31, len(rows)), when)
        in_period = when < self.w.days
        self.stats["payments_after_period"] += int((~in_period).sum())
        rows, when, cents, j = rows[in_period], when[in_period], cents[in_period], j[in_period]
        for d in np.unique(when):
            m = when == d
            r = rows[m]
            self.pending.setdefault(int(d), []).append(
                (no[r], cust[r], np.full(len(r), t, dtype=np.int64), cents[m], j[m] + 1))
