"""Sign-in throttling, sessions that end, the token API (issue 10.1) and the audit log."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shop.security.models import AuditEvent
from tests.shop.security.conftest import PASSWORD, Shop, signed_in
from tests.support.web import csrf_from


def _try_sign_in(client: object, email: str, password: str) -> int:
    page = client.get("/signin").get_data(as_text=True)  # type: ignore[attr-defined]
    response = client.post(  # type: ignore[attr-defined]
        "/signin", data={"csrf_token": csrf_from(page), "email": email, "password": password}
    )
    return int(response.status_code)


def test_fifty_wrong_passwords_lock_the_account_and_the_right_one_then_waits(
    app: Flask, shop: Shop, db: sessionmaker[Session]
) -> None:
    client = app.test_client()
    statuses = [_try_sign_in(client, shop.customer, f"wrong-{i}") for i in range(50)]
    limit = app.extensions["gaogan"].settings.signin_max_failures
    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}
    # Guessing right during the lock does not get in (and does not say it was right).
    assert _try_sign_in(client, shop.customer, PASSWORD) == 429
    response = client.post(
        "/signin",
        data={
            "csrf_token": csrf_from(client.get("/signin").get_data(as_text=True)),
            "email": shop.customer,
            "password": PASSWORD,
        },
    )
    assert int(response.headers["Retry-After"]) > 0
    assert "锁定" in response.get_data(as_text=True)
    with db() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert actions.count("signin.failed") == limit
    assert "signin.locked" in actions
    assert "signin.refused_locked" in actions


@pytest.fixture
def short_lock(app: Flask) -> None:
    runtime = app.extensions["gaogan"]
    runtime.settings = runtime.settings.with_overrides(signin_lock_seconds=1)


def test_the_owner_gets_in_after_the_lock_ends(app: Flask, shop: Shop, short_lock: None) -> None:
    client = app.test_client()
    for i in range(5):
        assert _try_sign_in(client, shop.customer, f"wrong-{i}") == 401
    assert _try_sign_in(client, shop.customer, PASSWORD) == 429
    time.sleep(2.1)
    assert _try_sign_in(client, shop.customer, PASSWORD) == 302


def test_a_manager_unlocks_an_account(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    for i in range(5):
        _try_sign_in(client, shop.customer, f"wrong-{i}")
    assert _try_sign_in(client, shop.customer, PASSWORD) == 429
    manager, csrf = signed_in(app, shop.manager)
    locks = manager.get("/api/v1/manager/locks").get_json()
    assert [lock["key"] for lock in locks] == [f"account:{shop.customer}"]
    page = manager.get("/manager/security/audit").get_data(as_text=True)
    assert "登录锁定" in page and shop.customer in page
    manager.post("/manager/security/unlock", data={"csrf_token": csrf, "key": locks[0]["key"]})
    assert _try_sign_in(app.test_client(), shop.customer, PASSWORD) == 302


def test_one_address_guessing_many_accounts_is_locked(app: Flask, shop: Shop) -> None:
    runtime = app.extensions["gaogan"]
    runtime.settings = runtime.settings.with_overrides(signin_address_max_failures=8)
    client = app.test_client()
    for i in range(8):
        assert _try_sign_in(client, f"nobody{i}@example.com", "x" * 8) == 401
    assert _try_sign_in(client, shop.customer, PASSWORD) == 429


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app: Flask, shop: Shop) -> None:
    client, csrf = signed_in(app, shop.customer)
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/account").status_code == 200
    client.post("/signout", data={"csrf_token": csrf})
    assert thief.get("/account").status_code == 302  # to the sign-in page


def test_a_manager_signs_a_user_out_everywhere(
    app: Flask, shop: Shop, db: sessionmaker[Session]
) -> None:
    client, _ = signed_in(app, shop.distributor)
    assert client.get("/distributor/").status_code == 200
    manager, csrf = signed_in(app, shop.manager)
    response = manager.post(
        "/manager/security/sign-out-everywhere",
        data={"csrf_token": csrf, "email": shop.distributor},
    )
    assert response.status_code in (302, 303)
    assert client.get("/distributor/").status_code == 302
    with db() as s:
        assert "session.ended_everywhere" in list(s.scalars(select(AuditEvent.action)))


def test_sessions_expire_when_idle_and_after_their_lifetime(app: Flask, shop: Shop) -> None:
    client, _ = signed_in(app, shop.customer)
    with client.session_transaction() as sess:
        sess["seen"] -= 121 * 60  # idle longer than the default 120 minutes
    assert client.get("/account").status_code == 302
    client, _ = signed_in(app, shop.customer)
    with client.session_transaction() as sess:
        sess["iat"] -= 8 * 24 * 3600  # older than the 7-day lifetime
    assert client.get("/account").status_code == 302


def test_creating_a_token_answers_201_with_the_secret_once(
    app: Flask, shop: Shop, db: sessionmaker[Session]
) -> None:
    """Issue 10.1: this answered 500 (the response was dumped twice) and the secret was lost."""
    client, csrf = signed_in(app, shop.distributor)
    response = client.post(
        "/api/v1/distributor/tokens", json={"name": "ERP"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["token"].startswith(f"ggd_{body['prefix']}_")
    assert body["created_at"] and body["revoked_at"] is None
    api = app.test_client()
    slots = api.get(
        "/api/v1/distributor/price-list", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert slots.status_code == 200
    listed = client.get("/api/v1/distributor/tokens").get_json()
    assert "token" not in listed[0] or not listed[0]["token"]
    revoked = client.delete(
        f"/api/v1/distributor/tokens/{body['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert revoked.status_code == 200
    with db() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert "token.created" in actions and "token.revoked" in actions


def test_token_creation_is_throttled(app: Flask, shop: Shop) -> None:
    client, csrf = signed_in(app, shop.distributor)
    limit = app.extensions["gaogan"].settings.token_creations_per_hour
    for i in range(limit):
        made = client.post(
            "/api/v1/distributor/tokens", json={"name": f"t{i}"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201
    refused = client.post(
        "/api/v1/distributor/tokens", json={"name": "one more"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_attempts"
    assert refused.headers["Retry-After"] == "3600"


def test_only_managers_read_the_audit_log(app: Flask, shop: Shop) -> None:
    _try_sign_in(app.test_client(), shop.customer, "wrong-password")
    for email in (shop.customer, shop.distributor):
        client, _ = signed_in(app, email)
        assert client.get("/api/v1/manager/audit").status_code == 403
        assert client.get("/manager/security/audit").status_code == 403
    manager, _ = signed_in(app, shop.manager)
    entries = manager.get("/api/v1/manager/audit?action=signin.failed").get_json()
    assert [e["subject"] for e in entries] == [shop.customer]
    page = manager.get("/manager/security/audit").get_data(as_text=True)
    assert "安全日志" in page and "登录失败" in page
