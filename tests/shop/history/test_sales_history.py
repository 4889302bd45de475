"""The forecast learns from real sales: served orders and bookings reach the sales history
through the outbox; past seasons come in from CSV, all or nothing, with the bad rows named."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from inventory.db import transaction, utcnow
from inventory.events import publish
from inventory.models import Item
from inventory.relay import relay_once
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.planning.calendar import set_calendar_entry
from scheduling.planning.history_models import SalesByChannel
from scheduling.planning.models import SalesHistory
from scheduling.planning.sales_feed import Sale, record
from shop.history.rules import parse
from tests.shop.conftest import Desk, place
from tests.support.web import csrf_from

Client = Callable[[str], FlaskClient]


def _relay(desk: Desk, settings: Settings) -> None:
    for _ in range(50):
        if relay_once(desk.sessions, settings).claimed == 0:
            return
    raise AssertionError("the outbox did not drain")


def _history(desk: Desk) -> dict[tuple[str, str], int]:
    with desk.sessions() as s:
        rows = s.execute(
            select(Item.sku, SalesHistory.day, SalesHistory.quantity).join(
                Item, Item.id == SalesHistory.item_id
            )
        ).all()
    return {(sku, day.isoformat()): q for sku, day, q in rows}


def test_a_week_of_served_orders_and_a_booking_lands_in_the_forecast_history(
    client_as: Client, desk: Desk, settings: Settings
) -> None:
    staff = client_as("staff")
    first = desk.day - timedelta(days=1)
    days = [first + timedelta(days=n) for n in range(7)]
    with transaction(desk.sessions) as s:
        set_planned_supply(s, "week", {("GG-CLASSIC", d): 200 for d in days})
        for d in days:
            set_calendar_entry(s, d, production=True)
    orders = [
        place(
            desk.sessions,
            settings,
            d,
            name=f"顾客{n}",
            mobile="13800000000",
            lines=[("GG-CLASSIC", n + 1)],
        )
        for n, d in enumerate(days)
    ]
    for public_id in orders:
        for target in ("ready", "collected"):
            response = staff.post(
                f"/api/v1/manager/orders/{public_id}/status",
                # The week is ahead of today: marking it needs a reason (issue 10, item 5).
                json={"status": target, "override_reason": "simulated week"},
            )
            assert response.status_code == 200, response.get_json()
    # One order only made ready: not a sale yet.
    staff.post(
        f"/api/v1/manager/orders/{desk.pickup}/status",
        json={"status": "ready", "override_reason": "simulated week"},
    )
    with transaction(desk.sessions) as s:
        publish(
            s,
            "booking.collected",
            {
                "booking_id": desk.booking_id,
                "day": days[0].isoformat(),
                "lines": [{"sku": "GG-CLASSIC", "cases": 2, "pieces": 20}],
            },
            key=f"booking:{desk.booking_id}",
        )
    _relay(desk, settings)
    _relay(desk, settings)  # a second pass finds nothing new to count
    history = _history(desk)
    for n, d in enumerate(days):
        expected = n + 1 + (20 if n == 0 else 0)
        assert history[("GG-CLASSIC", d.isoformat())] == expected, d
    with desk.sessions() as s:
        channels = dict(
            s.execute(
                select(SalesByChannel.channel, func.sum(SalesByChannel.quantity)).group_by(
                    SalesByChannel.channel
                )
            ).all()
        )
    assert channels == {"pickup": sum(range(1, 8)), "distributor": 20}
    page = client_as("manager").get("/manager/history/").get_data(as_text=True)
    assert "实际销售" in page and 'data-source="sales" data-channel="pickup"' in page


def test_a_csv_with_a_bad_row_is_refused_naming_the_row_and_imports_nothing(
    client_as: Client, desk: Desk
) -> None:
    manager = client_as("manager")
    good = "day,sku,channel,quantity\n2026-01-27,GG-CLASSIC,pickup,120\n2026-01-27,GG-GIFT,distributor,40\n"
    bad = good + "2026-01-28,GG-NOPE,pickup,5\n2026-01-29,GG-CLASSIC,pickup,-3\n"
    refused = manager.post("/api/v1/manager/history/import", json={"csv": bad})
    assert refused.status_code == 422
    body = refused.get_json()
    assert [e["row"] for e in body["details"]["rows"]] == [4, 5]
    assert "4, 5" in body["message"] and "nothing was imported" in body["details"]["message_en"]
    assert _history(desk) == {}

    page = manager.get("/manager/history/").get_data(as_text=True)
    shown = manager.post(
        "/manager/history/preview",
        data={"csrf_token": csrf_from(page), "file": (io.BytesIO(bad.encode()), "old.csv")},
        content_type="multipart/form-data",
    )
    assert shown.status_code == 422
    text = shown.get_data(as_text=True)
    assert "第 4 行：没有这个商品（GG-NOPE）" in text and "第 5 行" in text

    preview = manager.post(
        "/manager/history/preview",
        data={"csrf_token": csrf_from(page), "file": (io.BytesIO(good.encode()), "old.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "共 2 行" in preview
    done = manager.post(
        "/manager/history/import",
        data={"csrf_token": csrf_from(page), "csv": good},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已导入 2 行" in done and "CSV 导入" in done
    assert _history(desk) == {("GG-CLASSIC", "2026-01-27"): 120, ("GG-GIFT", "2026-01-27"): 40}
    # Importing the same file again replaces, never doubles.
    again = manager.post("/api/v1/manager/history/import", json={"csv": good})
    assert again.status_code == 201
    assert _history(desk)[("GG-CLASSIC", "2026-01-27")] == 120


def test_the_csv_reader_checks_every_row() -> None:
    today = utcnow().date()
    parsed = parse(
        "day,sku,channel,quantity\nnot-a-day,A,pickup,1\n2026-01-01,A,van,1\n"
        f"{(today + timedelta(days=2)).isoformat()},A,pickup,1\n2026-01-01,A,pickup,1\n"
        "2026-01-01,A,pickup,2\n2026-01-02,A,pickup\n",
        known_skus={"A"},
        today=today,
    )
    assert [(e.row, e.key) for e in parsed.errors] == [
        (2, "hist.err.day"),
        (3, "hist.err.channel"),
        (4, "hist.err.future"),
        (6, "hist.err.duplicate"),
        (7, "hist.err.columns"),
    ]
    assert parse("sku,day\n", known_skus=set(), today=today).errors[0].key == "hist.err.header"


def test_imported_and_real_sales_add_up_per_day(desk: Desk) -> None:
    day = desk.day - timedelta(days=400)
    with transaction(desk.sessions) as s:
        record(s, [Sale(day, "GG-CLASSIC", "pickup", 100)], source="import", replace=True)
        record(s, [Sale(day, "GG-CLASSIC", "pickup", 7)], source="sales", replace=False)
        record(s, [Sale(day, "GG-CLASSIC", "pickup", 5)], source="sales", replace=False)
    assert _history(desk)[("GG-CLASSIC", day.isoformat())] == 112


def test_staff_are_refused_the_history(client_as: Client) -> None:
    staff = client_as("staff")
    assert staff.get("/manager/history/").status_code == 403
    assert staff.post("/api/v1/manager/history/import", json={"csv": "x"}).status_code == 403
