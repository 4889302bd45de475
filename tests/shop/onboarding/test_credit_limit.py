"""A distributor's credit limit (set in onboarding) is kept: a booking that would take the
open balance (unpaid statement + open bookings) over the limit is refused, naming both; the
manager sees the balance against the limit; a suspended account books nothing, by any path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from inventory.db import transaction, utcnow
from inventory.rules import local_day
from shop.distributors import standing
from shop.distributors.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from tests.shop.conftest import Desk

Client = Callable[[str], FlaskClient]


def _distributor_id(desk: Desk) -> int:
    with desk.sessions() as s:
        return s.get_one(Booking, desk.booking_id).distributor_id


def _set_limit(manager: FlaskClient, distributor_id: int, fen: int) -> dict[str, Any]:
    saved = manager.put(
        f"/api/v1/manager/distributors/{distributor_id}",
        json={"company": "TJ01 副食商行", "credit_limit_fen": fen},
    )
    assert saved.status_code == 200, saved.get_json()
    body: dict[str, Any] = saved.get_json()
    return body


def _book(client: FlaskClient, desk: Desk, cases: int, *, lang: str = "") -> Any:
    day = desk.day.isoformat()
    slots = client.get(f"/api/v1/distributor/slots?day={day}").get_json()["slots"]
    return client.post(
        "/api/v1/distributor/bookings" + (f"?lang={lang}" if lang else ""),
        json={
            "day": day,
            "slot_id": slots[1]["id"],
            "lines": [{"sku": "GG-CLASSIC", "cases": cases}],
        },
    )


def _bookings(desk: Desk) -> int:
    with desk.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Booking)) or 0)


def test_a_booking_over_the_credit_limit_is_refused_naming_the_limit_and_the_balance(
    client_as: Client, desk: Desk
) -> None:
    manager, distributor = client_as("manager"), client_as("distributor")
    did = _distributor_id(desk)
    # ¥500 of credit; the fixture's booking (2 cases at ¥96) is open: ¥192.
    account = _set_limit(manager, did, 50_000)
    assert account["open_bookings_fen"] == 19_200 and account["balance_fen"] == 0
    assert account["open_balance_fen"] == 19_200 and account["credit_available_fen"] == 30_800

    assert _book(distributor, desk, 3).status_code == 201  # ¥480 open
    before = _bookings(desk)
    refused = _book(distributor, desk, 1)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "credit_limit_exceeded"
    assert "信用额度 ¥500.00" in body["message"] and "未结余额 ¥480.00" in body["message"]
    assert "还可预订 ¥20.00" in body["message"]
    english = _book(client_as("distributor"), desk, 1, lang="en").get_json()["message"]
    assert "credit limit of ¥500.00" in english and "open balance is ¥480.00" in english
    assert _bookings(desk) == before  # nothing booked, no seat or stock taken

    # More cases on a booking already made count the same; fewer are always allowed.
    more = distributor.patch(
        f"/api/v1/distributor/bookings/{desk.booking_id}",
        json={"lines": [{"sku": "GG-CLASSIC", "cases": 3}]},
    )
    assert more.status_code == 409 and more.get_json()["error"] == "credit_limit_exceeded"
    fewer = distributor.patch(
        f"/api/v1/distributor/bookings/{desk.booking_id}",
        json={"lines": [{"sku": "GG-CLASSIC", "cases": 1}]},
    )
    assert fewer.status_code == 200, fewer.get_json()

    # The manager sees the open balance against the limit, on the page and in the API.
    page = manager.get(f"/manager/distributors/{did}").get_data(as_text=True)
    assert 'data-limit="50000" data-open="38400"' in page and "还可预订" in page
    listing = manager.get("/manager/distributors/").get_data(as_text=True)
    assert "¥384.00" in listing and "¥500.00" in listing
    # A lower limit leaves the account over it: shown, and new bookings are refused.
    assert _set_limit(manager, did, 30_000)["credit_available_fen"] == -8_400
    assert "已超额度 ¥84.00" in manager.get(f"/manager/distributors/{did}").get_data(as_text=True)
    assert _book(distributor, desk, 1).status_code == 409

    # Collected goods stay on the statement until paid; a payment makes room again.
    with transaction(desk.sessions) as s:
        s.get_one(Booking, desk.booking_id).status = BookingStatus.COLLECTED
    paid = manager.post(
        f"/api/v1/manager/distributors/{did}/payments",
        json={
            "amount_fen": 20_000,
            "received_on": local_day(utcnow()).isoformat(),
            "method": "transfer",
        },
    )
    assert paid.status_code == 201
    after = paid.get_json()
    # Statement: ¥96 collected - ¥200 paid = -¥104; open bookings ¥288; together ¥184.
    assert (after["balance_fen"], after["open_bookings_fen"]) == (-10_400, 28_800)
    assert after["credit_available_fen"] == 30_000 - 18_400
    assert _book(distributor, desk, 1).status_code == 201


def test_a_suspended_account_books_nothing_by_any_path_but_may_cancel(
    client_as: Client, desk: Desk
) -> None:
    manager, distributor = client_as("manager"), client_as("distributor")
    did = _distributor_id(desk)
    with transaction(desk.sessions) as s:
        standing.save_standing_order(
            s,
            distributor_id=did,
            slot_time=time(6, 15),
            weekday_lines={weekday: {"GG-CLASSIC": 1} for weekday in range(7)},
            starts_on=local_day(utcnow()) + timedelta(days=1),
        )
    off = manager.put(f"/api/v1/manager/distributors/{did}/active", json={"active": False})
    assert off.get_json()["active"] is False
    before = _bookings(desk)

    refused = _book(distributor, desk, 1)
    assert refused.status_code == 403 and refused.get_json()["error"] == "account_suspended"
    assert "已暂停" in refused.get_json()["message"]
    day = desk.day.isoformat()
    changed = distributor.patch(
        f"/api/v1/distributor/bookings/{desk.booking_id}",
        json={"lines": [{"sku": "GG-CLASSIC", "cases": 5}]},
    )
    assert changed.status_code == 403
    waiting = distributor.post(
        "/api/v1/distributor/waitlist",
        json={"day": day, "lines": [{"sku": "GG-CLASSIC", "cases": 1}]},
    )
    assert waiting.status_code == 403
    # The portal's booking form says so too, as a message on the page (no 500).
    from tests.support.web import csrf_from

    week = distributor.get(f"/distributor/?week={day}").get_data(as_text=True)
    slots = distributor.get(f"/api/v1/distributor/slots?day={day}").get_json()["slots"]
    form = distributor.post(
        f"/distributor/bookings?day={day}",
        data={"csrf_token": csrf_from(week), "slot_id": slots[1]["id"], "cases_GG-CLASSIC": "1"},
        follow_redirects=True,
    )
    assert "已暂停" in form.get_data(as_text=True)
    # The hourly standing-order run neither fails nor books for it.
    with transaction(desk.sessions) as s:
        assert standing.generate_standing_bookings(s, local_day(utcnow()), 5, now=utcnow()) == []
    assert _bookings(desk) == before
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WaitlistEntry)) == 0

    # Cancelling what was booked before the suspension is still allowed.
    cancelled = distributor.delete(f"/api/v1/distributor/bookings/{desk.booking_id}")
    assert cancelled.status_code == 200, cancelled.get_json()

    on = manager.put(f"/api/v1/manager/distributors/{did}/active", json={"active": True})
    assert on.get_json()["active"] is True
    assert _book(distributor, desk, 1).status_code == 201


def test_a_standing_order_over_the_limit_waits_and_is_booked_once_paid(
    client_as: Client, desk: Desk
) -> None:
    manager = client_as("manager")
    did = _distributor_id(desk)
    _set_limit(manager, did, 20_000)  # ¥200: the open ¥192 leaves no room for a ¥96 case
    today = local_day(utcnow())
    with transaction(desk.sessions) as s:
        standing.save_standing_order(
            s,
            distributor_id=did,
            slot_time=time(6, 15),
            weekday_lines={desk.day.weekday(): {"GG-CLASSIC": 1}},
            starts_on=today + timedelta(days=1),
        )
    with transaction(desk.sessions) as s:
        assert standing.generate_standing_bookings(s, today, 5, now=utcnow()) == []
    with desk.sessions() as s:
        (entry,) = s.scalars(select(WaitlistEntry)).all()
        assert (entry.reason, entry.status) == ("credit_limit_exceeded", WaitlistStatus.WAITING)

    # Paid: the next hourly run serves the waitlist first.
    manager.post(
        f"/api/v1/manager/distributors/{did}/payments",
        json={"amount_fen": 10_000, "received_on": today.isoformat(), "method": "cash"},
    )
    with transaction(desk.sessions) as s:
        standing.generate_standing_bookings(s, today, 5, now=utcnow())
    with desk.sessions() as s:
        (entry,) = s.scalars(select(WaitlistEntry)).all()
        assert entry.status is WaitlistStatus.SERVED and entry.booking_id is not None
