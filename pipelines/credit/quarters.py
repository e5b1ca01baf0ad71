"""Quarters: the quarterly partitions (from the quarter containing DWH_PARTITIONS_START), the
``YYYYQn`` labels the rating uses, and their conversion to and from partition keys.

Partition keys are the quarter's first day (``2023-04-01``), as Dagster's time-window partitions
require; ``label`` / ``partition_key`` convert between the two notations.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import dagster as dg

from pipelines.partitions import TIMEZONE
from pipelines.settings import partitions_start

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def quarter_end(start: date) -> date:
    nxt = date(start.year + (start.month == 10), 1 if start.month == 10 else start.month + 3, 1)
    return nxt - timedelta(days=1)


def label(d: date) -> str:
    """``2023Q2`` for any day of that quarter."""
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def parse(text: str) -> date:
    """First day of a quarter written ``YYYYQn`` (or a partition key ``YYYY-MM-DD``)."""
    m = QUARTER_RE.match(text.strip().upper())
    if m:
        return date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    try:
        return quarter_start(date.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"not a quarter: {text!r} (write it YYYYQn, e.g. 2024Q3)") from None


def partition_key(text_or_day: str | date) -> str:
    start = parse(text_or_day) if isinstance(text_or_day, str) else quarter_start(text_or_day)
    return start.isoformat()


def parse_range(spec: str) -> list[str]:
    """``2023Q2..2023Q4`` (or one quarter, or a comma list) → partition keys in order."""
    keys: list[str] = []
    for part in spec.split(","):
        if ".." in part:
            lo, hi = (parse(p) for p in part.split("..", 1))
            if hi < lo:
                raise ValueError(f"empty quarter range {part!r}")
            d = lo
            while d <= hi:
                keys.append(d.isoformat())
                d = quarter_end(d) + timedelta(days=1)
        else:
            keys.append(parse(part).isoformat())
    return sorted(set(keys))


# One partition per calendar quarter (China time), the first being the quarter that contains
# the first day of the daily partitions; a quarter becomes a partition once it is over.
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    start=quarter_start(partitions_start()).isoformat(),
    cron_schedule="0 0 1 1,4,7,10 *",
    fmt="%Y-%m-%d",
    timezone=TIMEZONE,
)
