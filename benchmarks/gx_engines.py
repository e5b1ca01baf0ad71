"""Benchmark: Great Expectations through SQL on DuckDB vs on a pandas batch, for one day and for
a 1 M-row history (the measurement behind gx_runtime's choice of SQL). Outside the test suite:

    .venv/bin/python benchmarks/gx_engines.py
"""

import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pipelines.quality import gx_runtime as gr  # noqa: E402
from test_gx_runtime import make_sales_db  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = make_sales_db(Path(tmp) / "bench.duckdb", n_rows=1_000_000, rows_per_day=1000, start="2022-01-01")
        day = {"partition_filter": {"_partition_date": dt.date(2023, 6, 1)}}
        history = {"parameters": {"partition_start": dt.date(2022, 1, 1), "partition_end": dt.date(2024, 9, 26)}}
        gr.validate("raw_sales_lines", duckdb_path=db, query_or_table="raw.sales_lines", **day)  # warm-up
        for name, kw in (("day", day), ("history", history)):
            for engine in ("sql", "pandas"):
                runs = [gr.validate("raw_sales_lines", duckdb_path=db, query_or_table="raw.sales_lines",
                                    engine=engine, **kw) for _ in range(3)]
                assert all(r.success_blocking for r in runs)
                print(f"{name:8} {engine:6} median {statistics.median(r.duration_s for r in runs):.2f}s", flush=True)


if __name__ == "__main__":
    main()
