"""Writing one report table into a worksheet, the way a person reads it: a bold header that
wraps instead of being cut, one number format per kind of column (whole units for quantities and
counts, two decimals for amounts, percentages, grades as numbers), an optional totals row below
a filterable body, columns as wide as their content (wide characters such as Chinese count
double), the header frozen and repeated on printed pages.

Text is written with ``write_string`` (source text stays text: see ``safe.py``)."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter

from pipelines.reports.safe import looks_like_formula

# kind -> (Excel number format, how the value reads, for the column width)
KINDS: dict[str, tuple[str | None, Any]] = {
    "text": (None, str),
    "int": ("#,##0", lambda v: f"{v:,.0f}"),          # counts and quantities: whole units
    "qty": ("#,##0", lambda v: f"{v:,.0f}"),
    "amount": ("#,##0.00", lambda v: f"{v:,.2f}"),    # money, company currency
    "decimal": ("#,##0.00", lambda v: f"{v:,.2f}"),   # rates such as sell-out per day, visits per day
    "days": ("#,##0.0", lambda v: f"{v:,.1f}"),
    "score": ("0.0", lambda v: f"{v:.1f}"),
    "percent": ("0.0%", lambda v: f"{v * 100:.1f}%"),
    "grade": ("0", lambda v: f"{v:.0f}"),             # credit grades 1–5: numbers
    "date": ("yyyy-mm-dd", lambda v: "2000-00-00"),
}

MIN_WIDTH, MAX_WIDTH, MAX_HEADER_WIDTH = 6, 60, 28


@dataclass(frozen=True)
class Col:
    label: str
    kind: str = "text"


def display_width(text: str) -> int:
    """Width of ``text`` in Excel's character units: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


class Formats:
    """The cell formats of one workbook (xlsxwriter wants each made once)."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self._cache: dict[tuple, Any] = {}

    def get(self, kind: str = "text", *, total: bool = False, quote: bool = False, header: bool = False):
        key = (kind, total, quote, header)
        if key not in self._cache:
            props: dict[str, Any] = {"valign": "top"}
            if header:
                props.update({"bold": True, "bg_color": "#E2E8F0", "border": 1, "text_wrap": True})
            num = KINDS.get(kind, (None, str))[0]
            if num and not header:
                props["num_format"] = num
            if total:
                props.update({"bold": True, "top": 1, "bg_color": "#F1F5F9"})
            if quote:
                props["quote_prefix"] = True
            self._cache[key] = self.book.add_format(props)
        return self._cache[key]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Decimal):
        return float(value)
    return None


def _write(sheet, formats: Formats, r: int, c: int, value: Any, kind: str, total: bool = False) -> int:
    """Write one cell; returns the width its content needs."""
    if value is None:
        if total:
            sheet.write_blank(r, c, None, formats.get(kind, total=True))
        return 0
    if isinstance(value, (datetime, date)):
        sheet.write_datetime(r, c, value if isinstance(value, datetime) else datetime(value.year, value.month, value.day),
                             formats.get("date", total=total))
        return 10
    number = _number(value)
    if number is not None and kind != "text":
        if math.isnan(number) or math.isinf(number):
            return 0
        sheet.write_number(r, c, number, formats.get(kind, total=total))
        return len(KINDS[kind][1](number))
    text = str(value)
    sheet.write_string(r, c, text, formats.get("text", total=total, quote=looks_like_formula(text)))
    return display_width(text)


def write_table(book: xlsxwriter.Workbook, formats: Formats, title: str, cols: list[Col], rows: list[tuple],
                totals: tuple | None = None, subject: str | None = None) -> Any:
    """One sheet: header (row 0), the rows, then ``totals`` (a row of the same shape, bold) if given."""
    sheet = book.add_worksheet(title[:31])
    widths = [0] * len(cols)
    for r, row in enumerate(rows, start=1):
        for c, (col, value) in enumerate(zip(cols, row)):
            widths[c] = max(widths[c], _write(sheet, formats, r, c, value, col.kind))
    last = len(rows)
    if totals is not None:
        last += 1
        for c, (col, value) in enumerate(zip(cols, totals)):
            widths[c] = max(widths[c], _write(sheet, formats, last, c, value, col.kind, total=True))
    lines = 1
    for c, col in enumerate(cols):
        head = display_width(col.label)
        width = min(MAX_WIDTH, max(MIN_WIDTH, widths[c] + 2, min(head, MAX_HEADER_WIDTH) + 2))
        widths[c] = width
        lines = max(lines, math.ceil(head / (width - 1)))
        sheet.write_string(0, c, col.label, formats.get(header=True))
        sheet.set_column(c, c, width)
    sheet.set_row(0, 15 * lines + 3)
    sheet.freeze_panes(1, 0)
    if cols:
        sheet.autofilter(0, 0, max(len(rows), 1), len(cols) - 1)
    sheet.repeat_rows(0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    if subject:
        sheet.set_header(f"&L{_header_text(subject)}&R&P / &N")
    return sheet


def _header_text(text: str) -> str:
    """Text for a printed page header: '&' starts a control code there."""
    return text.replace("&", "&&")[:200]


def write_note_sheet(book: xlsxwriter.Workbook, formats: Formats, title: str, text: str) -> None:
    """A sheet holding one line of text (e.g. "No data delivered")."""
    sheet = book.add_worksheet(title[:31])
    sheet.write_string(0, 0, text, book.add_format({"italic": True, "font_color": "#64748B"}))
    sheet.set_column(0, 0, min(MAX_WIDTH * 2, display_width(text) + 2))
