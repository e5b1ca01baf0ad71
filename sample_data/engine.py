"""The day loop: builds the world, then for every day applies master changes, writes the master
extract (on extract days), the sales and receivables files, feeds the stock model (reports on
Sundays), writes the visit log; finally the overrides file, ``generated/manifest.json``,
``generated/faults.jsonl`` and ``generated/sensitive_values.txt``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from sample_data import faults as F
from sample_data.config import GeneratorConfig
from sample_data.master import CHANNELS, NEVER, REP_FOCUS, TERMS, World
from sample_data.master_files import MasterWriter
from sample_data.overrides import OVERRIDES_PATH, write_overrides
from sample_data.sales import PAYER_TYPES, ReceivablesBook, SalesGenerator, build_behaviour
from sample_data.sales_files import SALES_FORMAT_SHARES, SalesWriter
from sample_data.stock import STOCK_HEADER_VARIANTS, VARIANT_NAMES, StockReporter
from sample_data.visits import VisitLog

MANIFEST_VERSION = 1

FORMATS_DOC = {
    "sales_csv": "UTF-8 (15 % of files with BOM), LF, English headers; invoice_date YYYY-MM-DD; qty integer; "
                 "unit_price / net_amount / discount_rate plain decimals with 2 places, '.' decimal point, no thousands "
                 "separator except the thousands_separator fault (quoted \"1,234.50\")",
    "sales_gbk_csv": "GBK, CRLF, Chinese headers; invoice_date YYYY/MM/DD (alt_date_format fault: YYYY年MM月DD日); "
                     "line_type 销售/退货; qty ASCII digits (fullwidth_digits fault: １２); decimals as in UTF-8 CSV",
    "sales_parquet": "invoice_date DATE, line_no/qty BIGINT, unit_price/discount_rate/net_amount DECIMAL(18,2), rest STRING",
    "receivables_csv": "UTF-8, LF; dates YYYY-MM-DD; amounts 2-place decimals; INVOICE rows: invoice_date = file date, "
                       "due_date, amount_due; PAYMENT rows: payment_date = file date, amount_paid, payment_no, invoice_date "
                       "= the paid invoice's date; empty cells for the other record type's columns",
    "master_csv": "UTF-8, LF; dates YYYY-MM-DD (empty = missing); list_price/standard_cost 2-place decimals; "
                  "declared_annual_turnover and credit_limit whole CNY (empty turnover = missing)",
    "stock_csv": "UTF-8 (some distributors with BOM), LF or CRLF (fixed per distributor); integer quantities; "
                 "report_date YYYY-MM-DD = the Sunday ending the folder's week; destination_territory a territory "
                 "code, empty when nothing was sold",
    "stock_xlsx": "one sheet, header on row 1; quantities numeric cells; report_date a date cell (yyyy-mm-dd); "
                  "faulted cells are text",
    "visits_jsonl": "UTF-8 JSON Lines; check_in/check_out YYYY-MM-DDTHH:MM:SS+08:00; next_appointment YYYY-MM-DD or "
                    "null; customer_code null for travel/organisation/personal",
    "overrides_csv": "UTF-8, LF; quarter YYYYQn; grade 1-5; approved_date YYYY-MM-DD",
}


class LandingNotEmpty(RuntimeError):
    pass


def prepare_out(out_dir: Path, clean: bool) -> tuple[Path, Path]:
    landing = out_dir / "landing"
    generated = out_dir / "generated"
    if clean:
        for d in (landing, generated):
            if d.exists():
                shutil.rmtree(d)
    elif landing.exists() and any(landing.iterdir()):
        raise LandingNotEmpty(
            f"landing directory {landing} is not empty; refusing to write into it. "
            f"Re-run with --clean (deletes {landing} and {generated}) or choose another --out.")
    landing.mkdir(parents=True, exist_ok=True)
    generated.mkdir(parents=True, exist_ok=True)
    return landing, generated


def generate(config: GeneratorConfig, out_dir: str | Path, *, clean: bool = False, progress: bool = False) -> dict:
    """Write the landing zone under ``out_dir/landing`` and side files under ``out_dir/generated``.

    Returns the manifest (also written to ``generated/manifest.json``)."""
    config.validate()
    out_dir = Path(out_dir)
    landing, generated = prepare_out(out_dir, clean)
    plan = F.FaultPlan(config.fault_rates, config.seed, generated / "faults.jsonl")
    try:
        world = World(config)
        beh = build_behaviour(world)
        sales = SalesGenerator(world, beh)
        book = ReceivablesBook(world, beh)
        master_w = MasterWriter(world, landing, plan)
        sales_w = SalesWriter(world, landing, plan)
        stock = StockReporter(world, beh, landing, plan)
        visits = VisitLog(world, beh, landing, plan)
        extract = np.zeros(world.days, dtype=bool)
        extract[world.extract_days] = True
        weekday = (world.cal.dates.astype(np.int64) + 3) % 7
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=world.days, unit="day", file=sys.stderr, desc="generating", dynamic_ncols=True)
        for t in range(world.days):
            world.advance(t)
            if extract[t]:
                master_w.write(t)
            sd = sales.day(t)
            sales_w.write_sales(sd)
            sales_w.write_receivables(t, book.day(t, sd))
            stock.add_sales(sd)
            visits.add_sales(sd)
            if weekday[t] == 6 and t >= 6:
                stock.close_week(t)
            visits.day(t)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        ov = write_overrides(world, sales.first_sale, landing, plan)
    finally:
        plan.close()
    (generated / "sensitive_values.txt").write_text("\n".join(world.sensitive_values()) + "\n", encoding="utf-8")
    manifest = _manifest(config, world, beh, sales, book, master_w, sales_w, stock, visits, ov, plan)
    (generated / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _manifest(config, world, beh, sales, book, master_w, sales_w, stock, visits, ov, plan) -> dict:
    cu = world.customers
    cal = world.cal
    late = np.flatnonzero(cu.late_arriving)
    new = np.flatnonzero(cu.opened > 0)
    closed = np.flatnonzero(cu.closed < NEVER)
    counts = {
        "sales": sales_w.counts["sales"],
        "receivables": {**sales_w.counts["receivables"], **book.stats},
        "master": master_w.counts,
        "stock": stock.counts,
        "visits": visits.counts,
        "overrides": ov,
    }
    return {
        "generator": "sample_data",
        "manifest_version": MANIFEST_VERSION,
        "seed": config.seed,
        "scale": config.scale,
        "config": config.as_dict(),
        "period": {"start": cal.iso[0], "end": cal.iso[-1], "days": world.days},
        "master_extract_days": [cal.iso[t] for t in world.extract_days],
        "entities": {
            "customers": cu.n, "skus": len(world.products.code), "reps": len(world.reps.code),
            "branches": len(world.geo.branch_code), "territories": len(world.geo.territory_code),
            "customers_by_channel": {c: int((cu.channel == i).sum()) for i, c in enumerate(CHANNELS)},
            "customers_by_terms_initial": {c: int((cu.terms == i).sum()) for i, c in enumerate(TERMS)},
            "customers_by_payer_type": {p: int((beh.payer == i).sum()) for i, p in enumerate(PAYER_TYPES)},
            "new_customers": int(len(new)), "closed_customers": int(len(closed)),
            "diligent_reps": int(world.reps.diligent.sum()),
            "reps_by_focus": {f: int((world.reps.focus == i).sum()) for i, f in enumerate(REP_FOCUS)},
            "reps_leaving": int((world.reps.leave < NEVER).sum()),
        },
        "late_arriving_customers": [
            {"customer_code": cu.code[i], "first_sale_date": cal.iso[int(cu.sales_start[i])],
             "first_master_date": cal.iso[int(cu.opened[i])]} for i in late],
        "master_changes": dict(sorted(world.change_counts.items())),
        "counts": counts,
        "files": {
            "sales": sum(sales_w.counts["sales"]["files"].values()),
            "receivables": sales_w.counts["receivables"]["files"],
            "master": master_w.counts["files"],
            "stock": stock.counts["files"],
            "visits": visits.counts["files"],
            "overrides": 1,
        },
        "sales_format_shares": dict(zip(["csv", "gbk.csv", "parquet"], SALES_FORMAT_SHARES)),
        "stock_header_variants": STOCK_HEADER_VARIANTS,
        "stock_distributors": {cu.code[c]: {"variant": VARIANT_NAMES[stock.variant[j]],
                                            "format": "xlsx" if stock.xlsx[j] else "csv",
                                            "inventory_policy": ["under", "normal", "over"][stock.policy[j]]}
                               for j, c in enumerate(stock.cust)},
        "formats": FORMATS_DOC,
        "overrides_path": OVERRIDES_PATH,
        "faults": {**plan.summary(), "table": F.fault_table_rows()},
    }
