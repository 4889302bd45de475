"""Storefront fixtures: two products with planned supply, an app and clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.settings import Settings
from inventory.supply import set_day_closed, set_planned_supply
from scheduling.planning.calendar import set_calendar_entry
from shop.app import create_app
from shop.orders import services

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Shop:
    sessions: sessionmaker[Session]
    open_day: date  # plenty of stock
    scarce_day: date  # 3 units
    sold_out_day: date  # planned 0
    closed_day: date


def order_days() -> tuple[date, date, date, date]:
    # Two days ahead and later are open whatever the time of day (cut-off is the evening before).
    today = local_day(utcnow())
    return tuple(today + timedelta(days=n) for n in (2, 3, 4, 5))  # type: ignore[return-value]


@pytest.fixture
def shop(db: sessionmaker[Session]) -> Shop:
    open_day, scarce_day, sold_out_day, closed_day = order_days()
    with transaction(db) as s:
        create_product(
            s,
            "GG-CLASSIC",
            "杨村糕干（经典）",
            "Yangcun gaogan (classic)",
            price_fen=1250,
            pack_size_g=250,
            freshness_days=1,
            best_before_days=7,
            description_zh="米粉、绵白糖、水，三样原料。",
            description_en="Rice flour, soft white sugar and water: nothing else.",
        )
        create_product(
            s,
            "GG-GIFT",
            "糕干礼盒",
            "Gaogan gift box",
            price_fen=8800,
            pack_size_g=1000,
            freshness_days=1,
            best_before_days=7,
        )
        quantities: dict[tuple[str, date], int] = {}
        start = local_day(utcnow())
        for n in range(0, 25):
            day = start + timedelta(days=n)
            for sku in ("GG-CLASSIC", "GG-GIFT"):
                quantities[(sku, day)] = 100
        # A freshness of one day: each day is served by its own morning's batch only.
        for sku in ("GG-CLASSIC", "GG-GIFT"):
            quantities[(sku, scarce_day)] = 3
            quantities[(sku, sold_out_day)] = 0
        set_planned_supply(s, "test-plan", quantities)
        # Whatever today's date, the days under test are ordinary baking days (not a holiday
        # from the official calendar), so the tests mean the same every day of the year.
        for n in range(0, 25):
            set_calendar_entry(s, start + timedelta(days=n), production=True)
        set_day_closed(s, closed_day, True)
        services.ensure_locations(s)
    return Shop(db, open_day, scarce_day, sold_out_day, closed_day)


@pytest.fixture
def app(settings: Settings, shop: Shop) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application


def csrf_of(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page)
    if match is None:
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def order_json(day: date, *lines: tuple[str, int], **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "day": day.isoformat(),
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        "contact": {"name": "王芳", "mobile": "13800138000", "email": "wang@example.com"},
        "fulfilment": "pickup",
        "pickup_point": "factory",
        "payment_method": "pay_at_pickup",
    }
    body.update(extra)
    return body


@dataclass
class LiveServer:
    app: Flask
    url: str


def serve(app: Flask) -> Iterator[LiveServer]:
    """The app on a real HTTP server thread on 127.0.0.1 (a free port)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    yield from serve(app)
