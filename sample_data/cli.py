"""Command line: ``python -m sample_data --out var --seed 42 --scale default [knobs]``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from sample_data.config import PRESETS, GeneratorConfig
from sample_data.engine import LandingNotEmpty, generate
from sample_data.faults import FAULT_TABLE, ROW_KINDS


def _fault(spec: str) -> tuple[str, float]:
    if "=" not in spec:
        raise argparse.ArgumentTypeError(f"--fault expects KIND=RATE, got {spec!r}")
    kind, rate = spec.split("=", 1)
    kind = kind.strip()
    if kind not in FAULT_TABLE:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_TABLE)}")
    try:
        value = float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate must be a number, got {rate!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"rate must be within 0..1, got {value}")
    return kind, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sample_data",
        description="Generate a deterministic sample landing zone (sales, receivables, master data, stock "
                    "reports, visit logs, rating overrides) plus generated/manifest.json and faults.jsonl.",
        epilog="Fault kinds: row-level " + ", ".join(ROW_KINDS) + "; file-level "
               + ", ".join(k for k in FAULT_TABLE if k not in ROW_KINDS) + ".")
    p.add_argument("--out", default="var", help="output folder; writes OUT/landing and OUT/generated (default: var)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", choices=list(PRESETS), default="default",
                   help="preset: tiny (tests), S, default (~0.5 M sales lines), M (~10 M)")
    p.add_argument("--customers", type=int)
    p.add_argument("--skus", type=int)
    p.add_argument("--reps", type=int)
    p.add_argument("--years", type=float, help="length of the period in years")
    p.add_argument("--days", type=int, help="length of the period in days (overrides --years)")
    p.add_argument("--start-date", type=date.fromisoformat, help="first day, YYYY-MM-DD (default 2023-01-01)")
    p.add_argument("--master-every", type=int, default=7,
                   help="write the full master extract every N days (plus first and last day); default 7")
    p.add_argument("--fault-rate", type=float, help="rate of every row-level fault kind (0..1)")
    p.add_argument("--fault", type=_fault, action="append", default=[], metavar="KIND=RATE",
                   help="rate of one fault kind (row- or file-level); repeatable")
    p.add_argument("--clean", action="store_true", help="delete OUT/landing and OUT/generated first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cfg = GeneratorConfig.preset(
            args.scale, seed=args.seed, customers=args.customers, skus=args.skus, reps=args.reps,
            years=args.years, days=args.days, start_date=args.start_date, master_every=args.master_every,
            fault_rate=args.fault_rate, faults=dict(args.fault))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        m = generate(cfg, args.out, clean=args.clean, progress=not args.no_progress)
    except LandingNotEmpty as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    c = m["counts"]
    print(f"generated {m['period']['start']}..{m['period']['end']} ({m['period']['days']} days, seed {cfg.seed}, "
          f"scale {cfg.scale}) into {args.out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    print(f"  sales lines {c['sales']['rows']:,} | receivables rows {c['receivables']['rows']:,} | "
          f"stock rows {c['stock']['rows']:,} | visit records {c['visits']['records']:,} | "
          f"master extracts {c['master']['extracts']} | files {sum(m['files'].values()):,}", file=sys.stderr)
    n_faults = sum(sum(v.values()) for v in m["faults"]["injected"].values())
    print(f"  faults injected: {n_faults:,} (see generated/faults.jsonl)", file=sys.stderr)
    return 0
