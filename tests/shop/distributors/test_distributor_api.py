"""The distributor API over HTTP: token auth and scoping, bookings, slots, standing orders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from scheduling.pickup.slots import SlotRules
from shop.distributors import bookings, common
from shop.distributors.tokens import create_token
from shop.models import Role
from tests.support.distributors import (
    CLASSIC,
    OSMANTHUS,
    before_cutoff,
    local_day,
    make_distributor,
    make_user,
    open_day_from,
    setup_products,
    sign_in,
)


@pytest.fixture
def day() -> date:
    return open_day_from(local_day() + timedelta(days=3))


@pytest.fixture
def world(db: sessionmaker[Session], day: date) -> dict[str, Any]:
    setup_products(db, [day], cases_per_day=50)
    a, b = make_distributor(db, "TJ01"), make_distributor(db, "BJ01")
    with transaction(db) as s:
        token_a = create_token(s, a, "ERP A")
        token_b = create_token(s, b, "ERP B")
        return {
            "a": a,
            "b": b,
            "token_a": token_a.plaintext,
            "token_a_id": token_a.token.id,
            "token_b": token_b.plaintext,
        }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _book(client: FlaskClient, token: str, day: date, slot_id: int, cases: int = 1) -> Any:
    return client.post(
        "/api/v1/distributor/bookings",
        json={
            "day": day.isoformat(),
            "slot_id": slot_id,
            "lines": [{"sku": CLASSIC, "cases": cases}],
        },
        headers=_auth(token),
    )


def _slot_ids(client: FlaskClient, token: str, day: date) -> list[int]:
    response = client.get(f"/api/v1/distributor/slots?day={day.isoformat()}", headers=_auth(token))
    assert response.status_code == 200, response.get_json()
    return [s["id"] for s in response.get_json()["slots"]]


def test_slots_list_free_bays_and_a_holiday_has_none(
    app: Flask, world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    body = client.get(
        f"/api/v1/distributor/slots?day={day.isoformat()}", headers=_auth(world["token_a"])
    ).get_json()
    assert body["open"] is True and len(body["slots"]) == 12
    assert body["slots"][0]["start"] == "06:00" and body["slots"][0]["free"] == 4
    national_day = date(local_day().year + 1, 10, 1)
    closed = client.get(
        f"/api/v1/distributor/slots?day={national_day}", headers=_auth(world["token_a"])
    ).get_json()
    assert closed["open"] is False and closed["slots"] == []


def test_a_booking_over_the_api_is_made_changed_and_cancelled(
    app: Flask, world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    first, second = _slot_ids(client, world["token_a"], day)[:2]
    made = _book(client, world["token_a"], day, first, cases=2)
    assert made.status_code == 201, made.get_json()
    booking = made.get_json()
    assert booking["status"] == "confirmed" and booking["total_fen"] == 2 * 9600
    changed = client.patch(
        f"/api/v1/distributor/bookings/{booking['id']}",
        json={
            "slot_id": second,
            "lines": [{"sku": CLASSIC, "cases": 1}, {"sku": OSMANTHUS, "cases": 1}],
        },
        headers=_auth(world["token_a"]),
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["slot"]["id"] == second and changed.get_json()["version"] == 2
    cancelled = client.delete(
        f"/api/v1/distributor/bookings/{booking['id']}", headers=_auth(world["token_a"])
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_a_full_slot_answers_409_slot_full(app: Flask, world: dict[str, Any], day: date) -> None:
    client = app.test_client()
    slot = _slot_ids(client, world["token_a"], day)[0]
    assert all(_book(client, world["token_a"], day, slot).status_code == 201 for _ in range(4))
    refused = _book(client, world["token_b"], day, slot)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "slot_full"
    assert "slot full" in refused.get_json()["message"]


def test_distributor_a_s_token_cannot_read_or_change_b_s_bookings(
    app: Flask, world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    slot = _slot_ids(client, world["token_b"], day)[0]
    b_booking = _book(client, world["token_b"], day, slot).get_json()["id"]
    url = f"/api/v1/distributor/bookings/{b_booking}"
    assert client.get(url, headers=_auth(world["token_a"])).status_code == 404
    assert (
        client.patch(
            url, json={"lines": [{"sku": CLASSIC, "cases": 9}]}, headers=_auth(world["token_a"])
        ).status_code
        == 404
    )
    assert client.delete(url, headers=_auth(world["token_a"])).status_code == 404
    listed = client.get(
        f"/api/v1/distributor/bookings?start={day}&end={day}", headers=_auth(world["token_a"])
    ).get_json()
    assert listed == []
    still = client.get(url, headers=_auth(world["token_b"])).get_json()
    assert still["status"] == "confirmed" and still["lines"][0]["cases"] == 1


def test_a_revoked_or_unknown_token_is_refused_with_401(
    app: Flask, db: sessionmaker[Session], world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    assert (
        client.get(
            f"/api/v1/distributor/slots?day={day}", headers=_auth(world["token_a"])
        ).status_code
        == 200
    )
    user = make_user(db, "buyer@tj01.example", Role.DISTRIBUTOR, world["a"])
    sign_in(client, db, user)
    page = client.get("/distributor/tokens")
    from tests.support.web import csrf_from

    revoked = client.delete(
        f"/api/v1/distributor/tokens/{world['token_a_id']}",
        headers={"X-CSRF-Token": csrf_from(page.get_data(as_text=True))},
    )
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    anonymous = app.test_client()
    refused = anonymous.get(f"/api/v1/distributor/slots?day={day}", headers=_auth(world["token_a"]))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"
    assert (
        anonymous.get(
            f"/api/v1/distributor/slots?day={day}", headers=_auth("ggd_000000000000_nope")
        ).status_code
        == 401
    )
    assert anonymous.get(f"/api/v1/distributor/slots?day={day}").status_code == 401


def test_a_token_cannot_mint_more_tokens(app: Flask, world: dict[str, Any]) -> None:
    response = app.test_client().post(
        "/api/v1/distributor/tokens", json={"name": "x"}, headers=_auth(world["token_a"])
    )
    assert response.status_code == 403


def test_a_change_after_the_cut_off_is_refused_over_the_api(
    app: Flask, db: sessionmaker[Session], world: dict[str, Any]
) -> None:
    # Today's pickups: the cut-off was yesterday 20:00. The booking was made before it.
    past = open_day_from(local_day(), step=-1)
    setup_day = past
    from inventory import supply

    with transaction(db) as s:
        supply.set_planned_supply(s, "test-plan-2", {(CLASSIC, setup_day): 100})
        slot = common.day_slots(s, past, SlotRules())[0]
        booking = bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=world["a"],
            day=past,
            slot_id=slot.id,
            lines={CLASSIC: 1},
            now=before_cutoff(past),
        )
        booking_id = booking.id
    response = app.test_client().patch(
        f"/api/v1/distributor/bookings/{booking_id}",
        json={"lines": [{"sku": CLASSIC, "cases": 3}]},
        headers=_auth(world["token_a"]),
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "cutoff_passed" and "too late" in body["message"]


def test_standing_orders_are_created_listed_and_skipped_over_the_api(
    app: Flask, world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    created = client.post(
        "/api/v1/distributor/standing-orders",
        json={
            "slot_time": "06:15",
            "starts_on": day.isoformat(),
            "lines": [{"weekday": wd, "sku": CLASSIC, "cases": 2} for wd in range(5)],
        },
        headers=_auth(world["token_a"]),
    )
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["slot_time"] == "06:15" and len(order["lines"]) == 5
    listed = client.get(
        "/api/v1/distributor/standing-orders", headers=_auth(world["token_a"])
    ).get_json()
    assert [o["id"] for o in listed] == [order["id"]]
    assert (
        client.get(
            "/api/v1/distributor/standing-orders", headers=_auth(world["token_b"])
        ).get_json()
        == []
    )
    skipped = client.post(
        f"/api/v1/distributor/standing-orders/{order['id']}/skip",
        json={"day": day.isoformat()},
        headers=_auth(world["token_a"]),
    )
    assert skipped.status_code == 204
    other = client.post(
        f"/api/v1/distributor/standing-orders/{order['id']}/skip",
        json={"day": day.isoformat()},
        headers=_auth(world["token_b"]),
    )
    assert other.status_code == 404


def test_bad_input_is_a_422_with_field_messages_and_changes_nothing(
    app: Flask, world: dict[str, Any], day: date
) -> None:
    client = app.test_client()
    response = client.post(
        "/api/v1/distributor/bookings",
        json={"day": "tomorrow", "lines": []},
        headers=_auth(world["token_a"]),
    )
    assert response.status_code == 422
    assert "day" in response.get_json()["details"]["fields"]["json"]
    assert (
        client.get("/api/v1/distributor/bookings", headers=_auth(world["token_a"])).get_json() == []
    )


def test_the_distributor_api_is_in_the_one_openapi_document(app: Flask) -> None:
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert "/api/v1/distributor/bookings" in spec["paths"]
    assert "/api/v1/distributor/bookings/{booking_id}" in spec["paths"]
    assert "/api/v1/distributor/standing-orders" in spec["paths"]
    assert "/api/v1/distributor/slots" in spec["paths"]
