"""The fault knob: the table of injectable faults (kind -> sources, how it is injected, the
outcome ingest must produce), per-row / per-file fault selection, bad-value makers, and the
``faults.jsonl`` log.

Selection is categorical: every eligible row draws one uniform number that falls into at most
one kind's interval (width = that kind's rate), so each kind's count is Binomial(eligible, rate)
and a row carries at most one fault. Fault randomness comes from its own per-file seed stream,
so changing fault rates never changes the clean data.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

SALES = "sales"
RECEIVABLES = "receivables"
CUSTOMERS = "master_customers"
PRODUCTS = "master_products"
STOCK = "stock"
VISITS = "visits"
OVERRIDES = "overrides"
SOURCE_IDS = {SALES: 1, RECEIVABLES: 2, CUSTOMERS: 3, PRODUCTS: 4, STOCK: 5, VISITS: 6, OVERRIDES: 7}

LOADED = "loaded"  # expected outcome of tolerated format variants: parsed and loaded, not quarantined


@dataclass(frozen=True)
class FaultKind:
    name: str
    level: str  # "row" or "file"
    sources: tuple[str, ...]
    expected: str  # quarantine reason code, file error code, or "loaded"
    injection: str


def _row(name: str, sources: tuple[str, ...], injection: str, expected: str | None = None) -> FaultKind:
    return FaultKind(name, "row", sources, expected or name, injection)


def _file(name: str, sources: tuple[str, ...], injection: str) -> FaultKind:
    return FaultKind(name, "file", sources, name, injection)


FAULT_TABLE: dict[str, FaultKind] = {k.name: k for k in [
    _row("bad_date", (SALES, RECEIVABLES, STOCK, CUSTOMERS, OVERRIDES),
         "a date cell becomes an impossible or garbled date (2024-02-30, 2024-13-05, 2024-01-32, "
         "0000-00-00, ??/??/????, 2024-01); text formats only (not Parquet)"),
    _row("bad_number", (SALES, RECEIVABLES, STOCK, CUSTOMERS, PRODUCTS),
         "a numeric cell becomes unparseable text (12..50, 1.2.3, abc, --, 1O0, TBD); text formats only"),
    _row("missing_key", (SALES, RECEIVABLES, STOCK, VISITS, OVERRIDES),
         "a required key is empty/null (sales: invoice_no, customer_code or sku; receivables: invoice_no; "
         "stock: sku; visits: visit_id or rep_code; overrides: customer_code)"),
    _row("unknown_customer", (SALES, RECEIVABLES, VISITS, OVERRIDES),
         "customer_code replaced by a well-formed code that never appears in any master extract"),
    _row("unknown_sku", (SALES, STOCK), "sku replaced by a well-formed code absent from every product extract"),
    _row("unknown_rep", (SALES, VISITS), "rep_code replaced by a well-formed code absent from every rep extract"),
    _row("negative_qty", (SALES, STOCK),
         "sales: a SALE line gets a negative qty (net_amount negated consistently); stock: negative closing_qty"),
    _row("date_outside_partition", (SALES, RECEIVABLES, STOCK, VISITS),
         "the row's partition date moves 1-30 days away from the file's date (stock: report_date outside "
         "the folder's Monday-Sunday week; visits: check_in and check_out shifted together)"),
    _row("future_date", (SALES, RECEIVABLES, STOCK, VISITS), "the partition date moves to a valid date in 2099"),
    _row("duplicate_key", (SALES, RECEIVABLES, STOCK, VISITS, CUSTOMERS, PRODUCTS, OVERRIDES),
         "an exact copy of a row is inserted right after it; the copy (the later line) is the fault"),
    _row("bad_enum", (SALES, RECEIVABLES, VISITS, CUSTOMERS),
         "an enum cell gets a value outside the allowed set (line_type, payment_terms, record_type, "
         "activity_type, channel_type)"),
    _row("bad_json", (VISITS,), "the JSON line is cut short so it does not parse"),
    _row("bad_timestamp", (VISITS,), "check_in or check_out becomes an impossible timestamp (hour 25, minute 61, ...)"),
    _row("checkout_before_checkin", (VISITS,), "check_out set 5-90 minutes before check_in"),
    _row("invalid_grade", (OVERRIDES,), "grade outside 1-5 (0, 6, 9, A)"),
    _row("missing_approver", (OVERRIDES,), "approver empty"),
    _row("thousands_separator", (SALES, RECEIVABLES),
         "UTF-8 CSV amount >= 1000 written with a thousands separator and quoted: \"1,234.50\"", LOADED),
    _row("fullwidth_digits", (SALES,), "GBK file: qty of a SALE line written in full-width digits (１２)", LOADED),
    _row("alt_date_format", (SALES,), "GBK file: invoice_date written 2024年01月05日 instead of 2024/01/05", LOADED),
    _file("undeclared_encoding", (SALES, STOCK, VISITS),
          "a file declared UTF-8 holds GBK bytes (sales: the Chinese ERP export, Chinese headers, saved as "
          ".csv; stock CSV; visits JSONL)"),
    _file("empty_file", (SALES, RECEIVABLES, STOCK, VISITS), "the file is 0 bytes"),
    _file("no_header", (SALES, RECEIVABLES, STOCK),
          "the header row is missing (data starts on line 1) or garbled (列1, 列2, ...), so no header variant matches"),
    _file("truncated_xlsx", (STOCK,), "an .xlsx file cut to 30-80 % of its bytes"),
]}

ROW_KINDS = [k for k, v in FAULT_TABLE.items() if v.level == "row"]
FILE_KINDS = [k for k, v in FAULT_TABLE.items() if v.level == "file"]
TOLERATED_KINDS = [k for k, v in FAULT_TABLE.items() if v.expected == LOADED]

# (Excel error texts such as #VALUE! are a kind of their own for ingest, excel_error: not used here)
BAD_DATE_PATTERNS = ["{y}{s}02{s}30", "{y}{s}13{s}{d}", "{y}{s}{m}{s}32", "0000{s}00{s}00", "??/??/????", "{y}{s}{m}"]
BAD_NUMBERS = ["12..50", "1.2.3", "abc", "--", "1O0", "TBD"]
BAD_TIMESTAMP_PATTERNS = ["{d}T25:{mi}:00+08:00", "{d}T{h}:61:00+08:00", "{d} 24:30", "yesterday 09:30", "9am"]
BAD_ENUMS = {
    "line_type": ["SALES", "RTN", "GIFT"],
    "line_type_gbk": ["赠品", "销货", "SALES"],
    "payment_terms": ["NET45", "CASH", "月结"],
    "record_type": ["INV", "PAYMNT", "CREDIT"],
    "activity_type": ["meeting", "lunch", "拜访"],
    "channel_type": ["DISTRIBUTOR", "WHOLESALE", "医院"],
}
INVALID_GRADES = ["0", "6", "9", "A"]
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def bad_dates(rng: np.random.Generator, n: int, year: int, sep: str = "-") -> list[str]:
    pats = rng.integers(0, len(BAD_DATE_PATTERNS), n)
    ms = rng.integers(1, 13, n)
    ds = rng.integers(1, 29, n)
    return [BAD_DATE_PATTERNS[p].format(y=year, s=sep, m=f"{m:02d}", d=f"{d:02d}") for p, m, d in zip(pats, ms, ds)]


def bad_numbers(rng: np.random.Generator, n: int) -> list[str]:
    return [BAD_NUMBERS[i] for i in rng.integers(0, len(BAD_NUMBERS), n)]


def bad_timestamps(rng: np.random.Generator, n: int, day_iso: str) -> list[str]:
    pats = rng.integers(0, len(BAD_TIMESTAMP_PATTERNS), n)
    return [BAD_TIMESTAMP_PATTERNS[p].format(d=day_iso, h=f"{int(rng.integers(8, 18)):02d}",
                                             mi=f"{int(rng.integers(0, 60)):02d}") for p in pats]


def pick(rng: np.random.Generator, values: list[str], n: int) -> list[str]:
    return [values[i] for i in rng.integers(0, len(values), n)]


def unknown_codes(rng: np.random.Generator, prefix: str, width: int, n_known: int, n: int) -> list[str]:
    """Well-formed codes (same prefix and width as real ones) numbered above every real code."""
    hi = 10 ** width
    if hi - n_known < 100:
        width += 1
        hi = 10 ** width
    nums = rng.integers(n_known + 1, hi, n)
    return [f"{prefix}{v:0{width}d}" for v in nums]


def future_dates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid dates in 2099 (datetime64[D])."""
    return np.datetime64("2099-01-01", "D") + rng.integers(0, 365, n)


def shifted_dates(rng: np.random.Generator, day: np.datetime64, n: int, lo: int = 1, hi: int = 30,
                  latest: np.datetime64 | None = None) -> np.ndarray:
    """Valid dates ``lo``..``hi`` days before or after ``day`` (never ``day`` itself); never after
    ``latest`` (the period's last day), so they cannot be mistaken for future dates."""
    k = rng.integers(lo, hi + 1, n)
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    out = day + k * sign
    if latest is not None:
        out = np.where(out > latest, day - k, out)
    return out


def thousands(cents: int) -> str:
    return f"{cents / 100:,.2f}" if cents >= 0 else f"-{-cents / 100:,.2f}"


def fullwidth(s: str) -> str:
    return s.translate(FULLWIDTH)


Eligibility = Mapping[str, "np.ndarray | Callable[[], np.ndarray] | None"]


class FaultPlan:
    """Fault rates of one run, the per-file fault streams, the counters and the log writer."""

    def __init__(self, rates: Mapping[str, float], seed: int, log_path: Path | None = None):
        unknown = set(rates) - set(FAULT_TABLE)
        if unknown:
            raise ValueError(f"unknown fault kind(s): {sorted(unknown)}; known: {sorted(FAULT_TABLE)}")
        self.rates = {k: float(v) for k, v in rates.items() if float(v) > 0}
        for k, v in self.rates.items():
            if not 0 <= v <= 1:
                raise ValueError(f"fault rate for {k} must be within 0..1, got {v}")
        self.seed = seed
        self.eligible: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.injected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._log = open(log_path, "w", encoding="utf-8", newline="\n") if log_path else None

    # -- streams -------------------------------------------------------------------------
    def rng(self, source: str, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, 0xFA17, SOURCE_IDS[source], *map(int, key)]))

    def active(self, source: str, level: str | None = None) -> bool:
        return any(source in FAULT_TABLE[k].sources and (level is None or FAULT_TABLE[k].level == level)
                   for k in self.rates)

    # -- selection -----------------------------------------------------------------------
    def choose_file_fault(self, source: str, eligible_kinds: list[str], rng: np.random.Generator) -> str | None:
        kinds = [k for k in eligible_kinds if k in self.rates and source in FAULT_TABLE[k].sources]
        if not kinds:
            return None
        for k in kinds:
            self.eligible[k][source] += 1
        u = rng.random()
        acc = 0.0
        for k in kinds:
            acc += self.rates[k]
            if u < acc:
                self.injected[k][source] += 1
                return k
        return None

    def choose_row_faults(self, source: str, n: int, eligibility: Eligibility,
                          rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Row indices per fault kind. ``eligibility[kind]`` is a bool mask, a callable returning
        one, or None (every row). Kinds absent from ``eligibility`` are not applicable here."""
        kinds = [k for k in eligibility if k in self.rates and FAULT_TABLE[k].level == "row"]
        if not kinds or n == 0:
            return {}
        widths = np.zeros((n, len(kinds)))
        for j, k in enumerate(kinds):
            m = eligibility[k]
            m = m() if callable(m) else m
            if m is None:
                widths[:, j] = self.rates[k]
                self.eligible[k][source] += n
            else:
                m = np.asarray(m, dtype=bool)
                widths[m, j] = self.rates[k]
                self.eligible[k][source] += int(m.sum())
        total = widths.sum(axis=1)
        over = total > 1
        if over.any():  # only with absurd rates: scale the row's intervals down to fit in [0, 1)
            widths[over] /= total[over, None]
        cum = np.cumsum(widths, axis=1)
        u = rng.random(n)
        hit = u < cum[:, -1]
        which = np.argmax(u[:, None] < cum, axis=1)
        out: dict[str, np.ndarray] = {}
        for j, k in enumerate(kinds):
            idx = np.flatnonzero(hit & (which == j))
            if len(idx):
                out[k] = idx
                self.injected[k][source] += len(idx)
        return out

    # -- log -----------------------------------------------------------------------------
    def log(self, kind: str, source: str, file: str, line: int | None, column: str | None = None) -> None:
        if self._log is None:
            return
        rec = {"kind": kind, "source": source, "file": file, "line": line,
               "expected": FAULT_TABLE[kind].expected, "level": FAULT_TABLE[kind].level, "column": column}
        self._log.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def finish_rows(self, source: str, file: str, n: int, picks: Mapping[str, np.ndarray],
                    logcol: Mapping[int, tuple[str, str | None]], first_line: int) -> np.ndarray | None:
        """Lay out duplicate copies and log every row fault at its physical line, in line order.

        ``logcol`` maps an original row to (kind, column). Returns the source row of each output
        row (None when nothing was duplicated)."""
        dup = picks.get("duplicate_key", np.array([], dtype=np.int64))
        src, is_copy = duplicate_layout(n, dup)
        out_pos = np.flatnonzero(~is_copy)
        recs = [(int(out_pos[i]) + first_line, kind, col) for i, (kind, col) in logcol.items() if kind != "duplicate_key"]
        recs += [(int(p) + first_line, "duplicate_key", None) for p in np.flatnonzero(is_copy)]
        for line, kind, col in sorted(recs):
            self.log(kind, source, file, line, col)
        return src if len(dup) else None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def summary(self) -> dict:
        return {
            "rates": {k: self.rates.get(k, 0.0) for k in FAULT_TABLE},
            "eligible": {k: dict(sorted(v.items())) for k, v in sorted(self.eligible.items())},
            "injected": {k: dict(sorted(v.items())) for k, v in sorted(self.injected.items())},
        }


def duplicate_layout(n: int, dup_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output order when each row in ``dup_rows`` gets a copy right after it.

    Returns (source row of every output row, bool mask of the output rows that are copies)."""
    if len(dup_rows) == 0:
        return np.arange(n), np.zeros(n, dtype=bool)
    keys = np.sort(np.concatenate([np.arange(n) * 2, np.asarray(dup_rows) * 2 + 1]))
    return keys // 2, (keys % 2) == 1


def fault_table_rows() -> list[dict]:
    """The fault table as plain rows (for the manifest and docs)."""
    return [{"kind": k.name, "level": k.level, "sources": list(k.sources), "expected": k.expected,
             "injection": k.injection} for k in FAULT_TABLE.values()]
