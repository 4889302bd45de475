"""Issue 10 item 4: a day whose orders closed at the cut-off is "cutoff", not a rest day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Flask

from inventory.db import transaction, utcnow
from inventory.rules import LOCAL_ZONE, local_day
from inventory.supply import set_day_closed
from shop.orders.rules import day_states
from tests.shop.orders.conftest import Shop


def test_after_the_cut_off_tomorrow_is_cutoff_even_when_the_cut_off_job_closed_its_supply() -> None:
    evening = datetime(2026, 12, 2, 20, 30, tzinfo=LOCAL_ZONE)
    tomorrow = evening.date() + timedelta(days=1)
    holiday = evening.date() + timedelta(days=5)
    states = day_states(
        [tomorrow, holiday], {tomorrow: 40, holiday: 40}, {tomorrow, holiday}, evening, time(20)
    )
    assert [s.state for s in states] == ["cutoff", "closed"]


def test_the_availability_api_and_the_shop_calendar_say_orders_closed_not_rest_day(
    app: Flask, shop: Shop
) -> None:
    today = local_day(utcnow())
    with transaction(shop.sessions) as s:
        set_day_closed(s, today, True)  # what the cut-off job did last evening
        set_day_closed(s, shop.closed_day, True)  # a manager closed this one
    client = app.test_client()
    answer = client.get(
        f"/api/v1/availability?product=GG-CLASSIC&from={today}&to={shop.closed_day}"
    ).get_json()
    by_day = {d["date"]: d["state"] for d in answer["days"]}
    assert by_day[today.isoformat()] == "cutoff"
    assert by_day[shop.closed_day.isoformat()] == "closed"
    page = client.get("/products/GG-CLASSIC").get_data(as_text=True)
    assert "休息" in page  # the manager-closed day is still a rest day
