"""The storefront in headless Chromium, as a customer on a phone would use it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shop.orders.conftest import LiveServer, Shop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            raise RuntimeError("chromium and chromedriver are required in CI")
        pytest.skip(
            "chromium/chromedriver not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=390,844",  # a phone
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: object, by: str, what: str) -> object:
    """Clicking a submit button returns before the next page has loaded: wait for it."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 15).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((by, what))
    )


def test_a_customer_picks_an_open_day_orders_with_pay_at_pickup_and_sees_the_status(
    browser: object, live_server: LiveServer, shop: Shop, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.get(live_server.url + "/")  # type: ignore[attr-defined]
    assert "新鲜糕干" in driver.page_source  # type: ignore[attr-defined]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "catalogue.png"))  # type: ignore[attr-defined]
    driver.find_element(By.LINK_TEXT, "杨村糕干（经典）").click()  # type: ignore[attr-defined]

    sold_out = driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, f'label[data-day="{shop.sold_out_day.isoformat()}"] input'
    )
    assert not sold_out.is_enabled()
    driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, f'label[data-day="{shop.sold_out_day.isoformat()}"]'
    ).click()
    assert not sold_out.is_selected()

    open_label = driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, f'label[data-day="{shop.open_day.isoformat()}"]'
    )
    open_label.click()
    assert open_label.find_element(By.TAG_NAME, "input").is_selected()
    quantity = driver.find_element(By.ID, "quantity")  # type: ignore[attr-defined]
    quantity.send_keys(Keys.CONTROL, "a")
    quantity.send_keys("3")
    assert quantity.get_attribute("value") == "3"
    driver.save_screenshot(str(tmp_path / "product.png"))  # type: ignore[attr-defined]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "product.png"))  # type: ignore[attr-defined]
    driver.find_element(By.ID, "add-to-cart").click()  # type: ignore[attr-defined]

    wait_for(driver, By.ID, "checkout")
    assert "¥37.50" in driver.page_source  # type: ignore[attr-defined]
    driver.find_element(By.ID, "checkout").click()  # type: ignore[attr-defined]
    wait_for(driver, By.ID, "place-order")
    driver.find_element(By.ID, "name").send_keys("王芳")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "mobile").send_keys("13800138000")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "email").send_keys("wang@example.com")  # type: ignore[attr-defined]
    driver.find_element(
        By.CSS_SELECTOR, 'input[name="payment_method"][value="pay_at_pickup"]'
    ).click()  # type: ignore[attr-defined]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "checkout.png"))  # type: ignore[attr-defined]
    driver.find_element(By.ID, "place-order").click()  # type: ignore[attr-defined]

    status = wait_for(driver, By.ID, "order-status")
    assert status.get_attribute("data-status") == "confirmed"
    assert "/track/" in driver.current_url  # type: ignore[attr-defined]
    assert "已确认" in driver.find_element(By.ID, "status-badge").text  # type: ignore[attr-defined]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "status.png"))  # type: ignore[attr-defined]

    driver.find_element(By.CSS_SELECTOR, "a.lang-switch").click()  # type: ignore[attr-defined]
    wait_for(driver, By.CSS_SELECTOR, 'html[lang="en"]')
    assert "Confirmed (pay at pickup)" in driver.page_source  # type: ignore[attr-defined]
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"  # type: ignore[attr-defined]
