"""Issue 10 item 13: a plan is made in the background and its progress is read from the
database, so the console shows it while HiGHS works; two managers starting the same dates get
one solve; a failed or lost run says why in Chinese."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.settings import Settings
from scheduling.planning.capacity import copy_profile, delete_profile, main_profile
from scheduling.planning.models import Plan, PlanRun
from scheduling.planning.plan_runs import (
    STALE_AFTER,
    execute_run,
    start_run,
    wait_for_background,
)
from scheduling.planning.plans import PlanRequest
from shop.auth import create_user, session_fingerprint
from shop.models import Role
from tests.shop.planning.test_plan_web import _app, _seed, _signed_in, _token
from tests.support.planning import follow_run

SOLVER_STAGES = {
    "greedy",
    "unmet_confirmed",
    "unmet_booked",
    "unmet_forecast",
    "waste",
    "overtime",
    "bound",
}


def _manager(app: Flask, db: sessionmaker[Session], email: str) -> FlaskClient:
    with db() as s:
        user = create_user(s, email=email, name="经理", password="password123", role=Role.MANAGER)
        s.commit()
        uid, fp = user.id, session_fingerprint(user)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["uid"] = uid
        sess["ufp"] = fp
    return client


# A festival month at three times past seasons' demand: enough work that HiGHS is still busy
# after several polls, small enough for a test.
PEAK = {
    "start": "2027-01-12",
    "end": "2027-02-14",
    "growth_pct": 300,
    "limit_materials": False,
    "time_limit": 4,
}


def test_the_progress_endpoint_reports_the_running_stages_then_the_plan(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    started = client.post(
        "/api/v1/planning/plans", json=PEAK, headers={"X-CSRF-Token": _token(client)}
    )
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert (
        started.headers["Location"] == body["status_url"] == f"/api/v1/planning/runs/{body['id']}"
    )
    assert body["status"] in {"queued", "running"} and body["plan_ids"] == []

    seen = follow_run(client, body["status_url"])
    running = [d for d in seen if d["status"] == "running"]
    assert running, "the run was seen solving"
    assert {d["stage"] for d in running} & SOLVER_STAGES, [d["stage"] for d in running]
    # Chinese by default: the stage and the elapsed time are worded for the manager.
    assert any("已用" in d["labels"]["elapsed"] for d in running)
    assert all(d["stage_label"] and d["stage_label"] != d["stage"] for d in running)
    fractions = [d["fraction"] for d in seen]
    assert fractions == sorted(fractions), "the bar never moves backwards"

    done = seen[-1]
    assert done["status"] == "done" and done["fraction"] == 1.0 and len(done["plan_ids"]) == 1
    assert done["next_url"] == f"/manager/plan/plans/{done['plan_ids'][0]}"
    plan = client.get(f"/api/v1/planning/plans/{done['plan_ids'][0]}").get_json()
    assert plan["demand_total"] > 0 and len(plan["days"]) == 34
    # The run page of a finished run is the plan.
    page = client.get(done["page_url"])
    assert page.status_code == 303 and page.headers["Location"].endswith(done["next_url"])
    english = client.get(body["status_url"] + "?lang=en").get_json()
    assert english["labels"]["status"] == "Done"


def test_the_console_shows_a_progress_page_that_refreshes_without_script_then_the_plan(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    response = client.post(
        "/manager/plan/plans",
        data={"csrf_token": _token(client), **{k: str(v) for k, v in PEAK.items()}},
    )
    assert response.status_code == 303
    run_page = response.headers["Location"]
    assert "/manager/plan/runs/" in run_page
    page = client.get(run_page).get_data(as_text=True)
    if "正在排产" in page:  # still solving (it nearly always is after one request)
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
        assert 'id="run-stage"' in page and "plan-run.js" in page
    run_id = int(run_page.rstrip("/").rsplit("/", 1)[1])
    follow_run(client, f"/api/v1/planning/runs/{run_id}")
    done = client.get(run_page)
    assert done.status_code == 303 and "/manager/plan/plans/" in done.headers["Location"]
    assert "每日排产表" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_two_managers_starting_the_same_dates_at_once_start_one_solve(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    app = _app(settings)
    clients = [_manager(app, db, f"m{i}@example.com") for i in range(2)]
    tokens = [_token(c) for c in clients]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict[str, object]]] = []

    def press(i: int) -> None:
        barrier.wait()
        response = clients[i].post(
            "/api/v1/planning/plans", json=PEAK, headers={"X-CSRF-Token": tokens[i]}
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(code for code, _ in answers) == [202, 409], answers
    accepted = next(body for code, body in answers if code == 202)
    refused = next(body for code, body in answers if code == 409)
    assert refused["error"] == "plan_run_active"
    assert refused["details"]["run_id"] == accepted["id"]
    assert refused["details"]["status_url"] == accepted["status_url"]
    assert "正在进行" in str(refused["message"])
    assert wait_for_background()
    with db() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 1
        assert s.scalar(select(func.count()).select_from(Plan)) == 1
    # Once it is done the dates are free again.
    later = clients[1].post(
        "/api/v1/planning/plans", json=PEAK | {"time_limit": 1}, headers={"X-CSRF-Token": tokens[1]}
    )
    assert later.status_code == 202


def test_a_second_press_in_the_console_shows_the_run_already_under_way(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    client = _signed_in(_app(settings), db)
    with transaction(db) as s:  # another manager's run for the same dates, not finished
        request = PlanRequest(start=date(2027, 1, 12), end=date(2027, 2, 14), time_limit=4)
        run_id = start_run(s, request).run.id
    response = client.post(
        "/manager/plan/plans",
        data={"csrf_token": _token(client), **{k: str(v) for k, v in PEAK.items()}},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/manager/plan/runs/{run_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "不会重复求解" in page and "排队中" in page
    with db() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 1


def test_a_failed_run_says_why_in_chinese_on_its_page_and_in_english_on_request(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    _seed(db)
    client = _signed_in(_app(settings), db)
    with transaction(db) as s:
        scenario_id = copy_profile(s, main_profile(s), "试算").id
        request = PlanRequest(start=date(2027, 1, 30), end=date(2027, 2, 8), time_limit=2)
        run_id = start_run(s, request, [scenario_id]).run.id
    # The scenario is deleted while its plan waits: the run fails, saying so.
    with transaction(db) as s:
        delete_profile(s, s.get(type(main_profile(s)), scenario_id))
    assert execute_run(db, run_id, report_every=0.1)
    page = client.get(f"/manager/plan/runs/{run_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="alert"' in html and "产能方案" in html and "http-equiv" not in html
    document = client.get(f"/api/v1/planning/runs/{run_id}").get_json()
    assert document["status"] == "failed" and document["error"] == "msg.capacity.no_profile"
    english = client.get(f"/api/v1/planning/runs/{run_id}?lang=en").get_json()
    assert "profile" in english["message"] and english["labels"]["status"] == "Failed"


def test_a_run_whose_process_stopped_is_reported_lost_and_frees_its_dates(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    client = _signed_in(_app(settings), db)
    request = PlanRequest(start=date(2027, 1, 30), end=date(2027, 2, 8), time_limit=2)
    with transaction(db) as s:
        run_id = start_run(s, request).run.id
        assert start_run(s, request).created is False  # the same dates: that run
    # Nobody claimed it and its heartbeat is old: the process that took it is gone.
    with transaction(db) as s:
        s.execute(
            update(PlanRun)
            .where(PlanRun.id == run_id)
            .values(heartbeat_at=utcnow() - STALE_AFTER - timedelta(seconds=1))
        )
    document = client.get(f"/api/v1/planning/runs/{run_id}").get_json()
    assert document["status"] == "failed" and document["error"] == "msg.plan_run.lost"
    assert "重新开始" in document["message"]
    with transaction(db) as s:
        assert start_run(s, request).created is True


def test_a_bad_range_is_refused_at_once_and_no_run_is_queued(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    client = _signed_in(_app(settings), db)
    response = client.post(
        "/api/v1/planning/plans",
        json={"start": "2027-02-08", "end": "2027-01-30"},
        headers={"X-CSRF-Token": _token(client)},
    )
    assert response.status_code == 422 and "结束" in response.get_json()["message"]
    missing = client.get("/api/v1/planning/runs/999999")
    assert missing.status_code == 404 and missing.get_json()["error"] == "plan_run_not_found"
    with db() as s:
        assert s.scalar(select(func.count()).select_from(PlanRun)) == 0
