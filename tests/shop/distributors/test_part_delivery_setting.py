"""The distributor's "accept part delivery" (接受部分交付) setting: off by default (whole
bookings only), changed by the distributor in the portal and through its API, and by the
manager on the onboarding page and API; bad input is a 4xx that changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from inventory.db import transaction
from inventory.models import OutboxEvent
from shop.distributors.models import Booking, Distributor
from shop.distributors.tokens import create_token
from tests.shop.conftest import Desk
from tests.support.web import csrf_from


def _accepts(desk: Desk) -> bool:
    with desk.sessions() as s:
        distributor_id = s.get_one(Booking, desk.booking_id).distributor_id
        return s.get_one(Distributor, distributor_id).accept_part_delivery


def _changes(desk: Desk) -> list[dict[str, object]]:
    with desk.sessions() as s:
        return [
            dict(p)
            for p in s.scalars(
                select(OutboxEvent.payload)
                .where(OutboxEvent.type == "distributor.settings_changed")
                .order_by(OutboxEvent.id)
            )
        ]


def test_the_portal_settings_page_turns_part_delivery_on_and_off(
    client_as: Callable[[str], FlaskClient], desk: Desk
) -> None:
    portal = client_as("distributor")
    page = portal.get("/distributor/settings").get_data(as_text=True)
    assert "接受部分交付" in page and "只接受整单交付" in page
    assert 'name="accept_part_delivery" value="1" >' in page  # not checked: today's rule
    assert _accepts(desk) is False

    saved = portal.post(
        "/distributor/settings", data={"csrf_token": csrf_from(page), "accept_part_delivery": "1"}
    )
    assert saved.status_code == 302
    page = portal.get("/distributor/settings").get_data(as_text=True)
    assert 'value="1" checked' in page and "设置已保存" in page
    assert _accepts(desk) is True
    week = portal.get("/distributor/").get_data(as_text=True)
    assert 'id="part-delivery-state">接受部分交付' in week

    portal.post("/distributor/settings", data={"csrf_token": csrf_from(page)})
    assert _accepts(desk) is False
    assert [(c["accept_part_delivery"], c["by"]) for c in _changes(desk)] == [
        (True, "distributor@example.com"),
        (False, "distributor@example.com"),
    ]


def test_the_settings_form_needs_its_csrf_token_and_a_distributor(
    client_as: Callable[[str], FlaskClient], desk: Desk
) -> None:
    portal = client_as("distributor")
    portal.environ_base.pop("HTTP_X_CSRF_TOKEN", None)
    refused = portal.post("/distributor/settings", data={"accept_part_delivery": "1"})
    assert refused.status_code == 400
    assert client_as("customer").get("/distributor/settings").status_code == 403
    assert _accepts(desk) is False


def test_the_distributor_api_reads_and_sets_it_and_refuses_nonsense(
    desk_app: Flask, desk: Desk
) -> None:
    with transaction(desk.sessions) as s:
        distributor_id = s.get_one(Booking, desk.booking_id).distributor_id
        token = create_token(s, distributor_id, "ERP").plaintext
    api = desk_app.test_client()  # a distributor's own system: the token says who it is
    headers = {"Authorization": f"Bearer {token}"}
    got = api.get("/api/v1/distributor/settings", headers=headers)
    assert got.status_code == 200 and got.get_json() == {"accept_part_delivery": False}

    for bad in ({"accept_part_delivery": "perhaps"}, {}, {"accept_part_delivery": None}):
        refused = api.put("/api/v1/distributor/settings", json=bad, headers=headers)
        assert refused.status_code == 422, bad
        assert "accept_part_delivery" in str(refused.get_json())
    assert _accepts(desk) is False

    put = api.put(
        "/api/v1/distributor/settings", json={"accept_part_delivery": True}, headers=headers
    )
    assert put.status_code == 200 and put.get_json() == {"accept_part_delivery": True}
    assert _accepts(desk) is True
    assert _changes(desk)[-1]["by"] == f"api-token:distributor:{distributor_id}"
    assert api.get("/api/v1/distributor/settings").status_code == 401  # no token, no session
    booking = api.get(f"/api/v1/distributor/bookings/{desk.booking_id}", headers=headers)
    assert booking.get_json()["lines"][0]["ordered_cases"] is None
    spec = api.get("/api/openapi.json").get_json()
    assert "/api/v1/distributor/settings" in spec["paths"]


def test_the_manager_sets_it_on_the_onboarding_page_and_api(
    client_as: Callable[[str], FlaskClient], desk: Desk
) -> None:
    with desk.sessions() as s:
        distributor_id = s.get_one(Booking, desk.booking_id).distributor_id
    manager = client_as("manager")
    page = manager.get(f"/manager/distributors/{distributor_id}").get_data(as_text=True)
    assert 'name="accept_part_delivery"' in page and "接受部分交付" in page
    form = {
        "csrf_token": csrf_from(page),
        "company": "TJ01 副食商行",
        "region": "天津",
        "payment_days": "30",
        "preference": "pickup",
        "accept_part_delivery": "1",
    }
    assert manager.post(f"/manager/distributors/{distributor_id}", data=form).status_code == 302
    assert _accepts(desk) is True
    page = manager.get(f"/manager/distributors/{distributor_id}").get_data(as_text=True)
    assert 'name="accept_part_delivery" value="1" checked' in page

    base = f"/api/v1/manager/distributors/{distributor_id}"
    body = {"company": "TJ01 副食商行", "region": "天津"}
    kept = manager.put(base, json=body)  # the field left out: the setting stays as it is
    assert kept.status_code == 200 and kept.get_json()["accept_part_delivery"] is True
    off = manager.put(base, json={**body, "accept_part_delivery": False})
    assert off.status_code == 200 and off.get_json()["accept_part_delivery"] is False
    bad = manager.put(base, json={**body, "accept_part_delivery": "sometimes"})
    assert bad.status_code == 422
    assert _accepts(desk) is False
    assert [c["by"] for c in _changes(desk)] == ["manager@example.com"] * 2
