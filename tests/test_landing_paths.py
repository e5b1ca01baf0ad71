"""Landing-zone path safety: unusual names are ordinary files; symlinks out of the landing zone
are refused with an error naming the path and the reason, never followed.

Decisions (docs/landing-zone.md, "Path safety"):

* names with spaces, single quotes, non-ASCII (Chinese) characters, ``..`` inside a name, or
  DuckDB glob characters (``* ? [ ]``) are ingested like any other name;
* a landing root given through a symlink or with ``..`` in it is resolved first;
* a symlink whose resolved target is inside the landing zone (file or directory) is followed,
  and the file is read under the link's name and partition;
* a symlink whose resolved target is outside the landing zone (file or directory) is refused:
  file error ``unsafe_path`` for its partition; a dangling or looping symlink: ``broken_link``;
* ingest and the landing-zone sensor list files through the same function
  (``pipelines.ingest.config.list_landing``); the sensor fingerprints a refused entry by the link
  itself, so it triggers the failing run, but never reads or stats the target.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sample_data.writers import xlsx_bytes
from pipelines.ingest.config import find_files, list_landing, load_sources
from pipelines.ingest.load import load_window
from pipelines.ingest.sensors import landing_fingerprints
from tests.test_bad_inputs import STOCK_HEADER, jsonl, lines, visit
from tests.test_ingest import CUSTOMERS, GOOD, PRODUCTS, REPS, sales, write

START, END = date(2024, 1, 1), date(2024, 1, 14)
ODD_CUSTOMERS = ["C 002", "客户003", "O'Brien", "C..4", "C[5]*?"]  # customer codes named by stock file names


def customers_with(codes: list[str]) -> str:
    row = CUSTOMERS.splitlines()[1]
    return CUSTOMERS + "".join(row.replace("C001,Acme", f"{c},Name") + "\n" for c in codes)


def stock_row(day: str = "2024-01-07") -> str:
    return f"P01,Aspirin,10,5,3,12,{day},T01"


def make_landing(root: Path) -> Path:
    write(root / "master/2024/01/01/customers.csv", customers_with(ODD_CUSTOMERS))
    write(root / "master/2024/01/01/products.csv", PRODUCTS)
    write(root / "master/2024/01/01/reps.csv", REPS)
    return root


def load(con, landing: Path, tmp: Path, source: str):
    for s in ("customers", "products", "reps"):
        r = load_window(con, s, landing, START, END, tmp)
        assert r.errors == [], [str(e) for e in r.errors]
    return load_window(con, source, landing, START, END, tmp)


def test_odd_names_and_an_odd_root_are_ingested_normally(tmp_path):
    # the landing root itself has a space, a quote and Chinese in its name, is reached through a
    # symlink, and is given with a '..' component
    real = make_landing(tmp_path / "real place" / "落地区 it's")
    (tmp_path / "via link").symlink_to(real, target_is_directory=True)
    landing = tmp_path / "via link" / "sub" / ".."
    (real / "sub").mkdir()
    for code in ODD_CUSTOMERS[:-1]:
        write(real / f"stock/2024/01/01/stock_{code}.csv", lines(STOCK_HEADER, stock_row()).decode())
    (real / f"stock/2024/01/01/stock_{ODD_CUSTOMERS[-1]}.xlsx").write_bytes(
        xlsx_bytes(STOCK_HEADER.split(","), [[v] for v in stock_row().split(",")]))
    write(real / "sales/2024/01/sales_20240102.csv", sales([GOOD]))
    write(real / "sales/2024/01/sales_20240103.gbk.csv",
          "发票号,行号,开票日期,类型,客户编码,商品编码,数量,单价,折扣率,金额,付款条件,分支机构,业务员\n"
          "I2,1,2024/01/03,销售,C001,P01,1,10.00,0,10.00,COD,BR01,R01\n", encoding="gbk")
    write(real / "visits/2024/01/visits_20240102.jsonl", jsonl(visit()).decode())
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    tmp = tmp_path / "tmp dir 临时"

    stock = load(con, landing, tmp, "stock")
    assert stock.errors == [] and stock.rows_quarantined == 0, [str(e) for e in stock.errors]
    got = con.execute("SELECT customer_code, _source_file, closing_qty FROM raw.stock_reports ORDER BY 1").fetchall()
    assert got == sorted((c, f"stock/2024/01/01/stock_{c}.{'xlsx' if c == 'C[5]*?' else 'csv'}", 12) for c in ODD_CUSTOMERS)
    for source, n in (("sales_lines", 2), ("visits", 1)):
        r = load_window(con, source, landing, START, END, tmp)
        assert r.errors == [] and (r.rows_loaded, r.rows_quarantined) == (n, 0), [str(e) for e in r.errors]
    # a glob character in a name is read as that one file, not expanded to its neighbours
    assert con.execute("SELECT rows_read FROM raw.load_log WHERE _source_file LIKE '%C[5]%'").fetchall() == [(1,)]


@pytest.fixture
def zone(tmp_path):
    """A landing zone, and an 'outside' folder next to it holding valid-looking files."""
    landing = make_landing(tmp_path / "landing")
    outside = tmp_path / "outside"
    write(outside / "stock_C001.csv", lines(STOCK_HEADER, stock_row()).decode())
    write(outside / "week/stock_C001.csv", lines(STOCK_HEADER, stock_row("2024-01-14")).decode())
    write(outside / "sales_20240105.csv", sales([GOOD.replace("2024-01-02", "2024-01-05")]))
    return tmp_path, landing, outside


def test_symlink_to_a_file_outside_is_refused(zone):
    tmp_path, landing, outside = zone
    link = landing / "stock/2024/01/01/stock_C001.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside / "stock_C001.csv")
    write(landing / "stock/2024/01/01/stock_C 002.csv", lines(STOCK_HEADER, stock_row()).decode())  # same week
    write(landing / "stock/2024/01/08/stock_C 002.csv", lines(STOCK_HEADER, stock_row("2024-01-14")).decode())
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load(con, landing, tmp_path / "tmp", "stock")
    (err,) = result.errors
    assert (err.code, err.relpath) == ("unsafe_path", "stock/2024/01/01/stock_C001.csv")
    text = str(err)
    assert text.startswith("stock/2024/01/01/stock_C001.csv: refused") and "outside the landing zone" in text
    assert str(outside.resolve()) in text and "not followed" in text
    # the refused file's week loads nothing (not even its good neighbour); the next week loads
    assert con.execute("SELECT DISTINCT _partition_date FROM raw.stock_reports").fetchall() == [(date(2024, 1, 8),)]
    assert con.execute("SELECT count(*) FROM raw.load_log WHERE source = 'stock' "
                       "AND _partition_date = DATE '2024-01-01'").fetchone()[0] == 0


def test_symlink_to_a_directory_outside_is_refused(zone):
    tmp_path, landing, outside = zone
    (landing / "stock/2024/01").mkdir(parents=True)
    (landing / "stock/2024/01/08").symlink_to(outside / "week", target_is_directory=True)
    (landing / "sales/2024").mkdir(parents=True)
    (landing / "sales/2024/01").symlink_to(outside, target_is_directory=True)  # a month folder elsewhere
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    stock = load(con, landing, tmp_path / "tmp", "stock")
    assert [(e.code, e.relpath) for e in stock.errors] == [("unsafe_path", "stock/2024/01/08/stock_C001.csv")]
    sales_ = load_window(con, "sales_lines", landing, START, END, tmp_path / "tmp")
    assert [(e.code, e.relpath) for e in sales_.errors] == [("unsafe_path", "sales/2024/01/sales_20240105.csv")]
    assert con.execute("SELECT count(*) FROM raw.stock_reports").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.sales_lines").fetchone()[0] == 0
    # listing for freshness and the CLI leaves refused entries out; ingest and the sensor see them
    sources = load_sources()
    assert find_files(sources["stock"], landing) == []
    assert [f.refused[0] for f in find_files(sources["stock"], landing, include_refused=True)] == ["unsafe_path"]


def test_symlinks_inside_the_landing_zone_are_followed(zone):
    tmp_path, landing, _ = zone
    write(landing / "archive/C002_week1.csv", lines(STOCK_HEADER, stock_row()).decode())
    write(landing / "archive/week2/stock_C001.csv", lines(STOCK_HEADER, stock_row("2024-01-14")).decode())
    (landing / "stock/2024/01/01").mkdir(parents=True)
    # a relative link to a file, and a link to a directory, both resolving inside the landing zone
    (landing / "stock/2024/01/01/stock_C 002.csv").symlink_to(Path("../../../../archive/C002_week1.csv"))
    (landing / "stock/2024/01/08").symlink_to(landing / "archive/week2", target_is_directory=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load(con, landing, tmp_path / "tmp", "stock")
    assert result.errors == [], [str(e) for e in result.errors]
    assert con.execute("SELECT customer_code, _source_file, _partition_date FROM raw.stock_reports ORDER BY 3").fetchall() == [
        ("C 002", "stock/2024/01/01/stock_C 002.csv", date(2024, 1, 1)),
        ("C001", "stock/2024/01/08/stock_C001.csv", date(2024, 1, 8))]


def test_dangling_and_looping_symlinks_are_refused(zone):
    tmp_path, landing, _ = zone
    (landing / "visits/2024/01").mkdir(parents=True)
    (landing / "visits/2024/01/visits_20240102.jsonl").symlink_to(landing / "nowhere.jsonl")
    loop = landing / "visits/2024/01/visits_20240103.jsonl"
    loop.symlink_to(loop)
    write(landing / "visits/2024/01/visits_20240104.jsonl", jsonl(visit(
        check_in="2024-01-04T09:00:00+08:00", check_out="2024-01-04T10:00:00+08:00")).decode())
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load(con, landing, tmp_path / "tmp", "visits")
    assert [(e.code, e.relpath) for e in result.errors] == [
        ("broken_link", "visits/2024/01/visits_20240102.jsonl"), ("broken_link", "visits/2024/01/visits_20240103.jsonl")]
    assert all("cannot be resolved" in str(e) for e in result.errors)
    assert con.execute("SELECT _source_file FROM raw.visits").fetchall() == [("visits/2024/01/visits_20240104.jsonl",)]


def test_sensor_lists_through_the_same_safe_function(zone):
    tmp_path, landing, outside = zone
    write(landing / "stock/2024/01/08/stock_C 002.csv", lines(STOCK_HEADER, stock_row("2024-01-14")).decode())
    link = landing / "stock/2024/01/01/stock_C001.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside / "stock_C001.csv")
    listed = {e.relpath: e for e in list_landing(landing, load_sources()["stock"].layouts[0].glob_pattern())}
    assert listed["stock/2024/01/01/stock_C001.csv"].refused[0] == "unsafe_path"
    assert listed["stock/2024/01/08/stock_C 002.csv"].refused is None
    before = landing_fingerprints(landing)
    assert {"stock|2024-01-01", "stock|2024-01-08"} <= set(before)  # the refused partition still triggers its run
    # the target outside is never looked at: changing it does not change the fingerprint
    (outside / "stock_C001.csv").write_text("changed, and longer than before\n" * 3, encoding="utf-8")
    os.utime(outside / "stock_C001.csv", ns=(1, 1))
    assert landing_fingerprints(landing) == before
