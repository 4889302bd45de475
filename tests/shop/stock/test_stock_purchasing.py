"""Stock and purchasing from the manager's side: receipts, adjustments, write-offs, the
material requirements of the published plan, purchase orders, and the plan that was bound
by rice stock until the rice came in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product, create_raw_material
from inventory.db import transaction, utcnow
from inventory.models import LedgerEntry, LedgerKind, Lot
from inventory.rules import current_crop_year, local_day
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.plans import PlanRequest, create_plan, publish_plan
from scheduling.planning.recipes import set_recipe
from shop.auth import create_user
from shop.models import Role
from shop.stock.models import StockReceipt
from shop.stock.rules import requirement
from tests.support.web import csrf_from, sign_in_with_password

TODAY = local_day(utcnow())
CROP = current_crop_year(TODAY)


@pytest.fixture
def plant(db: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(db) as s:
        for i, sku in enumerate(("GG-CLASSIC", "GG-OSMANTHUS")):
            create_product(s, sku, f"糕干{i}", f"Gaogan {i}", 1250, 250, 2, 7)
            set_recipe(
                s,
                sku,
                rice_g=180,
                sugar_g=50,
                units_per_tray=24,
                loss_fraction=0.04,
                labour_minutes={"mould": 0.35, "stack": 0.15},
            )
        create_raw_material(s, "RICE", "rice", "新米（粳米）", "New-crop rice")
        create_raw_material(s, "SUGAR", "sugar", "绵白糖", "Soft white sugar")
        create_raw_material(s, "BAG-250", "packaging", "枕式包装袋", "Pillow-pack bag")
        seed_sales_history(s, latest_festival_year=TODAY.year, everyday_per_product=300)
        for role in (Role.MANAGER, Role.STAFF, Role.CUSTOMER):
            create_user(
                s,
                email=f"{role.value}@example.com",
                name=role.value,
                password="long-enough-pw",
                role=role,
            )
    return db


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    sign_in_with_password(client, f"{role}@example.com", "long-enough-pw")
    token = csrf_from(client.get("/").get_data(as_text=True))
    client.environ_base["HTTP_X_CSRF_TOKEN"] = token
    return client


@pytest.fixture
def manager(app: Flask, plant: sessionmaker[Session]) -> Iterator[FlaskClient]:
    yield _client(app, "manager")


def _plan(db: sessionmaker[Session], *, limit: bool) -> tuple[int, int]:
    start = TODAY + timedelta(days=1)
    with transaction(db) as s:
        plan = create_plan(
            s,
            PlanRequest(
                start=start, end=start + timedelta(days=2), limit_materials=limit, time_limit=10
            ),
            now=utcnow(),
        )
        return plan.id, plan.unmet_total


def test_a_plan_bound_by_rice_stock_is_no_longer_bound_after_the_rice_receipt(
    manager: FlaskClient, plant: sessionmaker[Session]
) -> None:
    receipt = {"sku": "SUGAR", "quantity": 1_000_000, "supplier": "天津糖业"}
    assert manager.post("/api/v1/manager/stock/receipts", json=receipt).status_code == 201
    small = {"sku": "RICE", "quantity": 20_000, "crop_year": CROP, "supplier": "杨村粮站"}
    assert manager.post("/api/v1/manager/stock/receipts", json=small).status_code == 201
    _, unbound = _plan(plant, limit=False)
    _, bound = _plan(plant, limit=True)
    assert bound > unbound  # 20 kg of rice cannot make three days of orders

    rice = {
        "sku": "RICE",
        "quantity": 500_000,
        "crop_year": CROP,
        "moisture_tenths": 142,
        "supplier": "武清区杨村粮站",
        "best_before": (TODAY + timedelta(days=180)).isoformat(),
    }
    created = manager.post("/api/v1/manager/stock/receipts", json=rice)
    assert created.status_code == 201, created.get_json()
    plan_id, after = _plan(plant, limit=True)
    assert after == unbound

    # The published plan's needs against stock: rice and sugar covered, no bags at all.
    with transaction(plant) as s:
        publish_plan(s, plan_id)
    req = {
        m["sku"]: m
        for m in manager.get("/api/v1/manager/stock/requirements").get_json()["materials"]
    }
    assert req["RICE"]["short_total"] == 0 and req["SUGAR"]["short_total"] == 0
    assert req["BAG-250"]["short_total"] == req["BAG-250"]["need_total"] > 0
    assert req["BAG-250"]["order_by"] == TODAY.isoformat()  # needed tomorrow: order now

    # Damp sugar written off: the sugar now runs short and the page suggests buying it.
    sugar_lot = manager.get("/api/v1/manager/stock/lots").get_json()
    code = next(lot["code"] for lot in sugar_lot if lot["sku"] == "SUGAR")
    off = manager.post(
        f"/api/v1/manager/stock/lots/{code}/write-off",
        json={"quantity": 990_000, "reason": "仓库漏雨受潮"},
    )
    assert off.status_code == 200 and off.get_json()["on_hand"] == 10_000
    page = manager.get("/manager/stock/requirements").get_data(as_text=True)
    assert 'data-sku="SUGAR" data-short="0"' not in page
    assert "建议采购" in page and "生成采购单" in page


def test_receipts_keep_moisture_and_who_took_them_in_and_old_crop_is_flagged(
    manager: FlaskClient, plant: sessionmaker[Session]
) -> None:
    token = csrf_from(manager.get("/manager/stock/").get_data(as_text=True))
    response = manager.post(
        "/manager/stock/receipts",
        data={
            "csrf_token": token,
            "sku": "RICE",
            "quantity": "500",
            "crop_year": str(CROP),
            "moisture": "14.2",
            "supplier": "武清区杨村粮站",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "已入库批次 RICE-" in page and "500.0 kg" in page and "14.2%" in page
    manager.post(
        "/manager/stock/receipts",
        data={
            "csrf_token": token,
            "sku": "RICE",
            "quantity": "50",
            "crop_year": str(CROP - 1),
            "lot_code": "RICE-OLD-1",
        },
    )
    page = manager.get("/manager/stock/").get_data(as_text=True)
    assert page.count("陈米：批次不可使用") == 1
    with plant() as s:
        receipt = s.scalars(select(StockReceipt).order_by(StockReceipt.id)).first()
        assert receipt is not None and receipt.moisture_tenths == 142
    lots = {lot["code"]: lot for lot in manager.get("/api/v1/manager/stock/lots").get_json()}
    assert lots["RICE-OLD-1"]["old_crop"] is True


def test_adjustments_need_a_reason_and_cannot_go_below_zero(
    manager: FlaskClient, plant: sessionmaker[Session]
) -> None:
    manager.post(
        "/api/v1/manager/stock/receipts",
        json={"sku": "BAG-250", "quantity": 1000, "lot_code": "BAG-1"},
    )
    base = "/api/v1/manager/stock/lots/BAG-1"
    missing = manager.post(f"{base}/adjust", json={"quantity": -10, "reason": ""})
    assert missing.status_code == 422 and missing.get_json()["details"]["message_zh"]
    too_far = manager.post(f"{base}/adjust?lang=en", json={"quantity": -1001, "reason": "count"})
    assert too_far.status_code == 409 and "below zero" in too_far.get_json()["message"]
    assert (
        manager.post(f"{base}/adjust", json={"quantity": -10, "reason": "盘点少 10"}).status_code
        == 200
    )
    with plant() as s:
        kinds = [e.kind for e in s.scalars(select(LedgerEntry).order_by(LedgerEntry.id))]
        assert kinds == [LedgerKind.RECEIPT, LedgerKind.ADJUSTMENT]
        assert s.scalars(select(Lot.on_hand).where(Lot.code == "BAG-1")).one() == 990
    unknown = manager.post(
        "/api/v1/manager/stock/lots/NOPE/adjust", json={"quantity": 1, "reason": "x"}
    )
    assert unknown.status_code == 404
    rice_without_year = manager.post(
        "/api/v1/manager/stock/receipts", json={"sku": "RICE", "quantity": 5}
    )
    assert rice_without_year.status_code == 422
    sugar_with_year = manager.post(
        "/api/v1/manager/stock/receipts", json={"sku": "SUGAR", "quantity": 5, "crop_year": CROP}
    )
    assert sugar_with_year.status_code == 422


def test_a_purchase_order_goes_draft_sent_received_into_lots_and_counts_as_on_order(
    manager: FlaskClient, plant: sessionmaker[Session]
) -> None:
    expected = (TODAY + timedelta(days=2)).isoformat()
    body = {
        "supplier": "天津糖业",
        "expected_on": expected,
        "lines": [{"sku": "SUGAR", "quantity": 200_000, "unit_price_fen": 650}],
    }
    created = manager.post("/api/v1/manager/stock/purchase-orders", json=body)
    assert created.status_code == 201
    po = created.get_json()
    assert po["status"] == "draft"
    sent = manager.post(f"/api/v1/manager/stock/purchase-orders/{po['id']}/send").get_json()
    assert sent["status"] == "sent"
    page = manager.get("/manager/stock/purchases").get_data(as_text=True)
    assert "已发送" in page and "天津糖业" in page
    received = manager.post(
        f"/api/v1/manager/stock/purchase-orders/{po['id']}/receive",
        json={"lines": [{"line_id": po["lines"][0]["id"], "quantity": 198_000}]},
    ).get_json()
    assert received["status"] == "received" and received["lines"][0]["lot_code"]
    with plant() as s:
        lot = s.scalars(select(Lot).where(Lot.code == received["lines"][0]["lot_code"])).one()
        assert (lot.on_hand, lot.supplier) == (198_000, "天津糖业")
    twice = manager.post(
        f"/api/v1/manager/stock/purchase-orders/{po['id']}/receive",
        json={"lines": [{"line_id": po["lines"][0]["id"], "quantity": 1}]},
    )
    assert twice.status_code == 409
    past = manager.post(
        "/api/v1/manager/stock/purchase-orders",
        json={**body, "expected_on": (TODAY - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 422


def test_staff_and_customers_are_refused_stock(app: Flask, plant: sessionmaker[Session]) -> None:
    for role in ("staff", "customer"):
        client = _client(app, role)
        assert client.get("/manager/stock/").status_code == 403
        assert client.get("/api/v1/manager/stock/lots").status_code == 403
        assert client.post("/api/v1/manager/stock/receipts", json={}).status_code == 403


def test_the_requirement_walk_orders_ahead_of_the_first_short_day() -> None:
    d = [date(2027, 1, 20) + timedelta(days=i) for i in range(4)]
    req = requirement(
        "SUGAR",
        {d[0]: 100, d[1]: 100, d[2]: 100, d[3]: 100},
        on_hand=150,
        incoming_by_day={d[2]: 100},
        lead_days=5,
        today=date(2027, 1, 10),
    )
    assert [x.short for x in req.days] == [0, 50, 0, 100]
    assert req.first_short_day == d[1] and req.order_by == d[1] - timedelta(days=5)
    assert req.short_total == 150
    late = requirement("RICE", {d[0]: 10}, on_hand=0, incoming_by_day={}, lead_days=5, today=d[0])
    assert late.order_by == d[0]  # never in the past: order now
