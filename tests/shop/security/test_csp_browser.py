"""The pages of all three roles in headless Chromium with the CSP enforced: they work and the
console shows no Content-Security-Policy violation (nor any other script error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.shop.orders.conftest import LiveServer, serve
from tests.shop.security.conftest import PASSWORD, Shop, signed_in
from tests.shop.security.crawler import crawl
from tests.support.browser import start_chromium

pytestmark = pytest.mark.browser

START = {
    "customer": ["/", "/cart", "/account"],
    "distributor": ["/distributor/", "/distributor/tokens", "/distributor/standing"],
    "manager": [
        "/manager/plan/",
        "/manager/plan/capacity",
        "/manager/pickups/",
        "/manager/batches",
        "/manager/scheduler",
        "/manager/security/audit",
    ],
}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """A desktop browser that keeps the console log: a CSP violation is reported there."""
    driver = start_chromium(tmp_path / "chromium", 1280, 900, phone=False, console_log=True)
    try:
        yield driver
    finally:
        driver.quit()  # type: ignore[attr-defined]


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    yield from serve(app)


def _sign_in(driver: object, base: str, email: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/signin")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "email").send_keys(email)  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()  # type: ignore[attr-defined]
    WebDriverWait(driver, 15).until(expected_conditions.url_changes(base + "/signin"))  # type: ignore[arg-type]


def _problems(driver: object) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")  # type: ignore[attr-defined]
        if (entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"])
        # The browser's own favicon probe is not a page's doing (the site has no icon).
        and "/favicon.ico" not in entry["message"]
    ]


def test_the_console_would_show_a_violation(
    browser: object, live_server: LiveServer, shop: Shop
) -> None:
    """The detector works: an inline script injected into a page is refused and logged."""
    driver = browser
    driver.get(live_server.url + "/")  # type: ignore[attr-defined]
    driver.execute_script(  # type: ignore[attr-defined]
        "var s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        "document.body.appendChild(s);"
    )
    assert driver.execute_script("return window.ran === undefined")  # type: ignore[attr-defined]
    assert any("Content Security Policy" in m for m in _problems(driver))


@pytest.mark.parametrize("role", ["customer", "distributor", "manager"])
def test_pages_of_each_role_work_under_the_csp_without_violations(
    browser: object, live_server: LiveServer, app: Flask, shop: Shop, role: str
) -> None:
    email = getattr(shop, role)
    client, _ = signed_in(app, email)
    pages, _ = crawl(client, START[role], limit=25)
    driver = browser
    _sign_in(driver, live_server.url, email)
    _problems(driver)  # drain the log of the sign-in
    visited = []
    for path in pages:
        driver.get(live_server.url + path)  # type: ignore[attr-defined]
        # The shared script ran: it is what wires print buttons and confirmations.
        assert driver.execute_script(  # type: ignore[attr-defined]
            "return !!document.querySelector('script[src$=\"/static/app.js\"]')"
        ), path
        problems = _problems(driver)
        assert not problems, (path, problems)
        visited.append(path)
    assert len(visited) >= 3


def test_a_confirmation_form_and_the_api_docs_work_under_the_csp(
    browser: object, live_server: LiveServer, shop: Shop
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    _sign_in(driver, live_server.url, shop.manager)
    driver.get(live_server.url + "/manager/security/audit")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "email").send_keys(shop.customer)  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, "form[data-confirm] button").click()  # type: ignore[attr-defined]
    # app.js asks first: dismissing the confirmation keeps us on the page, nothing is sent.
    WebDriverWait(driver, 5).until(expected_conditions.alert_is_present())  # type: ignore[arg-type]
    driver.switch_to.alert.dismiss()  # type: ignore[attr-defined]
    assert "/manager/security/audit" in driver.current_url  # type: ignore[attr-defined]
    driver.get(live_server.url + "/api/docs")  # type: ignore[attr-defined]
    WebDriverWait(driver, 20).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info"))
    )
    assert not _problems(driver)
