"""Set-up shared by the security tests: a shop with products, a distributor and one account
of each role, and clients signed in through the real form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from shop.models import Role
from tests.support.distributors import (
    local_day,
    make_distributor,
    make_user,
    setup_products,
)
from tests.support.web import csrf_from, sign_in_with_password

PASSWORD = "long-enough-pw"


@dataclass(frozen=True)
class Shop:
    distributor_id: int
    customer: str
    distributor: str
    manager: str


@pytest.fixture
def shop(db: sessionmaker[Session]) -> Shop:
    today = local_day()
    setup_products(db, [today + timedelta(days=i) for i in range(0, 10)], 20)
    distributor_id = make_distributor(db, "TJ01")
    make_user(db, "buyer@example.com", Role.CUSTOMER)
    make_user(db, "dist@example.com", Role.DISTRIBUTOR, distributor_id)
    make_user(db, "boss@example.com", Role.MANAGER)
    return Shop(distributor_id, "buyer@example.com", "dist@example.com", "boss@example.com")


def signed_in(app: Flask, email: str) -> tuple[FlaskClient, str]:
    """A client signed in through the form, and its CSRF token."""
    client = app.test_client()
    sign_in_with_password(client, email, PASSWORD)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    return client, token
