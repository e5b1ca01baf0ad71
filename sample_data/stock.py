"""Weekly distributor stock reports: which customers report (every national group's company, some
regional wholesalers and pharmacy chains), each reporter's fixed header variant / file format /
inventory policy (under-stocked, at the 20-25 days standard of seed 003, or over-stocked), the
weekly stock model per distributor x SKU (received = our invoiced qty; sell-out such that closing
stock covers the distributor's target days of its last four weeks' sell-out, with a weekly
wobble; stagnant spells with zero sell-out; cross-territory sell-out incidents, more frequent at
weak distributors), and the .csv / .xlsx files (a SKU with no stock and no movement in the week
is left out of the report)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from sample_data import faults as F
from sample_data.master import NATIONAL, World, correlated_uniform, ranked_pick, rng_for
from sample_data.sales import Behaviour, SalesDay, position_probs
from sample_data.writers import csv_lines, encode, quote, write_bytes, xlsx_bytes

STOCK_COLUMNS = ["sku", "product_name", "opening_qty", "received_qty", "sold_qty", "closing_qty", "report_date",
                 "destination_territory"]
# Header variants (canonical column -> header, in file column order). A distributor always uses
# the same variant. destination_territory is optional and missing from some variants.
STOCK_HEADER_VARIANTS: dict[str, dict[str, str]] = {
    "en_snake": {"sku": "sku", "product_name": "product_name", "opening_qty": "opening_qty",
                 "received_qty": "received_qty", "sold_qty": "sold_qty", "closing_qty": "closing_qty",
                 "report_date": "report_date", "destination_territory": "destination_territory"},
    "zh_standard": {"sku": "商品编码", "product_name": "商品名称", "opening_qty": "期初库存", "received_qty": "本期进货",
                    "sold_qty": "本期销售", "closing_qty": "期末库存", "report_date": "报告日期",
                    "destination_territory": "销售去向"},
    "zh_erp": {"report_date": "日期", "sku": "产品编码", "product_name": "品名", "opening_qty": "上期结存",
               "received_qty": "本期入库", "sold_qty": "本期出库", "closing_qty": "本期结存"},
    "en_title": {"sku": "SKU Code", "product_name": "Product Name", "opening_qty": "Opening Stock",
                 "received_qty": "Received", "sold_qty": "Sold", "closing_qty": "Closing Stock",
                 "report_date": "Report Date"},
    "zh_flow": {"sku": "药品编码", "product_name": "药品名称", "opening_qty": "期初数量", "received_qty": "入库数量",
                "sold_qty": "销售数量", "closing_qty": "期末数量", "report_date": "统计日期",
                "destination_territory": "流向区域"},
}
VARIANT_NAMES = list(STOCK_HEADER_VARIANTS)
XLSX_SHARE = 0.30
# which customers send weekly stock reports: every national group's company, some regional
# wholesalers and pharmacy chains (those with a stock-reporting agreement)
REPORTING_SHARE = np.array([1.0, 0.10, 0.08, 0.0, 0.0, 0.0])
MIN_REPORTERS = 6
MISSED_REPORT_SHARE = 0.02
STAGNANT_START_PER_WEEK = 0.004
# inventory policy: (share, low, high) of the target days of inventory a distributor keeps --
# under-stocked (< 20 days, low), at the standard (20-25, normal) or over-stocked (> 25, high) --
# and the week-to-week wobble (lognormal sigma) around the target
DOI_POLICIES = [(0.25, 9.0, 17.0), (0.45, 21.0, 24.0), (0.30, 29.0, 55.0)]
DOI_SKU_SIGMA = np.array([0.15, 0.04, 0.15])
DOI_WEEK_SIGMA = np.array([0.15, 0.05, 0.15])
SELL_OUT_WINDOW_DAYS = 28  # the distributor steers closing stock against its last four weeks' sell-out
# cross-territory sell-out incidents per year, by the distributor's discipline (weakest first):
# (share of reporters with a destination column, rate)
INCIDENT_RATES = [(0.15, 6.0), (0.30, 1.5), (0.55, 0.0)]


def stock_path(monday_iso: str, code: str, ext: str) -> str:
    y, m, d = monday_iso.split("-")
    return f"stock/{y}/{m}/{d}/stock_{code}.{ext}"


class StockReporter:
    def __init__(self, world: World, beh: Behaviour, landing: Path, plan: F.FaultPlan):
        self.w, self.b, self.landing, self.plan = world, beh, landing, plan
        cu, pr = world.customers, world.products
        rng = rng_for(world.cfg.seed, 3)
        ch = cu.channel
        is_rep = rng.random(cu.n) < REPORTING_SHARE[ch]
        # small worlds: at least MIN_REPORTERS distributors (the largest wholesalers and chains)
        short = MIN_REPORTERS - int(is_rep.sum())
        if short > 0:
            cand = np.flatnonzero(~is_rep & (REPORTING_SHARE[ch] > 0))
            is_rep[cand[np.argsort(-cu.size_month[cand], kind="stable")][:short]] = True
        self.cust = np.flatnonzero(is_rep)
        r = len(self.cust)
        self.slot = np.full(cu.n, -1)
        self.slot[self.cust] = np.arange(r)
        self.variant = rng.integers(0, len(VARIANT_NAMES), r)
        # every variant and both formats occur whenever there are enough reporters
        self.variant[: min(r, len(VARIANT_NAMES))] = np.arange(min(r, len(VARIANT_NAMES)))
        # ~30 % of distributors send .xlsx (at least one if r >= 2): not the national groups' companies,
        # which export CSV from their ERP
        self.xlsx = np.zeros(r, dtype=bool)
        order = rng.permutation(r)
        order = np.r_[order[ch[self.cust[order]] != NATIONAL], order[ch[self.cust[order]] == NATIONAL]]
        self.xlsx[order[: max(1 if r >= 2 else 0, int(round(XLSX_SHARE * r)))]] = True
        self.bom = rng.random(r) < 0.3
        self.crlf = rng.random(r) < 0.5
        pol = rng.choice(3, r, p=[p[0] for p in DOI_POLICIES])
        lo = np.array([p[1] for p in DOI_POLICIES])[pol]
        hi = np.array([p[2] for p in DOI_POLICIES])[pol]
        self.target_doi = rng.uniform(lo, hi)
        self.policy = pol
        has_dest = np.array(["destination_territory" in STOCK_HEADER_VARIANTS[VARIANT_NAMES[v]] for v in self.variant])
        inc = ranked_pick(correlated_uniform(rng, cu.strength[self.cust], 0.6), np.array([p[0] for p in INCIDENT_RATES]))
        self.incident_rate = np.where(has_dest, np.array([p[1] for p in INCIDENT_RATES])[inc], 0.0)

        s = len(pr.code)
        self.doi_mult = np.exp(DOI_SKU_SIGMA[pol][:, None] * rng.standard_normal((r, s)))
        self.week_sigma = DOI_WEEK_SIGMA[pol]
        # expected weekly sell-in per (reporter, sku) from the buying model (initial stock level)
        exp_in = np.zeros((r, s))
        for j, c in enumerate(self.cust):
            a = beh.assort_n[c]
            skus = beh.assort[c, :a]
            p_line = 1 - (1 - position_probs(int(a))) ** beh.lines_mean[c]
            qty = beh.line_amount[c] * 100 / np.maximum(1, pr.list_cents[skus] * beh.price_factor[c])
            exp_in[j, skus] = beh.inv_rate[c] * 7 * p_line * qty
        existing = (cu.opened[self.cust] <= 0)[:, None] & (exp_in > 0) & pr.sellable(0)[None, :]
        self.carried = existing.copy()
        self.stock = np.where(existing, np.round(self.target_doi[:, None] * self.doi_mult * exp_in / 7), 0).astype(np.int64)
        # sell-out of the last three weeks (ring buffer), started at the expected weekly sell-in
        self.recent = np.repeat(np.round(np.where(existing, exp_in, 0))[None], 3, axis=0).astype(np.int64)
        self.week_in = np.zeros((r, s), dtype=np.int64)
        self.stagnant_until = np.zeros((r, s), dtype=np.int64)
        self.codes = np.array(cu.code)
        self.sku_codes = np.array(pr.code)
        self.sku_names = np.array(pr.name)
        self.terr_codes = np.array(world.geo.territory_code)
        self.counts = {"files": 0, "xlsx_files": 0, "csv_files": 0, "rows": 0, "reporters": int(r),
                       "missed_reports": 0, "stagnant_rows": 0, "cross_territory_rows": 0,
                       "rows_by_variant": {v: 0 for v in VARIANT_NAMES}, "bytes": 0}
        self.week = 0

    def add_sales(self, sd: SalesDay) -> None:
        if len(sd) == 0:
            return
        slot = self.slot[sd.cust]
        m = slot >= 0
        np.add.at(self.week_in, (slot[m], sd.sku[m]), sd.qty[m])

    def close_week(self, t: int) -> None:
        """Call on every Sunday t (with t - 6 >= 0): build and write the week's reports."""
        w, cu = self.w, self.w.customers
        rng = rng_for(w.cfg.seed, 13, t)
        monday = t - 6
        self.week += 1
        received = np.maximum(self.week_in, 0)
        self.carried |= received > 0
        avail = self.stock + received
        # the distributor sells so that its closing stock covers its target days of the last four
        # weeks' sell-out: closing * 28 = target * (sold + last three weeks), closing = avail - sold
        target = self.target_doi[:, None] * self.doi_mult * rng.lognormal(0, 1, avail.shape) ** self.week_sigma[:, None]
        window = SELL_OUT_WINDOW_DAYS
        prior = self.recent.sum(axis=0)
        sold = np.round((window * avail - target * prior) / (window + target))
        sold = np.clip(sold, 0, avail).astype(np.int64)
        stagnant = self.stagnant_until > self.week
        sold = np.where(stagnant, 0, sold)
        closing = avail - sold
        start_stag = self.carried & (closing > 0) & ~stagnant & (rng.random(avail.shape) < STAGNANT_START_PER_WEEK)
        self.stagnant_until = np.where(start_stag, self.week + rng.integers(5, 13, avail.shape), self.stagnant_until)
        opening = self.stock
        self.stock = closing
        self.recent[self.week % 3] = sold
        self.week_in[:] = 0

        reporting = (cu.opened[self.cust] <= monday) & (cu.closed[self.cust] > t)
        missed = rng.random(len(self.cust)) < MISSED_REPORT_SHARE
        self.counts["missed_reports"] += int((reporting & missed).sum())
        reporting &= ~missed
        monday_iso = w.cal.iso[monday]
        report_day = w.cal.dt(t)
        report_date = dt.date.fromisoformat(w.cal.iso[t])
        incidents = rng.poisson(self.incident_rate / 52)
        for j in np.flatnonzero(reporting):
            # the SKUs it carries, except those with nothing in stock and no movement this week
            skus = np.flatnonzero(self.carried[j] & ((opening[j] != 0) | (received[j] != 0) | (closing[j] != 0)))
            if len(skus) == 0:
                continue
            c = self.cust[j]
            own = cu.territory[c]
            dest = np.where(sold[j, skus] > 0, self.terr_codes[own], "").astype(object)
            k = min(int(incidents[j]), int((sold[j, skus] > 0).sum()))
            if k and len(self.terr_codes) > 1:
                rows = rng.choice(np.flatnonzero(sold[j, skus] > 0), k, replace=False)
                others = np.delete(np.arange(len(self.terr_codes)), own)
                dest[rows] = self.terr_codes[rng.choice(others, k)]
                self.counts["cross_territory_rows"] += k
            self.counts["stagnant_rows"] += int((stagnant[j, skus] & (closing[j, skus] > 0)).sum())
            self._write(j, c, monday, monday_iso, report_day, report_date, skus, opening[j, skus],
                        received[j, skus], sold[j, skus], closing[j, skus], dest)

    def _write(self, j, c, monday, monday_iso, report_day, report_date, skus, opening, received, sold, closing, dest):
        variant = VARIANT_NAMES[self.variant[j]]
        header_map = STOCK_HEADER_VARIANTS[variant]
        xlsx = bool(self.xlsx[j])
        code = self.codes[c]
        rel = stock_path(monday_iso, code, "xlsx" if xlsx else "csv")
        path = self.landing / rel
        n = len(skus)
        self.counts["files"] += 1
        self.counts["xlsx_files" if xlsx else "csv_files"] += 1
        self.counts["rows"] += n
        self.counts["rows_by_variant"][variant] += n
        plan = self.plan
        frng = plan.rng(F.STOCK, monday, int(c))
        ff = None
        if plan.rates:
            kinds = ["empty_file", "no_header", "truncated_xlsx"] if xlsx else ["undeclared_encoding", "empty_file", "no_header"]
            ff = plan.choose_file_fault(F.STOCK, kinds, frng)
            if ff is not None:
                plan.log(ff, F.STOCK, rel, None)
        if ff == "empty_file":
            write_bytes(path, b"")
            return
        cols = {
            "sku": self.sku_codes[skus],
            "product_name": self.sku_names[skus],
            "opening_qty": opening,
            "received_qty": received,
            "sold_qty": sold,
            "closing_qty": closing,
            "report_date": np.full(n, report_date, dtype=object),
            "destination_territory": dest,
        }
        faulted = ff is None and plan.active(F.STOCK, "row")
        if faulted:
            cols = self._faults({k: np.asarray(v, dtype=object) for k, v in cols.items()}, rel, frng, monday, report_day)
        canon = list(header_map)
        header = list(header_map.values())
        if ff == "no_header":
            header = None if frng.random() < 0.5 else [f"列{i + 1}" for i in range(len(canon))]
        if xlsx:
            columns = []
            for k in canon:
                v = cols[k]
                vals = v.tolist()
                if k == "destination_territory":
                    vals = [x if x != "" else None for x in vals]
                columns.append(vals)
            data = xlsx_bytes(header, columns, sheet="库存" if variant.startswith("zh") else "Stock")
            if ff == "truncated_xlsx":
                data = data[: int(len(data) * frng.uniform(0.3, 0.8))]
        else:
            strs = []
            for k in canon:
                v = cols[k]
                if k == "report_date" and not faulted:
                    strs.append(np.full(len(v), report_date.isoformat()))
                elif v.dtype == object:
                    strs.append(np.array([x.isoformat() if isinstance(x, dt.date) else str(x) for x in v.tolist()], dtype=str)
                                if len(v) else np.array([], dtype=str))
                else:
                    strs.append(v.astype(str))
            nl = "\r\n" if self.crlf[j] else "\n"
            lines = ([",".join(quote(np.array(header, dtype=str)).tolist())] if header is not None else []) + csv_lines(strs).tolist()
            text = nl.join(lines) + nl
            if ff == "undeclared_encoding":
                data = encode(text, "gbk")
            else:
                data = encode(text, "utf-8", bom=bool(self.bom[j]))
        self.counts["bytes"] += write_bytes(path, data)

    def _faults(self, cols: dict, rel: str, rng, monday: int, report_day) -> dict:
        plan = self.plan
        n = len(cols["sku"])
        elig = {k: None for k in ["bad_date", "bad_number", "missing_key", "unknown_sku", "negative_qty",
                                  "date_outside_partition", "future_date", "duplicate_key"]}
        picks = plan.choose_row_faults(F.STOCK, n, elig, rng)
        if not picks:
            return cols
        logcol = {}
        year = int(str(report_day)[:4])
        for kind, idx in picks.items():
            m = len(idx)
            col: list = [None] * m
            if kind == "bad_date":
                cols["report_date"][idx] = F.bad_dates(rng, m, year)
                col = ["report_date"] * m
            elif kind == "bad_number":
                col = F.pick(rng, ["opening_qty", "received_qty", "sold_qty", "closing_qty"], m)
                for i, cname, v in zip(idx, col, F.bad_numbers(rng, m)):
                    cols[cname][i] = v
            elif kind == "missing_key":
                cols["sku"][idx] = ""
                col = ["sku"] * m
            elif kind == "unknown_sku":
                cols["sku"][idx] = F.unknown_codes(rng, "P", len(self.sku_codes[0]) - 1, len(self.sku_codes), m)
                col = ["sku"] * m
            elif kind == "negative_qty":
                for i in idx:
                    cols["closing_qty"][i] = -int(cols["closing_qty"][i]) - int(rng.integers(1, 20))
                col = ["closing_qty"] * m
            elif kind in ("date_outside_partition", "future_date"):
                # outside the folder's Monday..Sunday week, or in 2099
                d = F.shifted_dates(rng, report_day, m, 7, 60, latest=self.w.cal.dates[-1]) if kind == "date_outside_partition" else F.future_dates(rng, m)
                cols["report_date"][idx] = [dt.date.fromisoformat(str(x)) for x in d]
                col = ["report_date"] * m
            for i, cname in zip(idx, col):
                logcol[int(i)] = (kind, cname)
        src = plan.finish_rows(F.STOCK, rel, n, picks, logcol, 2)
        if src is not None:
            cols = {k: v[src] for k, v in cols.items()}
        return cols
