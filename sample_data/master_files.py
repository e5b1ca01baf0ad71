"""Master-data landing files: full extracts of customers, products, reps and branches
(master/YYYY/MM/DD/*.csv, UTF-8) written on the first day, every ``master_every`` days and on
the last day, with row faults on customers and products. Faults only touch entities already
present in an earlier extract, so an entity's first appearance is always clean."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sample_data import faults as F
from sample_data.master import (BRANCH_COLUMNS, CUSTOMER_COLUMNS, PRODUCT_COLUMNS, REP_COLUMNS, World)
from sample_data.writers import csv_text, encode, write_bytes


def master_path(iso: str, name: str) -> str:
    y, m, d = iso.split("-")
    return f"master/{y}/{m}/{d}/{name}.csv"


class MasterWriter:
    def __init__(self, world: World, landing: Path, plan: F.FaultPlan):
        self.w, self.landing, self.plan = world, landing, plan
        self.prev: int | None = None
        self.counts = {"extracts": 0, "files": 0, "rows": {"customers": 0, "products": 0, "reps": 0, "branches": 0},
                       "bytes": 0}

    def write(self, t: int) -> None:
        w = self.w
        iso = w.cal.iso[t]
        prev = self.prev
        self.counts["extracts"] += 1
        cu_ex = w.customers_extract(t)
        pr_ex = w.products_extract(t)
        seen_c = None if prev is None else (w.customers.opened[np.flatnonzero(w.customers.opened <= t)] <= prev)
        seen_p = None if prev is None else (w.products.launch[np.flatnonzero(w.products.launch <= t)] <= prev)
        self._one(t, iso, "customers", CUSTOMER_COLUMNS, cu_ex, F.CUSTOMERS, seen_c)
        self._one(t, iso, "products", PRODUCT_COLUMNS, pr_ex, F.PRODUCTS, seen_p)
        self._one(t, iso, "reps", REP_COLUMNS, w.reps_extract(t), None, None)
        self._one(t, iso, "branches", BRANCH_COLUMNS, w.branches_extract(t), None, None)
        self.prev = t

    def _one(self, t, iso, name, columns, data: dict, source: str | None, seen: np.ndarray | None) -> None:
        rel = master_path(iso, name)
        n = len(data[columns[0]])
        self.counts["files"] += 1
        self.counts["rows"][name] += n
        cols = {k: np.asarray(v, dtype=object) for k, v in data.items()}
        plan = self.plan
        if source is not None and seen is not None and plan.active(source, "row") and n:
            frng = plan.rng(source, t)
            if source == F.CUSTOMERS:
                elig = {"bad_enum": seen, "bad_number": seen, "duplicate_key": seen,
                        "bad_date": seen & (cols["founded_date"] != "")}
            else:
                elig = {"bad_number": seen, "duplicate_key": seen}
            picks = plan.choose_row_faults(source, n, elig, frng)
            logcol = {}
            year = int(iso[:4])
            for kind, idx in picks.items():
                m = len(idx)
                col: list = [None] * m
                if kind == "bad_enum":
                    col = F.pick(frng, ["channel_type", "payment_terms"], m)
                    for i, cname in zip(idx, col):
                        cols[cname][i] = F.pick(frng, F.BAD_ENUMS[cname], 1)[0]
                elif kind == "bad_number":
                    choices = ["credit_limit"] if source == F.CUSTOMERS else ["list_price", "standard_cost"]
                    col = F.pick(frng, choices, m)
                    for i, cname, v in zip(idx, col, F.bad_numbers(frng, m)):
                        cols[cname][i] = v
                elif kind == "bad_date":
                    cols["founded_date"][idx] = F.bad_dates(frng, m, year)
                    col = ["founded_date"] * m
                for i, cname in zip(idx, col):
                    logcol[int(i)] = (kind, cname)
            src = plan.finish_rows(source, rel, n, picks, logcol, 2)
            if src is not None:
                cols = {k: v[src] for k, v in cols.items()}
        text = csv_text(columns, [cols[k] for k in columns])
        self.counts["bytes"] += write_bytes(self.landing / rel, encode(text, "utf-8"))
