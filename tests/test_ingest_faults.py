"""Every fault kind the generator can inject ends as ingest promises: a quarantine row with the
expected reason at the recorded file and line, a tolerated variant loaded, or a file error
naming the file — and rows read = rows loaded + rows quarantined for every file."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sample_data import GeneratorConfig, generate
from sample_data.faults import FAULT_TABLE
from pipelines.ingest.assets import INGESTED_SOURCES
from pipelines.ingest.load import load_window


def _generate_and_ingest(out: Path, seed: int, rates: dict[str, float]):
    generate(GeneratorConfig.from_preset("tiny", seed=seed, faults=rates), out, clean=True)
    con = duckdb.connect(str(out / "w.duckdb"))
    errors = {}
    for name in INGESTED_SOURCES:
        result = load_window(con, name, out / "landing", date(2000, 1, 1), date(2100, 1, 1), out / "tmp")
        for e in result.errors:
            errors[e.relpath] = e
    faults = [json.loads(l) for l in (out / "generated" / "faults.jsonl").read_text().splitlines()]
    return con, errors, faults


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """Every row-level kind at 4 % (no unreadable files, so every partition loads)."""
    rates = {k: 0.04 for k, v in FAULT_TABLE.items() if v.level == "row"}
    con, errors, faults = _generate_and_ingest(tmp_path_factory.mktemp("rows"), 3, rates)
    yield con, errors, faults
    con.close()


@pytest.fixture(scope="module")
def broken_files(tmp_path_factory):
    """Every file-level kind at 8 % of the files it applies to."""
    rates = {k: 0.08 for k, v in FAULT_TABLE.items() if v.level == "file"}
    con, errors, faults = _generate_and_ingest(tmp_path_factory.mktemp("files"), 5, rates)
    yield con, errors, faults
    con.close()


def test_every_row_fault_gets_its_reason_at_its_line(faulty):
    con, errors, faults = faulty
    quarantined = {(f, l): (c, m) for f, l, c, m in con.execute(
        "SELECT _source_file, _source_line, reason_code, message FROM raw.quarantine").fetchall()}
    loaded_files = {f for (f,) in con.execute("SELECT _source_file FROM raw.load_log").fetchall()}
    # a file made mostly of faults is refused (the tiny files are short): every row of it is in
    # quarantine, a faulty row with its own reason, a good or tolerated one as file_refused
    refused = {f for (f,) in con.execute("SELECT _source_file FROM raw.load_log WHERE status = 'refused'").fetchall()}
    seen, wrong = Counter(), []
    for f in faults:
        if f["level"] != "row" or f["file"] not in loaded_files:  # a failed partition loads nothing
            continue
        got = quarantined.get((f["file"], f["line"]))
        if f["file"] in refused:
            expected = "file_refused" if f["expected"] == "loaded" else f["expected"]
            ok = got is not None and got[0] == expected
        else:
            ok = got is None if f["expected"] == "loaded" else (got is not None and got[0] == f["expected"])
        if ok:
            seen[f["kind"]] += 1
        else:
            wrong.append((f, got))
    assert not wrong, wrong[:5]
    injected = {f["kind"] for f in faults if f["level"] == "row"}
    assert set(seen) == injected
    assert len(seen) >= 17, sorted(seen)  # the tiny overrides file is too short for every kind
    for (_, _), (code, message) in quarantined.items():
        assert code and message


def test_every_file_fault_fails_with_a_named_error(broken_files):
    con, errors, faults = broken_files
    file_faults = [f for f in faults if f["level"] == "file"]
    assert {f["kind"] for f in file_faults} >= {"undeclared_encoding", "empty_file", "no_header", "truncated_xlsx"}
    for f in file_faults:
        err = errors.get(f["file"])
        assert err is not None, f
        assert err.code == f["expected"], (f, str(err))
        assert str(err).startswith(f["file"])
    # nothing of a failed partition is loaded
    bad = {(e.relpath.split("/")[0], e.relpath) for e in errors.values()}
    assert bad
    logged = {f for (f,) in con.execute("SELECT _source_file FROM raw.load_log").fetchall()}
    assert not logged & set(errors)


def test_rows_are_conserved_per_file(faulty):
    con, _, _ = faulty
    assert con.execute("SELECT count(*) FROM raw.load_log").fetchall()[0][0] > 100
    assert con.execute(
        "SELECT count(*) FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()[0][0] == 0
    # and the per-file counts agree with the tables
    for table, source in [("raw.sales_lines", "sales_lines"), ("raw.visits", "visits"), ("raw.stock_reports", "stock")]:
        loaded = con.execute(f"SELECT sum(rows_loaded), sum(rows_quarantined) FROM raw.load_log WHERE source = '{source}'").fetchall()[0]
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == loaded[0]
        assert con.execute(f"SELECT count(*) FROM raw.quarantine WHERE source = '{source}'").fetchall()[0][0] == loaded[1]
