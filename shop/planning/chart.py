"""The season chart as server-rendered SVG: demand against capacity per day, what the plan
makes and leaves unmet, and the lunar markers as labelled vertical lines. No JavaScript and
nothing from a CDN, so it prints and works offline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape


@dataclass(frozen=True)
class ChartDay:
    day: date
    demand: int
    capacity: int
    made: int = 0
    unmet: int = 0
    production: bool = True


WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 40


def season_svg(
    days: Sequence[ChartDay],
    markers: Mapping[str, tuple[date, str]],
    *,
    labels: Mapping[str, str],
    title: str = "",
) -> str:
    if not days:
        return ""
    top = max([1, *(d.demand for d in days), *(d.capacity for d in days), *(d.made for d in days)])
    top = int(top * 1.1) + 1
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / len(days)
    first = days[0].day

    def x(i: float) -> float:
        return LEFT + i * step

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="season-chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(5):  # horizontal grid with values
        v = top * k / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{int(v)}</text>'
        )
    bar = max(1.0, step * 0.7)
    for i, d in enumerate(days):
        cx = x(i) + (step - bar) / 2
        if not d.production:
            parts.append(
                f'<rect class="closed" x="{x(i):.1f}" y="{TOP}" width="{step:.1f}" height="{plot_h}"/>'
            )
        served = d.demand - d.unmet
        parts.append(
            f'<rect class="served" x="{cx:.1f}" y="{y(served):.1f}" width="{bar:.1f}" '
            f'height="{y(0) - y(served):.1f}"><title>{d.day.isoformat()}: {escape(labels["demand"])} {d.demand}, '
            f"{escape(labels['unmet'])} {d.unmet}, {escape(labels['made'])} {d.made}</title></rect>"
        )
        if d.unmet:
            parts.append(
                f'<rect class="unmet" x="{cx:.1f}" y="{y(d.demand):.1f}" width="{bar:.1f}" '
                f'height="{y(served) - y(d.demand):.1f}"/>'
            )
        if i % max(1, len(days) // 12) == 0:
            parts.append(
                f'<text class="axis" x="{x(i) + step / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{d.day.month}/{d.day.day}</text>'
            )

    def polyline(values: list[int], cls: str) -> str:
        points = []
        for i, v in enumerate(values):
            points.append(f"{x(i):.1f},{y(v):.1f}")
            points.append(f"{x(i + 1):.1f},{y(v):.1f}")
        return f'<polyline class="{cls}" points="{" ".join(points)}"/>'

    parts.append(polyline([d.capacity for d in days], "capacity"))
    if any(d.made for d in days):
        parts.append(polyline([d.made for d in days], "made"))
    previous_x = -1000.0
    row = 0
    for key, (day, name) in sorted(markers.items(), key=lambda kv: kv[1][0]):
        i = (day - first).days
        if 0 <= i < len(days):
            mx = x(i) + step / 2
            # Neighbouring markers (除夕 and 春节 are a day apart) take turns on two rows.
            row = 1 - row if mx - previous_x < 40 else 0
            previous_x = mx
            label_y = TOP - 10 - 16 * row
            parts.append(
                f'<line class="marker marker-{escape(key)}" x1="{mx:.1f}" x2="{mx:.1f}" '
                f'y1="{label_y + 4}" y2="{TOP + plot_h}"/>'
            )
            parts.append(
                f'<text class="marker-label" x="{mx:.1f}" y="{label_y}" '
                f'text-anchor="middle">{escape(name)}</text>'
            )
    legend = [
        ("served", labels["served"]),
        ("unmet", labels["unmet"]),
        ("capacity", labels["capacity"]),
        ("made", labels["made"]),
    ]
    for k, (cls, text) in enumerate(legend):
        lx = LEFT + k * 150
        parts.append(
            f'<rect class="legend {cls}" x="{lx}" y="{HEIGHT - 14}" width="12" height="8"/>'
        )
        parts.append(f'<text class="axis" x="{lx + 16}" y="{HEIGHT - 6}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
