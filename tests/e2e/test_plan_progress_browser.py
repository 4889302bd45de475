"""Issue 10 item 13 in headless Chromium on a 390 px phone: the manager starts a plan, the
page shows the solver's stage and the seconds going by while HiGHS works (polled from the
run's JSON), then opens the plan by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from inventory.db import transaction
from inventory.settings import Settings
from scheduling.planning.demo_history import seed_sales_history
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from tests.e2e.test_manager_browser import (
    _click,
    _shot,
    _sign_in,
    _wait,
)
from tests.support.browser import WIDER_THAN_SCREEN
from tests.support.planning import make_products

pytestmark = pytest.mark.browser


@pytest.fixture
def server(settings: Settings, db: sessionmaker[Session]) -> Iterator[str]:
    with transaction(db) as s:
        make_products(s)
        seed_sales_history(s, latest_festival_year=2026)
        create_user(
            s,
            email="manager@example.com",
            name="经理",
            password="long-enough-pw",
            role=Role.MANAGER,
        )
    app: Flask = create_app(settings)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)


def test_the_plan_page_shows_the_solver_progress_then_the_plan_on_a_phone(
    browser: object, server: str
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, "manager@example.com")
    driver.get(f"{server}/manager/plan/?year=2027")  # type: ignore[attr-defined]
    form = driver.find_element(By.CSS_SELECTOR, "form.plan-form")  # type: ignore[attr-defined]
    for name, value in {
        "start": "2027-01-12",
        "end": "2027-02-14",
        "growth_pct": "300",
        "time_limit": "5",
    }.items():
        field = form.find_element(By.NAME, name)
        driver.execute_script("arguments[0].value = arguments[1];", field, value)  # type: ignore[attr-defined]
    materials = form.find_element(By.NAME, "limit_materials")
    if materials.is_selected():
        materials.click()
    _click(driver, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))

    _wait(driver, "#plan-run")
    assert "/manager/plan/runs/" in driver.current_url  # type: ignore[attr-defined]
    assert driver.execute_script(WIDER_THAN_SCREEN) == []  # type: ignore[attr-defined]
    _shot(driver, "plan-progress")
    stages: set[str] = set()
    elapsed: set[str] = set()
    deadline = time.monotonic() + 90
    while "/manager/plan/runs/" in driver.current_url and time.monotonic() < deadline:  # type: ignore[attr-defined]
        try:
            box = driver.find_element(By.ID, "plan-run")  # type: ignore[attr-defined]
            if box.get_attribute("data-status") in {"queued", "running"}:
                stages.add(driver.find_element(By.ID, "run-stage").text)  # type: ignore[attr-defined]
                elapsed.add(driver.find_element(By.ID, "run-elapsed").text)  # type: ignore[attr-defined]
                if len(elapsed) == 3:
                    _shot(driver, "plan-progress-running")
        except Exception:  # the page is being replaced by the plan
            pass
        time.sleep(0.2)
    stages.discard("")
    assert stages, "the page showed the solver's stage while it worked"
    assert any("已用" in text for text in elapsed)
    # The script polls the run's JSON: the seconds went by without a reload.
    assert len(elapsed) >= 2, elapsed
    _wait(driver, "table")
    assert "/manager/plan/plans/" in driver.current_url  # type: ignore[attr-defined]
    assert "每日排产表" in driver.page_source  # type: ignore[attr-defined]
