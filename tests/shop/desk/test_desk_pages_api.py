"""The order desk, driven as staff drive it: pages with CSRF forms, and the manager API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inventory.atp import available_to_promise
from inventory.db import utcnow
from shop.orders.desk_models import CounterPayment, DeskRefund
from shop.orders.models import Order, OrderStatus
from tests.shop.conftest import Desk
from tests.support.web import csrf_from

Client = Callable[[str], FlaskClient]


def _status(desk: Desk, public_id: str) -> OrderStatus:
    with desk.sessions() as s:
        return s.scalars(select(Order.status).where(Order.public_id == public_id)).one()


def _post(client: FlaskClient, path: str, data: dict[str, str]) -> str:
    token = csrf_from(client.get("/manager/orders/").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_day_lists_orders_and_bookings_in_chinese_and_english(
    client_as: Client, desk: Desk
) -> None:
    manager = client_as("manager")
    page = manager.get(f"/manager/orders/?day={desk.day}").get_data(as_text=True)
    assert "订单台" in page and desk.pickup in page and desk.delivery in page
    assert f"B{desk.booking_id}" in page and "TJ01 副食商行" in page
    assert "王芳" in page and "未付" in page and "月结" in page
    english = manager.get(f"/manager/orders/?day={desk.day}&lang=en").get_data(as_text=True)
    assert "Order desk" in english and "Unpaid" in english and "On account" in english


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("channel=delivery", "delivery", "pickup"),
        ("channel=distributor", "booking", "pickup"),
        ("pickup_point=factory", "pickup", "booking"),
        ("q=138+0013", "pickup", "delivery"),
        ("q=李雷", "delivery", "pickup"),
        ("payment=on_account", "booking", "pickup"),
        ("status=confirmed&channel=pickup", "pickup", "delivery"),
    ],
)
def test_filters_and_search_narrow_the_day(
    client_as: Client, desk: Desk, query: str, expected: str, absent: str
) -> None:
    numbers = {"pickup": desk.pickup, "delivery": desk.delivery, "booking": f"B{desk.booking_id}"}
    page = client_as("staff").get(f"/manager/orders/?day={desk.day}&{query}").get_data(as_text=True)
    assert f'data-number="{numbers[expected]}"' in page
    assert f'data-number="{numbers[absent]}"' not in page


def test_staff_marks_a_pickup_order_ready_and_collected_and_takes_the_cash(
    client_as: Client, desk: Desk
) -> None:
    staff = client_as("staff")
    base = f"/manager/orders/{desk.pickup}"
    # Before the pickup day the goods are not made: refused without a reason (issue 10) ...
    assert "可取货" not in _post(staff, f"{base}/mark", {"target": "ready"})
    # ... and allowed with one, which is recorded on the event.
    early = {"target": "ready", "override_reason": "样品先行"}
    page = _post(staff, f"{base}/mark", early)
    assert "可取货" in page
    _post(staff, f"{base}/mark", early)  # pressed twice: harmless
    _post(staff, f"{base}/paid", {"method": "cash"})
    _post(staff, f"{base}/paid", {"method": "cash"})  # twice: one payment
    _post(staff, f"{base}/mark", {"target": "collected", "override_reason": "样品先行"})
    assert _status(desk, desk.pickup) is OrderStatus.COLLECTED
    with desk.sessions() as s:
        payments = s.scalars(select(CounterPayment)).all()
    assert [(p.amount_fen, p.method, p.taken_by) for p in payments] == [
        (2500, "cash", desk.users["staff"])
    ]
    detail = staff.get(base).get_data(as_text=True)
    assert "staff 用户" in detail and "现金" in detail and "已付" in detail
    for event in ("order.confirmed", "order.ready", "order.paid_at_counter", "order.collected"):
        assert event in detail, event


def test_a_pickup_order_is_not_delivered_and_a_wrong_move_says_why_in_both_languages(
    client_as: Client, desk: Desk
) -> None:
    api = client_as("manager")
    response = api.post(
        f"/api/v1/manager/orders/{desk.pickup}/status", json={"status": "collected"}
    )
    assert response.status_code == 409
    body = response.get_json()
    assert "不能" in body["message"]
    assert "cannot" in body["details"]["message_en"]
    english = api.post(
        f"/api/v1/manager/orders/{desk.pickup}/status?lang=en", json={"status": "collected"}
    )
    assert "cannot" in english.get_json()["message"]


def test_a_card_paid_delivery_is_delivered_through_the_api_and_not_paid_twice(
    client_as: Client, desk: Desk
) -> None:
    api = client_as("manager")
    base = f"/api/v1/manager/orders/{desk.delivery}"
    early = {"status": "ready", "override_reason": "courier leaves the evening before"}
    assert api.post(f"{base}/status", json={"status": "ready"}).status_code == 409
    assert api.post(f"{base}/status", json=early).status_code == 200
    body = api.post(f"{base}/status", json={**early, "status": "delivered"}).get_json()
    assert body["row"]["payment"] == "paid" and body["row"]["status"] == "delivered"
    assert body["money"]["paid_fen"] == 8800 + 1200  # the gift box and the same-city fee
    types = [e["type"] for e in body["timeline"]]
    assert types[-2:] == ["order.delivered", "order.desk_marked"]
    assert "order.paid" in types
    refused = api.post(f"{base}/payment", json={"method": "cash"})
    assert refused.status_code == 409 and "在线支付" in refused.get_json()["message"]


def test_a_wrong_amount_at_the_counter_is_refused(client_as: Client, desk: Desk) -> None:
    response = client_as("manager").post(
        f"/api/v1/manager/orders/{desk.pickup}/payment", json={"method": "cash", "amount_fen": 1}
    )
    assert response.status_code == 422
    assert "2500" in response.get_json()["message"]


def test_cancel_needs_a_reason_frees_the_stock_and_is_on_the_timeline(
    client_as: Client, desk: Desk
) -> None:
    api = client_as("manager")
    base = f"/api/v1/manager/orders/{desk.pickup}/cancel"
    refused = api.post(base, json={"reason": ""})
    assert refused.status_code == 422
    assert refused.get_json()["details"]["message_zh"] and refused.get_json()["details"]["fields"]
    with desk.sessions() as s:
        before = available_to_promise(s, ["GG-CLASSIC"], desk.day, desk.day, now=utcnow())
    body = api.post(base, json={"reason": "顾客来电取消"}).get_json()
    assert body["row"]["status"] == "cancelled" and body["cancel_reason"] == "顾客来电取消"
    assert body["timeline"][-1]["type"] == "order.cancelled"
    assert body["timeline"][-1]["payload"]["by"] == desk.users["manager"]
    with desk.sessions() as s:
        after = available_to_promise(s, ["GG-CLASSIC"], desk.day, desk.day, now=utcnow())
    assert after["GG-CLASSIC"][desk.day] == before["GG-CLASSIC"][desk.day] + 2
    again = api.post(base, json={"reason": "again"})
    assert again.status_code == 409


def test_a_partial_cash_refund_is_recorded_once_per_request_key(
    client_as: Client, desk: Desk
) -> None:
    api = client_as("manager")
    base = f"/api/v1/manager/orders/{desk.pickup}"
    api.post(f"{base}/payment", json={"method": "cash"})
    refund = {"amount_fen": 500, "reason": "一块压坏了", "request_key": "req-0001-abc"}
    first = api.post(f"{base}/refunds", json=refund)
    assert first.status_code == 201, first.get_json()
    second = api.post(f"{base}/refunds", json=refund)
    assert second.status_code == 201
    body = second.get_json()
    assert body["money"]["refundable_fen"] == 2000 and body["row"]["payment"] == "part_refunded"
    with desk.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DeskRefund)) == 1
    too_much = api.post(
        f"{base}/refunds", json={**refund, "amount_fen": 2001, "request_key": "req-0002-abc"}
    )
    assert too_much.status_code == 422 and "2000" in too_much.get_json()["message"]
    reused = api.post(f"{base}/refunds", json={**refund, "amount_fen": 600})
    assert reused.status_code == 409


def test_a_refund_from_the_page_takes_yuan(client_as: Client, desk: Desk) -> None:
    manager = client_as("manager")
    base = f"/manager/orders/{desk.pickup}"
    _post(manager, f"{base}/paid", {"method": "card"})
    detail = manager.get(base).get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', detail)
    assert key
    page = _post(
        manager,
        f"{base}/refund",
        {"amount": "5.5", "reason": "少了一块", "request_key": key.group(1)},
    )
    assert "¥5.50" in page and "部分退款" in page
    bad = _post(manager, f"{base}/refund", {"amount": "abc", "reason": "x", "request_key": "k" * 9})
    assert "金额格式不正确" in bad


def test_bookings_are_checked_in_and_handed_out_from_the_desk(
    client_as: Client, desk: Desk
) -> None:
    api = client_as("staff")
    response = api.post(
        f"/api/v1/manager/bookings/{desk.booking_id}/status", json={"action": "check_in"}
    )
    assert response.get_json()["status"] == "checked_in"


def test_the_ticket_and_the_packing_list_print(client_as: Client, desk: Desk) -> None:
    staff = client_as("staff")
    ticket = staff.get(f"/manager/orders/{desk.pickup}/ticket").get_data(as_text=True)
    assert "自提单" in ticket and "王芳" in ticket and "× " not in ticket and "2" in ticket
    packing = staff.get(f"/manager/orders/packing-list?day={desk.day}").get_data(as_text=True)
    assert "装箱单" in packing and 'id="packing-totals"' in packing
    totals = client_as("manager").get(f"/api/v1/manager/orders/packing-list?day={desk.day}")
    by_sku = {t["sku"]: t["pieces"] for t in totals.get_json()["totals"]}
    assert by_sku == {"GG-CLASSIC": 2 + 20, "GG-GIFT": 1}


def _label_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def test_the_ticket_carries_the_keeping_advice_dated_from_the_steaming_day(
    client_as: Client, desk: Desk
) -> None:
    """The label is printed before or on the day; its advice is keyed to the order's day (the
    morning's batch steams it), from the same rule as the status page, not to the print day."""
    staff = client_as("staff")
    ticket = staff.get(f"/manager/orders/{desk.pickup}/ticket").get_data(as_text=True)
    d = desk.day  # best-before 7 days (the desk's products)
    advice = ticket[ticket.index('id="label-advice"') :]
    assert f"出锅 {_label_day(d)} · 保存与复蒸" in advice
    assert f'data-advice="fresh">{_label_day(d)} 当天出锅' in advice
    one, two = d + timedelta(days=1), d + timedelta(days=2)
    assert f'data-advice="best">{_label_day(one)}–{_label_day(two)} 最佳赏味期' in advice
    three, six = d + timedelta(days=3), d + timedelta(days=6)
    assert f"{_label_day(three)}–{_label_day(six)} 略干：上锅蒸 1 分钟" in advice
    assert f"{_label_day(d + timedelta(days=7))}起 超过保质期，请勿食用" in advice
    english = staff.get(f"/manager/orders/{desk.pickup}/ticket?lang=en").get_data(as_text=True)
    assert f"Steamed {d.strftime('%b')} {d.day} · keeping and re-steaming" in english
    assert "steam it for one minute" in english
    # A cancelled order is not made: its ticket gives no advice.
    manager = client_as("manager")
    _post(
        manager, f"/manager/orders/{desk.pickup}/cancel", {"reason": "客户改期", "confirm": "yes"}
    )
    assert _status(desk, desk.pickup) is OrderStatus.CANCELLED
    cancelled = staff.get(f"/manager/orders/{desk.pickup}/ticket?lang=zh").get_data(as_text=True)
    assert 'id="label-advice"' not in cancelled and "自提单" in cancelled


def test_bad_days_and_unknown_orders_are_4xx_not_500(client_as: Client, desk: Desk) -> None:
    manager = client_as("manager")
    assert manager.get("/manager/orders/?day=2026-13-40").status_code == 422
    assert manager.get("/api/v1/manager/orders?day=nope").status_code == 422
    missing = manager.get("/api/v1/manager/orders/NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.get_json()["message"]
    assert manager.get("/manager/orders/NOPE").status_code == 404


def _manager_operations(app: Flask) -> list[tuple[str, str]]:
    spec = app.test_client().get("/api/openapi.json").get_json()
    ops = []
    for path, item in spec["paths"].items():
        if path.startswith("/api/v1/manager/"):
            for method in item:
                if method in {"get", "post", "put", "patch", "delete"}:
                    ops.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return ops


def test_every_manager_operation_refuses_customers_and_distributors(
    desk_app: Flask, client_as: Client
) -> None:
    ops = _manager_operations(desk_app)
    assert ("post", "/api/v1/manager/orders/1/refunds") in ops
    assert ("post", "/api/v1/manager/users") in ops
    for role in ("customer", "distributor"):
        client = client_as(role)
        for method, path in ops:
            response = client.open(path, method=method.upper(), json={})
            assert response.status_code == 403, (role, method, path, response.status_code)
    anonymous = desk_app.test_client()
    for method, path in ops:
        # A write without a session is stopped by the CSRF check (400) or sign-in (401).
        status = anonymous.open(path, method=method.upper(), json={}).status_code
        assert status == 401 if method == "get" else status in (400, 401), (method, path)


def test_desk_pages_refuse_customers_and_distributors(client_as: Client, desk: Desk) -> None:
    for role in ("customer", "distributor"):
        client = client_as(role)
        for path in ("/manager/orders/", f"/manager/orders/{desk.pickup}", "/manager/staff/"):
            assert client.get(path).status_code == 403, (role, path)
