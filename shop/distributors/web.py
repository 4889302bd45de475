"""Registration of the distributor area in the app: pages, API, nav, outbox subscribers."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy.orm import Session

from inventory import events
from inventory.db import utcnow
from inventory.runtime import Runtime
from shop.api import get_api
from shop.distributors import api, pages, services, webhooks
from shop.distributors.jobs import register_distributor_jobs
from shop.distributors.owners import register_booking_owners
from shop.models import Role
from shop.nav import add_nav

READY_CONSUMER = "distributors.order-ready"


def on_lot_produced(session: Session, event: events.Event) -> None:
    """Goods of a production day came out: bookings of that day whose every case now sits on
    a lot are ready (order.ready, sent to the distributor's webhook)."""
    raw = event.payload.get("production_day") or event.payload.get("day")
    if not isinstance(raw, str):
        return
    services.mark_ready(session, date.fromisoformat(raw), now=utcnow())


def register_subscribers(registry: events.Registry = events.registry) -> None:
    """Outbox consumers of this area; any process that runs the relay must call it."""
    webhooks.register_subscribers(registry)
    registry.subscribe("lot.produced", READY_CONSUMER, on_lot_produced)


def init_app(app: Flask, runtime: Runtime) -> None:
    pages.init_pages(app)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "dist.nav.portal", "/distributor/", 40, roles=[Role.DISTRIBUTOR])
    add_nav(app, "dist.nav.board", "/manager/pickups/", 60, roles=[Role.MANAGER])
    register_subscribers()
    register_distributor_jobs(runtime.settings)
    register_booking_owners()
