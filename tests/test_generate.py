"""Tests of the sample-data generator (sample_data) on the tiny preset."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import subprocess
import sys
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from sample_data import FAULT_TABLE, STOCK_HEADER_VARIANTS, GeneratorConfig, generate
from sample_data.sales_files import SALES_HEADERS_GBK

REPO = Path(__file__).resolve().parents[1]
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"]
CHANNELS = {"NATIONAL_WHOLESALER", "REGIONAL_WHOLESALER", "PHARMACY_CHAIN", "SINGLE_PHARMACY", "HOSPITAL_CLINIC", "OTHER"}
FAULT_RATE = 0.05
FILE_FAULTS = {"empty_file": 0.03, "undeclared_encoding": 0.05, "no_header": 0.03, "truncated_xlsx": 0.1}


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    manifest = generate(GeneratorConfig.preset("tiny", seed=7), out)
    return out, manifest


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("faulty")
    cfg = GeneratorConfig.preset("tiny", seed=11, fault_rate=FAULT_RATE, faults=FILE_FAULTS)
    manifest = generate(cfg, out)
    faults = [json.loads(x) for x in (out / "generated" / "faults.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, manifest, faults


# ---------------------------------------------------------------- helpers
def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def parses_as_date(s: str) -> bool:
    for f in DATE_FORMATS:
        try:
            datetime.strptime(s, f)
            return True
        except ValueError:
            pass
    return False


def parses_as_number(s: str) -> bool:
    try:
        float(s.replace(",", "").translate(str.maketrans("０１２３４５６７８９－", "0123456789-")))
        return True
    except ValueError:
        return False


def read_text_rows(path: Path) -> list[list[str]]:
    """Physical rows of a CSV file (row 0 = physical line 1)."""
    enc = "gbk" if path.name.endswith(".gbk.csv") else "utf-8-sig"
    return list(csv.reader(io.StringIO(path.read_bytes().decode(enc), newline="")))


def header_map(source: str, path: Path, header: list) -> dict[str, int]:
    """Canonical column -> index, for the header row of a landing file."""
    if source == "sales" and path.name.endswith(".gbk.csv"):
        inv = {v: k for k, v in SALES_HEADERS_GBK.items()}
        return {inv[h]: i for i, h in enumerate(header)}
    if source == "stock":
        for variant in STOCK_HEADER_VARIANTS.values():
            if list(variant.values()) == list(header):
                return {k: i for i, k in enumerate(variant)}
        raise AssertionError(f"no stock header variant matches {header}")
    return {h: i for i, h in enumerate(header)}


def cell(landing: Path, fault: dict):
    """(row as dict canonical->value, previous row as dict) at a fault's file and line."""
    path = landing / fault["file"]
    line = fault["line"]
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        return rows[line - 1], (rows[line - 2] if line >= 2 else None)
    if path.suffix == ".xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    else:
        rows = read_text_rows(path)
    hm = header_map(fault["source"], path, rows[0])
    as_dict = lambda r: {k: r[i] for k, i in hm.items()}  # noqa: E731
    return as_dict(rows[line - 1]), (as_dict(rows[line - 2]) if line >= 3 else None)


def all_master_codes(landing: Path, name: str, key: str) -> set[str]:
    codes = set()
    for p in landing.glob(f"master/*/*/*/{name}.csv"):
        with open(p, encoding="utf-8", newline="") as f:
            codes |= {r[key] for r in csv.DictReader(f)}
    return codes


def last_extract(landing: Path, name: str) -> list[dict]:
    p = sorted(landing.glob(f"master/*/*/*/{name}.csv"))[-1]
    with open(p, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- determinism
def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    cfg = GeneratorConfig.preset("tiny", seed=3, fault_rate=0.02, faults={"empty_file": 0.02})
    a = generate(cfg, tmp_path / "a")
    b = generate(cfg, tmp_path / "b")
    ha, hb = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert ha == hb
    assert a == b
    assert any(k.endswith(".xlsx") for k in ha) and any(k.endswith(".parquet") for k in ha)
    generate(cfg.with_(seed=4), tmp_path / "c")
    hc = tree_hashes(tmp_path / "c")
    common = set(ha) & set(hc)
    assert sum(ha[k] != hc[k] for k in common) > 0.9 * len(common)


# ---------------------------------------------------------------- scale and coverage
def test_counts_match_knobs_and_everything_is_covered(clean_run):
    out, m = clean_run
    landing = out / "landing"
    cfg = m["config"]
    assert len(last_extract(landing, "customers")) == cfg["customers"] == 40
    assert len(last_extract(landing, "products")) == cfg["skus"] == 25
    assert len(last_extract(landing, "reps")) == cfg["reps"] == 5
    assert {r["channel_type"] for r in last_extract(landing, "customers")} == CHANNELS
    # every day has a sales file and a receivables file, dated inside the period
    start = date.fromisoformat(cfg["start_date"])
    days = [start + timedelta(days=i) for i in range(cfg["days"])]
    sales = sorted(landing.glob("sales/*/*/sales_*"))
    assert [p.name.split(".")[0][6:] for p in sales] == [d.strftime("%Y%m%d") for d in days]
    assert len(list(landing.glob("receivables/*/*/*.csv"))) == cfg["days"]
    assert {".".join(p.name.split(".")[1:]) for p in sales} == {"csv", "gbk.csv", "parquet"}
    stock = list(landing.glob("stock/*/*/*/stock_*"))
    assert {p.suffix for p in stock} == {".csv", ".xlsx"}
    assert all(date.fromisoformat("-".join(p.parts[-4:-1])).weekday() == 0 for p in stock)  # Monday folders
    assert len(list(landing.glob("visits/*/*/*.jsonl"))) > 0
    assert (landing / "overrides" / "credit_rating_overrides.csv").stat().st_size > 0
    # no faults asked for the tiny preset
    assert (out / "generated" / "faults.jsonl").read_text() == ""
    # manifest counts agree with the files
    n_sales = 0
    for p in sales:
        n_sales += pq.read_table(p).num_rows if p.suffix == ".parquet" else len(read_text_rows(p)) - 1
    assert n_sales == m["counts"]["sales"]["rows"]
    assert m["counts"]["sales"]["return_lines"] > 0


def test_clean_data_is_valid(clean_run):
    out, m = clean_run
    landing = out / "landing"
    customers = all_master_codes(landing, "customers", "customer_code")
    skus = all_master_codes(landing, "products", "sku")
    for p in sorted(landing.glob("sales/*/*/*")):
        if p.suffix == ".parquet":
            rows = pq.read_table(p).to_pylist()
            for r in rows:
                assert r["qty"] > 0 if r["line_type"] == "SALE" else r["qty"] < 0
                assert r["customer_code"] in customers and r["sku"] in skus
            continue
        rows = read_text_rows(p)
        hm = header_map("sales", p, rows[0])
        for r in rows[1:]:
            q = int(r[hm["qty"]])
            price, disc, net = (float(r[hm[k]]) for k in ("unit_price", "discount_rate", "net_amount"))
            assert abs(q * price * (1 - disc) - net) <= 0.006
            assert (q > 0) == (r[hm["line_type"]] in ("SALE", "销售"))
            assert r[hm["customer_code"]] in customers and r[hm["sku"]] in skus
    for p in landing.glob("visits/*/*/*.jsonl"):
        for line in p.read_text(encoding="utf-8").splitlines():
            v = json.loads(line)
            assert datetime.fromisoformat(v["check_out"]) >= datetime.fromisoformat(v["check_in"])
            assert (v["customer_code"] is None) == (v["activity_type"] != "selling")


def test_late_arriving_customers_and_sensitive_values(clean_run):
    out, m = clean_run
    landing = out / "landing"
    late = m["late_arriving_customers"]
    assert late, "the period has new customers, about 5 % of them late-arriving"
    for rec in late:
        first_sale = date.fromisoformat(rec["first_sale_date"])
        first_master = date.fromisoformat(rec["first_master_date"])
        assert 1 <= (first_master - first_sale).days <= 3
        sale_file = next(landing.glob(f"sales/*/*/sales_{first_sale:%Y%m%d}.*"))
        codes = (pq.read_table(sale_file).column("customer_code").to_pylist() if sale_file.suffix == ".parquet"
                 else [r[4] for r in read_text_rows(sale_file)[1:]])
        assert rec["customer_code"] in codes
        for p in landing.glob("master/*/*/*/customers.csv"):
            extract_day = date.fromisoformat("-".join(p.parts[-4:-1]))
            present = rec["customer_code"] in {r["customer_code"] for r in csv.DictReader(open(p, encoding="utf-8"))}
            assert present == (extract_day >= first_master)
    sensitive = set((out / "generated" / "sensitive_values.txt").read_text(encoding="utf-8").split("\n")) - {""}
    cust = last_extract(landing, "customers")
    assert {r["tax_id"] for r in cust} <= sensitive and {r["legal_representative"] for r in cust} <= sensitive
    public = [v for r in cust for k, v in r.items()
              if k not in ("phone", "legal_representative", "tax_id", "bank_name", "bank_account")]
    assert not any(s in v for s in sensitive for v in public)


# ---------------------------------------------------------------- faults
def test_fault_counts_are_binomial(faulty_run):
    out, m, faults = faulty_run
    rates = m["faults"]["rates"]
    found = Counter((f["kind"], f["source"]) for f in faults)
    checked = 0
    for kind, per_source in m["faults"]["eligible"].items():
        for source, eligible in per_source.items():
            r = rates[kind]
            k = found[(kind, source)]
            assert k == m["faults"]["injected"].get(kind, {}).get(source, 0)
            sd = math.sqrt(eligible * r * (1 - r))
            assert abs(k - eligible * r) <= 4.5 * sd + 2, (kind, source, k, eligible, r)
            checked += 1
    assert checked > 40
    assert {f["kind"] for f in faults} >= set(FAULT_TABLE) - {"invalid_grade", "missing_approver"}
    # at most one fault per physical row
    rows = Counter((f["file"], f["line"]) for f in faults if f["line"] is not None)
    assert max(rows.values()) == 1
    assert all(f["expected"] == FAULT_TABLE[f["kind"]].expected for f in faults)


def test_each_fault_is_where_the_log_says(faulty_run):
    out, m, faults = faulty_run
    landing = out / "landing"
    customers = all_master_codes(landing, "customers", "customer_code")
    skus = all_master_codes(landing, "products", "sku")
    reps = all_master_codes(landing, "reps", "rep_code")
    file_faulted = {f["file"] for f in faults if f["level"] == "file"}
    seen = Counter()
    for f in faults:
        kind, path = f["kind"], landing / f["file"]
        if f["level"] == "file":
            data = path.read_bytes()
            if kind == "empty_file":
                assert data == b""
            elif kind == "undeclared_encoding":
                assert not f["file"].endswith(".gbk.csv")
                with pytest.raises(UnicodeDecodeError):
                    data.decode("utf-8")
                data.decode("gbk")
            elif kind == "truncated_xlsx":
                with pytest.raises(zipfile.BadZipFile):
                    zipfile.ZipFile(io.BytesIO(data)).testzip()
            elif kind == "no_header":
                first = read_text_rows(path)[0] if path.suffix == ".csv" else \
                    CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
                known = [list(v.values()) for v in STOCK_HEADER_VARIANTS.values()]
                known += [list(SALES_HEADERS_GBK), list(SALES_HEADERS_GBK.values())]
                known.append(["record_type", "invoice_no", "customer_code", "invoice_date", "due_date", "amount_due",
                              "payment_date", "amount_paid", "payment_no"])
                assert first not in known
            seen[kind] += 1
            continue
        assert f["file"] not in file_faulted
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").split("\n")
            text = lines[f["line"] - 1]
            if kind == "bad_json":
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
            elif kind == "duplicate_key":
                assert text == lines[f["line"] - 2]
            else:
                v = json.loads(text)
                if kind == "unknown_customer":
                    assert v["customer_code"] not in customers and v["customer_code"]
                elif kind == "unknown_rep":
                    assert v["rep_code"] not in reps
                elif kind == "missing_key":
                    assert v[f["column"]] is None
                elif kind == "checkout_before_checkin":
                    assert datetime.fromisoformat(v["check_out"]) < datetime.fromisoformat(v["check_in"])
                elif kind == "bad_timestamp":
                    with pytest.raises(ValueError):
                        datetime.fromisoformat(v[f["column"]])
                elif kind == "future_date":
                    assert v["check_in"].startswith("2099-")
                elif kind == "date_outside_partition":
                    assert v["check_in"][:10].replace("-", "") != path.stem[-8:]
                elif kind == "bad_enum":
                    assert v["activity_type"] not in ("selling", "travel", "organisation", "personal")
            seen[kind] += 1
            continue
        row, prev = cell(landing, f)
        col = f["column"]
        val = row.get(col) if col else None
        if kind == "bad_date":
            assert isinstance(val, str) and not parses_as_date(val), val
        elif kind == "bad_number":
            assert isinstance(val, str) and not parses_as_number(val), val
        elif kind == "unknown_customer":
            assert val and val not in customers
        elif kind == "unknown_sku":
            assert val and val not in skus
        elif kind == "unknown_rep":
            assert val and val not in reps
        elif kind == "missing_key":
            assert val in ("", None)
        elif kind == "negative_qty":
            if f["source"] == "sales":
                assert int(val) < 0 and row["line_type"] in ("SALE", "销售")
            else:
                assert col == "closing_qty" and int(val) < 0
        elif kind == "duplicate_key":
            assert row == prev
        elif kind == "future_date":
            assert str(val).startswith("2099")
        elif kind == "thousands_separator":
            assert "," in val and parses_as_number(val)
        elif kind == "fullwidth_digits":
            assert any("０" <= ch <= "９" for ch in val) and parses_as_number(val)
        elif kind == "alt_date_format":
            assert "年" in val and parses_as_date(val)
        elif kind == "bad_enum":
            assert val not in {"SALE", "RETURN", "销售", "退货", "INVOICE", "PAYMENT", "PREPAY", "COD", "NET15",
                               "NET30", "NET60", "NET90", "BILL"} | CHANNELS
        seen[kind] += 1
    for kind in ["bad_date", "unknown_customer", "negative_qty", "bad_json", "duplicate_key",
                 "undeclared_encoding", "empty_file"]:
        assert seen[kind] > 0, kind


def test_payment_rows_only_get_faults_that_lose_no_payment(faulty_run):
    """A quarantined payment would leave its invoice open for ever (its payer rated C on K4 for a
    year): receivables PAYMENT rows get only duplicates and thousands separators."""
    out, m, faults = faulty_run
    landing = out / "landing"
    kinds = Counter()
    for f in faults:
        if f["source"] != "receivables" or f["line"] is None:
            continue
        row, _ = cell(landing, f)
        record = row["record_type"] if f["kind"] != "bad_enum" else "INVOICE"
        kinds[(record, f["kind"])] += 1
    print(sorted(kinds.items()))
    assert {k for r, k in kinds if r == "PAYMENT"} <= {"duplicate_key", "thousands_separator"}
    assert {k for r, k in kinds if r == "PAYMENT"} and len({k for r, k in kinds if r == "INVOICE"}) >= 6


# ---------------------------------------------------------------- the sample world
def test_default_world_is_few_strong_wholesalers():
    """The default preset's customer base follows seed 000: mostly wholesalers, chains, few small
    outlets; strength drives size, cash terms and punctual payment; a rep looks after about 50
    customers and reps differ in focus. (The marts on it: tests/test_sample_world.py.)"""
    import numpy as np

    from sample_data.master import CHAIN, NATIONAL, REGIONAL, REP_FOCUS, TERMS_CLASS, World
    from sample_data.sales import PUNCTUAL, build_behaviour

    world = World(GeneratorConfig.preset("default", seed=42))
    cu, reps = world.customers, world.reps
    beh = build_behaviour(world)
    share = np.bincount(cu.channel, minlength=6) / cu.n
    assert share[NATIONAL] + share[REGIONAL] >= 0.5 and share[CHAIN] >= 0.2 and share[CHAIN + 1:].sum() <= 0.2
    regular = cu.channel <= CHAIN
    strong = regular & (cu.strength > 0.5)
    weak = regular & (cu.strength < -0.5)
    for better in (cu.size_month, TERMS_CLASS[cu.terms] == 0, beh.payer == PUNCTUAL, cu.nature == 0):
        assert np.mean(better[strong]) > np.mean(better[weak])
    assert np.median(cu.turnover[regular & ~np.isnan(cu.turnover)]) >= 20_000_000
    per_rep = cu.n / (reps.hire <= 0).sum()
    assert 40 <= per_rep <= 70
    assert set(reps.focus.tolist()) == set(range(len(REP_FOCUS))) and reps.diligent.any() and not reps.diligent.all()


def test_default_preset_uses_small_row_fault_rate():
    cfg = GeneratorConfig.preset("default")
    row = [k for k, v in FAULT_TABLE.items() if v.level == "row"]
    assert all(cfg.fault_rates[k] == 0.001 for k in row)
    assert not any(cfg.fault_rates.get(k) for k, v in FAULT_TABLE.items() if v.level == "file")
    assert cfg.days == 1096 and cfg.end_date == date(2025, 12, 31)
    assert GeneratorConfig.preset("tiny").fault_rates == {}
    c = GeneratorConfig.preset("tiny", fault_rate=0.1, faults={"bad_json": 0.3, "empty_file": 0.01})
    assert c.fault_rates["bad_date"] == 0.1 and c.fault_rates["bad_json"] == 0.3 and c.fault_rates["empty_file"] == 0.01


# ---------------------------------------------------------------- CLI
def test_cli_runs_and_refuses_a_non_empty_landing(tmp_path):
    cmd = [sys.executable, "-m", "sample_data", "--out", str(tmp_path), "--scale", "tiny", "--seed", "5",
           "--days", "21", "--no-progress"]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "generated" / "manifest.json").read_text(encoding="utf-8"))
    assert m["period"]["days"] == 21 and m["seed"] == 5
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert r.returncode != 0 and "not empty" in r.stderr and "--clean" in r.stderr
    r = subprocess.run(cmd + ["--clean", "--fault", "bad_json=0.2"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    kinds = {json.loads(x)["kind"] for x in (tmp_path / "generated" / "faults.jsonl").read_text().splitlines()}
    assert kinds == {"bad_json"}
    r = subprocess.run(cmd + ["--clean", "--fault", "nonsense=0.1"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode != 0 and "unknown fault kind" in r.stderr
