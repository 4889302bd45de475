from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from shop.auth import create_user
from shop.models import Role
from tests.support.web import sign_in_with_password

CONSOLE_LINKS = ("/manager/plan/", "/manager/scheduler", "/manager/batches", "/manager/pickups/")


def _signed_in_page(app: Flask, db: sessionmaker[Session], role: Role | None) -> str:
    client = app.test_client()
    if role is not None:
        with transaction(db) as s:
            create_user(
                s, email=f"{role.value}@example.com", name="x", password="long enough", role=role
            )
        sign_in_with_password(client, f"{role.value}@example.com", "long enough")
    return client.get("/").get_data(as_text=True)


def test_a_shopper_sees_no_console_links(app: Flask, db: sessionmaker[Session]) -> None:
    for role in (None, Role.CUSTOMER):
        page = _signed_in_page(app, db, role)
        assert not any(f'href="{link}"' in page for link in CONSOLE_LINKS), role


def test_a_manager_sees_the_console_links(app: Flask, db: sessionmaker[Session]) -> None:
    page = _signed_in_page(app, db, Role.MANAGER)
    assert all(f'href="{link}"' in page for link in CONSOLE_LINKS)
    assert 'href="/distributor/"' not in page
