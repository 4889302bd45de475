"""Report shaping as plain functions over plain values: totals, CSV, and SVG charts drawn on
the server (no JavaScript, nothing from a CDN, so they print and work offline)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

GROUPS = ("day", "product", "channel", "pickup_point")
MAX_RANGE_DAYS = 400


@dataclass(frozen=True)
class SaleLine:
    """One sold line: a customer order line or a distributor booking line (in pieces)."""

    day: str  # ISO date
    sku: str
    channel: str  # pickup, delivery, distributor
    pickup_point: str  # code, "gate" for distributors, "" for deliveries
    pieces: int
    revenue_fen: int


def group_sales(lines: Iterable[SaleLine], by: str) -> list[tuple[str, int, int, int]]:
    """(key, orders-or-lines, pieces, revenue in fen) per group, sorted by key."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        key = {
            "day": line.day,
            "product": line.sku,
            "channel": line.channel,
            "pickup_point": line.pickup_point or "-",
        }[by]
        entry = totals[key]
        entry[0] += 1
        entry[1] += line.pieces
        entry[2] += line.revenue_fen
    return [(k, v[0], v[1], v[2]) for k, v in sorted(totals.items())]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 44


def bar_svg(items: Sequence[tuple[str, int]], *, title: str, unit: str = "") -> str:
    """A bar per label; values are drawn as given (fen are divided by the caller)."""
    if not items:
        return ""
    top = max(1, *(v for _, v in items))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(items)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="report-chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for k in range(5):
        v = top * k / 4
        y = TOP + plot_h - v / top * plot_h
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6dccb"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{int(v)}{escape(unit)}</text>"
        )
    label_every = max(1, len(items) // 12)
    for i, (label, value) in enumerate(items):
        h = value / top * plot_h
        x = LEFT + i * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#b3261e"><title>{escape(label)}: {value}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11">{escape(label[-10:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def lines_svg(
    series: Mapping[str, Mapping[int, int]], *, title: str, colours: Sequence[str] = ()
) -> str:
    """One line per series over a shared integer x axis (days from 春节)."""
    xs = sorted({x for s in series.values() for x in s})
    if not xs:
        return ""
    top = max(1, *(v for s in series.values() for v in s.values()))
    lo, hi = xs[0], xs[-1]
    span = max(1, hi - lo)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    palette = list(colours) or ["#b3261e", "#6b6b6b", "#c9a227"]

    def px(x: int) -> float:
        return LEFT + (x - lo) / span * plot_w

    def py(v: int) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="report-chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
        'stroke="#c9a227" stroke-dasharray="4 3"/>'
        if lo <= 0 <= hi
        else "",
    ]
    for k in range(5):
        v = int(top * k / 4)
        parts.append(
            f'<text x="{LEFT - 6}" y="{py(v) + 4:.1f}" text-anchor="end" font-size="11">{v}</text>'
        )
    for x in xs:
        if x % 7 == 0:
            parts.append(
                f'<text x="{px(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11">{x:+d}</text>'
            )
    for n, (name, points) in enumerate(series.items()):
        colour = palette[n % len(palette)]
        path = " ".join(f"{px(x):.1f},{py(points.get(x, 0)):.1f}" for x in xs)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
            f"<title>{escape(name)}</title></polyline>"
            f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 14 + 14 * n}" text-anchor="end" '
            f'font-size="12" fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
