"""Master data and its changes over time: regions -> branches -> territories, reps, products and
customers (with the credit-file attributes the rating rules read), the dated change events
(customer moves rep or branch, licence renewed or lapsing, terms / credit limit / declared
turnover change, product price and cost change, rep leaves and a replacement takes over) and
the full extracts (customers.csv, products.csv, reps.csv, branches.csv) as of any day.

The customer base follows seed 000 (customers chosen few and strong): mostly national and
regional wholesalers, some pharmacy chains, few single pharmacies, clinics and other outlets.
Each customer has a latent strength (capital, discipline, standing) that its purchases, declared
turnover, payment terms, payment behaviour (sales.py), business nature, years in business,
licence renewals and goods-flow discipline (stock.py) follow through Gaussian copulas, so the
quarterly credit rating (R6) finds strong, average and weak customers in every channel type.

Days are integers relative to the start date (day 0); NODATE marks a missing date and NEVER a
date after the period."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from sample_data.writers import zfill

from sample_data import fake
from sample_data.config import GeneratorConfig

NODATE = -(10**9)
NEVER = 10**9

CHANNELS = ["NATIONAL_WHOLESALER", "REGIONAL_WHOLESALER", "PHARMACY_CHAIN", "SINGLE_PHARMACY",
            "HOSPITAL_CLINIC", "OTHER"]
NATIONAL, REGIONAL, CHAIN, SINGLE, HOSPITAL, OTHER = range(6)
# Seed 000, step 1: customers are chosen few and strong -- wholesalers with distribution reach and
# capital (national groups' provincial companies, regional wholesalers), pharmacy chains in some
# cases, single pharmacies, clinics and other outlets only as exceptions.
CHANNEL_SHARE = np.array([0.03, 0.55, 0.27, 0.06, 0.05, 0.04])
CHANNEL_MIN = np.array([1, 2, 2, 2, 2, 2])
WHOLESALE_OR_CHAIN = CHAIN  # channel <= CHAIN: the business's regular customers

TERMS = ["PREPAY", "COD", "NET15", "NET30", "NET60", "NET90", "BILL"]
TERMS_DUE_DAYS = np.array([0, 2, 15, 30, 60, 90, 30])  # BILL: the acceptance bill is handed over within 30 days
# terms classes: 0 cash (prepay, cash on delivery), 1 short credit (<= 30 days), 2 long credit or
# acceptance bills; the codes of each class and their mix within it
TERMS_CLASS = np.array([0, 0, 1, 1, 2, 2, 2])
TERMS_IN_CLASS = np.array([
    [0.40, 0.60, 0.00, 0.00, 0.00, 0.00, 0.00],
    [0.00, 0.00, 0.30, 0.70, 0.00, 0.00, 0.00],
    [0.00, 0.00, 0.00, 0.00, 0.45, 0.20, 0.35],
])
# per channel, shares of the terms classes (long credit, short credit, cash): the stronger a
# customer the likelier it pays cash (it has the capital; the manufacturer gives it the discount)
TERMS_CLASS_MIX = np.array([
    [0.20, 0.30, 0.50],
    [0.25, 0.35, 0.40],
    [0.25, 0.40, 0.35],
    [0.00, 0.35, 0.65],
    [0.70, 0.20, 0.10],
    [0.00, 0.20, 0.80],
])

NATURES = ["STATE_OWNED", "PRIVATE_COMPANY", "INDIVIDUAL"]
NATURE_MIX = np.array([  # STATE, PRIVATE, INDIVIDUAL, missing
    [0.75, 0.25, 0.00, 0.00],
    [0.35, 0.60, 0.02, 0.03],
    [0.12, 0.80, 0.04, 0.04],
    [0.00, 0.35, 0.55, 0.10],
    [0.60, 0.25, 0.00, 0.15],
    [0.00, 0.40, 0.45, 0.15],
])
# median monthly purchases from us (CNY) and lognormal sigma, per channel
SIZE_MEDIAN = np.array([3_000_000, 450_000, 350_000, 25_000, 50_000, 15_000], dtype=float)
SIZE_SIGMA = np.array([0.6, 0.85, 0.8, 0.8, 0.8, 0.9])
# our share of the customer's business (declared annual turnover = purchases from us / share):
# median and lognormal sigma per channel (a national group's company carries thousands of products)
WALLET_MEDIAN = np.array([0.02, 0.07, 0.08, 0.15, 0.08, 0.10])
WALLET_SIGMA = np.array([0.4, 0.5, 0.5, 0.5, 0.5, 0.5])
TURNOVER_MISSING = np.array([0.0, 0.04, 0.04, 0.15, 0.15, 0.15])
# years in business when they became our customer: young (< 1), mid (1-8), old (8-30), per channel
AGE_MIX = np.array([[0.00, 0.15, 0.85], [0.06, 0.30, 0.64], [0.08, 0.35, 0.57],
                    [0.25, 0.40, 0.35], [0.15, 0.40, 0.45], [0.30, 0.40, 0.30]])
# licence renewal: never (lapses), late (after expiry), early (before expiry); per channel
RENEWAL_MIX = np.array([[0.00, 0.10, 0.90], [0.04, 0.14, 0.82], [0.04, 0.14, 0.82],
                        [0.10, 0.20, 0.70], [0.06, 0.20, 0.74], [0.10, 0.20, 0.70]])
# how strongly the latent strength drives each attribute (correlation of the Gaussian copula)
RHO_SIZE, RHO_TERMS, RHO_NATURE, RHO_AGE, RHO_LICENCE = 0.6, 0.75, 0.6, 0.5, 0.5

# reps: how they spread their visits over A / B / C customers (see visits.py)
REP_FOCUS = ["focused", "balanced", "scattered"]
REP_FOCUS_SHARES = [0.35, 0.35, 0.30]

LICENCE_YEARS = 5
CUSTOMER_COLUMNS = ["customer_code", "customer_name", "channel_type", "branch_code", "territory_code",
                    "rep_code", "address", "phone", "owner_name", "legal_representative", "founded_date",
                    "tax_id", "bank_name", "bank_account", "business_nature", "business_licence_expiry",
                    "drug_licence_expiry", "declared_annual_turnover", "payment_terms", "credit_limit",
                    "opened_date", "status", "extract_date"]
PRODUCT_COLUMNS = ["sku", "product_name", "category", "brand", "unit", "list_price", "standard_cost",
                   "launch_date", "status", "extract_date"]
REP_COLUMNS = ["rep_code", "rep_name", "branch_code", "phone", "hire_date", "status", "extract_date"]
BRANCH_COLUMNS = ["territory_code", "territory_name", "branch_code", "branch_name", "region_code",
                  "region_name", "extract_date"]
SENSITIVE_CUSTOMER_COLUMNS = ["phone", "legal_representative", "tax_id", "bank_name", "bank_account"]


def rng_for(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _ERF(np.asarray(x, dtype=float) / np.sqrt(2.0)).astype(float))


_ERF = np.frompyfunc(math.erf, 1, 1)


def correlated_uniform(rng: np.random.Generator, z: np.ndarray, rho: float) -> np.ndarray:
    """Uniforms in (0, 1) that rise with ``z`` (Gaussian copula with correlation ``rho``)."""
    return normal_cdf(rho * z + np.sqrt(1.0 - rho * rho) * rng.standard_normal(len(z)))


def ranked_pick(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Category per uniform ``u``: ``probs`` (one row, or one row per element) lists the categories'
    shares from the one the lowest uniforms get to the one the highest get."""
    cum = np.cumsum(np.asarray(probs, dtype=float), axis=-1)
    cum = np.broadcast_to(cum, (len(u), cum.shape[-1]))
    return (u[:, None] >= cum[:, :-1] / cum[:, -1:]).sum(axis=1)


def cents_str(cents: np.ndarray) -> np.ndarray:
    """Integer cents -> '1234.50' / '-0.05' (exact, vectorised)."""
    cents = np.asarray(cents, dtype=np.int64)
    a = np.abs(cents)
    s = np.strings.add(np.strings.add((a // 100).astype(str), "."), zfill((a % 100).astype(str), 2))
    return np.where(cents < 0, np.strings.add("-", s), s)


@dataclass
class Calendar:
    start: date
    days: int
    dates: np.ndarray  # datetime64[D] per day index
    iso: np.ndarray  # 'YYYY-MM-DD' per day index

    @classmethod
    def of(cls, start: date, days: int) -> "Calendar":
        d = np.datetime64(start, "D") + np.arange(days)
        return cls(start, days, d, np.datetime_as_string(d, unit="D"))

    def fmt(self, idx: np.ndarray) -> np.ndarray:
        """Day indices -> ISO dates ('' for NODATE)."""
        idx = np.asarray(idx, dtype=np.int64)
        ok = (idx > NODATE // 2) & (idx < NEVER // 2)
        out = np.datetime_as_string(np.datetime64(self.start, "D") + np.where(ok, idx, 0), unit="D")
        return np.where(ok, out, "")

    def dt(self, t: int) -> np.datetime64:
        return np.datetime64(self.start, "D") + int(t)


@dataclass
class Geography:
    territory_code: list[str]
    territory_name: list[str]
    territory_branch: np.ndarray  # branch index per territory
    branch_code: list[str]
    branch_name: list[str]
    branch_province: list[str]
    branch_admin: list[str]
    branch_area: list[str]
    branch_region: list[int]
    region_code: list[str]
    region_name: list[str]

    def territories_of(self, b: int) -> np.ndarray:
        return np.flatnonzero(self.territory_branch == b)


@dataclass
class Reps:
    code: list[str]
    name: list[str]
    phone: list[str]
    branch: np.ndarray
    hire: np.ndarray
    leave: np.ndarray
    replacement: np.ndarray  # index of the rep taking over at leave (-1 if none)
    diligent: np.ndarray
    focus: np.ndarray  # index into REP_FOCUS

    def active(self, t: int) -> np.ndarray:
        return (self.hire <= t) & (t < self.leave)


@dataclass
class Products:
    code: list[str]
    name: list[str]
    category: np.ndarray
    brand: list[str]
    unit: list[str]
    list_cents: np.ndarray  # current (mutated by events)
    cost_cents: np.ndarray
    launch: np.ndarray
    discontinue: np.ndarray
    popularity: np.ndarray

    def sellable(self, t: int) -> np.ndarray:
        return (self.launch <= t) & (t < self.discontinue)


@dataclass
class Customers:
    code: list[str]
    name: list[str]
    channel: np.ndarray
    address: list[str]
    phone: list[str]
    owner: list[str]
    legal_rep: list[str]
    tax_id: list[str]
    bank_name: list[str]
    bank_account: list[str]
    founded: np.ndarray
    nature: np.ndarray  # -1 missing
    opened: np.ndarray  # = first day in the master extracts
    sales_start: np.ndarray  # first possible sale (before `opened` for late-arriving customers)
    sales_stop: np.ndarray  # no sales from this day on (churn)
    closed: np.ndarray  # status CLOSED from this day on
    late_arriving: np.ndarray
    strength: np.ndarray  # latent strength (standard normal): drives size, terms, payment, standing
    size_month: np.ndarray  # expected monthly purchases from us, CNY
    # mutable attributes (change through events)
    branch: np.ndarray
    territory: np.ndarray
    rep: np.ndarray
    terms: np.ndarray
    credit_limit: np.ndarray
    turnover: np.ndarray  # declared annual turnover, CNY, NaN if missing
    biz_lic: np.ndarray
    drug_lic: np.ndarray

    @property
    def n(self) -> int:
        return len(self.code)


@dataclass(order=True)
class Event:
    day: int
    seq: int
    kind: str = field(compare=False)
    idx: int = field(compare=False)
    payload: tuple = field(compare=False, default=())


class World:
    """All master entities plus their dated change events; ``advance(t)`` applies day t's events."""

    def __init__(self, cfg: GeneratorConfig):
        self.cfg = cfg
        self.cal = Calendar.of(cfg.start_date, cfg.days)
        self.days = cfg.days
        self.years = cfg.days / 365.25
        ex = set(range(0, cfg.days, cfg.master_every)) | {cfg.days - 1}
        self.extract_days = np.array(sorted(ex))
        self._events: list[Event] = []
        self._seq = 0
        rng = rng_for(cfg.seed, 1)
        self.geo = self._build_geography(rng)
        self.branch_weight = rng.uniform(0.5, 1.5, len(self.geo.branch_code))
        self.reps = self._build_reps(rng)
        self.products = self._build_products(rng)
        self.customers = self._build_customers(rng)
        heapq.heapify(self._events)
        self.change_counts: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def _event(self, day: int, kind: str, idx: int, payload: tuple = ()) -> None:
        if 0 < day < self.days:
            self._events.append(Event(int(day), self._seq, kind, int(idx), payload))
            self._seq += 1

    def _extract_day_in(self, rng: np.random.Generator, lo: float, hi: float) -> int:
        """A random extract day within [lo, hi] (fractions of the period), never day 0."""
        cand = self.extract_days[(self.extract_days >= max(1, lo * self.days)) & (self.extract_days <= hi * self.days)]
        if len(cand) == 0:
            cand = self.extract_days[1:] if len(self.extract_days) > 1 else self.extract_days
        return int(cand[rng.integers(len(cand))])

    # ------------------------------------------------------------------ geography
    def _build_geography(self, rng: np.random.Generator) -> Geography:
        # interleave regions so a handful of branches still spreads over the country
        provinces = []
        queues = [[(ri, p) for p in provs] for ri, (_, _, provs) in enumerate(fake.GEOGRAPHY)]
        while any(queues):
            for q in queues:
                if q:
                    provinces.append(q.pop(0))
        # a branch per province, about one per 75 customers (the field force is sized to the customers)
        n_branches = int(np.clip(round(self.cfg.customers / 75), 2, len(provinces)))
        n_branches = min(n_branches, max(2, self.cfg.reps - self._n_departures()))
        tcode, tname, tbranch = [], [], []
        bcode, bname, bprov, badmin, barea, bregion = [], [], [], [], [], []
        for b, (ri, (prov, admin, area, cities)) in enumerate(provinces[:n_branches]):
            bcode.append(f"BR{b + 1:02d}")
            bname.append(f"{prov}分公司")
            bprov.append(prov)
            badmin.append(admin)
            barea.append(area)
            bregion.append(ri)
            k = min(len(cities), 3 + int(rng.integers(0, 3)))
            for city in cities[:k]:
                tcode.append(f"T{len(tcode) + 1:03d}")
                tname.append(f"{city}片区")
                tbranch.append(b)
        return Geography(tcode, tname, np.array(tbranch), bcode, bname, bprov, badmin, barea, bregion,
                         [r[0] for r in fake.GEOGRAPHY], [r[1] for r in fake.GEOGRAPHY])

    # ------------------------------------------------------------------ reps
    def _n_departures(self) -> int:
        return int(min(self.cfg.reps // 5, round(0.025 * self.cfg.reps * self.years)))

    def _build_reps(self, rng: np.random.Generator) -> Reps:
        n = self.cfg.reps
        k = self._n_departures()
        n0 = n - k
        nb = len(self.geo.branch_code)
        # reps per branch proportional to the branch's market weight (largest remainder), at least one
        w = self.branch_weight
        share = w / w.sum() * (n0 - nb)
        per = np.floor(share).astype(int)
        per[np.argsort(-(share - per), kind="stable")[: (n0 - nb) - per.sum()]] += 1
        branch = np.empty(n, dtype=np.int64)
        branch[:n0] = np.repeat(np.arange(nb), per + 1)
        hire = np.empty(n, dtype=np.int64)
        hire[:n0] = -rng.integers(30, 12 * 365, n0)
        leave = np.full(n, NEVER, dtype=np.int64)
        replacement = np.full(n, -1, dtype=np.int64)
        if k:
            leavers = rng.choice(n0, k, replace=False)
            for j, r in enumerate(leavers):
                new = n0 + j
                lv = self._extract_day_in(rng, 0.15, 0.9) + int(rng.integers(0, 7))
                lv = min(lv, self.days - 1)
                hires = self.extract_days[(self.extract_days >= 1) & (self.extract_days <= lv)]
                hire[new] = int(hires[-1]) if len(hires) else lv
                leave[r] = lv
                replacement[r] = new
                branch[new] = branch[r]
                self._event(lv, "rep_leave", int(r), (new,))
        diligent = rng.random(n) < 0.6
        diligent[0], diligent[1] = True, False  # both kinds always present
        # how a rep spreads visits over A / B / C customers: focused on A, balanced, scattered
        focus = rng.choice(len(REP_FOCUS), n, p=REP_FOCUS_SHARES)
        focus[: min(n, len(REP_FOCUS))] = np.arange(min(n, len(REP_FOCUS)))  # every kind present
        names = fake.person_names(rng, n)
        phones = fake.phones(rng, [self.geo.branch_area[b] for b in branch], landline_share=0.0)
        return Reps([f"R{i + 1:0{max(3, len(str(n)))}d}" for i in range(n)], names, phones, branch, hire,
                    leave, replacement, diligent, focus)

    # ------------------------------------------------------------------ products
    def _build_products(self, rng: np.random.Generator) -> Products:
        n = self.cfg.skus
        ncat = len(fake.CATEGORIES)
        cat = np.empty(n, dtype=np.int64)
        first = min(n, ncat)
        cat[:first] = np.arange(first)
        cw = np.array([1.6, 1.2, 1.2, 1.0, 1.0, 1.1, 0.9, 0.8, 0.6, 0.7])[:ncat]
        cat[first:] = rng.choice(ncat, n - first, p=cw / cw.sum())
        brands = [fake.brand_word(rng) for _ in range(max(6, n // 8))]
        names, brand, unit, price = [], [], [], []
        seen = set()
        for i in range(n):
            cname, generics, units, (lo, hi) = fake.CATEGORIES[cat[i]]
            while True:
                b = brands[int(rng.integers(len(brands)))]
                g = generics[int(rng.integers(len(generics)))]
                spec = fake.pack_spec(rng, g)
                nm = f"{b}牌{g} {spec}"
                if nm not in seen:
                    seen.add(nm)
                    break
            names.append(nm)
            brand.append(b)
            unit.append(_unit_for(spec, units[int(rng.integers(len(units)))]))
            price.append(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        list_cents = (np.round(np.array(price) * 2) * 50).astype(np.int64)  # to 0.50 CNY
        list_cents = np.maximum(list_cents, 150)
        cost_cents = np.round(list_cents * rng.uniform(0.35, 0.7, n)).astype(np.int64)
        launch = -rng.integers(60, 10 * 365, n)
        discontinue = np.full(n, NEVER, dtype=np.int64)
        idx = np.arange(first, n)
        rng.shuffle(idx)
        n_new = int(round(0.08 * n)) if self.days > 60 else 0
        n_disc = int(round(0.04 * n)) if self.days > 60 else 0
        for i in idx[:n_new]:
            launch[i] = self._extract_day_in(rng, 0.05, 0.85)
        for i in idx[n_new:n_new + n_disc]:
            discontinue[i] = int(rng.integers(int(0.2 * self.days), int(0.95 * self.days)))
        for i in range(n):
            for _ in range(rng.poisson(0.5 * self.years)):
                self._event(int(rng.integers(1, self.days)), "price", i,
                            (float(rng.uniform(0.97, 1.09)), float(rng.uniform(0.96, 1.07))))
        popularity = rng.lognormal(0.0, 1.0, n)
        return Products([f"P{i + 1:0{max(4, len(str(n)))}d}" for i in range(n)], names, cat, brand, unit,
                        list_cents, cost_cents, launch, discontinue, popularity)

    # ------------------------------------------------------------------ customers
    def _channel_counts(self) -> np.ndarray:
        n = self.cfg.customers
        c = np.maximum(CHANNEL_MIN, np.round(CHANNEL_SHARE * n).astype(int))
        c[REGIONAL] += n - c.sum()
        return c

    def _build_customers(self, rng: np.random.Generator) -> Customers:
        cfg, days = self.cfg, self.days
        n = cfg.customers
        channel = np.repeat(np.arange(6), self._channel_counts())
        rng.shuffle(channel)
        # the first customer is a national wholesaler (stable anchor for examples)
        j = int(np.flatnonzero(channel == NATIONAL)[0])
        channel[0], channel[j] = channel[j], channel[0]
        regular = channel <= WHOLESALE_OR_CHAIN
        # latent strength (capital, discipline, standing): a strong customer buys more, pays cash
        # and on time, is often state-owned, established, keeps its licences in order and does not
        # divert goods. Every attribute below is drawn through a Gaussian copula on it, so the
        # customer base holds strong, average and weak customers of every channel type.
        strength = rng.standard_normal(n)

        # -- lifecycle: opened (first master extract), late-arriving, churn
        opened = -rng.integers(60, 15 * 365, n)
        # years in business when they became our customer: young (< 1), mid (1-8) or old (8-30);
        # young initial customers were opened recently so some are under 3 years at rating dates
        grp = ranked_pick(correlated_uniform(rng, strength, RHO_AGE), AGE_MIX[channel])
        age_years = np.select([grp == 0, grp == 1], [rng.uniform(0.05, 1, n), rng.uniform(1, 8, n)],
                              rng.uniform(8, 30, n))
        age_years = np.where((channel <= REGIONAL) & (grp > 0), age_years + 3, age_years)
        opened = np.where((grp == 0) & (opened < 0), -rng.integers(30, 700, n), opened)
        new_share = float(np.clip(0.07 * self.years, 0.08, 0.3))
        cand = np.flatnonzero(channel != NATIONAL)
        n_new = int(round(new_share * n))
        new = rng.choice(cand, min(n_new, len(cand)), replace=False)
        for i in new:
            opened[i] = self._extract_day_in(rng, 0.02, 0.92)
            if rng.random() < (0.2 if regular[i] else 0.4):  # some new customers are newly founded businesses
                age_years[i] = rng.uniform(0.05, 1.0)
        sales_start = opened.copy()
        late = np.zeros(n, dtype=bool)
        late_cand = [i for i in new if opened[i] >= 4]
        if late_cand:
            n_late = max(1, int(round(0.05 * len(new))))
            for i in rng.choice(late_cand, min(n_late, len(late_cand)), replace=False):
                late[i] = True
                sales_start[i] = opened[i] - int(rng.integers(1, 4))
        closed = np.full(n, NEVER, dtype=np.int64)
        p_churn = 1 - np.exp(-0.06 * self.years)
        churn_cand = np.flatnonzero((channel != NATIONAL) & ~late & (opened < 0.5 * days))
        n_churn = min(len(churn_cand), max(1, int(round(p_churn * n))))
        for i in rng.choice(churn_cand, n_churn, replace=False):
            lo = max(int(opened[i]) + 30, int(0.25 * days))
            closed[i] = int(rng.integers(min(lo, days - 2), days - 1))
        sales_stop = np.where(closed < NEVER, closed - rng.integers(0, 21, n), NEVER)
        sales_stop = np.maximum(sales_stop, sales_start + 1)

        size_z = RHO_SIZE * strength + np.sqrt(1 - RHO_SIZE ** 2) * rng.standard_normal(n)
        size_month = SIZE_MEDIAN[channel] * np.exp(SIZE_SIGMA[channel] * size_z)

        # -- geography and rep
        nb = len(self.geo.branch_code)
        bw = self.branch_weight
        branch = rng.choice(nb, n, p=bw / bw.sum())
        territory = np.empty(n, dtype=np.int64)
        rep = np.empty(n, dtype=np.int64)
        initial_reps = np.flatnonzero(self.reps.hire <= 0)
        for b in range(nb):
            members = np.flatnonzero(branch == b)
            terrs = self.geo.territories_of(b)
            territory[members] = rng.choice(terrs, len(members))
            brs = initial_reps[self.reps.branch[initial_reps] == b]
            if len(brs) == 0:
                brs = initial_reps
            # balanced round-robin, starting at a random rep
            rep[members] = brs[(np.arange(len(members)) + int(rng.integers(len(brs)))) % len(brs)]

        # -- credit file
        terms_class = 2 - ranked_pick(correlated_uniform(rng, strength, RHO_TERMS), TERMS_CLASS_MIX[channel])
        terms = ranked_pick(rng.random(n), TERMS_IN_CLASS[terms_class])
        nat_draw = 3 - ranked_pick(correlated_uniform(rng, strength, RHO_NATURE), NATURE_MIX[channel][:, ::-1])
        nature = np.where(nat_draw == 3, -1, nat_draw)
        founded = opened - (age_years * 365.25).astype(np.int64)
        founded = np.where(rng.random(n) < np.where(regular, 0.01, 0.05), NODATE, founded)
        share = np.clip(WALLET_MEDIAN[channel] * rng.lognormal(0, WALLET_SIGMA[channel]), 0.005, 0.9)
        turnover = size_month * 12 / share
        turnover = np.round(turnover / 10_000) * 10_000
        turnover = np.where(rng.random(n) < TURNOVER_MISSING[channel], np.nan, turnover)
        credit_limit = self._credit_limit(size_month, terms, rng.lognormal(0, 0.25, n))

        biz_lic = np.empty(n, dtype=np.int64)
        drug_lic = np.empty(n, dtype=np.int64)
        renew_type = 2 - ranked_pick(correlated_uniform(rng, strength, RHO_LICENCE), RENEWAL_MIX[channel])  # 0 early, 1 late, 2 never
        for i in range(n):
            biz_lic[i] = self._licence_timeline(rng, i, "biz_lic", int(opened[i]), int(renew_type[i]))
            drug_lic[i] = self._licence_timeline(rng, i, "drug_lic", int(opened[i]), int(renew_type[i]))
        biz_lic = np.where(rng.random(n) < np.where(regular, 0.01, 0.03), NODATE, biz_lic)
        drug_missing = rng.random(n) < np.select([channel == OTHER, regular], [0.3, 0.015], 0.05)
        drug_lic = np.where(drug_missing, NODATE, drug_lic)

        # -- change events over the period
        for i in range(n):
            for _ in range(rng.poisson(0.15 * self.years)):
                self._event(int(rng.integers(1, days)), "move_rep", i, (float(rng.random()),))
            for _ in range(rng.poisson(0.03 * self.years)):
                self._event(int(rng.integers(1, days)), "move_branch", i,
                            (float(rng.random()), float(rng.random()), float(rng.random())))
            for _ in range(rng.poisson(0.12 * self.years)):
                # terms renegotiated: one class better or worse, or another code of the same class
                self._event(int(rng.integers(1, days)), "terms", i, (int(rng.choice([-1, 0, 1], p=[0.35, 0.3, 0.35])),
                                                                     float(rng.random()), float(rng.lognormal(0, 0.25))))
            for _ in range(rng.poisson(0.3 * self.years)):
                self._event(int(rng.integers(1, days)), "credit_limit", i, (float(rng.uniform(0.7, 1.35)),))
        start = self.cal.start
        for y in range(start.year, start.year + int(np.ceil(self.years)) + 1):
            # declared turnover is refreshed from the annual report in spring
            base = (date(y, 4, 1) - start).days
            for i in np.flatnonzero(rng.random(n) < 0.6):
                self._event(base + int(rng.integers(0, 60)), "turnover", int(i),
                            (float(rng.lognormal(0.04, 0.2)), float(rng.beta(2, 6))))

        # -- identities (names, contacts, sensitive values)
        area = [self.geo.branch_area[b] for b in branch]
        prov = [self.geo.branch_province[b] for b in branch]
        city = [self.geo.territory_name[t].removesuffix("片区") for t in territory]
        names, seen = [], set()
        for i in range(n):
            nm = fake.customer_name(rng, CHANNELS[channel[i]], city[i])
            while nm in seen:
                nm = fake.customer_name(rng, CHANNELS[channel[i]], city[i])
            seen.add(nm)
            names.append(nm)
        addresses = [fake.address(rng, prov[i], city[i]) for i in range(n)]
        owners = fake.person_names(rng, n, length=3)
        public_text = "\n".join(names + addresses + owners + self.reps.name + self.geo.territory_name +
                                self.geo.branch_name + self.products.name + fake.VISIT_NOTES +
                                fake.OVERRIDE_REASONS + fake.TRAVEL_NOTES + fake.ORG_NOTES)
        legal: list[str] = []
        taken = set(owners) | set(self.reps.name)
        for nm in fake.person_names(rng, 3 * n + 50, length=3):
            if nm not in taken and nm not in public_text:
                legal.append(nm)
                if len(legal) == n:
                    break
        phones = fake.phones(rng, area, exclude=set(self.reps.phone))
        tax = [fake.uscc(rng, self.geo.branch_admin[b]) for b in branch]
        bank_name = [fake.bank_branch(rng, c) for c in city]
        bank_acct = fake_unique(lambda: fake.bank_account(rng), n)
        width = max(5, len(str(n)))
        return Customers(
            code=[f"C{i + 1:0{width}d}" for i in range(n)], name=names, channel=channel, address=addresses,
            phone=phones, owner=owners, legal_rep=legal, tax_id=tax, bank_name=bank_name, bank_account=bank_acct,
            founded=founded, nature=nature, opened=opened, sales_start=sales_start, sales_stop=sales_stop,
            closed=closed, late_arriving=late, strength=strength, size_month=size_month, branch=branch, territory=territory, rep=rep,
            terms=terms, credit_limit=credit_limit, turnover=turnover, biz_lic=biz_lic, drug_lic=drug_lic)

    @staticmethod
    def _credit_limit(size_month, terms, noise) -> np.ndarray:
        days = TERMS_DUE_DAYS[terms]
        lim = np.asarray(size_month) * np.maximum(days, 10) / 30 * 1.5 * noise
        lim = np.where(np.asarray(terms) == 0, 0, lim)  # prepay: no credit
        return (np.round(lim / 10_000) * 10_000).astype(np.int64)

    def _licence_timeline(self, rng, i: int, kind: str, opened: int, renew_type: int) -> int:
        """Initial expiry day of a licence; schedules its renewals as events."""
        span = LICENCE_YEARS * 365
        if opened > 0:
            exp = opened + int(rng.integers(120, span))
        else:
            exp = int(rng.integers(-240, span))
        initial = exp
        while True:
            if renew_type == 2:  # never renews: lapses and stays expired
                break
            r = exp - int(rng.integers(0, 45)) if renew_type == 0 else exp + int(rng.integers(1, 60))
            if r >= self.days:
                break
            new = exp + span
            if r <= 0:
                initial = exp = new
                continue
            self._event(r, kind, i, (new,))
            exp = new
        return initial

    # ------------------------------------------------------------------ applying changes
    def advance(self, t: int) -> None:
        """Apply every change event dated day ``t`` (call once per day, in order)."""
        cu, pr, rp = self.customers, self.products, self.reps
        while self._events and self._events[0].day <= t:
            e = heapq.heappop(self._events)
            self.change_counts[e.kind] = self.change_counts.get(e.kind, 0) + 1
            i = e.idx
            if e.kind == "move_rep":
                cands = np.flatnonzero(rp.active(t) & (rp.branch == cu.branch[i]) & (np.arange(len(rp.code)) != cu.rep[i]))
                if len(cands):
                    cu.rep[i] = cands[int(e.payload[0] * len(cands))]
            elif e.kind == "move_branch":
                nb = len(self.geo.branch_code)
                if nb > 1:
                    others = [b for b in range(nb) if b != cu.branch[i]]
                    b = others[int(e.payload[0] * len(others))]
                    terrs = self.geo.territories_of(b)
                    reps = np.flatnonzero(rp.active(t) & (rp.branch == b))
                    if len(reps):
                        cu.branch[i] = b
                        cu.territory[i] = terrs[int(e.payload[1] * len(terrs))]
                        cu.rep[i] = reps[int(e.payload[2] * len(reps))]
            elif e.kind == "terms":
                cls = int(np.clip(TERMS_CLASS[cu.terms[i]] + e.payload[0], 0, 2))
                cu.terms[i] = ranked_pick(np.array([e.payload[1]]), TERMS_IN_CLASS[cls])[0]
                cu.credit_limit[i] = self._credit_limit(cu.size_month[i:i + 1], cu.terms[i:i + 1],
                                                        np.array([e.payload[2]]))[0]
            elif e.kind == "credit_limit":
                if cu.terms[i] != 0:
                    cu.credit_limit[i] = int(round(cu.credit_limit[i] * e.payload[0] / 10_000) * 10_000)
            elif e.kind == "turnover":
                if np.isnan(cu.turnover[i]):
                    if e.payload[1] < 0.08:  # a few customers with no declared turnover finally declare one
                        cu.turnover[i] = round(cu.size_month[i] * 12 / max(e.payload[1] * 3, 0.05) / 10_000) * 10_000
                else:
                    cu.turnover[i] = round(cu.turnover[i] * e.payload[0] / 10_000) * 10_000
            elif e.kind == "biz_lic":
                if cu.biz_lic[i] != NODATE:
                    cu.biz_lic[i] = e.payload[0]
            elif e.kind == "drug_lic":
                if cu.drug_lic[i] != NODATE:
                    cu.drug_lic[i] = e.payload[0]
            elif e.kind == "price":
                pr.list_cents[i] = int(round(pr.list_cents[i] * e.payload[0] / 50) * 50)
                pr.cost_cents[i] = int(round(pr.cost_cents[i] * e.payload[1]))
            elif e.kind == "rep_leave":
                new = e.payload[0]
                cu.rep[cu.rep == i] = new

    # ------------------------------------------------------------------ extracts
    def customers_extract(self, t: int) -> dict[str, np.ndarray]:
        cu, cal = self.customers, self.cal
        rows = np.flatnonzero(cu.opened <= t)
        code = np.array(cu.code, dtype=object)
        turnover = cu.turnover[rows]
        return {
            "customer_code": code[rows],
            "customer_name": np.array(cu.name, dtype=object)[rows],
            "channel_type": np.array(CHANNELS, dtype=object)[cu.channel[rows]],
            "branch_code": np.array(self.geo.branch_code, dtype=object)[cu.branch[rows]],
            "territory_code": np.array(self.geo.territory_code, dtype=object)[cu.territory[rows]],
            "rep_code": np.array(self.reps.code, dtype=object)[cu.rep[rows]],
            "address": np.array(cu.address, dtype=object)[rows],
            "phone": np.array(cu.phone, dtype=object)[rows],
            "owner_name": np.array(cu.owner, dtype=object)[rows],
            "legal_representative": np.array(cu.legal_rep, dtype=object)[rows],
            "founded_date": cal.fmt(cu.founded[rows]),
            "tax_id": np.array(cu.tax_id, dtype=object)[rows],
            "bank_name": np.array(cu.bank_name, dtype=object)[rows],
            "bank_account": np.array(cu.bank_account, dtype=object)[rows],
            "business_nature": np.array(NATURES + [""], dtype=object)[cu.nature[rows]],
            "business_licence_expiry": cal.fmt(cu.biz_lic[rows]),
            "drug_licence_expiry": cal.fmt(cu.drug_lic[rows]),
            "declared_annual_turnover": np.where(np.isnan(turnover), "",
                                                 np.nan_to_num(turnover).astype(np.int64).astype(str)),
            "payment_terms": np.array(TERMS, dtype=object)[cu.terms[rows]],
            "credit_limit": cu.credit_limit[rows].astype(str),
            "opened_date": cal.fmt(cu.opened[rows]),
            "status": np.where(cu.closed[rows] <= t, "CLOSED", "ACTIVE"),
            "extract_date": np.full(len(rows), cal.iso[t]),
        }

    def products_extract(self, t: int) -> dict[str, np.ndarray]:
        pr, cal = self.products, self.cal
        rows = np.flatnonzero(pr.launch <= t)
        return {
            "sku": np.array(pr.code, dtype=object)[rows],
            "product_name": np.array(pr.name, dtype=object)[rows],
            "category": np.array([c[0] for c in fake.CATEGORIES], dtype=object)[pr.category[rows]],
            "brand": np.array(pr.brand, dtype=object)[rows],
            "unit": np.array(pr.unit, dtype=object)[rows],
            "list_price": cents_str(pr.list_cents[rows]),
            "standard_cost": cents_str(pr.cost_cents[rows]),
            "launch_date": cal.fmt(pr.launch[rows]),
            "status": np.where(pr.discontinue[rows] <= t, "DISCONTINUED", "ACTIVE"),
            "extract_date": np.full(len(rows), cal.iso[t]),
        }

    def reps_extract(self, t: int) -> dict[str, np.ndarray]:
        rp, cal = self.reps, self.cal
        rows = np.flatnonzero(rp.hire <= t)
        return {
            "rep_code": np.array(rp.code, dtype=object)[rows],
            "rep_name": np.array(rp.name, dtype=object)[rows],
            "branch_code": np.array(self.geo.branch_code, dtype=object)[rp.branch[rows]],
            "phone": np.array(rp.phone, dtype=object)[rows],
            "hire_date": cal.fmt(rp.hire[rows]),
            "status": np.where(rp.leave[rows] <= t, "INACTIVE", "ACTIVE"),
            "extract_date": np.full(len(rows), cal.iso[t]),
        }

    def branches_extract(self, t: int) -> dict[str, np.ndarray]:
        g = self.geo
        tb = g.territory_branch
        reg = np.array(g.branch_region)[tb]
        return {
            "territory_code": np.array(g.territory_code, dtype=object),
            "territory_name": np.array(g.territory_name, dtype=object),
            "branch_code": np.array(g.branch_code, dtype=object)[tb],
            "branch_name": np.array(g.branch_name, dtype=object)[tb],
            "region_code": np.array(g.region_code, dtype=object)[reg],
            "region_name": np.array(g.region_name, dtype=object)[reg],
            "extract_date": np.full(len(tb), self.cal.iso[t]),
        }

    def sensitive_values(self) -> list[str]:
        cu = self.customers
        vals = set(cu.phone) | set(cu.legal_rep) | set(cu.tax_id) | set(cu.bank_name) | set(cu.bank_account)
        return sorted(v for v in vals if v)


def _unit_for(spec: str, default: str) -> str:
    if "*" in spec:
        return "盒"
    if spec.endswith("ml"):
        return "瓶"
    if spec.endswith("g") and not spec.endswith("0g"):
        return "支"
    return default


def fake_unique(make, n: int) -> list[str]:
    out, seen = [], set()
    while len(out) < n:
        v = make()
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out
