"""The catalogue from the manager's side: products and gift boxes, photos, prices and their
history; a price change never alters an order already placed."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.supply import set_planned_supply
from scheduling.planning.calendar import set_calendar_entry
from shop.auth import create_user
from shop.distributors import accounts
from shop.models import Role
from shop.orders import placing
from shop.orders import services as orders
from shop.orders.models import Order
from shop.orders.rules import LineRequest
from tests.support.web import csrf_from, sign_in_with_password

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def people(db: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(db) as s:
        for role in (Role.MANAGER, Role.STAFF, Role.DISTRIBUTOR):
            create_user(
                s,
                email=f"{role.value}@example.com",
                name=f"{role.value}",
                password="long-enough-pw",
                role=role,
            )
        accounts.create_distributor(s, code="TJ01", company="TJ01 副食商行")
        orders.ensure_locations(s)
    return db


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    sign_in_with_password(client, f"{role}@example.com", "long-enough-pw")
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_from(client.get("/").get_data(as_text=True))
    return client


@pytest.fixture
def manager(app: Flask, people: sessionmaker[Session]) -> FlaskClient:
    return _client(app, "manager")


def test_a_manager_creates_a_gift_box_from_the_page_and_edits_it(manager: FlaskClient) -> None:
    page = manager.get("/manager/catalogue/").get_data(as_text=True)
    assert "商品与价格" in page
    response = manager.post(
        "/manager/catalogue/",
        data={
            "csrf_token": csrf_from(page),
            "sku": "gg-box-6",
            "name_zh": "六味糕干礼盒",
            "name_en": "Six-flavour gift box",
            "price": "128.00",
            "pack_size_g": "1200",
            "freshness_days": "2",
            "best_before_days": "7",
            "gift_box": "1",
            "contents_zh": "原味、桂花、红枣各两块",
            "channels": ["shop"],
            "active": "1",
        },
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert "已创建 GG-BOX-6" in body and "¥128.00" in body
    product = manager.get("/api/v1/manager/catalogue/products/GG-BOX-6").get_json()
    assert product["gift_box"] is True and product["channels"] == ["shop"]
    changed = manager.patch(
        "/api/v1/manager/catalogue/products/GG-BOX-6", json={"price_fen": 13800, "active": False}
    ).get_json()
    assert changed["price_fen"] == 13800 and changed["active"] is False
    history = manager.get("/api/v1/manager/catalogue/products/GG-BOX-6/price-history").get_json()
    assert [(h["old_fen"], h["new_fen"]) for h in history] == [(12800, 13800), (None, 12800)]
    assert history[0]["changed_by"] == "manager"


def test_bad_product_input_is_refused_in_both_languages(manager: FlaskClient) -> None:
    base = {
        "sku": "GG-X",
        "name_zh": "糕干",
        "name_en": "Gaogan",
        "price_fen": 1000,
        "pack_size_g": 250,
        "freshness_days": 9,
        "best_before_days": 7,
    }
    longer = manager.post("/api/v1/manager/catalogue/products", json=base)
    assert longer.status_code == 422
    assert longer.get_json()["message"] == "新鲜期不能长于保质期"
    assert "freshness" in longer.get_json()["details"]["message_en"]
    schema = manager.post(
        "/api/v1/manager/catalogue/products?lang=en", json={**base, "price_fen": -1}
    )
    assert (
        schema.status_code == 422 and "price_fen" in schema.get_json()["details"]["fields"]["json"]
    )
    ok = manager.post("/api/v1/manager/catalogue/products", json={**base, "freshness_days": 2})
    assert ok.status_code == 201
    again = manager.post("/api/v1/manager/catalogue/products", json={**base, "freshness_days": 2})
    assert again.status_code == 409


def test_a_price_change_never_alters_an_order_already_placed(
    manager: FlaskClient, people: sessionmaker[Session], settings: object
) -> None:
    created = manager.post(
        "/api/v1/manager/catalogue/products",
        json={
            "sku": "GG-CLASSIC",
            "name_zh": "杨村糕干",
            "name_en": "Yangcun gaogan",
            "price_fen": 1250,
            "pack_size_g": 250,
            "freshness_days": 2,
            "best_before_days": 7,
        },
    )
    assert created.status_code == 201
    day = local_day(utcnow()) + timedelta(days=3)
    with transaction(people) as s:
        set_planned_supply(s, "test", {("GG-CLASSIC", day): 50})
        set_calendar_entry(s, day, production=True)
        order = orders.place_order(
            s,
            placing.PlaceOrder(
                day=day,
                lines=[LineRequest("GG-CLASSIC", 2)],
                contact=placing.Contact("王芳", "13800138000", "w@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,  # type: ignore[arg-type]
            now=utcnow(),
            user_id=None,
        )
        public_id = order.public_id
    manager.patch("/api/v1/manager/catalogue/products/GG-CLASSIC", json={"price_fen": 1500})
    with people() as s:
        placed = s.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert placed.total_fen == 2500 and placed.lines[0].unit_price_fen == 1250


def test_case_packs_and_distributor_prices_are_set_with_history(
    manager: FlaskClient, people: sessionmaker[Session]
) -> None:
    manager.post(
        "/api/v1/manager/catalogue/products",
        json={
            "sku": "GG-CLASSIC",
            "name_zh": "杨村糕干",
            "name_en": "Yangcun gaogan",
            "price_fen": 1250,
            "pack_size_g": 250,
            "freshness_days": 2,
            "best_before_days": 7,
        },
    )
    page = manager.get("/manager/catalogue/GG-CLASSIC").get_data(as_text=True)
    assert "TJ01 副食商行" in page
    did = int(page.split('name="dist_')[1].split('"')[0])
    manager.post(
        "/manager/catalogue/GG-CLASSIC/prices",
        data={"csrf_token": csrf_from(page), "case_pieces": "10", f"dist_{did}": "96.00"},
    )
    raised = manager.put(
        f"/api/v1/manager/catalogue/distributor-prices/{did}/GG-CLASSIC",
        json={"case_price_fen": 9900},
    )
    assert raised.status_code == 200
    product = manager.get("/api/v1/manager/catalogue/products/GG-CLASSIC").get_json()
    assert product["case_pieces"] == 10
    history = manager.get("/api/v1/manager/catalogue/products/GG-CLASSIC/price-history").get_json()
    dist = [(h["old_fen"], h["new_fen"]) for h in history if h["price_list"] == "distributor"]
    assert dist == [(9600, 9900), (None, 9600)]
    page = manager.get("/manager/catalogue/GG-CLASSIC").get_data(as_text=True)
    assert "¥96.00 → ¥99.00" in page
    unknown = manager.put(
        "/api/v1/manager/catalogue/distributor-prices/99999/GG-CLASSIC",
        json={"case_price_fen": 9900},
    )
    assert unknown.status_code == 404


def test_a_photo_is_stored_under_the_instance_folder_and_a_non_image_is_refused(
    app: Flask, manager: FlaskClient
) -> None:
    manager.post(
        "/api/v1/manager/catalogue/products",
        json={
            "sku": "GG-PHOTO",
            "name_zh": "糕干",
            "name_en": "Gaogan",
            "price_fen": 1250,
            "pack_size_g": 250,
            "freshness_days": 2,
            "best_before_days": 7,
        },
    )
    uploaded = manager.post(
        "/api/v1/manager/catalogue/products/GG-PHOTO/image",
        data={"image": (io.BytesIO(PNG), "../../evil.exe")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 200 and uploaded.get_json()["image_file"] == "GG-PHOTO.png"
    assert (Path(app.instance_path) / "product_images" / "GG-PHOTO.png").read_bytes() == PNG
    served = manager.get("/catalogue/images/GG-PHOTO")
    assert served.status_code == 200 and served.data == PNG
    refused = manager.post(
        "/api/v1/manager/catalogue/products/GG-PHOTO/image",
        data={"image": (io.BytesIO(b"MZ not a picture"), "a.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "PNG" in refused.get_json()["message"]


def test_staff_and_distributors_are_refused_the_catalogue(
    app: Flask, people: sessionmaker[Session]
) -> None:
    for role in ("staff", "distributor"):
        client = _client(app, role)
        assert client.get("/manager/catalogue/").status_code == 403
        assert client.get("/api/v1/manager/catalogue/products").status_code == 403
