"""Small, dependency-free SVG charts for the offline dashboard (no JavaScript, no CDN).

Each chart computes its geometry here and is rendered by the autoescaping Jinja2 template of
``templates.py``: labels (branch, rep and channel names from source data) are text, never markup.
Values are shown with ``value_fmt`` (the dashboard passes the language's compact amounts: 1.18亿,
118.2M); the exact figures are in the tooltips."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable

from markupsafe import Markup

from pipelines.reports.fmt import amount_text
from pipelines.reports.templates import Element, render_svg

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"]

Fmt = Callable[[float], str]


def _fmt(v: float) -> str:
    return amount_text(v, "en")


NARROW_EM = 3 / 5  # average advance of a Latin glyph in em: a font metric


def text_width(s: str, size: float = 11) -> float:
    """Rough rendered width of ``s`` in px: wide (CJK) characters count one em, others NARROW_EM."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else NARROW_EM * size for ch in str(s))


def _label_margin(labels: list[str], lo: int = 60, hi: int = 240) -> int:
    return int(min(hi, max(lo, 14 + max([text_width(l) for l in labels] + [0]))))


def fit(label, max_px: float, size: float = 11) -> str:
    """``label`` cut to ``max_px`` with an ellipsis (the whole label stays in the tooltip)."""
    label = str(label)
    if text_width(label, size) <= max_px:
        return label
    out = ""
    for ch in label:
        if text_width(out + ch + "…", size) > max_px:
            break
        out += ch
    return out + "…"


def _text(x, y, text, cls="axis", anchor=None, fill=None, **extra) -> Element:
    attrs = {"x": x, "y": y, "text-anchor": anchor, "class": cls, "fill": fill}
    attrs.update(extra)
    return Element("text", attrs, text=text)


SQUEEZE = 1.35  # a label up to this much wider than its space is drawn whole, squeezed to fit


def _label(x, y, label, max_px: float, anchor=None, size: float = 11) -> Element:
    """An axis label in ``max_px``: whole when it fits; squeezed (SVG ``textLength``) when it is at
    most ``SQUEEZE`` times too wide (the width estimate is rough, and a reader would rather read
    "Incomplete" a little narrow than "Incompl…"); else cut with an ellipsis and squeezed."""
    label = str(label)
    need = text_width(label, size)
    if need <= max_px:
        return _text(x, y, label, anchor=anchor)
    shown = label if need <= max_px * SQUEEZE else fit(label, max_px * SQUEEZE, size)
    attrs = {"x": x, "y": y, "text-anchor": anchor, "textLength": max(max_px, 1.0),
             "lengthAdjust": "spacingAndGlyphs", "class": "axis"}
    return Element("text", attrs, text=shown)


def _heading(title: str) -> Element:
    return _text(0, 18, title, cls="chart-title")


def bar_chart(labels: list[str], values: list[float], title: str, width: int = 640, height: int = 300,
              color: str = PALETTE[0], value_fmt: Fmt | None = None, exact_fmt: Fmt | None = None,
              tooltips: list[str] | None = None) -> Markup:
    """Horizontal bars with value labels."""
    fmt = value_fmt or _fmt
    exact = exact_fmt or (lambda v: f"{v:,.0f}")
    n = max(len(values), 1)
    top, right, bottom = 30, 70, 10
    left = _label_margin(labels)
    bar_h = (height - top - bottom) / n
    vmax = max([v for v in values if v is not None] + [1])
    els = [_heading(title)]
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = top + i * bar_h
        w = (width - left - right) * max(v or 0, 0) / vmax
        tip = tooltips[i] if tooltips else lab
        els.append(_label(left - 6, y + bar_h * 0.65, lab, left - 10, anchor="end"))
        els.append(Element("rect", {"class": "bar", "x": left, "y": y + bar_h * 0.15, "width": w, "height": bar_h * 0.7,
                                    "fill": color, "rx": 2}, title=f"{tip}: {exact(v or 0)}"))
        els.append(_text(left + w + 4, y + bar_h * 0.65, fmt(v or 0), cls="value"))
    return render_svg(els, title, width, height)


def line_chart(x_labels: list[str], series: dict[str, list[float]], title: str, width: int = 900,
               height: int = 320, value_fmt: Fmt | None = None) -> Markup:
    """One line per series over shared x labels, with a legend and light grid."""
    fmt = value_fmt or _fmt
    top, left, right, bottom = 34, 70, 40, 46
    n = max(len(x_labels), 2)
    all_v = [v for vs in series.values() for v in vs if v is not None] or [0, 1]
    vmin, vmax = min(0, min(all_v)), max(all_v) or 1

    def px(i):
        return left + (width - left - right) * i / (n - 1)

    def py(v):
        return top + (height - top - bottom) * (1 - (v - vmin) / ((vmax - vmin) or 1))

    els = [_heading(title)]
    for k in range(5):
        v = vmin + (vmax - vmin) * k / 4
        els.append(Element("line", {"x1": left, "x2": width - right, "y1": py(v), "y2": py(v), "class": "grid"}))
        els.append(_text(left - 6, py(v) + 4, fmt(v), anchor="end"))
    step = max(1, len(x_labels) // 12)
    for i, lab in enumerate(x_labels):
        if i % step == 0:
            els.append(_text(px(i), height - bottom + 16, lab, anchor="middle"))
    for j, (name, vs) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vs) if v is not None)
        els.append(Element("polyline", {"class": "line", "points": pts, "fill": "none", "stroke": color,
                                        "stroke-width": 2}))
        for i, v in enumerate(vs):
            if v is not None:
                els.append(Element("circle", {"class": "point", "cx": px(i), "cy": py(v), "r": 2.5, "fill": color},
                                   title=f"{name} · {x_labels[i]}: {fmt(v)}"))
    lx = float(left)
    for j, name in enumerate(series):
        color = PALETTE[j % len(PALETTE)]
        els.append(Element("rect", {"x": lx, "y": height - 16, "width": 10, "height": 10, "fill": color}))
        els.append(_text(lx + 14, height - 7, name))
        lx += 30 + text_width(name)
    return render_svg(els, title, width, height)


def _ink(color: str) -> str:
    """Dark text on light fills, white on dark ones."""
    if not color.startswith("#") or len(color) != 7:
        return "#ffffff"
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#0f172a" if 0.299 * r + 0.587 * g + 0.114 * b > 170 else "#ffffff"


def _legend(els: list[Element], names: list[str], colors: list[str], x: float, y: float) -> None:
    lx = float(x)
    for name, color in zip(names, colors):
        els.append(Element("rect", {"x": lx, "y": y - 9, "width": 10, "height": 10, "rx": 2, "fill": color}))
        els.append(_text(lx + 14, y, name))
        lx += 30 + text_width(name)


def stacked_bar_chart(categories: list[str], series: dict[str, list[float]], title: str, width: int = 460,
                      height: int | None = None, colors: list[str] | None = None) -> Markup:
    """Horizontal stacked bars: one bar per category, one segment per series, totals at the end."""
    names = list(series)
    colors = colors or [PALETTE[j % len(PALETTE)] for j in range(len(names))]
    n = max(len(categories), 1)
    top, right, bottom = 34, 48, 30
    left = _label_margin(categories, hi=230)
    height = height or top + bottom + 34 * n
    bar_h = (height - top - bottom) / n
    totals = [sum((series[s][i] or 0) for s in names) for i in range(len(categories))]
    vmax = max(totals + [1])
    els = [_heading(title)]
    for i, cat in enumerate(categories):
        y = top + i * bar_h
        x = float(left)
        els.append(_label(left - 6, y + bar_h * 0.62, cat, left - 10, anchor="end"))
        for s, color in zip(names, colors):
            v = series[s][i] or 0
            w = (width - left - right) * v / vmax
            if w <= 0:
                continue
            els.append(Element("rect", {"class": "bar stacked", "x": x, "y": y + bar_h * 0.15, "width": w,
                                        "height": bar_h * 0.7, "fill": color}, title=f"{cat} · {s}: {v:,.0f}"))
            if w >= 22:
                els.append(_text(x + w / 2, y + bar_h * 0.62, f"{v:,.0f}", cls="inbar", anchor="middle", fill=_ink(color)))
            x += w
        els.append(_text(x + 4, y + bar_h * 0.62, f"{totals[i]:,.0f}", cls="value"))
    _legend(els, names, colors, left, height - 8)
    return render_svg(els, title, width, height)


def column_chart(labels: list[str], values: list[float], title: str, width: int = 460, height: int = 240,
                 colors: list[str] | None = None, value_fmt: Fmt | None = None) -> Markup:
    """Vertical columns with value labels on top and category labels below."""
    n = max(len(values), 1)
    top, left, right, bottom = 30, 16, 16, 28
    slot = (width - left - right) / n
    vmax = max([v or 0 for v in values] + [1])
    fmt = value_fmt or (lambda v: f"{v:,.0f}")
    els = [_heading(title)]
    base = height - bottom
    els.append(Element("line", {"x1": left, "x2": width - right, "y1": base, "y2": base, "class": "grid"}))
    for i, (lab, v) in enumerate(zip(labels, values)):
        h = (base - top - 14) * (v or 0) / vmax
        x = left + i * slot + slot * 0.18
        color = colors[i % len(colors)] if colors else PALETTE[0]
        els.append(Element("rect", {"class": "bar column", "x": x, "y": base - h, "width": slot * 0.64, "height": h,
                                    "fill": color, "rx": 3}, title=f"{lab}: {fmt(v or 0)}"))
        els.append(_text(x + slot * 0.32, base - h - 5, fmt(v or 0), cls="value", anchor="middle"))
        els.append(_label(x + slot * 0.32, base + 17, lab, slot - 4, anchor="middle"))
    return render_svg(els, title, width, height)


def nine_box_chart(counts: dict[str, int], title: str, potential_label: str, current_label: str,
                   row_names: dict[str, str], col_names: dict[str, str], width: int = 460, height: int = 340,
                   tooltips: dict[str, str] | None = None) -> Markup:
    """3×3 heat grid: rows potential A (top) .. C, columns current 3 (low, left) .. 1 (high, right);
    each cell shows its code and customer count, shaded by count (its strategy in the tooltip)."""
    top, left, right, bottom = 30, 92, 10, 44
    cw, ch = (width - left - right) / 3, (height - top - bottom) / 3
    vals = [counts.get(a + d, 0) for a in "ABC" for d in "123"]
    vmin, vmax = min(vals), max(vals)
    els = [_heading(title)]
    for r, letter in enumerate("ABC"):
        y = top + r * ch
        els.append(_text(left - 8, y + ch / 2 + 4, row_names.get(letter, letter), anchor="end"))
        for c, digit in enumerate("321"):
            x = left + c * cw
            cell = letter + digit
            v = counts.get(cell, 0)
            t = 0.08 + 0.84 * ((v - vmin) / (vmax - vmin) if vmax > vmin else 0.5)
            rgb = tuple(round(a + (b - a) * t) for a, b in zip((239, 246, 255), (29, 78, 216)))  # white -> deep blue
            ink = "#ffffff" if t > 0.55 else "#0f172a"
            tip = f"{cell}: {v:,}" + (f" · {tooltips[cell]}" if tooltips and tooltips.get(cell) else "")
            els.append(Element("rect", {"class": "nine-box-cell", "data-cell": cell, "x": x + 2, "y": y + 2,
                                        "width": cw - 4, "height": ch - 4, "rx": 6, "fill": f"rgb{rgb}",
                                        "stroke": "#cbd5e1"}, title=tip))
            els.append(_text(x + 10, y + 20, cell, cls="cell-code", fill=ink))
            els.append(_text(x + cw / 2, y + ch / 2 + 9, f"{v:,}", cls="cell-count", anchor="middle", fill=ink))
    for c, digit in enumerate("321"):
        els.append(_text(left + c * cw + cw / 2, height - bottom + 16, col_names.get(digit, digit), anchor="middle"))
    mid_x, mid_y = left + (width - left - right) / 2, top + (height - top - bottom) / 2
    els.append(_text(mid_x, height - 6, f"{current_label} →", cls="axis-title", anchor="middle"))
    els.append(_text(12, mid_y, f"{potential_label} →", cls="axis-title", anchor="middle",
                     transform=f"rotate(-90 12 {mid_y:.1f})"))
    return render_svg(els, title, width, height, cls="chart nine-box")


def donut_chart(labels: list[str], values: list[float], title: str, colors: list[str] | None = None,
                center_label: str = "", width: int = 460, height: int = 240) -> Markup:
    """Donut with a legend (label, count, share) on the right and the total in the middle."""
    total = sum(v or 0 for v in values)
    colors = colors or [PALETTE[j % len(PALETTE)] for j in range(len(values))]
    cx, cy, r0, r1 = 120, height / 2 + 8, 58, 96
    els = [_heading(title)]
    a = -math.pi / 2
    for lab, v, color in zip(labels, values, colors):
        if not v:
            continue
        frac = v / total
        if frac >= 0.9999:
            els.append(Element("circle", {"class": "donut-slice", "cx": cx, "cy": cy, "r": (r0 + r1) / 2, "fill": "none",
                                          "stroke": color, "stroke-width": r1 - r0}, title=f"{lab}: {v:,.0f}"))
            continue
        b = a + 2 * math.pi * frac
        large = 1 if b - a > math.pi else 0
        p = [(cx + r1 * math.cos(a), cy + r1 * math.sin(a)), (cx + r1 * math.cos(b), cy + r1 * math.sin(b)),
             (cx + r0 * math.cos(b), cy + r0 * math.sin(b)), (cx + r0 * math.cos(a), cy + r0 * math.sin(a))]
        d = (f"M{p[0][0]:.1f},{p[0][1]:.1f} A{r1},{r1} 0 {large} 1 {p[1][0]:.1f},{p[1][1]:.1f} "
             f"L{p[2][0]:.1f},{p[2][1]:.1f} A{r0},{r0} 0 {large} 0 {p[3][0]:.1f},{p[3][1]:.1f} Z")
        els.append(Element("path", {"class": "donut-slice", "d": d, "fill": color, "stroke": "#fff", "stroke-width": 1.5},
                           title=f"{lab}: {v:,.0f}"))
        a = b
    els.append(_text(cx, cy + 2, f"{total:,.0f}", cls="donut-total", anchor="middle"))
    els.append(_text(cx, cy + 20, center_label, anchor="middle"))
    ly = 44
    for lab, v, color in zip(labels, values, colors):
        share = (v or 0) / total if total else 0
        els.append(Element("rect", {"x": 240, "y": ly - 10, "width": 12, "height": 12, "rx": 2, "fill": color}))
        els.append(_text(258, ly, lab, cls="legend"))
        els.append(_text(width - 8, ly, f"{v or 0:,.0f} · {share:.0%}", cls="value", anchor="end"))
        ly += 24
    return render_svg(els, title, width, height)


def target_bar_chart(labels: list[str], values: list[float | None], title: str, target_lo: float | None,
                     target_hi: float | None = None, value_fmt: Fmt | None = None, target_label: str = "",
                     width: int = 420, height: int | None = None) -> Markup:
    """Horizontal bars against a target: a dashed target line (or a shaded target band lo..hi);
    bars meeting the target are green, the others amber."""
    fmt = value_fmt or _fmt
    n = max(len(values), 1)
    top, right, bottom = 30, 60, 28
    left = _label_margin(labels, lo=90, hi=200)
    height = height or top + bottom + 24 * n
    bar_h = (height - top - bottom) / n
    vmax = max([v or 0 for v in values] + [target_hi or 0, target_lo or 0, 1e-9]) * 1.1

    def px(v):
        return left + (width - left - right) * v / vmax

    els = [_heading(title)]
    if target_lo is not None and target_hi is not None:
        els.append(Element("rect", {"class": "target-band", "x": px(target_lo), "y": top - 4,
                                    "width": px(target_hi) - px(target_lo), "height": height - top - bottom + 8,
                                    "fill": "#dcfce7"}))
    for t in (target_lo, target_hi):
        if t is not None:
            els.append(Element("line", {"class": "target-line", "x1": px(t), "x2": px(t), "y1": top - 6,
                                        "y2": height - bottom + 4, "stroke": "#dc2626", "stroke-width": 1.5,
                                        "stroke-dasharray": "5 3"}))
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = top + i * bar_h
        ok = v is not None and (target_lo is None or v >= target_lo) and (target_hi is None or v <= target_hi)
        w = px(v or 0) - left
        els.append(_label(left - 6, y + bar_h * 0.68, lab, left - 10, anchor="end"))
        els.append(Element("rect", {"class": "bar", "x": left, "y": y + bar_h * 0.18, "width": w, "height": bar_h * 0.64,
                                    "fill": "#16a34a" if ok else "#f59e0b", "rx": 2}, title=f"{lab}: {fmt(v or 0)}"))
        els.append(_text(left + w + 4, y + bar_h * 0.68, fmt(v) if v is not None else "–", cls="value"))
    if target_lo is not None:
        txt = f"{target_label} {fmt(target_lo)}" + (f"–{fmt(target_hi)}" if target_hi is not None else "")
        els.append(_text(width - right, height - 8, txt, cls="target-text", anchor="end"))
    return render_svg(els, title, width, height)
