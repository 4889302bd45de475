from __future__ import annotations

from datetime import date, timedelta

from shop.planning.chart import ChartDay, season_svg

LABELS = {"demand": "需求", "unmet": "缺口", "made": "产量", "capacity": "产能", "served": "满足"}


def test_the_season_chart_draws_bars_capacity_and_every_marker_in_range_as_a_labelled_line() -> (
    None
):
    start = date(2027, 1, 10)
    days = [
        ChartDay(start + timedelta(days=k), 100 + 10 * k, 300, 120, 5 if k == 25 else 0, k != 27)
        for k in range(30)
    ]
    markers = {
        "laba": (date(2027, 1, 15), "腊八"),
        "chuxi": (date(2027, 2, 5), "除夕"),
        "chunjie": (date(2027, 2, 6), "春节"),
        "yuanxiao": (date(2027, 2, 20), "元宵"),  # outside the range: not drawn
    }
    svg = season_svg(days, markers, labels=LABELS, title="每日需求与产能")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="marker ') == 3
    assert "腊八" in svg and "除夕" in svg and "春节" in svg and "元宵" not in svg
    assert 'class="capacity"' in svg and 'class="made"' in svg
    assert svg.count('class="unmet"') == 1 and svg.count('class="closed"') == 1
    # 除夕 and 春节 are a day apart: their labels sit on different rows.
    ys = {
        name: svg.split(f">{name}</text>")[0].rsplit('y="', 1)[1].split('"')[0]
        for name in ("除夕", "春节")
    }
    assert ys["除夕"] != ys["春节"]


def test_an_empty_season_draws_nothing() -> None:
    assert season_svg([], {}, labels=LABELS) == ""
