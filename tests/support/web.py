"""Helpers for tests that drive pages through the test client as a person would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def csrf_from(html: str) -> str:
    """The CSRF token the base layout puts in <meta name="csrf-token">."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "page has no csrf meta tag"
    return found.group(1)


def sign_in_with_password(client: FlaskClient, email: str, password: str) -> None:
    """Sign in through the real form, CSRF token and all."""
    token = csrf_from(client.get("/signin").get_data(as_text=True))
    response = client.post(
        "/signin",
        data={"csrf_token": token, "email": email, "password": password, "next": "/"},
    )
    assert response.status_code in (302, 303), response.status_code
