"""From a booking to the distributor's receiver: outbox, relay, delivery with retries."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker
from test_distributor_webhooks import Receiver

from inventory.db import transaction, utcnow
from inventory.events import Registry
from inventory.relay import relay_once
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from shop.distributors import accounts, bookings, common
from shop.distributors.web import register_subscribers
from shop.distributors.webhooks import deliver_webhooks, payload_of
from tests.support.distributors import CLASSIC, before_cutoff, make_distributor, setup_products

DAY = date(2027, 1, 20)


def test_booking_events_reach_a_receiver_that_fails_twice_exactly_once_each_and_in_order(
    db: sessionmaker[Session], settings: Settings
) -> None:
    setup_products(db, [DAY], cases_per_day=20)
    a = make_distributor(db, "TJ01")
    with transaction(db) as s:
        secret = accounts.get_distributor(s, a).webhook_secret
    registry = Registry()
    register_subscribers(registry)
    with Receiver(secret, failures=2) as receiver:
        with transaction(db) as s:
            accounts.set_webhook(s, a, receiver.url)
            slots = common.day_slots(s, DAY, SlotRules())
            booking = bookings.create_booking(
                s,
                SlotRules(),
                distributor_id=a,
                day=DAY,
                slot_id=slots[0].id,
                lines={CLASSIC: 2},
                now=before_cutoff(DAY),
            )
            booking_id = booking.id
        with transaction(db) as s:
            bookings.change_booking(
                s,
                SlotRules(),
                distributor_id=a,
                booking_id=booking_id,
                now=before_cutoff(DAY),
                slot_id=slots[1].id,
            )
        with transaction(db) as s:
            bookings.cancel_booking(
                s, SlotRules(), distributor_id=a, booking_id=booking_id, now=before_cutoff(DAY)
            )
        now = utcnow()
        relayed = relay_once(db, settings, now=now, registry=registry)
        assert relayed.delivered >= 3 and relayed.failed == 0
        # A second relay pass (at-least-once) adds no second delivery row.
        relay_once(db, settings, now=now, registry=registry)
        for step in range(12):
            deliver_webhooks(db, settings, now=now + timedelta(seconds=10 * step))

    assert receiver.calls == 2 + 3
    logged = [
        (e["body"]["type"], e["body"]["data"]["booking_id"], e["valid"]) for e in receiver.log
    ]
    assert logged == [
        ("booking.confirmed", booking_id, True),
        ("booking.changed", booking_id, True),
        ("booking.cancelled", booking_id, True),
    ]


def test_order_ready_for_a_booking_makes_it_ready_and_goes_to_its_distributor_once(
    db: sessionmaker[Session], settings: Settings
) -> None:
    from sqlalchemy import select

    from inventory import production
    from inventory.events import publish
    from inventory.models import OutboxEvent, OutboxStatus
    from shop.distributors.models import Booking, WebhookDelivery

    setup_products(db, [DAY], cases_per_day=20)
    a = make_distributor(db, "TJ01", webhook_url="http://127.0.0.1:9/hooks")
    make_distributor(db, "TJ02", webhook_url="http://127.0.0.1:9/other")
    with transaction(db) as s:
        slot = common.day_slots(s, DAY, SlotRules())[0]
        booking_id = bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=a,
            day=DAY,
            slot_id=slot.id,
            lines={CLASSIC: 2},
            now=before_cutoff(DAY),
        ).id
    registry = Registry()
    register_subscribers(registry)
    relay_once(db, settings, registry=registry)
    with transaction(db) as s:
        production.receive_production(s, DAY, {CLASSIC: 200}, batch_ref="B1", made_at=utcnow())
    with db() as s:
        # The lots alone announce nothing to distributors: the batch does, in one shape.
        assert s.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.ready")).all() == []
    with transaction(db) as s:
        for ref in (f"booking:{booking_id}", "order:1", f"booking:{booking_id}"):
            # The shape scheduling.production.batches.complete_batch publishes; a storefront order's
            # ref is not the distributor's, and a repeat for the booking is not sent twice.
            publish(
                s,
                "order.ready",
                {"ref": ref, "production_day": DAY.isoformat(), "batch_ref": "B1", "lots": []},
                key=ref,
            )
    relay_once(db, settings, registry=registry)
    relay_once(db, settings, registry=registry)
    with db() as s:
        assert s.get_one(Booking, booking_id).ready_at is not None
        deliveries = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [(d.event_type, d.distributor_id) for d in deliveries] == [
            ("booking.confirmed", a),
            ("order.ready", a),
        ]
        sent = payload_of(deliveries[1].body.encode())["data"]
        assert (sent["ref"], sent["booking_id"], sent["batch_ref"]) == (
            f"booking:{booking_id}",
            booking_id,
            "B1",
        )
        statuses = s.scalars(select(OutboxEvent.status)).all()
        assert OutboxStatus.DEAD not in statuses
