"""Deterministic file writers: CSV text from column arrays (vectorised minimal quoting), any
encoding with optional UTF-8 BOM; Parquet via pyarrow with explicit native types (DATE, BIGINT,
DECIMAL(18,2) built exactly from integer cents); XLSX via xlsxwriter with fixed document
properties (created date) so the bytes repeat; JSON Lines."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

FIXED_CREATED = dt.datetime(2020, 1, 1, 0, 0, 0)
XLSX_DATE_FORMAT = "yyyy-mm-dd"


def zfill(a: np.ndarray, width: int) -> np.ndarray:
    """np.strings.zfill that also accepts empty arrays."""
    a = np.asarray(a)
    if a.dtype.kind != "U":
        a = a.astype(str)
    return np.strings.zfill(a, width) if len(a) else a


def to_str(col) -> np.ndarray:
    """Any column -> numpy unicode array (None -> '')."""
    a = np.asarray(col)
    if a.dtype.kind == "U":
        return a
    if a.dtype == object:
        return np.array(["" if v is None else str(v) for v in a.tolist()], dtype=str) if len(a) else a.astype(str)
    return a.astype(str)


def quote(col: np.ndarray) -> np.ndarray:
    col = to_str(col)
    if len(col) == 0:
        return col
    need = ((np.strings.find(col, ",") >= 0) | (np.strings.find(col, '"') >= 0) |
            (np.strings.find(col, "\n") >= 0) | (np.strings.find(col, "\r") >= 0))
    if not need.any():
        return col
    q = np.strings.add(np.strings.add('"', np.strings.replace(col, '"', '""')), '"')
    return np.where(need, q, col)


def csv_lines(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One CSV line (without terminator) per row."""
    cols = [quote(c) for c in columns]
    line = cols[0]
    for c in cols[1:]:
        line = np.strings.add(np.strings.add(line, ","), c)
    return line


def csv_text(header: Sequence[str] | None, columns: Sequence[np.ndarray], newline: str = "\n") -> str:
    parts = []
    if header is not None:
        parts.append(",".join(quote(np.array(list(header), dtype=str)).tolist()))
    if len(columns) and len(columns[0]):
        parts.extend(csv_lines(columns).tolist())
    return newline.join(parts) + newline if parts else ""


def encode(text: str, encoding: str, bom: bool = False) -> bytes:
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_bytes(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def decimal_array(cents: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Exact DECIMAL(18,2) from integer cents (no float round trip)."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    validity = None
    if null is not None and np.any(null):
        validity = pa.array(~np.asarray(null, bool)).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [validity, pa.py_buffer(words.tobytes())],
                                 null_count=int(np.sum(null)) if null is not None else 0)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy", write_statistics=True)
    return buf.getvalue()


def xlsx_bytes(header: Sequence[str] | None, columns: Sequence[list], sheet: str = "Sheet1") -> bytes:
    """Workbook with one sheet; values: str -> text, int/float -> number, date -> date cell, None -> blank."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    wb.set_properties({"created": FIXED_CREATED, "author": "distributor", "title": "stock report"})
    ws = wb.add_worksheet(sheet)
    datef = wb.add_format({"num_format": XLSX_DATE_FORMAT})
    r0 = 0
    if header is not None:
        ws.write_row(0, 0, list(header))
        r0 = 1
    for j, col in enumerate(columns):
        for i, v in enumerate(col):
            if v is None:
                continue
            if isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(r0 + i, j, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day), datef)
            elif isinstance(v, str):
                ws.write_string(r0 + i, j, v)
            else:
                ws.write_number(r0 + i, j, v)
    ws.set_column(0, max(0, len(columns) - 1), 14)
    wb.close()
    return buf.getvalue()
