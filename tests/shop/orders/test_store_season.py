"""The order calendar speaks lunar: markers, per-zone deadlines before 除夕, next open day."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from shop.orders import season
from shop.orders.rules import DayState
from tests.shop.orders.conftest import Shop, csrf_of

LABA, XIAONIAN, CHUXI, CHUNJIE = (
    date(2027, 1, 15),
    date(2027, 1, 30),
    date(2027, 2, 5),
    date(2027, 2, 6),
)


def test_the_2027_season_falls_on_laba_0115_xiaonian_0130_chuxi_0205_chunjie_0206() -> None:
    assert [(m.key, m.day, m.name_zh) for m in season.season_markers(2027)] == [
        ("laba", LABA, "腊八"),
        ("xiaonian", XIAONIAN, "小年"),
        ("chuxi", CHUXI, "除夕"),
        ("chunjie", CHUNJIE, "春节"),
    ]


def test_markers_between_finds_laba_of_the_next_festival_in_the_year_before() -> None:
    marks = season.markers_between(date(2027, 1, 1), date(2027, 1, 31))
    assert {d: [m.key for m in ms] for d, ms in marks.items()} == {
        LABA: ["laba"],
        XIAONIAN: ["xiaonian"],
    }


def test_the_last_dispatch_day_arrives_fresh_by_the_eve_and_skips_closed_days() -> None:
    closed = {CHUXI, CHUNJIE}  # the plant does not bake on the official holiday
    # Collection at a pickup point: 除夕 is a holiday, so the last day is the day before.
    assert season.last_dispatch_day(CHUXI, 0, 1, closed) == date(2027, 2, 4)
    # One day in transit, fresh for three: leaves 02-04, arrives on the eve.
    assert season.last_dispatch_day(CHUXI, 1, 3, closed) == date(2027, 2, 4)
    # Two days in transit, and 02-03 closed by the manager: leaves 02-02.
    assert season.last_dispatch_day(CHUXI, 2, 3, closed | {date(2027, 2, 3)}) == date(2027, 2, 2)
    # Transit as long as the freshness: it can never arrive fresh.
    assert season.last_dispatch_day(CHUXI, 3, 3, closed) is None


def test_every_sold_out_day_names_the_next_open_day_after_it() -> None:
    d = [date(2027, 1, 20) + timedelta(days=i) for i in range(6)]
    states = [
        DayState(d[0], 0, "sold_out"),
        DayState(d[1], 0, "closed"),
        DayState(d[2], 5, "open"),
        DayState(d[3], 0, "sold_out"),
        DayState(d[4], 0, "sold_out"),
        DayState(d[5], 0, "cutoff"),
    ]
    assert season.next_open_days(states) == {d[0]: d[2]}


def _season_supply(db: sessionmaker[Session], sold_out: date) -> None:
    with transaction(db) as s:
        create_product(
            s,
            "GG-TRAVEL",
            "糕干（远途）",
            "Gaogan (travels)",
            price_fen=1800,
            pack_size_g=250,
            freshness_days=3,
            best_before_days=7,
        )
        # Fresh for three days, a day is sold out only when it and the two before made nothing.
        empty = {sold_out - timedelta(days=n) for n in range(3)}
        quantities = {}
        day = LABA
        while day <= CHUNJIE + timedelta(days=7):
            quantities[("GG-TRAVEL", day)] = 0 if day in empty else 50
            day += timedelta(days=1)
        set_planned_supply(s, "season-plan", quantities)


def test_the_season_view_of_january_2027_marks_the_days_and_offers_the_next_open_day(
    db: sessionmaker[Session], settings: Settings, shop: Shop
) -> None:
    sold_out = date(2027, 2, 1)
    _season_supply(db, sold_out)
    now = datetime(2027, 1, 20, 10, 0, tzinfo=LOCAL_ZONE)
    with db() as s:
        view = season.season_view(s, 2027, "GG-TRAVEL", settings=settings, now=now)
    states = {d.day: d.state for d in view.days}
    assert view.days[0].day == LABA and view.days[-1].day == CHUNJIE + timedelta(days=7)
    assert states[LABA] == "cutoff"  # already past on 01-20
    assert states[XIAONIAN] == "open"
    assert states[sold_out] == "sold_out"
    assert states[CHUXI] == "closed" and states[CHUNJIE] == "closed"  # official holidays
    assert view.next_open[sold_out] == date(2027, 2, 2)
    assert {d: [m.key for m in ms] for d, ms in view.marks.items()} == {
        LABA: ["laba"],
        XIAONIAN: ["xiaonian"],
        CHUXI: ["chuxi"],
        CHUNJIE: ["chunjie"],
    }
    last = {z.code: (z.last_day, z.arrives) for z in view.deadlines}
    assert last["pickup"] == (date(2027, 2, 4), date(2027, 2, 4))
    assert last["tianjin"] == (date(2027, 2, 4), date(2027, 2, 4))
    assert last["beijing"] == (date(2027, 2, 4), CHUXI)
    assert last["shanghai"] == (date(2027, 2, 3), CHUXI)
    assert last["guangzhou"] == (None, None)  # three days on the road: stale on arrival


def test_the_season_page_shows_the_2027_markers_on_their_days_and_the_zone_deadlines(
    app: Flask, db: sessionmaker[Session]
) -> None:
    _season_supply(db, date(2027, 2, 1))
    page = app.test_client().get("/season?year=2027&product=GG-TRAVEL").get_data(as_text=True)
    assert "2027年春节订货日历" in page
    for key, day, name in (
        ("laba", LABA, "腊八"),
        ("xiaonian", XIAONIAN, "小年"),
        ("chuxi", CHUXI, "除夕"),
        ("chunjie", CHUNJIE, "春节"),
    ):
        assert f'<li data-marker="{key}" data-day="{day.isoformat()}">' in page
        cell = re.search(
            rf'<label class="day [^"]*" data-day="{day.isoformat()}".*?</label>', page, re.S
        )
        assert cell and f'data-marker="{key}"' in cell.group(0) and name in cell.group(0)
    assert '<tr data-zone="beijing" data-last="2027-02-04">' in page
    assert '<tr data-zone="guangzhou" data-last="">' in page and "无法新鲜送达" in page
    english = app.test_client().get("/season?year=2027&product=GG-TRAVEL&lang=en")
    assert "Little New Year" in english.get_data(as_text=True)


def test_the_season_api_gives_markers_deadlines_and_days(
    app: Flask, db: sessionmaker[Session]
) -> None:
    _season_supply(db, date(2027, 2, 1))
    body = app.test_client().get("/api/v1/season?year=2027&product=GG-TRAVEL").get_json()
    assert [(m["key"], m["date"]) for m in body["markers"]] == [
        ("laba", "2027-01-15"),
        ("xiaonian", "2027-01-30"),
        ("chuxi", "2027-02-05"),
        ("chunjie", "2027-02-06"),
    ]
    zones = {z["zone"]: z["last_day"] for z in body["deadlines"]}
    assert zones["shanghai"] == "2027-02-03" and zones["guangzhou"] is None
    days = {d["date"]: d for d in body["days"]}
    assert days["2027-01-30"]["markers"] == ["xiaonian"]
    assert days["2027-02-05"]["state"] == "closed"


def test_the_season_refuses_a_bad_year_or_product_with_a_4xx_that_says_why(app: Flask) -> None:
    client = app.test_client()
    api = client.get("/api/v1/season?year=1800")
    # The refusal names the field, whichever layer (schema or input boundary) caught it.
    assert api.status_code == 422 and "year" in api.get_data(as_text=True)
    page = client.get("/season?year=abc")
    assert page.status_code == 422 and "年份须在" in page.get_data(as_text=True)
    english = client.get("/season?year=abc&lang=en")
    assert english.status_code == 422 and "year must be between" in english.get_data(as_text=True)
    assert client.get("/api/v1/season?year=2027&product=NOPE").status_code == 404


def test_a_sold_out_day_on_the_product_page_offers_the_next_open_day(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    page = client.get(f"/products/GG-CLASSIC?day={shop.sold_out_day.isoformat()}")
    html = page.get_data(as_text=True)
    # The closed day after the sold-out one is skipped: the next open day is the one after.
    following = shop.closed_day + timedelta(days=1)
    assert f'id="next-open-offer" data-day="{following.isoformat()}"' in html
    assert "已售罄" in html
    cell = re.search(rf'data-day="{shop.sold_out_day.isoformat()}".*?</label>', html, re.S)
    assert cell and f'data-next="{following.isoformat()}"' in cell.group(0)


def test_adding_a_sold_out_day_to_the_cart_lands_on_the_offer_of_the_next_open_day(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    response = client.post(
        "/cart/add",
        data={
            "csrf_token": token,
            "sku": "GG-CLASSIC",
            "day": shop.sold_out_day.isoformat(),
            "quantity": "1",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "这一天已不可订：售罄" in html and 'id="next-open-offer"' in html


def test_the_product_calendar_pages_forward_to_the_festival(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    first = client.get("/products/GG-CLASSIC").get_data(as_text=True)
    later = re.search(r'href="([^"]+)" id="calendar-later"', first)
    assert later
    second = client.get(later.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'id="calendar-earlier"' in second
    assert client.get("/products/GG-CLASSIC?from=nonsense").status_code == 422


def test_a_sold_out_day_offers_the_waitlist_and_joining_leads_to_its_page(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    html = client.get(f"/products/GG-CLASSIC?day={shop.sold_out_day.isoformat()}").get_data(
        as_text=True
    )
    assert 'id="join-waitlist"' in html and "加入候补名单" in html
    response = client.post(
        "/waitlist/join",
        data={
            "csrf_token": csrf_of(client, "/products/GG-CLASSIC"),
            "sku": "GG-CLASSIC",
            "day": shop.sold_out_day.isoformat(),
            "quantity": "2",
            "name": "王芳",
            "mobile": "13800138000",
            "email": "wang@example.com",
        },
    )
    assert response.status_code == 302 and "/waitlist/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-status="waiting"' in page and "前面还有 0 位" in page
