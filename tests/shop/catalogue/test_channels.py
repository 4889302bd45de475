"""The catalogue's sales channels are kept where things are sold: a product not sold in the
online shop is not listed there and cannot be ordered (page and JSON API, 4xx in Chinese and
English); one not sold to distributors cannot be booked or offered in the portal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from inventory.db import transaction, utcnow
from shop.distributors import standing
from shop.distributors.models import Booking, WaitlistEntry
from shop.orders.models import Order
from tests.shop.conftest import Desk
from tests.support.web import csrf_from

Client = Callable[[str], FlaskClient]


def _sell_on(manager: FlaskClient, sku: str, channels: list[str]) -> None:
    changed = manager.patch(
        f"/api/v1/manager/catalogue/products/{sku}", json={"channels": channels}
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["channels"] == channels


def _order_body(desk: Desk, sku: str) -> dict[str, object]:
    return {
        "day": desk.day.isoformat(),
        "lines": [{"sku": sku, "quantity": 1}],
        "contact": {"name": "周杰", "mobile": "13600001234", "email": "zhou@example.com"},
        "payment_method": "pay_at_pickup",
    }


def _orders(desk: Desk) -> int:
    with desk.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_a_product_sold_to_distributors_only_is_not_listed_or_sold_in_the_shop(
    client_as: Client, desk: Desk
) -> None:
    _sell_on(client_as("manager"), "GG-CLASSIC", ["distributor"])
    shopper = client_as("customer")

    catalogue = shopper.get("/").get_data(as_text=True)
    assert "糕干礼盒" in catalogue and "杨村糕干（经典）" not in catalogue
    page = shopper.get("/products/GG-CLASSIC")
    assert page.status_code == 404 and "不在网店销售" in page.get_data(as_text=True)
    assert shopper.get("/products/GG-GIFT").status_code == 200

    listed = shopper.get("/api/v1/products").get_json()
    assert [p["sku"] for p in listed] == ["GG-GIFT"]
    one = shopper.get("/api/v1/products/GG-CLASSIC")
    assert one.status_code == 404 and "不在网店销售" in one.get_json()["message"]
    # (?lang=en sticks to the session: another shopper reads English.)
    english = client_as("customer").get("/api/v1/products/GG-CLASSIC?lang=en").get_json()
    english = english["message"]
    assert "not sold in the online shop" in english
    day = desk.day.isoformat()
    calendar = shopper.get(f"/api/v1/availability?product=GG-CLASSIC&from={day}&to={day}")
    assert calendar.status_code == 404

    before = _orders(desk)
    anonymous = desk_client(client_as)
    refused = anonymous.post("/api/v1/orders", json=_order_body(desk, "GG-CLASSIC"))
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["error"] == "not_sold_on_channel" and "GG-CLASSIC 不在网店销售" in body["message"]
    in_english = anonymous.post("/api/v1/orders?lang=en", json=_order_body(desk, "GG-CLASSIC"))
    assert "GG-CLASSIC is not sold in the online shop" in in_english.get_json()["message"]
    assert _orders(desk) == before  # nothing was taken
    assert anonymous.post("/api/v1/orders", json=_order_body(desk, "GG-GIFT")).status_code == 201

    # The cart form of the storefront refuses it too, in words (no 500).
    form = shopper.get("/products/GG-GIFT").get_data(as_text=True)
    added = shopper.post(
        "/cart/add",
        data={"csrf_token": csrf_from(form), "sku": "GG-CLASSIC", "quantity": "1", "day": day},
    )
    assert added.status_code == 404 and "不在网店销售" in added.get_data(as_text=True)

    # Distributors still book it: it is sold to them.
    distributor = client_as("distributor")
    slots = distributor.get(f"/api/v1/distributor/slots?day={day}").get_json()["slots"]
    booked = distributor.post(
        "/api/v1/distributor/bookings",
        json={"day": day, "slot_id": slots[1]["id"], "lines": [{"sku": "GG-CLASSIC", "cases": 1}]},
    )
    assert booked.status_code == 201, booked.get_json()


def desk_client(client_as: Client) -> FlaskClient:
    """A shopper without a session: the JSON checkout needs no CSRF token then."""
    anonymous = client_as("customer")
    anonymous.delete_cookie("session")
    anonymous.environ_base.pop("HTTP_X_CSRF_TOKEN", None)
    return anonymous


def test_a_product_sold_in_the_shop_only_cannot_be_booked_by_distributors(
    client_as: Client, desk: Desk
) -> None:
    _sell_on(client_as("manager"), "GG-CLASSIC", ["shop"])
    distributor = client_as("distributor")
    day = desk.day.isoformat()

    assert distributor.get("/api/v1/distributor/price-list").get_json() == []
    slots = distributor.get(f"/api/v1/distributor/slots?day={day}").get_json()["slots"]
    with desk.sessions() as s:
        bookings_before = int(s.scalar(select(func.count()).select_from(Booking)) or 0)
    line = {"day": day, "slot_id": slots[1]["id"], "lines": [{"sku": "GG-CLASSIC", "cases": 1}]}
    refused = distributor.post("/api/v1/distributor/bookings", json=line)
    assert refused.status_code == 422
    assert "GG-CLASSIC 不向经销商供货" in refused.get_json()["message"]
    english = distributor.post("/api/v1/distributor/bookings?lang=en", json=line).get_json()
    assert "GG-CLASSIC is not sold to distributors" in english["message"]
    waiting = distributor.post("/api/v1/distributor/waitlist", json=line)
    assert waiting.status_code == 422
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == bookings_before
        assert s.scalar(select(func.count()).select_from(WaitlistEntry)) == 0

    # A change of the booking already made cannot add more of it either.
    change = distributor.patch(
        f"/api/v1/distributor/bookings/{desk.booking_id}",
        json={"lines": [{"sku": "GG-CLASSIC", "cases": 3}]},
    )
    assert change.status_code == 422, change.get_json()

    # The portal's week page offers no field for it; the manager still sees it, marked.
    week = distributor.get(f"/distributor/?week={day}").get_data(as_text=True)
    assert 'name="cases_GG-CLASSIC"' not in week
    account = client_as("manager").get("/manager/distributors/").get_data(as_text=True)
    assert "TJ01" in account
    with desk.sessions() as s:
        distributor_id = s.get_one(Booking, desk.booking_id).distributor_id
    page = client_as("manager").get(f"/manager/distributors/{distributor_id}")
    assert 'data-not-sold="GG-CLASSIC"' in page.get_data(as_text=True)

    # The shop still sells it.
    assert client_as("customer").get("/products/GG-CLASSIC").status_code == 200


def test_a_standing_order_of_a_product_no_longer_sold_to_distributors_books_nothing(
    client_as: Client, desk: Desk
) -> None:
    """The hourly run neither fails nor books it: the manager took it off that channel."""
    manager = client_as("manager")
    with transaction(desk.sessions) as s:
        distributor_id = s.get_one(Booking, desk.booking_id).distributor_id
        today = desk.day - timedelta(days=3)
        standing.save_standing_order(
            s,
            distributor_id=distributor_id,
            slot_time=time(6, 15),
            weekday_lines={weekday: {"GG-CLASSIC": 1} for weekday in range(7)},
            starts_on=today + timedelta(days=1),
        )
    _sell_on(manager, "GG-CLASSIC", ["shop"])
    with transaction(desk.sessions) as s:
        made = standing.generate_standing_bookings(s, today, 5, now=utcnow())
        assert made == []
        assert s.scalar(select(func.count()).select_from(WaitlistEntry)) == 0
