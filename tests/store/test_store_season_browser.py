"""The season calendar on a 390 px phone in headless Chromium."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.store.conftest import LiveServer, Shop
from tests.store.test_store_browser import browser  # noqa: F401  (the phone fixture)
from tests.store.test_store_season import _season_supply

pytestmark = pytest.mark.browser


def test_the_2027_season_calendar_fits_a_phone_and_marks_the_four_days(
    browser: object,  # noqa: F811
    live_server: LiveServer,
    shop: Shop,
    db: sessionmaker[Session],
) -> None:
    from selenium.webdriver.common.by import By

    _season_supply(db, date(2027, 2, 1))
    driver = browser
    # Chromium will not make a window narrower than 500 px: emulate the phone's viewport.
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
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
    widths = driver.execute_script(  # type: ignore[attr-defined]
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert widths == [390, 390]
    if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
        driver.execute_cdp_cmd(  # type: ignore[attr-defined]
            "Emulation.setDeviceMetricsOverride",
            {"width": 390, "height": 2200, "deviceScaleFactor": 1, "mobile": True},
        )
        driver.save_screenshot(os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], "season.png"))  # type: ignore[attr-defined]
