"""Sales and receivables landing files: renders a SalesDay as UTF-8 CSV (English headers),
GBK CSV (Chinese headers, the Chinese ERP's export) or Parquet (native types), and a
ReceivablesDay as UTF-8 CSV, injecting the configured row- and file-level faults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from sample_data import faults as F
from sample_data.master import TERMS, World, cents_str, rng_for
from sample_data.sales import ReceivablesDay, SalesDay
from sample_data.writers import csv_text, decimal_array, encode, parquet_bytes, write_bytes

SALES_COLUMNS = ["invoice_no", "line_no", "invoice_date", "line_type", "customer_code", "sku", "qty",
                 "unit_price", "discount_rate", "net_amount", "payment_terms", "branch_code", "rep_code"]
SALES_HEADERS_GBK = dict(zip(SALES_COLUMNS, ["发票号", "行号", "开票日期", "类型", "客户编码", "商品编码", "数量",
                                             "单价", "折扣率", "金额", "付款条件", "分支机构", "业务员"]))
RECEIVABLES_COLUMNS = ["record_type", "invoice_no", "customer_code", "invoice_date", "due_date", "amount_due",
                       "payment_date", "amount_paid", "payment_no"]
SALES_FORMATS = ("csv", "gbk.csv", "parquet")
SALES_FORMAT_SHARES = (0.60, 0.25, 0.15)
UTF8_BOM_SHARE = 0.15


def sales_path(iso: str, fmt: str) -> str:
    y, m, d = iso.split("-")
    return f"sales/{y}/{m}/sales_{y}{m}{d}.{fmt}"


def receivables_path(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"receivables/{y}/{m}/receivables_{y}{m}{d}.csv"


def gbk_date(iso: np.ndarray | str):
    return np.strings.replace(np.asarray(iso, dtype=str), "-", "/")


class SalesWriter:
    def __init__(self, world: World, landing: Path, plan: F.FaultPlan):
        self.w = world
        self.landing = landing
        self.plan = plan
        self.counts = {"sales": {"files": {f: 0 for f in SALES_FORMATS}, "rows": 0, "rows_by_format": {f: 0 for f in SALES_FORMATS},
                                 "sale_lines": 0, "return_lines": 0, "invoices": 0, "bytes": 0},
                       "receivables": {"files": 0, "rows": 0, "invoice_rows": 0, "payment_rows": 0, "bytes": 0}}
        w = world
        self.cust_codes = np.array(w.customers.code)
        self.sku_codes = np.array(w.products.code)
        self.rep_codes = np.array(w.reps.code)
        self.branch_codes = np.array(w.geo.branch_code)
        self.terms = np.array(TERMS)

    # ------------------------------------------------------------------ sales
    def choose_format(self, t: int) -> tuple[str, bool]:
        rng = rng_for(self.w.cfg.seed, 12, t)
        u = rng.random()
        fmt = "csv" if u < SALES_FORMAT_SHARES[0] else ("gbk.csv" if u < SALES_FORMAT_SHARES[0] + SALES_FORMAT_SHARES[1] else "parquet")
        return fmt, bool(rng.random() < UTF8_BOM_SHARE)

    def write_sales(self, sd: SalesDay) -> None:
        t = sd.t
        iso = self.w.cal.iso[t]
        fmt, bom = self.choose_format(t)
        rel = sales_path(iso, fmt)
        path = self.landing / rel
        c = self.counts["sales"]
        c["files"][fmt] += 1
        c["rows"] += len(sd)
        c["rows_by_format"][fmt] += len(sd)
        c["return_lines"] += int(sd.is_return.sum())
        c["sale_lines"] += int((~sd.is_return).sum())
        c["invoices"] += len(sd.inv_no)
        plan = self.plan
        frng = plan.rng(F.SALES, t)
        file_kinds = {"csv": ["undeclared_encoding", "empty_file", "no_header"], "gbk.csv": ["empty_file", "no_header"],
                      "parquet": ["empty_file"]}[fmt]
        if len(sd) == 0:  # a day without sales: only a header, which cannot lose itself or its encoding
            file_kinds = [k for k in file_kinds if k == "empty_file"]
        ff = plan.choose_file_fault(F.SALES, file_kinds, frng) if plan.rates else None
        if ff is not None:
            plan.log(ff, F.SALES, rel, None)
        if ff == "empty_file":
            write_bytes(path, b"")
            return
        if fmt == "parquet":
            c["bytes"] += write_bytes(path, self._parquet(sd, rel, frng))
            return
        gbk = fmt == "gbk.csv" or ff == "undeclared_encoding"
        cols = self._text_columns(sd, gbk)
        if ff is None:
            cols = self._text_faults(sd, cols, rel, frng, gbk=gbk)
        header = [SALES_HEADERS_GBK[k] for k in SALES_COLUMNS] if gbk else list(SALES_COLUMNS)
        if ff == "no_header":
            header = None if frng.random() < 0.5 else [f"列{i + 1}" for i in range(len(SALES_COLUMNS))]
        newline = "\r\n" if gbk else "\n"
        text = csv_text(header, [cols[k] for k in SALES_COLUMNS], newline)
        data = encode(text, "gbk") if gbk else encode(text, "utf-8", bom=bom)
        c["bytes"] += write_bytes(path, data)

    def _text_columns(self, sd: SalesDay, gbk: bool) -> dict[str, np.ndarray]:
        n = len(sd)
        iso = self.w.cal.iso[sd.t]
        date = gbk_date(iso).item() if gbk else iso
        return {
            "invoice_no": sd.invoice_no.astype(object),
            "line_no": sd.line_no.astype(str).astype(object),
            "invoice_date": np.full(n, date, dtype=object),
            "line_type": np.where(sd.is_return, "退货" if gbk else "RETURN", "销售" if gbk else "SALE").astype(object),
            "customer_code": self.cust_codes[sd.cust].astype(object),
            "sku": self.sku_codes[sd.sku].astype(object),
            "qty": sd.qty.astype(str).astype(object),
            "unit_price": cents_str(sd.price_cents).astype(object),
            "discount_rate": cents_str(sd.disc_pct).astype(object),
            "net_amount": cents_str(sd.net_cents).astype(object),
            "payment_terms": self.terms[sd.terms].astype(object),
            "branch_code": self.branch_codes[sd.branch].astype(object),
            "rep_code": self.rep_codes[sd.rep].astype(object),
        }

    def _text_faults(self, sd: SalesDay, cols: dict, rel: str, rng, gbk: bool) -> dict:
        plan = self.plan
        n = len(sd)
        if not plan.active(F.SALES, "row") or n == 0:
            return cols
        sale = ~sd.is_return
        elig = {k: None for k in ["bad_date", "bad_number", "missing_key", "unknown_customer", "unknown_sku",
                                  "unknown_rep", "date_outside_partition", "future_date", "duplicate_key", "bad_enum"]}
        elig["negative_qty"] = sale
        if gbk:
            elig["fullwidth_digits"] = sale
            elig["alt_date_format"] = None
        else:
            elig["thousands_separator"] = lambda: np.abs(sd.net_cents) >= 100_000
        picks = plan.choose_row_faults(F.SALES, n, elig, rng)
        if not picks:
            return cols
        t = sd.t
        day = self.w.cal.dt(t)
        year = int(self.w.cal.iso[t][:4])
        sep = "/" if gbk else "-"
        fmt_date = (lambda d: str(d).replace("-", "/")) if gbk else str
        logcol: dict[int, tuple[str, str]] = {}
        for kind, idx in picks.items():
            m = len(idx)
            if kind == "bad_date":
                vals = F.bad_dates(rng, m, year, sep)
                cols["invoice_date"][idx] = vals
                col = ["invoice_date"] * m
            elif kind == "bad_number":
                col = F.pick(rng, ["qty", "unit_price", "net_amount"], m)
                for i, cname, v in zip(idx, col, F.bad_numbers(rng, m)):
                    cols[cname][i] = v
            elif kind == "missing_key":
                col = F.pick(rng, ["invoice_no", "customer_code", "sku"], m)
                for i, cname in zip(idx, col):
                    cols[cname][i] = ""
            elif kind == "unknown_customer":
                cols["customer_code"][idx] = F.unknown_codes(rng, "C", len(self.cust_codes[0]) - 1, len(self.cust_codes), m)
                col = ["customer_code"] * m
            elif kind == "unknown_sku":
                cols["sku"][idx] = F.unknown_codes(rng, "P", len(self.sku_codes[0]) - 1, len(self.sku_codes), m)
                col = ["sku"] * m
            elif kind == "unknown_rep":
                cols["rep_code"][idx] = F.unknown_codes(rng, "R", len(self.rep_codes[0]) - 1, len(self.rep_codes), m)
                col = ["rep_code"] * m
            elif kind == "negative_qty":
                cols["qty"][idx] = (-sd.qty[idx]).astype(str)
                cols["net_amount"][idx] = cents_str(-sd.net_cents[idx])
                col = ["qty"] * m
            elif kind == "date_outside_partition":
                cols["invoice_date"][idx] = [fmt_date(d) for d in F.shifted_dates(rng, day, m, latest=self.w.cal.dates[-1])]
                col = ["invoice_date"] * m
            elif kind == "future_date":
                cols["invoice_date"][idx] = [fmt_date(d) for d in F.future_dates(rng, m)]
                col = ["invoice_date"] * m
            elif kind == "bad_enum":
                col = F.pick(rng, ["line_type", "payment_terms"], m)
                for i, cname in zip(idx, col):
                    key = "line_type_gbk" if (cname == "line_type" and gbk) else cname
                    cols[cname][i] = F.pick(rng, F.BAD_ENUMS[key], 1)[0]
            elif kind == "thousands_separator":
                cols["net_amount"][idx] = [F.thousands(int(v)) for v in sd.net_cents[idx]]
                col = ["net_amount"] * m
            elif kind == "fullwidth_digits":
                cols["qty"][idx] = [F.fullwidth(str(v)) for v in sd.qty[idx]]
                col = ["qty"] * m
            elif kind == "alt_date_format":
                y, mo, d = self.w.cal.iso[t].split("-")
                cols["invoice_date"][idx] = f"{y}年{mo}月{d}日"
                col = ["invoice_date"] * m
            elif kind == "duplicate_key":
                col = [None] * m
            for i, cname in zip(idx, col):
                logcol[int(i)] = (kind, cname)
        return self._layout_and_log(cols, picks, logcol, rel, first_line=2)

    def _layout_and_log(self, cols: dict, picks: dict, logcol: dict, rel: str, first_line: int,
                        source: str = F.SALES) -> dict:
        n = len(next(iter(cols.values())))
        src = self.plan.finish_rows(source, rel, n, picks, logcol, first_line)
        return cols if src is None else {k: v[src] for k, v in cols.items()}

    def _parquet(self, sd: SalesDay, rel: str, rng) -> bytes:
        n = len(sd)
        t = sd.t
        inv = sd.invoice_no.astype(object)
        cust = self.cust_codes[sd.cust].astype(object)
        sku = self.sku_codes[sd.sku].astype(object)
        rep = self.rep_codes[sd.rep].astype(object)
        ltype = np.where(sd.is_return, "RETURN", "SALE").astype(object)
        terms = self.terms[sd.terms].astype(object)
        qty = sd.qty.copy()
        net = sd.net_cents.copy()
        dates = np.full(n, self.w.cal.dt(t))
        cols = None
        plan = self.plan
        if plan.active(F.SALES, "row") and n:
            elig = {k: None for k in ["missing_key", "unknown_customer", "unknown_sku", "unknown_rep",
                                      "date_outside_partition", "future_date", "duplicate_key", "bad_enum"]}
            elig["negative_qty"] = ~sd.is_return
            picks = plan.choose_row_faults(F.SALES, n, elig, rng)
            logcol = {}
            for kind, idx in picks.items():
                m = len(idx)
                col: list = [None] * m
                if kind == "missing_key":
                    col = F.pick(rng, ["invoice_no", "customer_code", "sku"], m)
                    for i, cname in zip(idx, col):
                        {"invoice_no": inv, "customer_code": cust, "sku": sku}[cname][i] = None
                elif kind == "unknown_customer":
                    cust[idx] = F.unknown_codes(rng, "C", len(self.cust_codes[0]) - 1, len(self.cust_codes), m)
                    col = ["customer_code"] * m
                elif kind == "unknown_sku":
                    sku[idx] = F.unknown_codes(rng, "P", len(self.sku_codes[0]) - 1, len(self.sku_codes), m)
                    col = ["sku"] * m
                elif kind == "unknown_rep":
                    rep[idx] = F.unknown_codes(rng, "R", len(self.rep_codes[0]) - 1, len(self.rep_codes), m)
                    col = ["rep_code"] * m
                elif kind == "negative_qty":
                    qty[idx] = -qty[idx]
                    net[idx] = -net[idx]
                    col = ["qty"] * m
                elif kind == "date_outside_partition":
                    dates[idx] = F.shifted_dates(rng, self.w.cal.dt(t), m, latest=self.w.cal.dates[-1])
                    col = ["invoice_date"] * m
                elif kind == "future_date":
                    dates[idx] = F.future_dates(rng, m)
                    col = ["invoice_date"] * m
                elif kind == "bad_enum":
                    col = F.pick(rng, ["line_type", "payment_terms"], m)
                    for i, cname in zip(idx, col):
                        arr = ltype if cname == "line_type" else terms
                        arr[i] = F.pick(rng, F.BAD_ENUMS[cname], 1)[0]
                for i, cname in zip(idx, col):
                    logcol[int(i)] = (kind, cname)
            cols = {"inv": inv, "line_no": sd.line_no, "dates": dates, "ltype": ltype, "cust": cust, "sku": sku,
                    "qty": qty, "price": sd.price_cents, "disc": sd.disc_pct, "net": net, "terms": terms,
                    "branch": self.branch_codes[sd.branch].astype(object), "rep": rep}
            cols = self._layout_and_log(cols, picks, logcol, rel, first_line=1)
        if cols is None:
            cols = {"inv": inv, "line_no": sd.line_no, "dates": dates, "ltype": ltype, "cust": cust, "sku": sku,
                    "qty": qty, "price": sd.price_cents, "disc": sd.disc_pct, "net": net, "terms": terms,
                    "branch": self.branch_codes[sd.branch].astype(object), "rep": rep}
        table = pa.table({
            "invoice_no": pa.array(cols["inv"], pa.string()),
            "line_no": pa.array(cols["line_no"], pa.int64()),
            "invoice_date": pa.array(np.asarray(cols["dates"], dtype="datetime64[D]"), pa.date32()),
            "line_type": pa.array(cols["ltype"], pa.string()),
            "customer_code": pa.array(cols["cust"], pa.string()),
            "sku": pa.array(cols["sku"], pa.string()),
            "qty": pa.array(cols["qty"], pa.int64()),
            "unit_price": decimal_array(cols["price"]),
            "discount_rate": decimal_array(cols["disc"]),
            "net_amount": decimal_array(cols["net"]),
            "payment_terms": pa.array(cols["terms"], pa.string()),
            "branch_code": pa.array(cols["branch"], pa.string()),
            "rep_code": pa.array(cols["rep"], pa.string()),
        })
        return parquet_bytes(table)

    # ------------------------------------------------------------------ receivables
    def write_receivables(self, t: int, rd: ReceivablesDay) -> None:
        iso = self.w.cal.iso[t]
        rel = receivables_path(iso)
        path = self.landing / rel
        c = self.counts["receivables"]
        c["files"] += 1
        c["rows"] += len(rd)
        c["invoice_rows"] += len(rd.inv_no)
        c["payment_rows"] += len(rd.pay_no)
        plan = self.plan
        frng = plan.rng(F.RECEIVABLES, t)
        ff = plan.choose_file_fault(F.RECEIVABLES, ["empty_file", "no_header"] if len(rd) else ["empty_file"], frng) \
            if plan.rates else None
        if ff is not None:
            plan.log(ff, F.RECEIVABLES, rel, None)
        if ff == "empty_file":
            write_bytes(path, b"")
            return
        ni, npay = len(rd.inv_no), len(rd.pay_no)
        n = ni + npay
        cal = self.w.cal
        is_inv = np.r_[np.ones(ni, bool), np.zeros(npay, bool)]
        amount = np.r_[rd.inv_amount, rd.pay_amount].astype(np.int64)
        e = np.full(npay, "", dtype=object)
        ei = np.full(ni, "", dtype=object)
        cols = {
            "record_type": np.r_[np.full(ni, "INVOICE", dtype=object), np.full(npay, "PAYMENT", dtype=object)],
            "invoice_no": np.r_[rd.inv_no.astype(object), rd.pay_no.astype(object)],
            "customer_code": np.r_[self.cust_codes[rd.inv_cust].astype(object), self.cust_codes[rd.pay_cust].astype(object)],
            "invoice_date": np.r_[np.full(ni, iso, dtype=object), cal.fmt(rd.pay_inv_day).astype(object)],
            "due_date": np.r_[cal.fmt(rd.inv_due).astype(object) if ni else ei, e],
            "amount_due": np.r_[cents_str(rd.inv_amount).astype(object) if ni else ei, e],
            "payment_date": np.r_[ei, np.full(npay, iso, dtype=object)],
            "amount_paid": np.r_[ei, cents_str(rd.pay_amount).astype(object) if npay else e],
            "payment_no": np.r_[ei, rd.pay_seq.astype(str).astype(object)],
        }
        for k, v in cols.items():
            cols[k] = np.asarray(v, dtype=object)
        # due dates beyond the period are still real dates: compute them directly
        if ni:
            cols["due_date"][:ni] = np.datetime_as_string(cal.dt(0) + rd.inv_due, unit="D")
        if ff is None and plan.active(F.RECEIVABLES, "row") and n:
            # a payment row that ingest quarantines would leave its invoice open for ever (and its
            # payer rated C on K4 for a year): payment rows only get faults that lose no payment
            elig = {k: is_inv for k in ["bad_date", "bad_number", "missing_key", "unknown_customer",
                                        "date_outside_partition", "future_date", "bad_enum"]}
            elig["duplicate_key"] = None
            elig["thousands_separator"] = lambda: amount >= 100_000
            picks = plan.choose_row_faults(F.RECEIVABLES, n, elig, frng)
            logcol = {}
            year = int(iso[:4])
            for kind, idx in picks.items():
                m = len(idx)
                date_col = np.where(is_inv[idx], "invoice_date", "payment_date")
                amt_col = np.where(is_inv[idx], "amount_due", "amount_paid")
                col: list = [None] * m
                if kind == "bad_date":
                    col = list(date_col)
                    for i, cname, v in zip(idx, col, F.bad_dates(frng, m, year)):
                        cols[cname][i] = v
                elif kind == "bad_number":
                    col = list(amt_col)
                    for i, cname, v in zip(idx, col, F.bad_numbers(frng, m)):
                        cols[cname][i] = v
                elif kind == "missing_key":
                    cols["invoice_no"][idx] = ""
                    col = ["invoice_no"] * m
                elif kind == "unknown_customer":
                    cols["customer_code"][idx] = F.unknown_codes(frng, "C", len(self.cust_codes[0]) - 1, len(self.cust_codes), m)
                    col = ["customer_code"] * m
                elif kind in ("date_outside_partition", "future_date"):
                    new = F.shifted_dates(frng, cal.dt(t), m, latest=cal.dates[-1]) if kind == "date_outside_partition" else F.future_dates(frng, m)
                    col = list(date_col)
                    for i, cname, d in zip(idx, col, new):
                        if cname == "invoice_date":  # keep the invoice's terms: move the due date along
                            shift = (d - cal.dt(t)).astype(np.int64)
                            cols["due_date"][i] = str(np.datetime64(cols["due_date"][i]) + shift)
                        cols[cname][i] = str(d)
                elif kind == "bad_enum":
                    cols["record_type"][idx] = F.pick(frng, F.BAD_ENUMS["record_type"], m)
                    col = ["record_type"] * m
                elif kind == "thousands_separator":
                    col = list(amt_col)
                    for i, cname in zip(idx, col):
                        cols[cname][i] = F.thousands(int(amount[i]))
                for i, cname in zip(idx, col):
                    logcol[int(i)] = (kind, cname)
            cols = self._layout_and_log(cols, picks, logcol, rel, first_line=2, source=F.RECEIVABLES)
        header = list(RECEIVABLES_COLUMNS)
        if ff == "no_header":
            header = None if frng.random() < 0.5 else [f"列{i + 1}" for i in range(len(header))]
        text = csv_text(header, [cols[k] for k in RECEIVABLES_COLUMNS])
        c["bytes"] += write_bytes(path, encode(text, "utf-8"))
