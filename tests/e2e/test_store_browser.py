"""The storefront in headless Chromium, as a customer on a phone would use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shop.orders.conftest import LiveServer, Shop
from tests.support.browser import wait_for

pytestmark = pytest.mark.browser


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
