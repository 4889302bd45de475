"""Gift orders for many recipients: one order, one payment, one invoice; per-row CSV errors;
a link per recipient without prices; every recipient's gaogan inside its freshness window."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from inventory.models import Claim, Item, Reservation, Supply
from shop.orders.models import GiftOrder, Order, OrderStatus
from tests.shop.orders.conftest import Shop, csrf_of

HEADER = "name,mobile,product,quantity,day,fulfilment,pickup_point,delivery_zone,address"
TAX = "91120222MA05XXXX1R"  # 18 characters, the unified social credit code's shape


def staff_csv(shop: Shop, bad_rows: dict[int, str]) -> str:
    """50 staff: half collect at the factory, half get a same-city delivery; `bad_rows` maps a
    spreadsheet row number (the header is row 1) to the broken line put there."""
    lines = [HEADER]
    for n in range(50):
        row = n + 2
        if row in bad_rows:
            lines.append(bad_rows[row])
        elif n % 2:
            lines.append(f"员工{n},1380000{n:04d},GG-GIFT,1,{shop.open_day},pickup,factory,,")
        else:
            lines.append(
                f"员工{n},1380000{n:04d},GG-GIFT,1,{shop.open_day},delivery,,tianjin,天津市河西区{n}号"
            )
    return "\n".join(lines) + "\n"


def gift_json(text: str) -> dict[str, object]:
    return {
        "buyer": {"name": "李经理", "mobile": "13900139000", "email": "hr@example.com"},
        "invoice_title": "天津某某科技有限公司",
        "tax_number": TAX,
        "recipients_csv": text,
    }


BAD = {
    7: "员工5,1380000005,GG-NOPE,1,{day},pickup,factory,,",
    30: "员工28,1380000028,GG-GIFT,1,{day},delivery,,beijing,北京市朝阳区1号",
}


def test_fifty_recipients_with_two_bad_rows_are_refused_naming_both_then_placed_once_fixed(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    bad = {row: line.format(day=shop.open_day) for row, line in BAD.items()}
    refused = client.post("/api/v1/gifts", json=gift_json(staff_csv(shop, bad)))
    assert refused.status_code == 422
    body = refused.get_json()
    assert "第 7, 30 行" in body["message"]
    rows = {r["row"]: " ".join(r["errors"]) for r in body["details"]["rows"]}
    assert set(rows) == {7, 30}
    # Worded for the buyer: Chinese by default, English when the gift is in English.
    assert "没有商品“GG-NOPE”" in rows[7]
    assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", rows[7] + rows[30]), rows
    english = client.post(
        "/api/v1/gifts", json={**gift_json(staff_csv(shop, bad)), "language": "en"}
    ).get_json()
    rows_en = {r["row"]: " ".join(r["errors"]) for r in english["details"]["rows"]}
    assert "no product 'GG-NOPE'" in rows_en[7]
    assert "stays fresh for only 1 day" in rows_en[30]  # Beijing is a day away: stale on arrival
    with shop.sessions() as s:
        assert s.scalar(select(func.count()).select_from(GiftOrder)) == 0
        assert s.scalar(select(func.count()).select_from(Order)) == 0  # nothing was taken

    placed = client.post("/api/v1/gifts", json=gift_json(staff_csv(shop, {})))
    assert placed.status_code == 201, placed.get_data(as_text=True)
    gift = placed.get_json()
    assert len(gift["recipients"]) == 50
    assert gift["total_fen"] == 50 * 8800 + 25 * 1200  # 50 boxes, 25 same-city deliveries
    assert (gift["invoice_title"], gift["tax_number"]) == ("天津某某科技有限公司", TAX)
    assert len({r["status_url"] for r in gift["recipients"]}) == 50
    with shop.sessions() as s:
        assert s.scalar(select(func.count()).select_from(GiftOrder)) == 1
        orders = s.scalars(select(Order)).all()
        assert len(orders) == 50 and {o.status for o in orders} == {OrderStatus.CONFIRMED}
        assert {o.gift_id for o in orders} == {s.scalar(select(GiftOrder.id))}
        # Every recipient's piece was made inside its freshness window for its day.
        for order in orders:
            made = s.execute(
                select(Supply.production_day, Item.freshness_days)
                .join(Claim, Claim.supply_id == Supply.id)
                .join(Reservation, Reservation.id == Claim.reservation_id)
                .join(Item, Item.id == Claim.item_id)
                .where(Reservation.ref == f"order:{order.id}")
            ).all()
            assert made and all(0 <= (order.day - d).days < f for d, f in made)


def test_a_recipients_link_shows_the_gift_without_prices(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    gift = client.post("/api/v1/gifts", json=gift_json(staff_csv(shop, {}))).get_json()
    link = gift["recipients"][1]["status_url"].replace("http://localhost", "")
    page = client.get(link).get_data(as_text=True)
    assert 'id="order-status"' in page and "糕干礼盒 × 1" in page
    assert "¥" not in page
    assert 'id="pickup-code"' in page  # collected at the factory: the pickup card is there
    public_id, token = link.split("/gift/r/")[1].split("/")
    # The ordinary status link of the same order does not show the price either.
    redirected = client.get(f"/track/{public_id}/{token}")
    assert redirected.status_code == 302 and "/gift/r/" in redirected.headers["Location"]
    buyer = client.get(gift["url"].replace("http://localhost", "")).get_data(as_text=True)
    assert "¥4,700.00" in buyer and 'id="recipient-count">50<' in buyer


def test_the_upload_page_names_the_bad_rows_and_keeps_what_was_typed(
    app: Flask, shop: Shop
) -> None:
    import io

    client = app.test_client()
    token = csrf_of(client, "/gifts/new")
    bad = {row: line.format(day=shop.open_day) for row, line in BAD.items()}
    response = client.post(
        "/gifts/new",
        data={
            "csrf_token": token,
            "name": "李经理",
            "mobile": "13900139000",
            "email": "hr@example.com",
            "invoice_title": "天津某某科技有限公司",
            "tax_number": TAX,
            "recipients": (io.BytesIO(staff_csv(shop, bad).encode("utf-8-sig")), "staff.csv"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<li data-row="7">第 7 行' in page and '<li data-row="30">第 30 行' in page
    assert 'value="天津某某科技有限公司"' in page


def test_the_invoice_needs_a_title_and_a_real_tax_number(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    body = gift_json(staff_csv(shop, {}))
    wrong = client.post("/api/v1/gifts", json={**body, "tax_number": "12345678901234567O"})
    assert wrong.status_code == 422 and "统一社会信用代码" in wrong.get_json()["message"]
