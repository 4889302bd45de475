"""Registration of the distributor area in the app: pages, API, nav, outbox subscribers."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from inventory import events
from inventory.db import utcnow
from inventory.runtime import Runtime
from scheduling.production.part_delivery import served_of
from shop.api import get_api
from shop.distributors import api, common, mail, pages, pickup, webhooks
from shop.distributors.jobs import register_distributor_jobs
from shop.distributors.owners import register_booking_owners
from shop.models import Role
from shop.nav import add_nav

# Consumer names are inbox keys: never rename.
READY_CONSUMER = "distributors.booking-ready"
UNSERVED_CONSUMER = "distributors.booking-unserved"
PART_SERVED_CONSUMER = "distributors.booking-part-served"


def on_order_ready(session: Session, event: events.Event) -> None:
    """The morning batch covered a booking (`order.ready`, one shape for orders and bookings,
    docs/events/scheduling.md): the booking is ready. Order refs belong to the storefront."""
    booking = common.booking_for_ref(session, str(event.payload.get("ref") or ""))
    if booking is not None:
        pickup.mark_ready(session, booking, now=utcnow())


def on_order_unserved(session: Session, event: events.Event) -> None:
    """The day's last batch could not make a booking: cancel it and tell the distributor."""
    booking = common.booking_for_ref(session, str(event.payload.get("ref") or ""))
    if booking is None:
        return
    short = event.payload.get("short")
    pickup.cancel_unserved(
        session,
        booking,
        now=utcnow(),
        batch_ref=str(event.payload.get("batch_ref") or ""),
        short=short if isinstance(short, list) else [],
    )


def on_order_part_served(session: Session, event: events.Event) -> None:
    """The distributor accepts part delivery and the batch made part of a booking: cut the
    booking to the whole cases made and tell the distributor (`booking.reduced`)."""
    booking = common.booking_for_ref(session, str(event.payload.get("ref") or ""))
    if booking is None:
        return
    short = [s for s in event.payload.get("short") or [] if isinstance(s, dict)]
    pickup.serve_part(
        session,
        booking,
        now=utcnow(),
        batch_ref=str(event.payload.get("batch_ref") or ""),
        served=served_of(event.payload),
        short=short,
    )


def register_subscribers(registry: events.Registry = events.registry) -> None:
    """Outbox consumers of this area; any process that runs the relay must call it."""
    webhooks.register_subscribers(registry)
    mail.register_subscribers(registry)
    registry.subscribe("order.ready", READY_CONSUMER, on_order_ready)
    registry.subscribe("order.unserved", UNSERVED_CONSUMER, on_order_unserved)
    registry.subscribe("order.part_served", PART_SERVED_CONSUMER, on_order_part_served)


def init_app(app: Flask, runtime: Runtime) -> None:
    pages.init_pages(app)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "dist.nav.portal", "/distributor/", 40, roles=[Role.DISTRIBUTOR])
    add_nav(app, "dist.nav.board", "/manager/pickups/", 60, roles=[Role.MANAGER, Role.STAFF])
    register_subscribers()
    register_distributor_jobs(runtime.settings)
    register_booking_owners()
