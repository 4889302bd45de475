"""Issue 10 item 11: each role lands on its own start page; the distributor's week names
products and says 本周 only for this week; cancels ask for confirmation (no script)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import utcnow
from inventory.rules import local_day
from shop.demo import DEMO_PASSWORD
from shop.distributors.models import Booking, BookingStatus
from tests.shop.defects.test_chinese_crawl import demo_app
from tests.support.web import csrf_from

__all__ = ["demo_app"]


def _sign_in(client: FlaskClient, email: str) -> str:
    token = csrf_from(client.get("/signin").get_data(as_text=True))
    answer = client.post(
        "/signin",
        data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD, "next": "/"},
    )
    assert answer.status_code in (302, 303)
    return answer.headers["Location"]


def test_distributors_land_on_their_portal_managers_on_the_console_customers_on_account(
    demo_app: Flask,
) -> None:
    assert _sign_in(demo_app.test_client(), "distributor@demo.gaogan") == "/distributor/"
    assert _sign_in(demo_app.test_client(), "manager@demo.gaogan") == "/manager/plan/"
    assert _sign_in(demo_app.test_client(), "customer@demo.gaogan") == "/"  # the shop, as before


def test_the_week_view_names_products_and_says_this_week_only_for_this_week(
    demo_app: Flask, db: sessionmaker[Session]
) -> None:
    client = demo_app.test_client()
    _sign_in(client, "distributor@demo.gaogan")
    this_week = client.get("/distributor/").get_data(as_text=True)
    assert "本周提货" in this_week
    with db() as s:
        booked = s.scalars(select(Booking)).first()
    assert booked is not None, "the demo books standing orders for the coming days"
    week_of_booking = client.get(f"/distributor/?week={booked.day}").get_data(as_text=True)
    assert "杨村糕干" in week_of_booking
    assert not re.search(r"<li>YC-[A-Z0-9-]+ ×", week_of_booking), "SKU shown instead of name"
    later = local_day(utcnow()) + timedelta(days=21)
    far = client.get(f"/distributor/?week={later}").get_data(as_text=True)
    assert "本周提货" not in far and "起一周的提货" in far


def test_a_booking_is_cancelled_only_with_the_confirmation_box_ticked(
    demo_app: Flask, db: sessionmaker[Session]
) -> None:
    client = demo_app.test_client()
    _sign_in(client, "distributor@demo.gaogan")
    with db() as s:
        booking = s.scalars(
            select(Booking)
            .where(Booking.day > local_day(utcnow()) + timedelta(days=1))
            .order_by(Booking.day)
        ).first()
    assert booking is not None
    page = client.get(f"/distributor/?week={booking.day}").get_data(as_text=True)
    assert 'name="confirm" value="yes" required' in page and "onsubmit" not in page
    token = csrf_from(page)
    refused = client.post(
        f"/distributor/bookings/{booking.id}/cancel",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "请先勾选确认框" in refused.get_data(as_text=True)
    with db() as s:
        assert s.get(Booking, booking.id).status is BookingStatus.CONFIRMED  # type: ignore[union-attr]
    client.post(
        f"/distributor/bookings/{booking.id}/cancel", data={"csrf_token": token, "confirm": "yes"}
    )
    with db() as s:
        assert s.get(Booking, booking.id).status is BookingStatus.CANCELLED  # type: ignore[union-attr]
