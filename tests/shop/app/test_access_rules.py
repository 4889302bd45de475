"""Access rules found by a review: the session, not a header, decides; roles before input."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from tests.support.web import csrf_from, sign_in_with_password


def _signed_in(app: Flask, db: sessionmaker[Session], role: Role) -> FlaskClient:
    client = app.test_client()
    with transaction(db) as s:
        create_user(s, email="someone@example.com", name="x", password="long enough", role=role)
    sign_in_with_password(client, "someone@example.com", "long enough")
    return client


def test_a_junk_bearer_header_does_not_switch_off_csrf_for_a_signed_in_session(
    app: Flask, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db, Role.CUSTOMER)
    response = client.post("/signout", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 400
    assert client.get("/account").status_code == 200  # still signed in: nothing happened


def test_a_customer_gets_403_from_manager_apis_before_any_input_is_looked_at(
    app: Flask, db: sessionmaker[Session]
) -> None:
    client = _signed_in(app, db, Role.CUSTOMER)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    for path in (
        "/api/v1/planning/plans",
        "/api/v1/planning/scenarios",
        "/api/v1/planning/scenarios/compare",
    ):
        response = client.post(path, json={"nonsense": True}, headers={"X-CSRF-Token": token})
        assert response.status_code == 403, (path, response.get_json())
    assert client.get("/api/v1/planning/calendar?year=notayear").status_code == 403


def test_the_openapi_document_still_describes_the_manager_api_bodies(
    settings: Settings,
) -> None:
    spec = create_app(settings).test_client().get("/api/openapi.json").get_json()
    assert "requestBody" in spec["paths"]["/api/v1/planning/plans"]["post"]
