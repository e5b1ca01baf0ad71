"""Numbers, dates and times as a reader of the reports expects them in their language.

* Amounts: compact in the dashboard — ``118.2M``, ``12k`` in English; ``1.18亿``, ``35.6万`` in
  Chinese (the reader's own units: 万 = 10⁴, 亿 = 10⁸) — with the exact figure in a tooltip.
* Changes: ``+3.2%`` / ``−1.5%`` (a real minus sign), ``–`` when there is nothing to compare.
* Times: in the company's business time zone (company.yml ``timezone``), with the zone named,
  never in UTC unless that is the business zone.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

MINUS = "−"
DASH = "–"


def amount_text(v: float | None, lang: str) -> str:
    """A compact amount: 118.2M / 12k / 950 (en), 1.18亿 / 35.6万 / 950 (zh)."""
    if v is None:
        return DASH
    a = abs(v)
    sign = MINUS if v < 0 else ""
    if lang == "zh":
        if a >= 1e8:
            return f"{sign}{a / 1e8:,.2f}亿"
        if a >= 1e6:
            return f"{sign}{a / 1e4:,.0f}万"
        if a >= 1e4:
            return f"{sign}{a / 1e4:,.1f}万"
        return f"{sign}{a:,.0f}"
    if a >= 1e9:
        return f"{sign}{a / 1e9:,.2f}B"
    if a >= 1e6:
        return f"{sign}{a / 1e6:,.1f}M"
    if a >= 1e4:
        return f"{sign}{a / 1e3:,.0f}k"
    return f"{sign}{a:,.0f}"


def exact_amount(v: float | None, decimals: int = 2) -> str:
    """The full figure with thousands separators (tooltips, tables)."""
    if v is None:
        return DASH
    return f"{v:,.{decimals}f}".replace("-", MINUS)


def count_text(v: float | int | None) -> str:
    if v is None:
        return DASH
    return f"{v:,.0f}".replace("-", MINUS)


def percent_text(v: float | None, decimals: int = 0) -> str:
    if v is None:
        return DASH
    return f"{v * 100:.{decimals}f}%".replace("-", MINUS)


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change current / previous − 1; None when there is no positive base to compare."""
    if current is None or previous is None or previous <= 0:
        return None
    return current / previous - 1


def change_text(rel: float | None) -> str:
    """+3.2% / −1.5% / –."""
    if rel is None:
        return DASH
    text = f"{abs(rel) * 100:.1f}%"
    return ("+" if rel >= 0 else MINUS) + text


def month_text(d: date, lang: str) -> str:
    """2024-03 (en) / 2024年3月 (zh)."""
    return f"{d.year}年{d.month}月" if lang == "zh" else f"{d:%Y-%m}"


def local_time(ts: datetime, tz_name: str) -> datetime:
    """``ts`` (aware; naive counts as UTC) in the business time zone."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(ZoneInfo(tz_name))


def time_text(ts: datetime, tz_name: str, lang: str) -> str:
    """2024-03-05 14:02 Asia/Shanghai (UTC+08:00) / 2024-03-05 14:02（Asia/Shanghai，UTC+08:00）."""
    local = local_time(ts, tz_name)
    offset = local.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    if lang == "zh":
        return f"{local:%Y-%m-%d %H:%M}（{tz_name}，{utc}）"
    return f"{local:%Y-%m-%d %H:%M} {tz_name} ({utc})"


def rate_text(rate: float, lang: str) -> str:
    """A yearly rate from rules.yml as people write it: 10 % (en), 10% (zh)."""
    pct = f"{rate * 100:g}"
    return f"{pct}%" if lang == "zh" else f"{pct} %"
