"""Small charts as inline SVG (no JavaScript, no chart library): line and column charts.

Each chart carries a title and a description for screen readers; the page shows the same figures
in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 28, 16, 40
INK, ACCENT, GRID = "#0b0c0c", "#1d70b8", "#b1b4b6"


def _ceiling(value: int) -> int:
    """The axis top: four whole, round steps (1 to 8 times a power of ten) reaching ``value``."""
    raw = max(value, 1) / 4
    power = 1
    while True:
        for factor in (1, 2, 3, 4, 5, 6, 8):
            if factor * power >= raw:
                return 4 * factor * power
        power *= 10


def _frame(title: str, description: str, top: int, body: list[str], labels: Sequence[str], xs: Sequence[float]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="cme-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{{id}}-t {{id}}-d" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{{id}}-t">{escape(title)}</title><desc id="{{id}}-d">{escape(description)}</desc>']
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{INK}">'
                     f'{top * i // 4:,}</text>')
    parts += body
    every = max(1, len(labels) // 8)
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="12" '
                         f'fill="{INK}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(chart_id: str, title: str, points: Sequence[tuple[str, int]]) -> Markup:
    """A line over labelled points (e.g. CME at each month end)."""
    top = _ceiling(max((v for _, v in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(points) - 1, 1)
    xs = [LEFT + plot_w * i / n for i in range(len(points))]
    ys = [TOP + plot_h - plot_h * v / top for _, v in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    body = [f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="3"/>']
    body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}"/>' for x, y in zip(xs, ys, strict=True)]
    first, last = (points[0], points[-1]) if points else (("", 0), ("", 0))
    description = f"{len(points)} points from {first[0]} ({first[1]}) to {last[0]} ({last[1]})."
    return Markup(_frame(title, description, top, body, [p[0] for p in points], xs).replace("{id}", chart_id))


def column_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int]]) -> Markup:
    """Columns for labelled counts (e.g. cases by days from referral to provision)."""
    top = _ceiling(max((v for _, v in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    xs = [LEFT + slot * (i + 0.5) for i in range(len(bars))]
    body = []
    for x, (label, value) in zip(xs, bars, strict=True):
        h = plot_h * value / top
        body.append(f'<rect x="{x - slot * 0.35:.1f}" y="{TOP + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{ACCENT}"><title>{escape(label)}: {value}</title></rect>')
    description = "; ".join(f"{label}: {value}" for label, value in bars) + "."
    return Markup(_frame(title, description, top, body, [b[0] for b in bars], xs).replace("{id}", chart_id))
