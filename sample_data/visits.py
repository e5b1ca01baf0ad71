"""Rep visit logs (CRM JSON Lines): monthly visit plans per rep by customer tier (A/B/C within the
channel as R1 classes them on the previous month end's trailing 12 months of sales; by expected
sales before there is history), the rep's focus (focused on A customers, balanced on the R4
bands, or scattered) and diligence (diligent reps fill their day to 10-12 customer visits, extra
visits going where their focus says; lax reps drop some planned visits and spend more time on
travel, organisation and personal matters), the daily activity sequence with check-in /
check-out timestamps, and the daily .jsonl files with their faults."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sample_data import fake
from sample_data import faults as F
from sample_data.master import World, rng_for
from sample_data.sales import Behaviour, SalesDay
from sample_data.seasons import weekday_of, working_days
from sample_data.writers import encode, write_bytes, zfill

SELLING, TRAVEL, ORGANISATION, PERSONAL = range(4)
ACTIVITIES = np.array(["selling", "travel", "organisation", "personal"])
A, B, C = range(3)
TIERS = np.array(["A", "B", "C"])
# planned visits per customer and month (inclusive ranges) by tier A / B / C, per rep focus
# (master.REP_FOCUS): focused on A customers, balanced (the R4 bands), scattered
PLAN = np.array([
    [(5, 7), (2, 3), (0, 1)],
    [(4, 6), (2, 4), (1, 2)],
    [(2, 4), (2, 4), (1, 3)],
])
# a diligent rep fills the rest of its day (10-12 customer visits) with extra visits, weighted by
# tier as its focus says, up to a monthly cap per customer by tier; a lax rep drops some planned visits
EXTRA_WEIGHT = np.array([[8.0, 1.5, 0.5], [3.0, 3.0, 1.0], [2.0, 2.0, 2.0]])
EXTRA_CAP = np.array([[12, 4, 2], [10, 6, 3], [8, 8, 4]])
LAX_KEEP = (0.65, 0.9)
DAY_END_SECONDS = 21 * 3600


def visits_path(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"visits/{y}/{m}/visits_{y}{m}{d}.jsonl"


def abc_tiers(channel: np.ndarray, sales: np.ndarray) -> np.ndarray:
    """A / B / C per customer as R1 classes them within its channel type: ranked by ``sales``, A
    while the sales before it are under 75 % of the channel's, B under 95 %, C the rest and every
    customer without sales."""
    tier = np.full(len(sales), C)
    for ch in np.unique(channel):
        idx = np.flatnonzero((channel == ch) & (sales > 0))
        if len(idx) == 0:
            continue
        order = idx[np.argsort(-sales[idx], kind="stable")]
        cum = np.cumsum(sales[order]) / sales[order].sum()
        prev = np.r_[0.0, cum[:-1]]
        tier[order] = np.where(prev < 0.75, A, np.where(prev < 0.95, B, C))
    return tier


def customer_tiers(world: World) -> np.ndarray:
    """A / B / C per customer from expected sales within its channel (before any sales history)."""
    cu = world.customers
    return abc_tiers(cu.channel, cu.size_month)


def _tok(values: np.ndarray) -> np.ndarray:
    """JSON token per value: quoted string, or null for None."""
    v = np.asarray(values, dtype=object)
    isnull = np.array([x is None for x in v.tolist()], dtype=bool) if len(v) else np.zeros(0, bool)
    s = np.array(["" if x is None else str(x) for x in v.tolist()], dtype=str) if len(v) else np.array([], dtype=str)
    return np.where(isnull, "null", np.strings.add(np.strings.add('"', s), '"'))


def _hms(sec: np.ndarray) -> np.ndarray:
    sec = np.asarray(sec, dtype=np.int64)
    h = zfill((sec // 3600).astype(str), 2)
    m = zfill((sec // 60 % 60).astype(str), 2)
    s = zfill((sec % 60).astype(str), 2)
    return np.strings.add(np.strings.add(np.strings.add(np.strings.add(h, ":"), m), ":"), s)


class VisitLog:
    def __init__(self, world: World, beh: Behaviour, landing: Path, plan: F.FaultPlan):
        self.w, self.landing, self.plan = world, landing, plan
        cfg = world.cfg
        rng = rng_for(cfg.seed, 4)
        nr = len(world.reps.code)
        self.working = working_days(cfg.start_date, world.days)
        self.weekday = weekday_of(cfg.start_date, world.days)
        # reps plan by the ABC list of the previous month end (R1 per channel type on the trailing
        # 12 months' net sales), and by the expected sales before there is a month of history
        self.tier = customer_tiers(world)
        months = world.cal.dates.astype("datetime64[M]")
        self.month_of_day = (months - months[0]).astype(np.int64)
        self.month_sales = np.zeros((world.customers.n, int(self.month_of_day[-1]) + 1))
        dil = world.reps.diligent
        self.daily_target = np.where(dil, rng.integers(10, 13, nr), rng.integers(6, 10, nr))
        self.saturday_worker = dil & (rng.random(nr) < 0.15)
        self.schedule: dict[int, dict[int, np.ndarray]] = {}
        months = world.cal.dates.astype("datetime64[M]")
        self.month_start = np.r_[True, months[1:] != months[:-1]]
        self.month_end = np.r_[months[1:] != months[:-1], True]
        self.cust_codes = np.array(world.customers.code)
        self.rep_codes = np.array(world.reps.code)
        self.counts = {"files": 0, "records": 0, "customer_visits": 0,
                       "by_activity": {a: 0 for a in ACTIVITIES.tolist()}, "bytes": 0,
                       "tiers": {t: int((self.tier == i).sum()) for i, t in enumerate(TIERS.tolist())}}

    def add_sales(self, sd: SalesDay) -> None:
        if len(sd):
            self.month_sales[:, self.month_of_day[sd.t]] += np.bincount(sd.cust, weights=sd.net_cents,
                                                                        minlength=self.w.customers.n)

    # ------------------------------------------------------------------ planning
    def _plan_month(self, t0: int) -> None:
        w, cu, rp = self.w, self.w.customers, self.w.reps
        rng = rng_for(w.cfg.seed, 14, t0)
        m = int(self.month_of_day[t0])
        if m > 0:
            self.tier = abc_tiers(cu.channel, self.month_sales[:, max(0, m - 12):m].sum(axis=1))
        t1 = t0
        while not self.month_end[t1]:
            t1 += 1
        days = np.arange(t0, t1 + 1)
        self.schedule = {int(d): {} for d in days}
        for r in range(len(rp.code)):
            if rp.hire[r] > t1 or rp.leave[r] <= t0:
                continue
            dil = bool(rp.diligent[r])
            emp = (days >= rp.hire[r]) & (days < rp.leave[r])
            sat = (self.weekday[days] == 5) & self.saturday_worker[r]
            wd = days[emp & (self.working[days] | sat)]
            if len(wd) == 0:
                continue
            is_sat = self.weekday[wd] == 5
            caps = np.where(is_sat, rng.integers(4, 7, len(wd)),
                            np.maximum(1, self.daily_target[r] + rng.integers(-1, 2, len(wd))))
            custs = np.flatnonzero((cu.rep == r) & (cu.opened <= t1) & (cu.closed > t0))
            if len(custs) == 0:
                continue
            tier = self.tier[custs]
            focus = int(rp.focus[r])
            lo, hi = PLAN[focus, tier, 0], PLAN[focus, tier, 1]
            frac = len(wd) / max(1, 22)  # part months (start, end, hire) get a proportional quota
            q = np.round(rng.integers(lo, hi + 1) * min(1.0, frac)).astype(np.int64)
            capacity = int(caps.sum())
            if not dil:
                q = rng.binomial(q, rng.uniform(*LAX_KEEP))
            extra = capacity - int(q.sum())
            if extra > 0 and dil:
                cap = np.maximum(np.round(EXTRA_CAP[focus, tier] * min(1.0, frac)).astype(np.int64), q)
                base_w = EXTRA_WEIGHT[focus, tier]
                for _ in range(6):  # fill the rep's capacity, re-spreading what the per-customer caps cut off
                    left = capacity - int(q.sum())
                    wts = base_w * (cap > q)
                    if left <= 0 or wts.sum() == 0:
                        break
                    q = np.minimum(q + rng.multinomial(left, wts / wts.sum()), cap)
            elif extra < 0:
                visits = np.repeat(np.arange(len(custs)), q)
                keep = rng.choice(len(visits), capacity, replace=False)
                q = np.bincount(visits[keep], minlength=len(custs))
            vc = np.repeat(custs, q)
            if len(vc) == 0:
                continue
            k = np.concatenate([np.arange(x) for x in q]) if len(q) else np.array([])
            ideal = (k + rng.random(len(vc))) / np.repeat(np.maximum(q, 1), q)
            vc = vc[np.argsort(ideal, kind="stable")]
            # spread the month's visits over its working days (in proportion to each day's capacity)
            bounds = np.r_[0, np.round(np.cumsum(caps) * min(1.0, len(vc) / capacity)).astype(np.int64)]
            for i, d in enumerate(wd):
                part = vc[bounds[i]:bounds[i + 1]]
                if len(part):
                    self.schedule[int(d)][r] = part

    # ------------------------------------------------------------------ one day
    def day(self, t: int) -> None:
        if self.month_start[t] or t == 0:
            self._plan_month(t)
        w, cu, rp = self.w, self.w.customers, self.w.reps
        rng = rng_for(w.cfg.seed, 15, t)
        plan_today = self.schedule.get(t, {})
        active_reps = np.flatnonzero(rp.active(t))
        acts: list[int] = []
        reps: list[int] = []
        custs: list[int] = []
        for r in active_reps:
            r = int(r)
            planned = plan_today.get(r)
            working = self.working[t] or (self.weekday[t] == 5 and self.saturday_worker[r] and planned is not None)
            if not working:
                continue
            dil = bool(rp.diligent[r])
            v = []
            if planned is not None:
                ok = (cu.rep[planned] == r) & (cu.opened[planned] <= t) & (cu.closed[planned] > t)
                v = planned[ok].tolist()
            seq: list[tuple[int, int]] = []
            if rng.random() < (0.35 if dil else 0.5):
                seq.append((ORGANISATION, -1))
            if not v:
                seq.append((ORGANISATION, -1))
            else:
                seq.append((TRAVEL, -1))
                n_mid = int(rng.integers(0, 2)) if dil else int(rng.integers(1, 4))
                mids = set(rng.integers(1, max(2, len(v)), n_mid).tolist()) if len(v) > 1 else set()
                lunch = len(v) // 2 if rng.random() < (0.5 if dil else 0.8) else -1
                for i, c in enumerate(v):
                    if i in mids:
                        seq.append((TRAVEL, -1))
                    if i == lunch and i > 0:
                        seq.append((PERSONAL, -1))
                    seq.append((SELLING, c))
                if rng.random() < (0.2 if dil else 0.35):
                    seq.append((ORGANISATION, -1))
            for a, c in seq:
                acts.append(a)
                reps.append(r)
                custs.append(c)
        if not acts:
            return
        act = np.array(acts)
        rep = np.array(reps)
        cust = np.array(custs)
        n = len(act)
        dil = rp.diligent[rep]
        lo = np.select([act == SELLING, act == TRAVEL, act == ORGANISATION],
                       [np.where(dil, 15, 20), np.where(dil, 10, 30), 30], np.where(dil, 30, 30))
        hi = np.select([act == SELLING, act == TRAVEL, act == ORGANISATION],
                       [np.where(dil, 35, 45), np.where(dil, 35, 75), 90], np.where(dil, 60, 90))
        dur = rng.integers(lo * 60, hi * 60 + 1)
        gap = rng.integers(0, 10 * 60, n)
        starts_grp = np.r_[True, rep[1:] != rep[:-1]]
        grp = np.cumsum(starts_grp) - 1
        day_start = rng.integers(495 * 60, 570 * 60, grp[-1] + 1)
        step = dur + gap
        cum = np.cumsum(step)
        grp_first = np.flatnonzero(starts_grp)
        before = cum - step  # total of earlier records overall
        offset = before - before[grp_first][grp]
        check_in = day_start[grp] + offset
        check_out = check_in + dur
        keep = check_out <= DAY_END_SECONDS
        act, rep, cust, check_in, check_out, grp = act[keep], rep[keep], cust[keep], check_in[keep], check_out[keep], grp[keep]
        n = len(act)
        # sequence number per rep-day (1-based)
        first = np.r_[True, rep[1:] != rep[:-1]]
        idx_first = np.flatnonzero(first)
        seqno = np.arange(n) - np.repeat(idx_first, np.diff(np.r_[idx_first, n])) + 1
        iso = w.cal.iso[t]
        ymd = iso.replace("-", "")
        visit_id = np.strings.add(np.strings.add(f"V{ymd}", self.rep_codes[rep]), zfill(seqno.astype(str), 2))
        selling = act == SELLING
        notes = np.empty(n, dtype=object)
        for a, pool in ((SELLING, fake.VISIT_NOTES + ["", ""]), (TRAVEL, fake.TRAVEL_NOTES),
                        (ORGANISATION, fake.ORG_NOTES), (PERSONAL, fake.PERSONAL_NOTES)):
            m = act == a
            notes[m] = np.array(pool, dtype=object)[rng.integers(0, len(pool), m.sum())]
        nxt = np.full(n, None, dtype=object)
        has_next = selling & (rng.random(n) < 0.35)
        nd = t + rng.integers(3, 22, n)
        nxt[has_next] = np.datetime_as_string(w.cal.dt(0) + nd[has_next], unit="D")
        rec = {
            "visit_id": visit_id.astype(object),
            "rep_code": self.rep_codes[rep].astype(object),
            "customer_code": np.where(selling, self.cust_codes[np.maximum(cust, 0)], None).astype(object),
            "check_in": np.strings.add(np.strings.add(f"{iso}T", _hms(check_in)), "+08:00").astype(object),
            "check_out": np.strings.add(np.strings.add(f"{iso}T", _hms(check_out)), "+08:00").astype(object),
            "activity_type": ACTIVITIES[act].astype(object),
            "notes": notes,
            "next_appointment": nxt,
        }
        self.counts["records"] += n
        self.counts["customer_visits"] += int(selling.sum())
        for i, a in enumerate(ACTIVITIES.tolist()):
            self.counts["by_activity"][a] += int((act == i).sum())
        self._write(t, rec, selling, check_in, check_out)

    def _write(self, t: int, rec: dict, selling: np.ndarray, check_in: np.ndarray, check_out: np.ndarray) -> None:
        w, plan = self.w, self.plan
        iso = w.cal.iso[t]
        rel = visits_path(iso)
        path = self.landing / rel
        self.counts["files"] += 1
        n = len(selling)
        frng = plan.rng(F.VISITS, t)
        has_cjk = any(x for x in rec["notes"].tolist())  # GBK bytes only differ from UTF-8 on non-ASCII text
        kinds = (["undeclared_encoding"] if has_cjk else []) + ["empty_file"]
        ff = plan.choose_file_fault(F.VISITS, kinds, frng) if plan.rates else None
        if ff is not None:
            plan.log(ff, F.VISITS, rel, None)
        if ff == "empty_file":
            write_bytes(path, b"")
            return
        bad_json: np.ndarray = np.array([], dtype=np.int64)
        logcol: dict[int, tuple[str, str | None]] = {}
        picks: dict = {}
        if ff is None and plan.active(F.VISITS, "row"):
            elig = {k: None for k in ["missing_key", "unknown_rep", "date_outside_partition", "future_date",
                                      "duplicate_key", "bad_enum", "bad_json", "bad_timestamp", "checkout_before_checkin"]}
            elig["unknown_customer"] = selling
            picks = plan.choose_row_faults(F.VISITS, n, elig, frng)
            for kind, idx in picks.items():
                m = len(idx)
                col: list = [None] * m
                if kind == "missing_key":
                    col = F.pick(frng, ["visit_id", "rep_code"], m)
                    for i, cname in zip(idx, col):
                        rec[cname][i] = None
                elif kind == "unknown_customer":
                    rec["customer_code"][idx] = F.unknown_codes(frng, "C", len(self.cust_codes[0]) - 1, len(self.cust_codes), m)
                    col = ["customer_code"] * m
                elif kind == "unknown_rep":
                    rec["rep_code"][idx] = F.unknown_codes(frng, "R", len(self.rep_codes[0]) - 1, len(self.rep_codes), m)
                    col = ["rep_code"] * m
                elif kind in ("date_outside_partition", "future_date"):
                    d = F.shifted_dates(frng, w.cal.dt(t), m, latest=w.cal.dates[-1]) if kind == "date_outside_partition" else F.future_dates(frng, m)
                    for i, x in zip(idx, d):
                        rec["check_in"][i] = str(x) + rec["check_in"][i][10:]
                        rec["check_out"][i] = str(x) + rec["check_out"][i][10:]
                    col = ["check_in"] * m
                elif kind == "bad_enum":
                    rec["activity_type"][idx] = F.pick(frng, F.BAD_ENUMS["activity_type"], m)
                    col = ["activity_type"] * m
                elif kind == "bad_timestamp":
                    col = F.pick(frng, ["check_in", "check_out"], m)
                    for i, cname, v in zip(idx, col, F.bad_timestamps(frng, m, iso)):
                        rec[cname][i] = v
                elif kind == "checkout_before_checkin":
                    back = check_in[idx] - frng.integers(5 * 60, 90 * 60 + 1, m)
                    rec["check_out"][idx] = np.strings.add(np.strings.add(f"{iso}T", _hms(back)), "+08:00").astype(object)
                    col = ["check_out"] * m
                elif kind == "bad_json":
                    bad_json = idx
                for i, cname in zip(idx, col):
                    logcol[int(i)] = (kind, cname)
        keys = list(rec)
        toks = [_tok(rec[k]) for k in keys]
        line = np.full(n, "{", dtype=object).astype(str)
        for j, (k, tk) in enumerate(zip(keys, toks)):
            line = np.strings.add(np.strings.add(line, ('"' if j == 0 else ', "') + k + '": '), tk)
        line = np.strings.add(line, "}").astype(object)
        for i in bad_json:
            s = line[i]
            line[i] = s[: int(len(s) * frng.uniform(0.4, 0.85))]
        src = plan.finish_rows(F.VISITS, rel, n, picks, logcol, 1)
        if src is not None:
            line = line[src]
        text = "\n".join(line.tolist()) + "\n"
        data = encode(text, "gbk") if ff == "undeclared_encoding" else encode(text, "utf-8")
        self.counts["bytes"] += write_bytes(path, data)
