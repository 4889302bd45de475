"""Distributor onboarding from the manager's side: an account with contacts, terms and a
price list, a portal user invited by link, suspension, and payments against the statement."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.supply import set_planned_supply
from scheduling.pickup.slots import SlotRules
from scheduling.planning.calendar import set_calendar_entry
from shop.auth import create_user
from shop.distributors import bookings, prices
from shop.distributors.common import day_slots
from shop.distributors.models import BookingStatus
from shop.models import Role
from tests.support.web import csrf_from, sign_in_with_password

TODAY = local_day(utcnow())


@pytest.fixture
def manager(app: Flask, db: sessionmaker[Session]) -> FlaskClient:
    with transaction(db) as s:
        create_product(s, "GG-CLASSIC", "杨村糕干", "Yangcun gaogan", 1250, 250, 2, 7)
        prices.set_case_pack(s, "GG-CLASSIC", 10)
        for role in (Role.MANAGER, Role.STAFF):
            create_user(
                s,
                email=f"{role.value}@example.com",
                name=role.value,
                password="long-enough-pw",
                role=role,
            )
    client = app.test_client()
    sign_in_with_password(client, "manager@example.com", "long-enough-pw")
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_from(client.get("/").get_data(as_text=True))
    return client


def _create(manager: FlaskClient) -> int:
    page = manager.get("/manager/distributors/").get_data(as_text=True)
    response = manager.post(
        "/manager/distributors/",
        data={
            "csrf_token": csrf_from(page),
            "code": "bj02",
            "company": "北京稻香副食",
            "region": "北京",
            "credit_limit": "5000",
            "payment_days": "30",
            "preference": "pickup",
            "preferred_slot": "06:15",
            "contact_name_0": "刘经理",
            "contact_phone_0": "13911112222",
            "contact_role_0": "采购",
        },
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert "已创建经销商 BJ02" in body and "刘经理" in body
    found = re.search(r"/manager/distributors/(\d+)/statement", body)
    assert found
    return int(found.group(1))


def test_a_distributor_is_onboarded_with_a_price_list_and_a_portal_user_by_invitation(
    app: Flask, manager: FlaskClient, db: sessionmaker[Session]
) -> None:
    did = _create(manager)
    page = manager.get(f"/manager/distributors/{did}").get_data(as_text=True)
    manager.post(
        f"/manager/distributors/{did}/prices",
        data={"csrf_token": csrf_from(page), "price_GG-CLASSIC": "96.00"},
    )
    invited = manager.post(
        f"/manager/distributors/{did}/users",
        data={"csrf_token": csrf_from(page), "name": "小刘", "email": "liu@bj02.example"},
        follow_redirects=True,
    ).get_data(as_text=True)
    link = re.search(r"http://[^ <]+/invite/([A-Za-z0-9_-]+)", invited)
    assert link, invited
    token = link.group(1)

    visitor = app.test_client()
    form = visitor.get(f"/invite/{token}").get_data(as_text=True)
    assert "liu@bj02.example" in form and "设置密码" in form
    short = visitor.post(f"/invite/{token}", data={"csrf_token": csrf_from(form), "password": "x"})
    assert short.status_code == 422
    done = visitor.post(
        f"/invite/{token}", data={"csrf_token": csrf_from(form), "password": "bj02-portal-pw"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/distributor/")
    portal = visitor.get("/distributor/").get_data(as_text=True)
    assert "北京稻香副食" in portal and "¥96.00" in portal
    assert visitor.get(f"/invite/{token}").status_code == 404  # used once
    again = app.test_client()
    sign_in_with_password(again, "liu@bj02.example", "bj02-portal-pw")
    assert again.get("/manager/distributors/").status_code == 403


def test_a_suspended_account_cannot_book_and_payments_reduce_the_statement_balance(
    manager: FlaskClient, db: sessionmaker[Session]
) -> None:
    did = _create(manager)
    manager.put(f"/api/v1/manager/distributors/{did}/prices", json={"prices": {"GG-CLASSIC": 9600}})
    day = TODAY - timedelta(days=1)
    with transaction(db) as s:
        set_planned_supply(
            s, "t", {("GG-CLASSIC", day): 100, ("GG-CLASSIC", TODAY + timedelta(days=3)): 100}
        )
        set_calendar_entry(s, day, production=True)
        slot = day_slots(s, day, SlotRules())[0].id
        booking = bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=did,
            day=day,
            slot_id=slot,
            lines={"GG-CLASSIC": 3},
            now=utcnow() - timedelta(days=3),
            enforce_cutoff=False,
        )
        # Collected: the statement's charge (3 cases at ¥96).
        booking.status = BookingStatus.COLLECTED
    paid = manager.post(
        f"/api/v1/manager/distributors/{did}/payments",
        json={
            "amount_fen": 10000,
            "received_on": TODAY.isoformat(),
            "method": "transfer",
            "reference": "BOC-1",
        },
    )
    assert paid.status_code == 201 and paid.get_json()["balance_fen"] == 28800 - 10000
    future = manager.post(
        f"/api/v1/manager/distributors/{did}/payments",
        json={
            "amount_fen": 1,
            "received_on": (TODAY + timedelta(days=1)).isoformat(),
            "method": "cash",
        },
    )
    assert future.status_code == 422 and future.get_json()["details"]["message_en"]
    month = f"year={day.year}&month={day.month}"
    st = manager.get(f"/api/v1/manager/distributors/{did}/statement?{month}").get_json()
    assert st["charges_fen"] == 28800 and st["lines"][0]["cases"] == 3
    html = manager.get(f"/manager/distributors/{did}/statement?month={day.year}-{day.month:02d}")
    assert "¥288.00" in html.get_data(as_text=True)
    csv_body = manager.get(
        f"/manager/distributors/{did}/statement.csv?month={day.year}-{day.month:02d}"
    ).get_data(as_text=True)
    assert "collected,B" in csv_body and ",28800" in csv_body

    off = manager.put(f"/api/v1/manager/distributors/{did}/active", json={"active": False})
    assert off.get_json()["active"] is False
    with transaction(db) as s, pytest.raises(Exception, match="suspended"):
        later = TODAY + timedelta(days=3)
        set_calendar_entry(s, later, production=True)
        bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=did,
            day=later,
            slot_id=day_slots(s, later, SlotRules())[0].id,
            lines={"GG-CLASSIC": 1},
            now=utcnow(),
        )


def test_bad_accounts_are_refused_in_both_languages(manager: FlaskClient) -> None:
    body = {"code": "TJ9", "company": "天津", "preferred_slot": "25:00"}
    bad = manager.post("/api/v1/manager/distributors", json=body)
    assert (
        bad.status_code == 422 and "preferred_slot" in bad.get_json()["details"]["fields"]["json"]
    )
    ok = manager.post("/api/v1/manager/distributors", json={"code": "TJ9", "company": "天津"})
    assert ok.status_code == 201
    taken = manager.post(
        "/api/v1/manager/distributors?lang=en", json={"code": "tj9", "company": "x"}
    )
    assert taken.status_code == 409 and "TJ9 already exists" in taken.get_json()["message"]
    assert manager.get("/api/v1/manager/distributors/99999").status_code == 404
    assert manager.get("/invite/not-a-token").status_code == 404


def test_staff_cannot_onboard_distributors(app: Flask, manager: FlaskClient) -> None:
    staff = app.test_client()
    sign_in_with_password(staff, "staff@example.com", "long-enough-pw")
    assert staff.get("/manager/distributors/").status_code == 403
    assert staff.get("/api/v1/manager/distributors").status_code == 403
