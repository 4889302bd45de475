"""A manager creates manager and staff accounts from the browser; staff see the desk only."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from shop.auth import create_user
from shop.models import Role, User
from tests.support.web import csrf_from, sign_in_with_password


def _person(db: sessionmaker[Session], role: Role) -> str:
    email = f"{role.value}@example.com"
    with transaction(db) as s:
        create_user(s, email=email, name=role.value, password="long-enough-pw", role=role)
    return email


def _signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    sign_in_with_password(client, email, "long-enough-pw")
    return client


def test_a_manager_creates_a_staff_account_who_can_use_the_desk_but_not_the_catalogue(
    app: Flask, db: sessionmaker[Session]
) -> None:
    manager = _signed_in(app, _person(db, Role.MANAGER))
    page = manager.get("/manager/staff/").get_data(as_text=True)
    assert "经理与员工账号" in page
    response = manager.post(
        "/manager/staff/",
        data={
            "csrf_token": csrf_from(page),
            "email": "Counter@Example.com",
            "name": "柜台小张",
            "password": "counter-pass-1",
            "role": "staff",
        },
        follow_redirects=True,
    )
    assert "已创建 柜台小张 的账号" in response.get_data(as_text=True)
    with db() as s:
        assert s.scalars(select(User.role).where(User.email == "counter@example.com")).one() == (
            Role.STAFF
        )
    staff = app.test_client()
    sign_in_with_password(staff, "counter@example.com", "counter-pass-1")
    desk = staff.get("/manager/orders/")
    assert desk.status_code == 200 and "订单台" in desk.get_data(as_text=True)
    assert staff.get("/manager/pickups/").status_code == 200
    for refused in ("/manager/staff/", "/manager/plan/", "/manager/batches"):
        assert staff.get(refused).status_code == 403, refused
    assert staff.get("/api/v1/manager/users").status_code == 403
    nav = desk.get_data(as_text=True)
    assert "/manager/orders/" in nav and "/manager/plan/" not in nav


def test_the_api_creates_accounts_and_says_what_was_wrong_in_both_languages(
    app: Flask, db: sessionmaker[Session]
) -> None:
    manager = _signed_in(app, _person(db, Role.MANAGER))
    token = csrf_from(manager.get("/manager/staff/").get_data(as_text=True))
    headers = {"X-CSRF-Token": token}
    body = {"email": "m2@example.com", "name": "二号经理", "password": "long-enough-2"}
    created = manager.post(
        "/api/v1/manager/users", json={**body, "role": "manager"}, headers=headers
    )
    assert created.status_code == 201 and created.get_json()["role"] == "manager"
    again = manager.post("/api/v1/manager/users", json={**body, "role": "manager"}, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["message"] == "该邮箱已有账号"
    assert again.get_json()["details"]["message_en"] == "an account with this email already exists"
    customer = manager.post(
        "/api/v1/manager/users?lang=en",
        json={**body, "email": "c@example.com", "role": "customer"},
        headers=headers,
    )
    assert customer.status_code == 422
    assert customer.get_json()["message"].startswith("some input is not valid")
    assert "role" in customer.get_json()["details"]["fields"]["json"]


def test_a_disabled_account_cannot_sign_in_and_a_manager_cannot_disable_themself(
    app: Flask, db: sessionmaker[Session]
) -> None:
    manager = _signed_in(app, _person(db, Role.MANAGER))
    _person(db, Role.STAFF)
    with db() as s:
        ids = {u.email: u.id for u in s.scalars(select(User))}
    token = csrf_from(manager.get("/manager/staff/").get_data(as_text=True))
    headers = {"X-CSRF-Token": token}
    off = manager.patch(
        f"/api/v1/manager/users/{ids['staff@example.com']}", json={"active": False}, headers=headers
    )
    assert off.status_code == 200 and off.get_json()["active"] is False
    refused = app.test_client()
    page = refused.get("/signin").get_data(as_text=True)
    response = refused.post(
        "/signin",
        data={
            "csrf_token": csrf_from(page),
            "email": "staff@example.com",
            "password": "long-enough-pw",
        },
    )
    assert response.status_code == 401
    myself = manager.patch(
        f"/api/v1/manager/users/{ids['manager@example.com']}",
        json={"active": False},
        headers=headers,
    )
    assert myself.status_code == 409 and "自己" in myself.get_json()["message"]
    unknown = manager.patch("/api/v1/manager/users/999999", json={"active": True}, headers=headers)
    assert unknown.status_code == 404


def test_disabling_and_enabling_an_account_is_audited_and_signs_it_out_everywhere(
    db: sessionmaker[Session],
) -> None:
    from shop.security.models import AuditEvent
    from shop.staff import services

    with transaction(db) as s:
        boss = create_user(
            s, email="boss@example.com", name="经理", password="pw-long-enough-1", role=Role.MANAGER
        )
        clerk = create_user(
            s, email="clerk@example.com", name="店员", password="pw-long-enough-2", role=Role.STAFF
        )
        version = clerk.session_version
    with transaction(db) as s:
        services.set_active(s, clerk.id, False, acting_user_id=boss.id)
        services.set_active(s, clerk.id, False, acting_user_id=boss.id)  # twice: one record
    with transaction(db) as s:
        services.set_active(s, clerk.id, True, acting_user_id=boss.id)
    with db() as s:
        actions = [
            (e.action, e.subject)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["user.disabled", "user.enabled"]))
                .order_by(AuditEvent.id)
            )
        ]
        after = s.get_one(User, clerk.id).session_version
    assert actions == [
        ("user.disabled", "clerk@example.com"),
        ("user.enabled", "clerk@example.com"),
    ]
    assert after == version + 1  # every cookie of the disabled account stopped working
