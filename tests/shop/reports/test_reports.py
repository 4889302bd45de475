"""Reports: sales by day, product, channel and pickup point; waste; distributors; season
against season by days from 春节; each as a page with a chart and as CSV."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from inventory.db import transaction
from inventory.models import Item
from scheduling.planning.calendar import spring_festival
from scheduling.planning.models import SalesHistory
from shop.reports.rules import SaleLine, group_sales
from tests.shop.conftest import Desk
from tests.support.web import csrf_from


@pytest.fixture
def manager(client_as: object) -> FlaskClient:
    return client_as("manager")  # type: ignore[operator,no-any-return]


def test_sales_group_by_each_dimension() -> None:
    lines = [
        SaleLine("2027-01-20", "A", "pickup", "factory", 2, 2500),
        SaleLine("2027-01-20", "B", "distributor", "gate", 20, 19200),
        SaleLine("2027-01-21", "A", "delivery", "", 1, 1250),
    ]
    assert group_sales(lines, "day") == [("2027-01-20", 2, 22, 21700), ("2027-01-21", 1, 1, 1250)]
    assert [k for k, *_ in group_sales(lines, "channel")] == ["delivery", "distributor", "pickup"]
    assert group_sales(lines, "pickup_point")[0] == ("-", 1, 1, 1250)


def test_the_day_s_sales_page_charts_and_exports_csv(manager: FlaskClient, desk: Desk) -> None:
    page = manager.get(f"/manager/reports/?start={desk.day}&by=channel").get_data(as_text=True)
    assert "销售" in page and "<svg" in page and "distributor" in page
    csv_body = manager.get(f"/manager/reports/sales.csv?start={desk.day}&by=channel")
    assert csv_body.mimetype == "text/csv"
    rows = csv_body.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0] == "channel,lines,pieces,revenue_fen"
    # The pickup order (2 x ¥12.50), the card-paid delivery (gift box ¥88) and the booking
    # (2 cases at ¥96) on that day.
    assert "pickup,1,2,2500" in rows and "delivery,1,1,8800" in rows
    assert "distributor,1,20,19200" in rows
    api = manager.get(f"/api/v1/manager/reports/sales?start={desk.day}&by=product").get_json()
    assert {r["key"]: r["pieces"] for r in api} == {"GG-CLASSIC": 22, "GG-GIFT": 1}


def test_cancelled_orders_are_not_sales(manager: FlaskClient, desk: Desk) -> None:
    manager.post(f"/api/v1/manager/orders/{desk.pickup}/cancel", json={"reason": "不要了"})
    api = manager.get(f"/api/v1/manager/reports/sales?start={desk.day}&by=channel").get_json()
    assert "pickup" not in {r["key"] for r in api}


def test_season_against_season_by_days_from_the_festival(manager: FlaskClient, desk: Desk) -> None:
    this, last = spring_festival(2027), spring_festival(2026)
    with transaction(desk.sessions) as s:
        item = s.scalars(select(Item).where(Item.sku == "GG-CLASSIC")).one()
        s.add(SalesHistory(item_id=item.id, day=last - timedelta(days=1), quantity=900))
        s.add(SalesHistory(item_id=item.id, day=this - timedelta(days=1), quantity=1200))
    rows = manager.get("/api/v1/manager/reports/season?year=2027").get_json()
    eve = next(r for r in rows if r["offset"] == -1)
    assert (eve["this_pieces"], eve["last_pieces"]) == (1200, 900)
    page = manager.get("/manager/reports/season?year=2027").get_data(as_text=True)
    assert "<polyline" in page and "2026" in page
    csv_body = manager.get("/manager/reports/season.csv?year=2027").get_data(as_text=True)
    assert f"-1,{(this - timedelta(days=1)).isoformat()},1200" in csv_body


def test_write_offs_and_distributor_balances_are_reported(manager: FlaskClient, desk: Desk) -> None:
    from inventory.catalog import create_raw_material

    with transaction(desk.sessions) as s:
        create_raw_material(s, "SUGAR", "sugar", "绵白糖", "Sugar")
    manager.post(
        "/api/v1/manager/stock/receipts",
        json={"sku": "SUGAR", "quantity": 5000, "lot_code": "S-1"},
    )
    manager.post(
        "/api/v1/manager/stock/lots/S-1/write-off", json={"quantity": 2000, "reason": "受潮结块"}
    )
    rows = manager.get("/api/v1/manager/reports/waste").get_json()
    assert [(r["lot"], r["quantity"], r["reason"]) for r in rows] == [("S-1", 2000, "受潮结块")]
    page = manager.get("/manager/reports/waste").get_data(as_text=True)
    assert "受潮结块" in page
    dist = manager.get("/api/v1/manager/reports/distributors?format=csv").get_data(as_text=True)
    assert dist.splitlines()[0] == "code,company,active,cases,revenue_fen,balance_fen"
    assert "TJ01" in dist


def test_bad_ranges_are_4xx_and_staff_are_refused(
    manager: FlaskClient, client_as: object, desk: Desk
) -> None:
    bad = manager.get("/api/v1/manager/reports/sales?start=2027-02-01&end=2027-01-01")
    assert bad.status_code == 422 and bad.get_json()["details"]["message_zh"]
    assert manager.get("/manager/reports/?start=nope").status_code == 422
    assert manager.get("/api/v1/manager/reports/sales?by=weather").status_code == 422
    staff = client_as("staff")  # type: ignore[operator]
    assert staff.get("/manager/reports/").status_code == 403
    assert staff.get("/api/v1/manager/reports/sales").status_code == 403
    assert csrf_from(manager.get("/manager/reports/").get_data(as_text=True))
