from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.models import Supply
from inventory.settings import Settings
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.models import CapacityProfile, Plan, PlanStatus
from shop.app import create_app
from shop.auth import create_user, session_fingerprint
from shop.models import Role
from tests.support.planning import follow_run


def _app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def _signed_in(app: Flask, db: sessionmaker[Session], role: Role = Role.MANAGER) -> FlaskClient:
    with db() as s:
        user = create_user(
            s, email=f"{role.value}@example.com", name="经理", password="password123", role=role
        )
        s.commit()
        uid, fp = user.id, session_fingerprint(user)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["uid"] = uid
        sess["ufp"] = fp
    return client


def _token(client: FlaskClient, path: str = "/manager/plan/capacity") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def _seed(db: sessionmaker[Session]) -> None:
    with db() as s:
        seed_sales_history(s, latest_festival_year=2026)
        s.commit()


def test_the_console_shows_the_season_chart_with_lunar_markers_in_chinese_and_english(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    page = client.get("/manager/plan/?year=2027").get_data(as_text=True)
    assert "春节旺季排产" in page
    assert "<svg" in page and "腊八" in page and "除夕" in page and "元宵" in page
    assert "2027年国务院放假调休安排尚未录入" in page  # the coming year's arrangement is missing
    english = client.get("/manager/plan/?year=2027&lang=en").get_data(as_text=True)
    assert "Spring Festival season plan" in english and "Lantern Festival" in english


def test_only_managers_see_the_planning_console(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    app = _app(settings)
    assert _signed_in(app, db, Role.CUSTOMER).get("/manager/plan/").status_code == 403
    assert app.test_client().get("/api/v1/planning/capacity").status_code == 401


def test_a_manager_plans_compares_a_scenario_exports_csv_and_publishes(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    token = _token(client)
    response = client.post(
        "/manager/plan/scenarios",
        data={
            "csrf_token": token,
            "name": "多一台磨",
            "add_mills": "1",
            "extra_shift_days": "5",
            "add_apprentices": "2",
        },
    )
    assert response.status_code == 302
    with db() as s:
        ids = [p.id for p in s.scalars(select(CapacityProfile).order_by(CapacityProfile.id))]
        scenario = s.get(CapacityProfile, ids[-1])
        assert scenario is not None and scenario.mills == 5 and len(scenario.staff) == 10
        assert sum(1 for d in scenario.days if d.extra_shift) == 5
    response = client.post(
        "/manager/plan/plans",
        data={
            "csrf_token": token,
            "start": "2027-01-28",
            "end": "2027-02-08",
            "growth_pct": "130",
            "time_limit": "3",
            "profile_id": [str(i) for i in ids],
        },
    )
    # The plans are made in the background: the console shows the run's progress, then the
    # comparison of the two plans.
    assert response.status_code == 303 and "/manager/plan/runs/" in response.headers["Location"]
    run_id = response.headers["Location"].rsplit("/", 1)[1]
    assert follow_run(client, f"/api/v1/planning/runs/{run_id}")[-1]["status"] == "done"
    finished = client.get(response.headers["Location"])
    assert finished.status_code == 303 and "/manager/plan/compare" in finished.headers["Location"]
    page = client.get(finished.headers["Location"]).get_data(as_text=True)
    assert "方案对比" in page and "多一台磨" in page and page.count("<svg") == 2
    with db() as s:
        plan_id = s.scalars(select(Plan.id).order_by(Plan.id)).first()
    page = client.get(f"/manager/plan/plans/{plan_id}").get_data(as_text=True)
    assert "每日排产表" in page and "GG-1" in page
    # The solve report: where the one time budget went, stage by stage.
    assert "各阶段用时" in page and "预测需求缺口" in page
    csv = client.get(f"/manager/plan/plans/{plan_id}.csv")
    assert csv.mimetype == "text/csv" and "day,production" in csv.get_data(as_text=True)
    assert (
        client.post(
            f"/manager/plan/plans/{plan_id}/publish", data={"csrf_token": token}
        ).status_code
        == 302
    )
    with db() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None and plan.status is PlanStatus.PUBLISHED
        planned = sum(r.planned for r in s.scalars(select(Supply)))
        assert planned == sum(line.quantity for line in plan.lines) > 0


def test_capacity_forms_need_the_csrf_token_and_save_with_it(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    client = _signed_in(_app(settings), db)
    token = _token(client)
    with db() as s:
        main_id = s.scalar(select(CapacityProfile.id).where(CapacityProfile.is_main.is_(True)))
    refused = client.post(f"/manager/plan/capacity/{main_id}", data={"mills": "9"})
    assert refused.status_code == 400
    assert (
        client.post(
            f"/manager/plan/capacity/{main_id}", data={"csrf_token": token, "mills": "6"}
        ).status_code
        == 302
    )
    bad = client.post(
        f"/manager/plan/capacity/{main_id}", data={"csrf_token": token, "mills": "-1"}
    )
    assert bad.status_code == 422
    client.post(
        f"/manager/plan/capacity/{main_id}/days",
        data={
            "csrf_token": token,
            "day": "2027-02-04",
            "extra_shift": "on",
            "extra_apprentice": "2",
        },
    )
    client.post(
        "/manager/plan/calendar",
        data={"csrf_token": token, "day": "2027-02-06", "production": "open"},
    )
    client.post(
        "/manager/plan/recipes",
        data={
            "csrf_token": token,
            "sku": "GG-1",
            "rice_g": "200",
            "sugar_g": "40",
            "units_per_tray": "20",
            "loss_pct": "5",
            "labour_mould": "0.4",
            "labour_stack": "0.2",
        },
    )
    with db() as s:
        main = s.get(CapacityProfile, main_id)
        assert main is not None and main.mills == 6
        assert main.days[0].extra_shift and main.days[0].extra_staff == {"apprentice": 2}
    from datetime import date

    from scheduling.planning.calendar import is_production_day
    from scheduling.planning.recipes import get_recipe

    with db() as s:
        assert is_production_day(s, date(2027, 2, 6))
        assert get_recipe(s, "GG-1").units_per_tray == 20


def test_the_planning_api_reads_and_changes_capacity_plans_and_compares(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    token = _token(client)
    headers = {"X-CSRF-Token": token}
    capacity = client.get("/api/v1/planning/capacity").get_json()
    assert capacity["mills"] == 4 and len(capacity["staff"]) == 8
    changed = client.put(
        "/api/v1/planning/capacity",
        json={"mills": 5, "days": [{"day": "2027-02-05", "extra_shift": True}]},
        headers=headers,
    )
    assert changed.status_code == 200 and changed.get_json()["mills"] == 5
    assert (
        client.put("/api/v1/planning/capacity", json={"mills": -2}, headers=headers).status_code
        == 422
    )
    calendar = client.get("/api/v1/planning/calendar?year=2028").get_json()
    assert calendar["markers"]["chunjie"] == "2028-01-26" and calendar["warnings"]
    created = client.post(
        "/api/v1/planning/plans",
        json={
            "start": "2027-01-30",
            "end": "2027-02-08",
            "limit_materials": False,
            "time_limit": 3,
        },
        headers=headers,
    )
    assert created.status_code == 202
    done = follow_run(client, created.headers["Location"])[-1]
    assert done["status"] == "done", done
    plan = client.get(f"/api/v1/planning/plans/{done['plan_ids'][0]}").get_json()
    assert plan["demand_total"] > 0 and len(plan["days"]) == 10
    assert (
        plan["summary"]["lp_bound_unmet"]
        <= plan["unmet_total"] + 1e-6
        <= plan["summary"]["greedy_unmet"] + 1e-6
    )
    scenario = client.post(
        "/api/v1/planning/scenarios",
        json={"name": "API", "add_mills": 2, "festival_year": 2027},
        headers=headers,
    )
    assert scenario.status_code == 201
    cmp = client.post(
        "/api/v1/planning/scenarios/compare",
        json={
            "start": "2027-01-30",
            "end": "2027-02-08",
            "limit_materials": False,
            "time_limit": 3,
            "profile_ids": [capacity["id"], scenario.get_json()["id"]],
        },
        headers=headers,
    )
    assert cmp.status_code == 202
    rows = follow_run(client, cmp.get_json()["status_url"])[-1]["comparison"]
    assert rows[1]["unmet"] <= rows[0]["unmet"]
    published = client.post(f"/api/v1/planning/plans/{plan['id']}/publish", headers=headers)
    assert published.get_json()["status"] == "published"
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/planning/plans" in spec["paths"]
    assert client.get("/api/v1/planning/plans/999999").status_code == 404
