"""The address book: named delivery addresses on the account page and in the JSON API, one
default, each customer's own only; checkout takes an entry for a delivery."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inventory.db import transaction
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import Address, Order
from tests.shop.orders.conftest import Shop
from tests.shop.orders.test_store_pages import add_to_cart
from tests.support.web import csrf_from, sign_in_with_password

PASSWORD = "long-password"


def customer(app: Flask, shop: Shop, email: str) -> tuple[FlaskClient, str]:
    with transaction(shop.sessions) as s:
        create_user(s, email=email, name="王芳", password=PASSWORD, role=Role.CUSTOMER)
    client = app.test_client()
    sign_in_with_password(client, email, PASSWORD)
    return client, csrf_from(client.get("/account").get_data(as_text=True))


def entry(label: str, **changes: str) -> dict[str, str]:
    data = {
        "label": label,
        "recipient": "王芳",
        "phone": "13800138000",
        "zone": "tianjin",
        "address": "天津市河西区友谊路 1 号",
    }
    data.update(changes)
    return data


def book_of(shop: Shop, email: str) -> list[tuple[str, bool]]:
    from shop.models import User

    with shop.sessions() as s:
        uid = s.scalar(select(User.id).where(User.email == email))
        return [
            (a.label, a.is_default)
            for a in s.scalars(select(Address).where(Address.user_id == uid).order_by(Address.id))
        ]


def test_a_customer_keeps_named_addresses_with_one_default_on_the_account_page(
    app: Flask, shop: Shop
) -> None:
    client, token = customer(app, shop, "a@example.com")
    page = client.get("/account").get_data(as_text=True)
    assert "地址簿" in page and "还没有保存地址" in page
    answer = client.post("/account/addresses", data={"csrf_token": token, **entry("家")})
    assert answer.status_code == 302
    client.post(
        "/account/addresses",
        data={"csrf_token": token, **entry("公司", address="天津市南开区卫津路 92 号")},
    )
    # The first address is the default; the second is not until asked.
    assert book_of(shop, "a@example.com") == [("家", True), ("公司", False)]
    page = client.get("/account").get_data(as_text=True)
    assert "天津市南开区卫津路 92 号" in page and "默认" in page

    with shop.sessions() as s:
        home, office = (a.id for a in s.scalars(select(Address).order_by(Address.id)))
    client.post(f"/account/addresses/{office}/default", data={"csrf_token": token})
    assert book_of(shop, "a@example.com") == [("家", False), ("公司", True)]

    edit = client.get(f"/account/addresses/{home}/edit").get_data(as_text=True)
    assert "天津市河西区友谊路 1 号" in edit
    client.post(
        f"/account/addresses/{home}/edit",
        data={"csrf_token": token, **entry("父母家", recipient="王建国")},
    )
    with shop.sessions() as s:
        assert s.get_one(Address, home).recipient == "王建国"

    # Deleting needs the confirmation box; deleting the default hands it to the oldest left.
    client.post(f"/account/addresses/{office}/delete", data={"csrf_token": token})
    assert len(book_of(shop, "a@example.com")) == 2
    client.post(f"/account/addresses/{office}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert book_of(shop, "a@example.com") == [("父母家", True)]


def test_bad_address_input_is_refused_in_chinese_and_changes_nothing(
    app: Flask, shop: Shop
) -> None:
    client, token = customer(app, shop, "a@example.com")
    cases = {
        "phone": ("请填写快递员能打通的电话号码", entry("家", phone="快递")),
        "zone": ("请选择配送区域", entry("家", zone="mars")),
        "label": ("请给地址起个名称", entry("这是一个非常非常非常非常非常非常长的地址名称")),
        "address": ("请填写详细地址", entry("家", address="  ")),
    }
    for field, (wanted, data) in cases.items():
        answer = client.post("/account/addresses", data={"csrf_token": token, **data})
        assert answer.status_code == 422, field
        assert wanted in answer.get_data(as_text=True), field
    assert book_of(shop, "a@example.com") == []
    client.post("/account/addresses", data={"csrf_token": token, **entry("家")})
    twice = client.post("/account/addresses", data={"csrf_token": token, **entry("家")})
    assert twice.status_code == 422
    assert "已经有名为“家”的地址" in twice.get_data(as_text=True)
    assert book_of(shop, "a@example.com") == [("家", True)]


def test_customers_see_and_change_only_their_own_addresses(app: Flask, shop: Shop) -> None:
    alice, alice_token = customer(app, shop, "a@example.com")
    bob, bob_token = customer(app, shop, "b@example.com")
    alice.post("/account/addresses", data={"csrf_token": alice_token, **entry("家")})
    with shop.sessions() as s:
        home = s.scalar(select(Address.id))
    assert "天津市河西区友谊路 1 号" not in bob.get("/account").get_data(as_text=True)
    assert bob.get(f"/account/addresses/{home}/edit").status_code == 303
    bob.post(
        f"/account/addresses/{home}/edit",
        data={"csrf_token": bob_token, **entry("改", address="别人的地址")},
    )
    bob.post(f"/account/addresses/{home}/delete", data={"csrf_token": bob_token, "confirm": "yes"})
    bob.post(f"/account/addresses/{home}/default", data={"csrf_token": bob_token})
    assert book_of(shop, "a@example.com") == [("家", True)]
    with shop.sessions() as s:
        assert s.get_one(Address, home).address == "天津市河西区友谊路 1 号"
    # The API answers 404 for Alice's entry to Bob, as for an id that does not exist.
    headers = {"X-CSRF-Token": bob_token}
    assert bob.get(f"/api/v1/addresses/{home}").status_code == 404
    assert bob.put(f"/api/v1/addresses/{home}", json=entry("x"), headers=headers).status_code == 404
    assert bob.delete(f"/api/v1/addresses/{home}", headers=headers).status_code == 404
    assert bob.get("/api/v1/addresses").get_json() == []
    # Signed out: sent to sign in (pages) or 401 (API).
    stranger = app.test_client()
    assert stranger.get("/api/v1/addresses").status_code == 401
    assert stranger.get(f"/account/addresses/{home}/edit").status_code == 302


def test_the_address_api_adds_edits_sets_the_default_and_deletes(app: Flask, shop: Shop) -> None:
    client, token = customer(app, shop, "a@example.com")
    headers = {"X-CSRF-Token": token}
    first = client.post("/api/v1/addresses", json=entry("家"), headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["is_default"] is True
    assert first.get_json()["zone"] == "tianjin" and first.get_json()["zone_name_zh"]
    second = client.post(
        "/api/v1/addresses", json={**entry("公司"), "make_default": True}, headers=headers
    ).get_json()
    assert second["is_default"] is True
    listed = client.get("/api/v1/addresses").get_json()
    assert [(a["label"], a["is_default"]) for a in listed] == [("公司", True), ("家", False)]
    changed = client.put(
        f"/api/v1/addresses/{first.get_json()['id']}",
        json=entry("家", zone="beijing", address="北京市朝阳区 1 号"),
        headers=headers,
    )
    assert changed.status_code == 200 and changed.get_json()["zone"] == "beijing"
    made = client.post(f"/api/v1/addresses/{first.get_json()['id']}/default", headers=headers)
    assert made.get_json()["is_default"] is True
    assert client.delete(f"/api/v1/addresses/{second['id']}", headers=headers).status_code == 204
    assert [a["label"] for a in client.get("/api/v1/addresses").get_json()] == ["家"]

    bad = client.post("/api/v1/addresses", json=entry("新", phone="call me"), headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["message"] == "请填写快递员能打通的电话号码。"
    assert bad.get_json()["details"]["field"] == "phone"
    assert client.get(f"/api/v1/addresses/{2**40}").status_code == 404
    # Without the CSRF header a session request is refused.
    assert client.post("/api/v1/addresses", json=entry("无")).status_code in (400, 403)


def test_checkout_delivers_to_a_chosen_address_book_entry_and_refuses_another_customers(
    settings: Settings, shop: Shop
) -> None:
    # Delivery is offered with an online payment; the provider is unreachable here, so the
    # order stays waiting for payment, which is enough to see what it was placed with.
    online = settings.with_overrides(
        payment_provider="stripe",
        stripe_secret_key="sk_test_gaogan",
        stripe_publishable_key="pk_test_gaogan",
        stripe_api_base="http://127.0.0.1:9",
    )
    app = create_app(online)
    app.config["TESTING"] = True
    client, token = customer(app, shop, "a@example.com")
    client.post(
        "/account/addresses",
        data={
            "csrf_token": token,
            **entry("父母家", recipient="王建国", phone="13900001111", zone="tianjin"),
        },
    )
    with shop.sessions() as s:
        home = s.scalar(select(Address.id))
    add_to_cart(client, token, shop.open_day.isoformat())
    page = client.get("/checkout").get_data(as_text=True)
    assert 'name="address_id"' in page and "父母家" in page and "从地址簿选择" in page
    form = {
        "csrf_token": token,
        "name": "王芳",
        "mobile": "13800138000",
        "email": "a@example.com",
        "fulfilment": "delivery",
        "pickup_point": "factory",
        "delivery_zone": "",
        "delivery_address": "",
        "payment_method": "stripe",
        "notify_channel": "mail",
    }
    bob, bob_token = customer(app, shop, "b@example.com")
    add_to_cart(bob, bob_token, shop.open_day.isoformat())
    stolen = bob.post("/checkout", data={**form, "csrf_token": bob_token, "address_id": str(home)})
    assert stolen.status_code == 404
    assert "地址簿里没有这个地址" in stolen.get_data(as_text=True)
    with shop.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0

    placed = client.post("/checkout", data={**form, "address_id": str(home)})
    assert placed.status_code == 302, placed.get_data(as_text=True)
    with shop.sessions() as s:
        order = s.scalars(select(Order)).one()
        assert order.delivery_zone is not None and order.delivery_zone.code == "tianjin"
        assert order.delivery_address == "天津市河西区友谊路 1 号"
        assert (order.contact_name, order.contact_mobile) == ("王建国", "13900001111")
        assert order.contact_email == "a@example.com"
