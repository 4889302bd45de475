"""Headless Chromium for the browser tests: one way to start it, the phone it emulates, and
the waits every page walk needs. The `browser` (a 390 px phone) and `desktop` (1280 px)
fixtures are offered to every test by tests/conftest.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# Elements that stick out to the right of the screen (a phone page must have none).
WIDER_THAN_SCREEN = """
return Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id);
"""


def start_chromium(
    profile: Path,
    width: int = 390,
    height: int = 844,
    *,
    phone: bool = True,
    console_log: bool = False,
) -> object:
    """Headless Chromium with a fresh profile, Chinese first; a phone's viewport when asked.

    Without Chromium the test is skipped, except in CI (CI=true), where it is an error.
    """
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
        "--lang=zh-CN",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if phone:
        # Chrome keeps a desktop window at least ~500 px wide whatever --window-size says:
        # emulate the phone's viewport so the pages are laid out at 390 px for real.
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1}},
        )
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """A 390 px phone."""
    driver = start_chromium(tmp_path / "chromium")
    try:
        yield driver
    finally:
        driver.quit()  # type: ignore[attr-defined]


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[object]:
    """A 1280 px desktop screen."""
    driver = start_chromium(tmp_path / "chromium-desktop", 1280, 900, phone=False)
    try:
        yield driver
    finally:
        driver.quit()  # type: ignore[attr-defined]


def wait_for(driver: object, by: str, what: str, seconds: int = 20) -> object:
    """Clicking a submit button returns before the next page has loaded: wait for it."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((by, what))
    )


def click_and_wait(driver: object, element: object, seconds: int = 20) -> None:
    """Click and wait until the next page replaced this one: a wait for an element alone
    could find it still on the old page. The old page is marked with a script variable;
    a new document does not have it. Errors while the page is half gone (Chromium answers
    "node does not belong to the document" instead of "stale") mean: not there yet."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__gaoganOldPage = true;")  # type: ignore[attr-defined]
    driver.execute_script("arguments[0].scrollIntoView();", element)  # type: ignore[attr-defined]
    element.click()  # type: ignore[attr-defined]

    def replaced(d: object) -> bool:
        try:
            return d.execute_script(  # type: ignore[attr-defined, no-any-return]
                "return document.readyState !== 'loading' && window.__gaoganOldPage !== true;"
            )
        except WebDriverException:
            return False

    WebDriverWait(driver, seconds).until(replaced)  # type: ignore[arg-type]


def page_width(driver: object) -> list[int]:
    """[viewport width, page width]: equal when nothing scrolls sideways."""
    return driver.execute_script(  # type: ignore[attr-defined,no-any-return]
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
