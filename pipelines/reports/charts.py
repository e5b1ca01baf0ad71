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
