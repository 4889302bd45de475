"""Season reminders ("order before 小年"): customers opt in on the account page or at checkout,
and the daily job, driven by the scheduler on a manual clock through the 2027 season, reminds
each of them once per kind by the channel they chose, never the ones who opted out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.events import Event, registry
from inventory.models import OutboxEvent
from inventory.relay import relay_once
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.scheduler.builtin import register_outbox_relay
from scheduling.scheduler.jobs import registry as job_registry
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders import reminders, sms
from shop.orders.notifications import mails_in
from shop.orders.reminder_models import ReminderSubscription, SeasonReminder
from tests.shop.orders.conftest import Shop, csrf_of
from tests.shop.orders.test_store_pages import add_to_cart, checkout
from tests.support.wiring import SimulatedScheduler, local

XIAONIAN = date(2027, 1, 30)
CHUXI = date(2027, 2, 5)
# 除夕 is an official holiday in the calendar library (the plant does not bake): the last day
# to collect fresh before it is the day before.
LAST_FRESH = date(2027, 2, 4)


def _subscribe(
    db: sessionmaker[Session],
    *,
    user_id: int | None,
    name: str,
    mobile: str,
    email: str,
    channel: str,
    language: str = "zh",
    opted_in: bool = True,
) -> ReminderSubscription:
    with transaction(db) as s:
        return reminders.set_preference(
            s,
            user_id=user_id,
            name=name,
            mobile=mobile,
            email=email,
            channel=channel,
            language=language,
            opted_in=opted_in,
            now=utcnow(),
        )


def _users(db: sessionmaker[Session], *emails: str) -> list[int]:
    with transaction(db) as s:
        return [
            create_user(
                s, email=e, name=e[0].upper(), password="long-password", role=Role.CUSTOMER
            ).id
            for e in emails
        ]


@pytest.fixture
def season_app(settings: Settings, db: sessionmaker[Session]) -> Flask:
    """The app (its consumers registered) on a database with no shop: reminders need none."""
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def scheduler(
    season_app: Flask, db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> Iterator[SimulatedScheduler]:
    made = SimulatedScheduler(db, settings, tmp_path, local(date(2027, 1, 20), 9, 0))
    reminders.register_jobs(jobs=made.jobs)
    register_outbox_relay(relay_once, settings, jobs=made.jobs)
    yield made
    made.close()


def test_create_app_registers_the_daily_job_and_the_sending_consumer(season_app: Flask) -> None:
    spec = job_registry.get(reminders.JOB)
    assert spec.trigger == {"trigger": "cron", "hour": 10, "minute": 0}
    assert spec.grace == timedelta(hours=2)
    assert reminders.CONSUMER in {sub.consumer for sub in registry.subscribers(reminders.EVENT)}


def _sms(settings: Settings) -> list[dict[str, str]]:
    return sms.messages_in(Path(settings.sms_dir))


def _mails(settings: Settings) -> list[dict[str, str]]:
    return mails_in(Path(settings.mail_dir))


def _rows(db: sessionmaker[Session]) -> list[tuple[int, str, date, str, datetime | None]]:
    with db() as s:
        return [
            (r.subscription_id, r.kind, r.target_day, r.channel, r.created_at)
            for r in s.scalars(select(SeasonReminder).order_by(SeasonReminder.id))
        ]


def test_the_2027_season_reminds_each_customer_once_per_kind_by_their_channel(
    scheduler: SimulatedScheduler, db: sessionmaker[Session], settings: Settings
) -> None:
    assert settings.reminder_days_before == 3
    mail_user, english_user, quiet_user = _users(
        db, "mei@example.com", "tom@example.com", "quiet@example.com"
    )
    by_mail = _subscribe(
        db, user_id=mail_user, name="梅", mobile="", email="mei@example.com", channel="mail"
    )
    by_sms = _subscribe(
        db, user_id=None, name="王芳", mobile="13800138000", email="w@example.com", channel="sms"
    )
    english = _subscribe(
        db,
        user_id=english_user,
        name="Tom",
        mobile="",
        email="tom@example.com",
        channel="mail",
        language="en",
    )
    quiet = _subscribe(
        db, user_id=quiet_user, name="静", mobile="", email="quiet@example.com", channel="mail"
    )
    _subscribe(
        db,
        user_id=quiet_user,
        name="静",
        mobile="",
        email="quiet@example.com",
        channel="mail",
        opted_in=False,
    )

    # Up to the day before the window: nothing.
    scheduler.run_until(local(date(2027, 1, 26), 23, 0), step=timedelta(hours=1))
    assert _rows(db) == [] and _sms(settings) == [] and _mails(settings) == []

    # Through the whole season: the job runs every morning at 10:00 ...
    scheduler.run_until(local(date(2027, 2, 6), 12, 0), step=timedelta(hours=1))
    runs = scheduler.runs(reminders.JOB)
    assert runs[0] == local(date(2027, 1, 20), 10, 0) and len(runs) == 18

    # ... and writes each reminder once: 3 days before 小年 and 3 days before the last fresh
    # day, though the window let it find them due on three mornings each.
    rows = _rows(db)
    expected = {
        (sub.id, kind, target)
        for sub in (by_mail, by_sms, english)
        for kind, target in (("xiaonian", XIAONIAN), ("last_fresh", LAST_FRESH))
    }
    assert {(sid, kind, target) for sid, kind, target, _, _ in rows} == expected
    assert len(rows) == 6
    for sid, _kind, target, channel, created in rows:
        assert created is not None
        assert created.astimezone(LOCAL_ZONE) == local(target - timedelta(days=3), 10, 0)
        assert channel == ("sms" if sid == by_sms.id else "mail")
    assert quiet.id not in {sid for sid, *_ in rows}

    # The SMS customer got two texts and no mail; the mail customers two mails each.
    texts = _sms(settings)
    assert [t["to"] for t in texts] == ["13800138000", "13800138000"]
    xiaonian_text = next(t["text"] for t in texts if "小年" in t["text"])
    assert xiaonian_text.startswith("【杨村糕干】1月30日（周六）是小年")
    assert "1月29日（周五） 20:00前下单" in xiaonian_text
    assert "/season?year=2027" in xiaonian_text
    assert f"/reminders/{by_sms.id}/{by_sms.token}" in xiaonian_text
    last_text = next(t["text"] for t in texts if "除夕" in t["text"])
    assert "除夕2月5日（周五）前最后一个新鲜取货日是2月4日（周四）" in last_text
    assert "2月3日（周三） 20:00前下单" in last_text
    mails = _mails(settings)
    assert sorted(m["to"] for m in mails) == [
        "mei@example.com",
        "mei@example.com",
        "tom@example.com",
        "tom@example.com",
    ]
    chinese = [m for m in mails if m["to"] == "mei@example.com"]
    assert {m["subject"] for m in chinese} == {
        "小年1月30日（周六），年货糕干请提早预订",
        "除夕前最后一个新鲜取货日：2月4日（周四）",
    }
    assert all(f"/reminders/{by_mail.id}/{by_mail.token}" in m["body"] for m in chinese)
    english_subjects = {m["subject"] for m in mails if m["to"] == "tom@example.com"}
    assert english_subjects == {
        "Little New Year is Sat 30 Jan 2027: order your festival gaogan early",
        "Last fresh pickup day before New Year's Eve: Thu 4 Feb 2027",
    }

    # Every event handed over again (a relay retry after a crash): nothing is sent twice.
    with db() as s:
        events = [
            Event.from_row(r)
            for r in s.scalars(select(OutboxEvent).where(OutboxEvent.type == reminders.EVENT))
        ]
    assert len(events) == 6
    for event in events:
        for subscriber in registry.subscribers(reminders.EVENT):
            with transaction(db) as s:
                subscriber.handler(s, event)
    assert len(_sms(settings)) == 2 and len(_mails(settings)) == 4


def test_a_customer_who_opts_out_before_the_message_goes_is_not_sent_it(
    season_app: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    sub = _subscribe(
        db, user_id=None, name="王芳", mobile="13800138000", email="w@example.com", channel="sms"
    )
    with transaction(db) as s:
        assert reminders.schedule_due_reminders(s, settings, local(date(2027, 1, 28), 10)) == 1
    with transaction(db) as s:
        reminders.set_by_link(s, sub.id, sub.token, False, utcnow())
    relay_once(db, settings)
    assert _sms(settings) == []
    with db() as s:
        row = s.scalars(select(SeasonReminder)).one()
        assert row.skipped and row.sent_at is None
    # The day after, in the same window: still nothing (opted out, and already recorded).
    with transaction(db) as s:
        assert reminders.schedule_due_reminders(s, settings, local(date(2027, 1, 29), 10)) == 0


def test_the_days_before_are_a_setting(
    season_app: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    _subscribe(db, user_id=None, name="王", mobile="13800138000", email="", channel="sms")
    week = replace(settings, reminder_days_before=7)
    with transaction(db) as s:
        assert reminders.schedule_due_reminders(s, settings, local(date(2027, 1, 23), 10)) == 0
        assert reminders.schedule_due_reminders(s, week, local(date(2027, 1, 23), 10)) == 1
    # On 小年 itself it is too late for 小年 (orders for it closed the evening before).
    with transaction(db) as s:
        assert reminders.schedule_due_reminders(s, week, local(XIAONIAN, 10)) == 1
        kinds = [r.kind for r in s.scalars(select(SeasonReminder).order_by(SeasonReminder.id))]
    assert kinds == ["xiaonian", "last_fresh"]


# --------------------------------------------------------------------- opting in and out


def _sign_in(app: Flask, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin", data={"csrf_token": token, "email": email, "password": "long-password"}
    )
    assert response.status_code == 302
    return client


def test_a_customer_opts_in_by_sms_on_the_account_page_and_out_again(
    app: Flask, shop: Shop
) -> None:
    (user_id,) = _users(shop.sessions, "mei@example.com")
    client = _sign_in(app, "mei@example.com")
    page = client.get("/account").get_data(as_text=True)
    assert 'id="reminders" data-opted-in="no"' in page and "春节订货提醒" in page
    token = csrf_of(client, "/account")
    bad = client.post(
        "/account/reminders",
        data={"csrf_token": token, "opted_in": "1", "channel": "sms", "mobile": "abc"},
    )
    assert bad.status_code == 422 and "手机号" in bad.get_data(as_text=True)
    with shop.sessions() as s:
        assert s.scalars(select(ReminderSubscription)).all() == []
    ok = client.post(
        "/account/reminders",
        data={"csrf_token": token, "opted_in": "1", "channel": "sms", "mobile": "13900001111"},
    )
    assert ok.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert 'data-opted-in="yes"' in page and "已开启春节订货提醒" in page
    with shop.sessions() as s:
        row = s.scalars(select(ReminderSubscription)).one()
        assert (row.subscriber, row.channel, row.mobile, row.language, row.opted_in) == (
            f"user:{user_id}",
            "sms",
            "13900001111",
            "zh",
            True,
        )
    client.post("/account/reminders", data={"csrf_token": token, "channel": "sms"})
    with shop.sessions() as s:
        assert s.scalars(select(ReminderSubscription.opted_in)).one() is False


def test_the_checkout_box_opts_in_with_the_orders_channel_and_language(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC?lang=en")
    add_to_cart(client, token, shop.open_day.isoformat())
    page = client.get("/checkout").get_data(as_text=True)
    assert (
        'name="season_reminders"' in page
        and "checked"
        not in re.findall(r'<input type="checkbox" name="season_reminders"[^>]*>', page)[0]
    )
    assert checkout(client, token, notify_channel="sms", season_reminders="1").status_code == 302
    with shop.sessions() as s:
        row = s.scalars(select(ReminderSubscription)).one()
        assert (row.subscriber, row.channel, row.language, row.user_id) == (
            "mobile:13800138000",
            "sms",
            "en",
            None,
        )
    # Without the box ticked nobody is subscribed (and nobody unsubscribed).
    other = app.test_client()
    token = csrf_of(other, "/products/GG-CLASSIC?lang=zh")
    add_to_cart(other, token, shop.open_day.isoformat())
    assert checkout(other, token, mobile="13900002222").status_code == 302
    with shop.sessions() as s:
        assert len(s.scalars(select(ReminderSubscription)).all()) == 1
    # A mail order (on PostgreSQL the two-statement checkout) with the box: by mail, in Chinese.
    third = app.test_client()
    token = csrf_of(third, "/products/GG-CLASSIC?lang=zh")
    add_to_cart(third, token, shop.open_day.isoformat())
    placed = checkout(third, token, mobile="13900003333", season_reminders="1")
    assert placed.status_code == 302
    with shop.sessions() as s:
        row = s.scalars(
            select(ReminderSubscription).where(
                ReminderSubscription.subscriber == "mobile:13900003333"
            )
        ).one()
        assert (row.channel, row.email, row.language) == ("mail", "wang@example.com", "zh")


def test_the_link_in_a_reminder_unsubscribes_without_signing_in(app: Flask, shop: Shop) -> None:
    sub = _subscribe(
        shop.sessions,
        user_id=None,
        name="王芳",
        mobile="13800138000",
        email="w@example.com",
        channel="sms",
    )
    client = app.test_client()
    url = f"/reminders/{sub.id}/{sub.token}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-opted-in="yes"' in page and "短信" in page and "13800138000" in page
    token = csrf_of(client, url)
    assert client.post(url, data={"csrf_token": token, "opted_in": "0"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'data-opted-in="no"' in page and "提醒已关闭" in page
    with shop.sessions() as s:
        assert s.get_one(ReminderSubscription, sub.id).opted_in is False
    # A wrong token or id is a 404 that says so, and changes nothing.
    wrong = client.post(
        f"/reminders/{sub.id}/not-the-token", data={"csrf_token": token, "opted_in": "1"}
    )
    assert wrong.status_code == 404 and "找不到这条提醒设置" in wrong.get_data(as_text=True)
    assert client.get(f"/reminders/{sub.id + 99}/{sub.token}").status_code == 404
    with shop.sessions() as s:
        assert s.get_one(ReminderSubscription, sub.id).opted_in is False
