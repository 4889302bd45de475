"""Issue 10 item 6: bad input is refused with a message; what was saved is shown."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import utcnow
from inventory.rules import local_day
from scheduling.planning.recipes import list_recipes
from tests.shop.defects.test_chinese_crawl import demo_app
from tests.shop.defects.test_landing_names_confirm import _sign_in
from tests.support.web import csrf_from

__all__ = ["demo_app"]


def _manager(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    _sign_in(client, "manager@demo.gaogan")
    return client, csrf_from(client.get("/manager/plan/capacity").get_data(as_text=True))


def _tray(db: sessionmaker[Session], sku: str) -> int:
    with db() as s:
        return list_recipes(s)[sku].units_per_tray


def test_a_tray_of_zero_pieces_is_refused_not_saved_as_one(
    demo_app: Flask, db: sessionmaker[Session]
) -> None:
    client, token = _manager(demo_app)
    before = _tray(db, "YC-CLASSIC-250")
    form = {"csrf_token": token, "sku": "YC-CLASSIC-250", "rice_g": "200", "sugar_g": "40"}
    refused = client.post("/manager/plan/recipes", data=form | {"units_per_tray": "0"})
    assert refused.status_code == 422
    assert "每盘至少放 1 块" in refused.get_data(as_text=True)
    assert _tray(db, "YC-CLASSIC-250") == before
    saved = client.post(
        "/manager/plan/recipes", data=form | {"units_per_tray": "24"}, follow_redirects=True
    )
    assert "已保存 YC-CLASSIC-250 的配方：每盘 24 块" in saved.get_data(as_text=True)
    assert _tray(db, "YC-CLASSIC-250") == 24


def test_an_empty_calendar_form_and_a_day_in_2020_are_refused_with_a_message(
    demo_app: Flask,
) -> None:
    client, token = _manager(demo_app)
    empty = client.post("/manager/plan/calendar", data={"csrf_token": token, "day": ""})
    assert empty.status_code == 422 and "请填写“日期”" in empty.get_data(as_text=True)
    later = (local_day(utcnow()) + timedelta(days=9)).isoformat()
    nothing = client.post(
        "/manager/plan/calendar",
        data={"csrf_token": token, "day": later, "official": "", "production": ""},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "没有保存任何内容" in nothing and "已保存" not in nothing
    old = client.post(
        "/manager/plan/calendar",
        data={"csrf_token": token, "day": "2020-05-01", "production": "closed"},
    )
    assert old.status_code == 422 and "不在可设置的范围内" in old.get_data(as_text=True)
    capacity_day = client.post(
        "/manager/plan/capacity/1/days", data={"csrf_token": token, "day": "2020-05-01"}
    )
    assert capacity_day.status_code == 422


def test_a_day_the_manager_closed_is_listed_and_distributors_see_the_factory_closed_it(
    demo_app: Flask,
) -> None:
    client, token = _manager(demo_app)
    today = local_day(utcnow())
    closed = today + timedelta(days=10)
    while closed.weekday() >= 5:
        closed += timedelta(days=1)
    saved = client.post(
        "/manager/plan/calendar",
        data={
            "csrf_token": token,
            "day": closed.isoformat(),
            "production": "closed",
            "name": "设备检修",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"已保存：{closed.isoformat()} 停产" in saved
    listed = client.get("/manager/plan/capacity").get_data(as_text=True)
    assert f"{closed.month}月{closed.day}日" in listed and "设备检修" in listed
    portal = demo_app.test_client()
    _sign_in(portal, "distributor@demo.gaogan")
    week = portal.get(f"/distributor/?week={closed}").get_data(as_text=True)
    assert "停产（工厂安排：设备检修）" in week
    assert "停产（节假日）" not in week or date(closed.year, 1, 1) == closed
