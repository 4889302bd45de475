"""Re-steaming and storage advice keyed to days since steaming."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import Flask

from inventory.db import transaction, utcnow
from inventory.relay import relay_once
from inventory.rules import local_moment
from inventory.settings import Settings
from shop.orders import aftercare, placing, services
from shop.orders.models import OrderStatus
from shop.orders.notifications import mails_in
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, on_the_morning


def test_the_advice_follows_the_days_since_steaming() -> None:
    assert [aftercare.advice_for(d, 7).key for d in range(0, 9)] == [
        "fresh",
        "best",
        "best",
        "resteam",
        "resteam",
        "resteam",
        "resteam",
        "past",
        "past",
    ]
    assert aftercare.advice_for(2, 2).key == "past"  # a short best-before wins


def test_a_labels_schedule_is_the_same_rule_as_dates_from_the_steaming_day() -> None:
    steamed = date(2027, 2, 4)
    schedule = aftercare.advice_schedule(steamed, 7)
    assert [(s.key, s.first, s.last) for s in schedule] == [
        ("fresh", date(2027, 2, 4), date(2027, 2, 4)),
        ("best", date(2027, 2, 5), date(2027, 2, 6)),
        ("resteam", date(2027, 2, 7), date(2027, 2, 10)),
        ("past", date(2027, 2, 11), None),
    ]
    # Every day of it says what advice_for says on that day.
    for stage in schedule:
        last = stage.last or stage.first + timedelta(days=3)
        for n in range((last - stage.first).days + 1):
            day = stage.first + timedelta(days=n)
            assert aftercare.advice_for((day - steamed).days, 7).key == stage.key
    # A two-day best-before leaves no re-steaming days.
    assert [s.key for s in aftercare.advice_schedule(steamed, 2)] == ["fresh", "best", "past"]
    zh = aftercare.label_lines(schedule, "zh")
    assert zh == [
        ("fresh", "2月4日 当天出锅：放凉后密封、常温存放"),
        ("best", "2月5日–2月6日 最佳赏味期，可直接食用"),
        ("resteam", "2月7日–2月10日 略干：上锅蒸 1 分钟即可恢复松软"),
        ("past", "2月11日起 超过保质期，请勿食用"),
    ]
    assert aftercare.label_lines(schedule, "en")[1] == (
        "best",
        "Feb 5–Feb 6 at its best: eat it as it is",
    )


def _order(shop: Shop, settings: Settings) -> tuple[str, str, int]:
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 1)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,
            now=utcnow(),
        )
        return order.public_id, order.access_token, order.id


def test_an_orders_advice_follows_its_day_and_waits_until_it_is_made(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    public_id, token, _id = _order(shop, settings)
    page = app.test_client().get(f"/track/{public_id}/{token}").get_data(as_text=True)
    assert 'id="aftercare"' not in page  # the day is still ahead
    with shop.sessions() as s:
        order = services.get_order(s, public_id)

        def on(days_after: int) -> str | None:
            moment: datetime = local_moment(shop.open_day + timedelta(days=days_after), time(12))
            advice = aftercare.order_advice(s, order, settings, moment)
            return advice.key if advice else None

        assert on(-1) is None  # not made yet
        assert [on(n) for n in (0, 1, 3, 7)] == ["fresh", "best", "resteam", "past"]


def test_the_ready_mail_says_how_to_keep_and_re_steam(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    public_id, _token, _id = _order(shop, settings)
    with transaction(shop.sessions) as s:
        services.advance_order(
            s,
            (o := services.get_order(s, public_id)),
            OrderStatus.READY,
            on_the_morning(o.day),
        )
    relay_once(shop.sessions, settings)
    ready = [
        m
        for m in mails_in(Path(settings.mail_dir))
        if "备好" in m["subject"] or "可以取" in m["subject"]
    ]
    assert ready and "上锅蒸 1 分钟" in ready[0]["body"]


def test_the_status_page_of_an_order_made_this_morning_says_how_to_keep_it(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    from sqlalchemy import update

    from inventory.rules import local_day
    from shop.orders.models import Order

    public_id, token, order_id = _order(shop, settings)
    with transaction(shop.sessions) as s:
        # Its morning has come: the order is for today and the batch made it ready.
        s.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(day=local_day(utcnow()), status=OrderStatus.READY)
        )
    page = app.test_client().get(f"/track/{public_id}/{token}").get_data(as_text=True)
    assert 'data-advice="fresh"' in page and "今天刚出锅" in page
