"""The season calendar and the pickup card on a 390 px phone in headless Chromium."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from shop.orders import pickup_code
from tests.store.conftest import LiveServer, Shop
from tests.store.test_store_browser import browser  # noqa: F401  (the phone fixture)
from tests.store.test_store_pickup_code import _place
from tests.store.test_store_season import _season_supply

pytestmark = pytest.mark.browser


def as_phone(driver: object, height: int = 844) -> None:
    """Chromium will not make a window narrower than 500 px: emulate a 390 px phone."""
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def page_width(driver: object) -> list[int]:
    """[viewport width, page width]: equal when nothing scrolls sideways."""
    return driver.execute_script(  # type: ignore[attr-defined,no-any-return]
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )


def test_the_2027_season_calendar_fits_a_phone_and_marks_the_four_days(
    browser: object,  # noqa: F811
    live_server: LiveServer,
    shop: Shop,
    db: sessionmaker[Session],
) -> None:
    from selenium.webdriver.common.by import By

    _season_supply(db, date(2027, 2, 1))
    driver = browser
    as_phone(driver)
    driver.get(live_server.url + "/season?year=2027&product=GG-TRAVEL")  # type: ignore[attr-defined]
    marked = {
        el.get_attribute("data-day"): el.find_element(By.CSS_SELECTOR, ".lunar").text
        for el in driver.find_elements(By.CSS_SELECTOR, "label.day:has(.lunar)")  # type: ignore[attr-defined]
    }
    assert marked == {
        "2027-01-15": "腊八",
        "2027-01-30": "小年",
        "2027-02-05": "除夕",
        "2027-02-06": "春节",
    }
    # Nothing wider than the phone: no sideways scrolling of the page.
    assert page_width(driver) == [390, 390]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        as_phone(driver, 2200)
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "season.png"))  # type: ignore[attr-defined]


def test_the_pickup_card_with_code_and_qr_fits_a_phone(
    browser: object,  # noqa: F811
    live_server: LiveServer,
    shop: Shop,
    settings: Settings,
) -> None:
    from selenium.webdriver.common.by import By

    order = _place(shop, settings)
    driver = browser
    as_phone(driver, 1400)
    driver.get(f"{live_server.url}/track/{order.public_id}/{order.access_token}")  # type: ignore[attr-defined]
    code = driver.find_element(By.ID, "pickup-code")  # type: ignore[attr-defined]
    assert code.text == pickup_code.display(pickup_code.encode(order.id, settings.secret_key))
    qr = driver.find_element(By.CSS_SELECTOR, "#pickup-card svg.qr")  # type: ignore[attr-defined]
    assert 120 <= qr.size["width"] <= 200
    assert page_width(driver) == [390, 390]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "pickup.png"))  # type: ignore[attr-defined]
