"""The hand-maintained credit-rating overrides file (overrides/credit_rating_overrides.csv): a
handful of valid rows (real customer codes with sales, quarters inside the data, grades 1-5,
reason, approver, approval date) plus the configured override faults."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sample_data import fake
from sample_data import faults as F
from sample_data.master import NEVER, World, rng_for
from sample_data.writers import csv_text, encode, write_bytes

OVERRIDE_COLUMNS = ["customer_code", "quarter", "grade", "reason", "approver", "approved_date"]
OVERRIDES_PATH = "overrides/credit_rating_overrides.csv"
N_ROWS = 8


def _quarters(start: date, end: date) -> list[tuple[int, int, date]]:
    """(year, quarter, last day) of quarters that end inside the period; else the last one."""
    out = []
    y, q = start.year, (start.month - 1) // 3 + 1
    while True:
        last = (date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1))
        if last > end:
            if not out:
                out.append((y, q, last))
            break
        out.append((y, q, last))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def write_overrides(world: World, first_sale: np.ndarray, landing: Path, plan: F.FaultPlan) -> dict:
    cfg = world.cfg
    rng = rng_for(cfg.seed, 5)
    start, end = cfg.start_date, cfg.end_date
    quarters = _quarters(start, end)
    rows = []
    used = set()
    codes = world.customers.code
    approvers = [n for n in fake.person_names(rng, 12) if n not in set(world.customers.legal_rep)][:3]
    grades = rng.permutation(np.arange(1, 6)).tolist() + rng.integers(1, 6, N_ROWS).tolist()
    for k in range(N_ROWS * 5):
        if len(rows) == N_ROWS:
            break
        y, q, last = quarters[int(rng.integers(len(quarters)))]
        q_end = (last - start).days
        rated = np.flatnonzero((first_sale != NEVER) & (first_sale <= q_end - 90))
        if len(rated) == 0:
            rated = np.flatnonzero(first_sale != NEVER)
        if len(rated) == 0:
            rated = np.arange(len(codes))
        c = int(rated[rng.integers(len(rated))])
        if (c, y, q) in used:
            continue
        used.add((c, y, q))
        approved = min(last + timedelta(days=int(rng.integers(3, 21))), end)
        rows.append([codes[c], f"{y}Q{q}", str(grades[len(rows)]),
                     fake.OVERRIDE_REASONS[int(rng.integers(len(fake.OVERRIDE_REASONS)))],
                     approvers[int(rng.integers(len(approvers)))], approved.isoformat()])
    cols = {k: np.array([r[j] for r in rows], dtype=object) for j, k in enumerate(OVERRIDE_COLUMNS)}
    n = len(rows)
    if plan.active(F.OVERRIDES, "row"):
        frng = plan.rng(F.OVERRIDES, 0)
        elig = {k: None for k in ["invalid_grade", "missing_approver", "unknown_customer", "bad_date",
                                  "duplicate_key", "missing_key"]}
        picks = plan.choose_row_faults(F.OVERRIDES, n, elig, frng)
        logcol = {}
        for kind, idx in picks.items():
            m = len(idx)
            col: list = [None] * m
            if kind == "invalid_grade":
                cols["grade"][idx] = F.pick(frng, F.INVALID_GRADES, m)
                col = ["grade"] * m
            elif kind == "missing_approver":
                cols["approver"][idx] = ""
                col = ["approver"] * m
            elif kind == "unknown_customer":
                cols["customer_code"][idx] = F.unknown_codes(frng, "C", len(codes[0]) - 1, len(codes), m)
                col = ["customer_code"] * m
            elif kind == "bad_date":
                cols["approved_date"][idx] = F.bad_dates(frng, m, end.year)
                col = ["approved_date"] * m
            elif kind == "missing_key":
                cols["customer_code"][idx] = ""
                col = ["customer_code"] * m
            for i, cname in zip(idx, col):
                logcol[int(i)] = (kind, cname)
        src = plan.finish_rows(F.OVERRIDES, OVERRIDES_PATH, n, picks, logcol, 2)
        if src is not None:
            cols = {k: v[src] for k, v in cols.items()}
    text = csv_text(OVERRIDE_COLUMNS, [cols[k] for k in OVERRIDE_COLUMNS])
    size = write_bytes(landing / OVERRIDES_PATH, encode(text, "utf-8"))
    return {"files": 1, "rows": len(cols["customer_code"]), "bytes": size}
