"""Small, dependency-free SVG charts for the offline dashboard (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569"]


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.1f}M"
    if a >= 1e3:
        return f"{v / 1e3:,.0f}k"
    return f"{v:,.0f}"


def bar_chart(labels: list[str], values: list[float], title: str, width: int = 640, height: int = 300,
              color: str = PALETTE[0], horizontal: bool = True) -> str:
    """Horizontal bars with value labels."""
    n = max(len(values), 1)
    top, left, right, bottom = 30, 120, 70, 10
    bar_h = (height - top - bottom) / n
    vmax = max([v for v in values if v is not None] + [1])
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="0" y="18" class="chart-title">{escape(title)}</text>']
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = top + i * bar_h
        w = (width - left - right) * max(v or 0, 0) / vmax
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.65:.1f}" text-anchor="end" class="axis">{escape(str(lab))}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + bar_h * 0.15:.1f}" width="{w:.1f}" height="{bar_h * 0.7:.1f}" '
                     f'fill="{color}" rx="2"><title>{escape(str(lab))}: {v:,.0f}</title></rect>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h * 0.65:.1f}" class="value">{_fmt(v or 0)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(x_labels: list[str], series: dict[str, list[float]], title: str, width: int = 900,
               height: int = 320) -> str:
    """One line per series over shared x labels, with a legend and light grid."""
    top, left, right, bottom = 34, 70, 40, 46
    n = max(len(x_labels), 2)
    all_v = [v for vs in series.values() for v in vs if v is not None] or [0, 1]
    vmin, vmax = min(0, min(all_v)), max(all_v) or 1
    def px(i):
        return left + (width - left - right) * i / (n - 1)
    def py(v):
        return top + (height - top - bottom) * (1 - (v - vmin) / ((vmax - vmin) or 1))
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="0" y="18" class="chart-title">{escape(title)}</text>']
    for k in range(5):
        v = vmin + (vmax - vmin) * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end" class="axis">{_fmt(v)}</text>')
    step = max(1, len(x_labels) // 12)
    for i, lab in enumerate(x_labels):
        if i % step == 0:
            parts.append(f'<text x="{px(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" class="axis">{escape(lab)}</text>')
    for j, (name, vs) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vs) if v is not None)
        parts.append(f'<polyline class="line" points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        lx = left + j * 110
        parts.append(f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{lx + 14}" y="{height - 7}" class="axis">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ink(color: str) -> str:
    """Dark text on light fills, white on dark ones."""
    if not color.startswith("#") or len(color) != 7:
        return "#ffffff"
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#0f172a" if 0.299 * r + 0.587 * g + 0.114 * b > 170 else "#ffffff"


def _open(title: str, width: int, height: int, cls: str = "chart") -> list[str]:
    return [f'<svg class="{cls}" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
            f'<text x="0" y="18" class="chart-title">{escape(title)}</text>']


def _legend(parts: list[str], names: list[str], colors: list[str], x: float, y: float, step: int = 96) -> None:
    for j, (name, color) in enumerate(zip(names, colors)):
        lx = x + j * step
        parts.append(f'<rect x="{lx}" y="{y - 9}" width="10" height="10" rx="2" fill="{color}"/>'
                     f'<text x="{lx + 14}" y="{y}" class="axis">{escape(name)}</text>')


def stacked_bar_chart(categories: list[str], series: dict[str, list[float]], title: str, width: int = 460,
                      height: int | None = None, colors: list[str] | None = None) -> str:
    """Horizontal stacked bars: one bar per category, one segment per series, totals at the end."""
    names = list(series)
    colors = colors or [PALETTE[j % len(PALETTE)] for j in range(len(names))]
    n = max(len(categories), 1)
    longest = max([len(str(c)) for c in categories] + [4])
    top, left, right, bottom = 34, min(230, 14 + int(7.8 * longest)), 48, 30
    height = height or top + bottom + 34 * n
    bar_h = (height - top - bottom) / n
    totals = [sum((series[s][i] or 0) for s in names) for i in range(len(categories))]
    vmax = max(totals + [1])
    parts = _open(title, width, height)
    for i, cat in enumerate(categories):
        y = top + i * bar_h
        x = float(left)
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.62:.1f}" text-anchor="end" class="axis">{escape(str(cat))}</text>')
        for s, color in zip(names, colors):
            v = series[s][i] or 0
            w = (width - left - right) * v / vmax
            if w <= 0:
                continue
            parts.append(f'<rect class="bar stacked" x="{x:.1f}" y="{y + bar_h * 0.15:.1f}" width="{w:.1f}" '
                         f'height="{bar_h * 0.7:.1f}" fill="{color}"><title>{escape(str(cat))} · {escape(s)}: {v:,.0f}</title></rect>')
            if w >= 22:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar_h * 0.62:.1f}" text-anchor="middle" '
                             f'class="inbar" fill="{_ink(color)}">{_fmt(v)}</text>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h * 0.62:.1f}" class="value">{_fmt(totals[i])}</text>')
    _legend(parts, names, colors, left, height - 8)
    parts.append("</svg>")
    return "".join(parts)


def column_chart(labels: list[str], values: list[float], title: str, width: int = 460, height: int = 240,
                 colors: list[str] | None = None, value_fmt=None) -> str:
    """Vertical columns with value labels on top and category labels below."""
    n = max(len(values), 1)
    top, left, right, bottom = 30, 16, 16, 28
    slot = (width - left - right) / n
    vmax = max([v or 0 for v in values] + [1])
    fmt = value_fmt or _fmt
    parts = _open(title, width, height)
    base = height - bottom
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" class="grid"/>')
    for i, (lab, v) in enumerate(zip(labels, values)):
        h = (base - top - 14) * (v or 0) / vmax
        x = left + i * slot + slot * 0.18
        color = (colors[i % len(colors)] if colors else PALETTE[0])
        parts.append(f'<rect class="bar column" x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.64:.1f}" height="{h:.1f}" '
                     f'fill="{color}" rx="3"><title>{escape(str(lab))}: {fmt(v or 0)}</title></rect>')
        parts.append(f'<text x="{x + slot * 0.32:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" class="value">{fmt(v or 0)}</text>')
        parts.append(f'<text x="{x + slot * 0.32:.1f}" y="{base + 17}" text-anchor="middle" class="axis">{escape(str(lab))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def nine_box_chart(counts: dict[str, int], title: str, potential_label: str, current_label: str,
                   row_names: dict[str, str], col_names: dict[str, str], width: int = 460, height: int = 340) -> str:
    """3×3 heat grid: rows potential A (top) .. C, columns current 3 (low, left) .. 1 (high, right);
    each cell shows its code and customer count, shaded by count."""
    top, left, right, bottom = 30, 92, 10, 44
    cw, ch = (width - left - right) / 3, (height - top - bottom) / 3
    vals = [counts.get(a + d, 0) for a in "ABC" for d in "123"]
    vmin, vmax = min(vals), max(vals)
    parts = _open(title, width, height, "chart nine-box")
    for r, letter in enumerate("ABC"):
        y = top + r * ch
        parts.append(f'<text x="{left - 8}" y="{y + ch / 2 + 4:.1f}" text-anchor="end" class="axis">{escape(row_names.get(letter, letter))}</text>')
        for c, digit in enumerate("321"):
            x = left + c * cw
            cell = letter + digit
            v = counts.get(cell, 0)
            t = 0.08 + 0.84 * ((v - vmin) / (vmax - vmin) if vmax > vmin else 0.5)
            # white -> deep blue
            rgb = tuple(round(a + (b - a) * t) for a, b in zip((239, 246, 255), (29, 78, 216)))
            ink = "#ffffff" if t > 0.55 else "#0f172a"
            parts.append(f'<rect class="nine-box-cell" data-cell="{cell}" x="{x + 2:.1f}" y="{y + 2:.1f}" width="{cw - 4:.1f}" '
                         f'height="{ch - 4:.1f}" rx="6" fill="rgb{rgb}" stroke="#cbd5e1"><title>{cell}: {v:,}</title></rect>')
            parts.append(f'<text x="{x + 10:.1f}" y="{y + 20:.1f}" class="cell-code" fill="{ink}">{cell}</text>')
            parts.append(f'<text x="{x + cw / 2:.1f}" y="{y + ch / 2 + 9:.1f}" text-anchor="middle" class="cell-count" '
                         f'fill="{ink}">{v:,}</text>')
    for c, digit in enumerate("321"):
        parts.append(f'<text x="{left + c * cw + cw / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'class="axis">{escape(col_names.get(digit, digit))}</text>')
    parts.append(f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'class="axis-title">{escape(current_label)} →</text>')
    parts.append(f'<text x="12" y="{top + (height - top - bottom) / 2:.1f}" text-anchor="middle" class="axis-title" '
                 f'transform="rotate(-90 12 {top + (height - top - bottom) / 2:.1f})">{escape(potential_label)} →</text>')
    parts.append("</svg>")
    return "".join(parts)


def donut_chart(labels: list[str], values: list[float], title: str, colors: list[str] | None = None,
                center_label: str = "", width: int = 460, height: int = 240) -> str:
    """Donut with a legend (label, count, share) on the right and the total in the middle."""
    import math
    total = sum(v or 0 for v in values)
    colors = colors or [PALETTE[j % len(PALETTE)] for j in range(len(values))]
    cx, cy, r0, r1 = 120, height / 2 + 8, 58, 96
    parts = _open(title, width, height)
    a = -math.pi / 2
    for lab, v, color in zip(labels, values, colors):
        if not v:
            continue
        frac = v / total
        if frac >= 0.9999:
            parts.append(f'<circle class="donut-slice" cx="{cx}" cy="{cy:.1f}" r="{(r0 + r1) / 2}" fill="none" stroke="{color}" '
                         f'stroke-width="{r1 - r0}"><title>{escape(str(lab))}: {v:,.0f}</title></circle>')
            continue
        b = a + 2 * math.pi * frac
        large = 1 if b - a > math.pi else 0
        p = [(cx + r1 * math.cos(a), cy + r1 * math.sin(a)), (cx + r1 * math.cos(b), cy + r1 * math.sin(b)),
             (cx + r0 * math.cos(b), cy + r0 * math.sin(b)), (cx + r0 * math.cos(a), cy + r0 * math.sin(a))]
        d = (f"M{p[0][0]:.1f},{p[0][1]:.1f} A{r1},{r1} 0 {large} 1 {p[1][0]:.1f},{p[1][1]:.1f} "
             f"L{p[2][0]:.1f},{p[2][1]:.1f} A{r0},{r0} 0 {large} 0 {p[3][0]:.1f},{p[3][1]:.1f} Z")
        parts.append(f'<path class="donut-slice" d="{d}" fill="{color}" stroke="#fff" stroke-width="1.5">'
                     f'<title>{escape(str(lab))}: {v:,.0f}</title></path>')
        a = b
    parts.append(f'<text x="{cx}" y="{cy + 2:.1f}" text-anchor="middle" class="donut-total">{total:,.0f}</text>')
    parts.append(f'<text x="{cx}" y="{cy + 20:.1f}" text-anchor="middle" class="axis">{escape(center_label)}</text>')
    ly = 44
    for lab, v, color in zip(labels, values, colors):
        share = (v or 0) / total if total else 0
        parts.append(f'<rect x="240" y="{ly - 10}" width="12" height="12" rx="2" fill="{color}"/>'
                     f'<text x="258" y="{ly}" class="legend">{escape(str(lab))}</text>'
                     f'<text x="{width - 8}" y="{ly}" text-anchor="end" class="value">{v or 0:,.0f} · {share:.0%}</text>')
        ly += 24
    parts.append("</svg>")
    return "".join(parts)


def target_bar_chart(labels: list[str], values: list[float | None], title: str, target_lo: float | None,
                     target_hi: float | None = None, value_fmt=None, target_label: str = "",
                     width: int = 420, height: int | None = None) -> str:
    """Horizontal bars against a target: a dashed target line (or a shaded target band lo..hi);
    bars meeting the target are green, the others amber."""
    fmt = value_fmt or _fmt
    n = max(len(values), 1)
    top, left, right, bottom = 30, 90, 60, 28
    height = height or top + bottom + 24 * n
    bar_h = (height - top - bottom) / n
    vmax = max([v or 0 for v in values] + [target_hi or 0, target_lo or 0, 1e-9]) * 1.1
    def px(v):
        return left + (width - left - right) * v / vmax
    parts = _open(title, width, height)
    if target_lo is not None and target_hi is not None:
        parts.append(f'<rect class="target-band" x="{px(target_lo):.1f}" y="{top - 4}" width="{px(target_hi) - px(target_lo):.1f}" '
                     f'height="{height - top - bottom + 8}" fill="#dcfce7"/>')
    for t in (target_lo, target_hi):
        if t is not None:
            parts.append(f'<line class="target-line" x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top - 6}" y2="{height - bottom + 4}" '
                         f'stroke="#dc2626" stroke-width="1.5" stroke-dasharray="5 3"/>')
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = top + i * bar_h
        ok = v is not None and (target_lo is None or v >= target_lo) and (target_hi is None or v <= target_hi)
        w = px(v or 0) - left
        parts.append(f'<text x="{left - 6}" y="{y + bar_h * 0.68:.1f}" text-anchor="end" class="axis">{escape(str(lab))}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + bar_h * 0.18:.1f}" width="{w:.1f}" height="{bar_h * 0.64:.1f}" '
                     f'fill="{"#16a34a" if ok else "#f59e0b"}" rx="2"><title>{escape(str(lab))}: {fmt(v or 0)}</title></rect>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h * 0.68:.1f}" class="value">{fmt(v or 0) if v is not None else "–"}</text>')
    if target_lo is not None:
        txt = f"{target_label} {fmt(target_lo)}" + (f"–{fmt(target_hi)}" if target_hi is not None else "")
        parts.append(f'<text x="{width - right}" y="{height - 8}" text-anchor="end" class="target-text">{escape(txt)}</text>')
    parts.append("</svg>")
    return "".join(parts)
