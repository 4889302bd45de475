"""Password reset by an emailed link, for every role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from shop.auth import create_user
from shop.models import Role
from shop.orders.notifications import mails_in
from tests.support.web import csrf_from, sign_in_with_password


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.STAFF, "/manager/orders/"),
        (Role.MANAGER, "/manager/orders/"),
        (Role.CUSTOMER, "/account"),
    ],
)
def test_a_reset_link_by_mail_sets_a_new_password_once(
    app: Flask, db: sessionmaker[Session], settings: Settings, role: Role, home: str
) -> None:
    with transaction(db) as s:
        create_user(s, email="who@example.com", name="小王", password="old-password-1", role=role)
    client = app.test_client()
    page = client.get("/password/forgot").get_data(as_text=True)
    assert "忘记密码" in page
    sent = client.post(
        "/password/forgot",
        data={"csrf_token": csrf_from(page), "email": "Who@Example.com"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "如果该邮箱有账号" in sent
    mails = mails_in(Path(settings.mail_dir))
    assert [m["to"] for m in mails] == ["who@example.com"]
    link = re.search(r"/invite/([A-Za-z0-9_-]+)", mails[0]["body"])
    assert link and "重置密码" in mails[0]["subject"]
    form = client.get(f"/invite/{link.group(1)}").get_data(as_text=True)
    done = client.post(
        f"/invite/{link.group(1)}",
        data={"csrf_token": csrf_from(form), "password": "new-password-2"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(home)
    assert client.get(f"/invite/{link.group(1)}").status_code == 404
    fresh = app.test_client()
    sign_in_with_password(fresh, "who@example.com", "new-password-2")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    app: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    client = app.test_client()
    page = client.get("/password/forgot").get_data(as_text=True)
    sent = client.post(
        "/password/forgot",
        data={"csrf_token": csrf_from(page), "email": "nobody@example.com"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "如果该邮箱有账号" in sent
    assert mails_in(Path(settings.mail_dir)) == []


def test_reset_requests_for_one_address_are_throttled_and_say_so_in_chinese(
    app: Flask, db: sessionmaker[Session], settings: Settings
) -> None:
    with transaction(db) as s:
        create_user(
            s, email="who@example.com", name="小王", password="old-password-1", role=Role.CUSTOMER
        )
    client = app.test_client()
    answers = []
    for _ in range(settings.signin_max_failures + 1):
        page = client.get("/password/forgot").get_data(as_text=True)
        answers.append(
            client.post(
                "/password/forgot", data={"csrf_token": csrf_from(page), "email": "who@example.com"}
            )
        )
    assert [r.status_code for r in answers[:-1]] == [302] * settings.signin_max_failures
    refused = answers[-1]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "尝试次数过多" in refused.get_data(as_text=True)
    # One mail per request that was let through, none for the refused one.
    assert len(mails_in(Path(settings.mail_dir))) == settings.signin_max_failures
