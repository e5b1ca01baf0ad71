"""Neutralising spreadsheet formula injection: a text cell from source data that begins with
``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return) would be run as a formula by Excel or
LibreOffice; it is prefixed with an apostrophe so it shows as the text it is."""

from __future__ import annotations

from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that could start a formula gets a leading apostrophe; numbers and dates pass."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value
