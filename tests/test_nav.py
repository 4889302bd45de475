from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role

CONSOLE_LINKS = ("/manager/plan/", "/manager/scheduler", "/manager/batches", "/manager/pickups/")


def _signed_in_page(settings: Settings, db: sessionmaker[Session], role: Role | None) -> str:
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    if role is not None:
        with transaction(db) as s:
            create_user(
                s, email=f"{role.value}@example.com", name="x", password="long enough", role=role
            )
        page = client.get("/signin").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/signin",
            data={
                "csrf_token": token,
                "email": f"{role.value}@example.com",
                "password": "long enough",
                "next": "/",
            },
        )
        assert response.status_code in (302, 303)
    return client.get("/").get_data(as_text=True)


def test_a_shopper_sees_no_console_links(settings: Settings, db: sessionmaker[Session]) -> None:
    for role in (None, Role.CUSTOMER):
        page = _signed_in_page(settings, db, role)
        assert not any(f'href="{link}"' in page for link in CONSOLE_LINKS), role


def test_a_manager_sees_the_console_links(settings: Settings, db: sessionmaker[Session]) -> None:
    page = _signed_in_page(settings, db, Role.MANAGER)
    assert all(f'href="{link}"' in page for link in CONSOLE_LINKS)
    assert 'href="/distributor/"' not in page
