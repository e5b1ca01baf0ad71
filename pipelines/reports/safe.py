"""Source text stays text in the workbooks.

Every text cell is written with ``write_string`` into a workbook opened with
``strings_to_formulas=False`` (and no conversion of strings to numbers or links), so a customer
named ``=HYPERLINK("http://x","y")`` is stored as a string, never as a formula. A string that a
spreadsheet would take for a formula when its cell is edited or pasted (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is also given the cell attribute ``quotePrefix``
(the apostrophe Excel and LibreOffice show in the formula bar, not in the cell): the cell shows
exactly the source text and stays text when someone edits it."""

from __future__ import annotations

from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# xlsxwriter.Workbook options of every report workbook
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}


def looks_like_formula(value: Any) -> bool:
    """Text that a spreadsheet would read as a formula if it were typed in."""
    return isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES)
