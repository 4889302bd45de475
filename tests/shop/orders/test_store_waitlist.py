"""Waitlist and back-in-stock: a distributor's no-show at 06:46 goes to the first waiting
customer as a hold and one message; claims, lapses, leaving and peak-day caps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory import atp
from inventory.db import transaction, utcnow
from inventory.events import Event, registry
from inventory.models import OutboxEvent, Reservation, ReservationStatus
from inventory.relay import relay_once
from inventory.reservations import expire_holds
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from shop.app import create_app
from shop.distributors import bookings, common, pickup
from shop.orders import placing, services, sms, waitlist
from shop.orders.models import OrderStatus, WaitlistEntry, WaitlistStatus
from shop.orders.rules import LineRequest
from tests.support.distributors import (
    CLASSIC,
    before_cutoff,
    local,
    make_distributor,
    setup_products,
)
from tests.support.web import csrf_from

DAY = date(2027, 1, 20)  # a Wednesday, no holiday
RULES = SlotRules()


@pytest.fixture
def sold_out(db: sessionmaker[Session], settings: Settings) -> Iterator[Flask]:
    """DAY's 200 classic pieces all booked by two distributors; B (20 pieces, 06:00-06:15)
    will not come."""
    setup_products(db, [DAY], cases_per_day=20)
    a = make_distributor(db, "A")
    b = make_distributor(db, "B")
    with transaction(db) as s:
        slots = [slot.id for slot in common.day_slots(s, DAY, RULES)]
        for who, slot, cases in ((a, slots[1], 18), (b, slots[0], 2)):
            bookings.create_booking(
                s,
                RULES,
                distributor_id=who,
                day=DAY,
                slot_id=slot,
                lines={CLASSIC: cases},
                now=before_cutoff(DAY),
            )
        services.ensure_locations(s)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app


def _join(
    db: sessionmaker[Session],
    settings: Settings,
    who: str,
    quantity: int,
    at: datetime,
    channel: str = "mail",
) -> WaitlistEntry:
    with transaction(db) as s:
        return waitlist.join(
            s,
            waitlist.JoinWaitlist(
                CLASSIC,
                DAY,
                quantity,
                placing.Contact(who, f"1380013{len(who):04d}", f"{who}@example.com"),
                notify_channel=channel,
            ),
            settings=settings,
            now=at,
        )


def _offer_mails(settings: Settings) -> list[tuple[str, str]]:
    out = []
    for path in sorted(Path(settings.mail_dir).glob("*.eml")):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if "有货了" in msg["Subject"] or "available" in msg["Subject"]:
            out.append((msg["To"], msg.get_body(preferencelist=("plain",)).get_content()))
    return out


def _redeliver(db: sessionmaker[Session], event_type: str) -> None:
    """Hand every event of this type to its subscribers again, as a relay retry would."""
    with db() as s:
        events = [
            Event.from_row(r)
            for r in s.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type))
        ]
    for event in events:
        for subscriber in registry.subscribers(event_type):
            with transaction(db) as s:
                subscriber.handler(s, event)


def test_a_no_show_at_0646_goes_to_the_first_waiting_customer_as_a_hold_and_one_message(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    first = _join(db, settings, "wang", 20, before_cutoff(DAY))
    second = _join(db, settings, "li", 5, before_cutoff(DAY) + timedelta(minutes=1))
    relay_once(db, settings)
    with transaction(db) as s:
        released = pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30)
    assert len(released) == 1
    relay_once(db, settings)  # stock.released -> the offer; waitlist.offered -> the message
    relay_once(db, settings)
    with db() as s:
        one = s.get_one(WaitlistEntry, first.id)
        two = s.get_one(WaitlistEntry, second.id)
        assert one.status is WaitlistStatus.OFFERED and one.offer_expires_at is not None
        assert two.status is WaitlistStatus.WAITING  # nothing left for the second
        hold = s.scalar(select(Reservation).where(Reservation.ref == f"waitlist:{first.id}"))
        assert hold is not None and hold.status is ReservationStatus.HELD
        # The relay offers at its own clock (today); the held pieces are gone from the day.
        left = atp.available_to_promise(s, [CLASSIC], DAY, DAY, now=utcnow())
        assert left[CLASSIC][DAY] == 0
    mails = _offer_mails(settings)
    assert len(mails) == 1 and mails[0][0] == "wang@example.com"
    assert f"/waitlist/{first.id}/{first.token}" in mails[0][1] and "× 20" in mails[0][1]
    # Delivered again (a relay retry after a crash): no second hold, no second message.
    _redeliver(db, "stock.released")
    _redeliver(db, "waitlist.offered")
    with db() as s:
        offered = s.scalars(
            select(WaitlistEntry).where(WaitlistEntry.status == WaitlistStatus.OFFERED)
        ).all()
        assert [e.id for e in offered] == [first.id]
    assert len(_offer_mails(settings)) == 1


def test_a_customer_who_chose_sms_gets_the_offer_as_exactly_one_text_message(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    first = _join(db, settings, "wang", 20, before_cutoff(DAY), channel="sms")
    second = _join(db, settings, "li", 5, before_cutoff(DAY) + timedelta(minutes=1))
    relay_once(db, settings)
    with transaction(db) as s:
        released = pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30)
    assert len(released) == 1  # distributor B's 20 pieces
    relay_once(db, settings)  # stock.released -> the hold; waitlist.offered -> the message
    relay_once(db, settings)
    with db() as s:
        one = s.get_one(WaitlistEntry, first.id)
        assert one.status is WaitlistStatus.OFFERED and one.offer_expires_at is not None
        assert s.get_one(WaitlistEntry, second.id).status is WaitlistStatus.WAITING
        hold = s.scalar(select(Reservation).where(Reservation.ref == f"waitlist:{first.id}"))
        assert hold is not None and hold.status is ReservationStatus.HELD
        until = one.offer_expires_at.astimezone(LOCAL_ZONE).strftime("%m-%d %H:%M")
    texts = sms.messages_in(Path(settings.sms_dir))
    assert len(texts) == 1 and texts[0]["to"] == first.contact_mobile
    assert texts[0]["text"].startswith(f"【杨村糕干】您候补的{DAY.isoformat()} 杨村糕干")
    assert f"×20已为您保留至{until}" in texts[0]["text"]
    assert f"/waitlist/{first.id}/{first.token}" in texts[0]["text"]
    assert _offer_mails(settings) == []  # by SMS only, as chosen
    # The release and the offer delivered twice (a relay retry): no second hold, no second text.
    _redeliver(db, "stock.released")
    _redeliver(db, "waitlist.offered")
    with db() as s:
        holds = s.scalars(select(Reservation).where(Reservation.ref.like("waitlist:%"))).all()
        assert [h.ref for h in holds] == [f"waitlist:{first.id}"]
    assert len(sms.messages_in(Path(settings.sms_dir))) == 1
    # Claimed, the order's own notices go by SMS too.
    client = sold_out.test_client()
    page = client.get(f"/waitlist/{first.id}/{first.token}").get_data(as_text=True)
    client.post(
        f"/waitlist/{first.id}/{first.token}/claim",
        data={"csrf_token": csrf_from(page), "pickup_point": "factory"},
    )
    with db() as s:
        order_id = s.get_one(WaitlistEntry, first.id).order_id
        assert order_id is not None
        assert s.get_one(services.Order, order_id).notify_channel == "sms"


def test_the_waitlist_form_and_api_take_the_channel_and_refuse_an_unknown_one(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    client = sold_out.test_client()
    body = {
        "product": CLASSIC,
        "day": DAY.isoformat(),
        "quantity": 3,
        "name": "王芳",
        "mobile": "13800138000",
        "email": "wang@example.com",
    }
    bad = client.post("/api/v1/waitlist", json={**body, "notify_channel": "pigeon"})
    assert (
        bad.status_code == 422 and "notify_channel" in bad.get_json()["details"]["fields"]["json"]
    )
    joined = client.post("/api/v1/waitlist", json={**body, "notify_channel": "sms"})
    assert joined.status_code == 201
    page = client.get(f"/products/{CLASSIC}?day={DAY.isoformat()}").get_data(as_text=True)
    assert 'id="wl-notify-channel"' in page and 'name="notify_channel" value="sms"' in page
    form = client.post(
        "/waitlist/join",
        data={
            "csrf_token": csrf_from(page),
            "sku": CLASSIC,
            "day": DAY.isoformat(),
            "quantity": "2",
            "name": "李雷",
            "mobile": "13900001111",
            "email": "li@example.com",
            "notify_channel": "sms",
        },
    )
    assert form.status_code == 302
    with db() as s:
        channels = {e.contact_mobile: e.notify_channel for e in s.scalars(select(WaitlistEntry))}
    assert channels == {"13800138000": "sms", "13900001111": "sms"}


def test_the_offer_is_claimed_as_an_order_for_the_same_morning(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    entry = _join(db, settings, "wang", 20, before_cutoff(DAY))
    with transaction(db) as s:
        pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30)
    relay_once(db, settings)
    client = sold_out.test_client()
    page = client.get(f"/waitlist/{entry.id}/{entry.token}").get_data(as_text=True)
    assert 'data-status="offered"' in page and 'id="claim-offer"' in page
    response = client.post(
        f"/waitlist/{entry.id}/{entry.token}/claim",
        data={"csrf_token": csrf_from(page), "pickup_point": "factory"},
    )
    assert response.status_code == 302 and "/track/" in response.headers["Location"]
    with db() as s:
        claimed = s.get_one(WaitlistEntry, entry.id)
        assert claimed.status is WaitlistStatus.CLAIMED and claimed.order_id is not None
        order = s.get_one(services.Order, claimed.order_id)
        assert order.status is OrderStatus.CONFIRMED and order.lines[0].quantity == 20
        hold = s.scalar(select(Reservation).where(Reservation.ref == f"waitlist:{entry.id}"))
        assert hold is not None and hold.status is ReservationStatus.RELEASED
    # Claiming twice is refused with a reason, not a second order.
    again = client.post(
        f"/waitlist/{entry.id}/{entry.token}/claim",
        data={"csrf_token": csrf_from(page), "pickup_point": "factory"},
    )
    assert again.status_code == 409


def test_an_unclaimed_offer_lapses_and_goes_to_the_next_in_line(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    first = _join(db, settings, "wang", 20, before_cutoff(DAY))
    second = _join(db, settings, "li", 15, before_cutoff(DAY) + timedelta(minutes=1))
    with transaction(db) as s:
        pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30)
    relay_once(db, settings)
    with db() as s:
        expires = s.get_one(WaitlistEntry, first.id).offer_expires_at
    assert expires is not None
    with transaction(db) as s:
        assert expire_holds(s, now=expires + timedelta(seconds=1)) == [f"waitlist:{first.id}"]
    relay_once(db, settings)
    relay_once(db, settings)
    with db() as s:
        assert s.get_one(WaitlistEntry, first.id).status is WaitlistStatus.LAPSED
        assert s.get_one(WaitlistEntry, second.id).status is WaitlistStatus.OFFERED
    assert sorted(to for to, _ in _offer_mails(settings)) == ["li@example.com", "wang@example.com"]


def test_only_a_sold_out_day_has_a_waitlist_and_nobody_joins_twice(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    client = sold_out.test_client()
    body = {
        "product": CLASSIC,
        "day": DAY.isoformat(),
        "quantity": 3,
        "name": "王芳",
        "mobile": "13800138000",
        "email": "wang@example.com",
    }
    joined = client.post("/api/v1/waitlist", json=body)
    assert joined.status_code == 201 and joined.get_json()["status"] == "waiting"
    twice = client.post("/api/v1/waitlist", json=body)
    assert twice.status_code == 409 and "已在候补名单中" in twice.get_json()["message"]
    past = client.post("/api/v1/waitlist", json={**body, "day": "2026-01-05"})
    assert past.status_code == 409 and past.get_json()["details"]["state"] == "cutoff"
    with transaction(db) as s:
        from inventory.supply import set_planned_supply

        set_planned_supply(s, "open-plan", {(CLASSIC, DAY + timedelta(days=1)): 50})
    open_day = {**body, "day": (DAY + timedelta(days=1)).isoformat()}
    refused = client.post("/api/v1/waitlist", json=open_day)
    assert refused.status_code == 409 and refused.get_json()["details"]["state"] == "open"
    bad = client.post("/api/v1/waitlist", json={**body, "quantity": 0})
    assert bad.status_code == 422


def test_a_customer_who_leaves_lets_the_next_one_have_the_offer(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    first = _join(db, settings, "wang", 20, before_cutoff(DAY))
    second = _join(db, settings, "li", 20, before_cutoff(DAY) + timedelta(minutes=1))
    with transaction(db) as s:
        pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30)
    relay_once(db, settings)
    client = sold_out.test_client()
    page = client.get(f"/waitlist/{first.id}/{first.token}").get_data(as_text=True)
    client.post(f"/waitlist/{first.id}/{first.token}/leave", data={"csrf_token": csrf_from(page)})
    relay_once(db, settings)
    with db() as s:
        assert s.get_one(WaitlistEntry, first.id).status is WaitlistStatus.LEFT
        assert s.get_one(WaitlistEntry, second.id).status is WaitlistStatus.OFFERED


def test_the_manager_caps_pieces_per_customer_on_a_peak_day(
    sold_out: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    from shop.auth import create_user
    from shop.models import Role
    from tests.support.web import sign_in_with_password

    day = DAY + timedelta(days=1)
    with transaction(db) as s:
        from inventory.supply import set_planned_supply

        set_planned_supply(s, "cap-plan", {(CLASSIC, day): 500})
        create_user(
            s, email="m@example.com", name="经理", password="manager-pass-1", role=Role.MANAGER
        )
    manager = sold_out.test_client()
    sign_in_with_password(manager, "m@example.com", "manager-pass-1")
    token = csrf_from(manager.get("/manage/customer-caps").get_data(as_text=True))
    saved = manager.put(
        f"/api/v1/customer-caps/{day.isoformat()}",
        json={"max_pieces": 6},
        headers={"X-CSRF-Token": token},
    )
    assert saved.status_code == 200
    assert f'data-day="{day.isoformat()}"' in manager.get("/manage/customer-caps").get_data(
        as_text=True
    )

    def order(quantity: int) -> None:
        with transaction(db) as s:
            services.place_order(
                s,
                placing.PlaceOrder(
                    day=day,
                    lines=[LineRequest(CLASSIC, quantity)],
                    contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                    fulfilment="pickup",
                    payment_method="pay_at_pickup",
                    pickup_point="factory",
                ),
                settings=settings,
                now=before_cutoff(day),
            )

    order(4)
    with pytest.raises(services.DayCapExceeded, match="at most 6 pieces"):
        order(3)
    order(2)  # exactly up to the cap
    assert (
        sold_out.test_client()
        .put(f"/api/v1/customer-caps/{day.isoformat()}", json={"max_pieces": 6})
        .status_code
        == 401
    )
