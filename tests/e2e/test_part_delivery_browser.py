"""Issue 10 item 14 in headless Chromium on a 390 px phone: a distributor turns "accept part
delivery" (接受部分交付) on in the portal's settings, sees it on the week page, and turns it
off again; a customer does the same on the account page. Every page fits the screen."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.distributors.models import Distributor
from shop.models import User
from tests.e2e.test_manager_browser import (
    _shot,
    _sign_in,
    _submit,
    _wait,
    clock_file,
    desk,
    server,
)
from tests.shop.conftest import Desk
from tests.support.browser import WIDER_THAN_SCREEN

__all__ = ["clock_file", "desk", "server"]

pytestmark = pytest.mark.browser


def _fits(driver: object) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    viewport = driver.execute_script("return window.innerWidth")  # type: ignore[attr-defined]
    wide = driver.execute_script(WIDER_THAN_SCREEN)  # type: ignore[attr-defined]
    assert viewport == 390 and width <= viewport, (width, viewport, wide)


def _accepts(desk: Desk) -> bool:
    with desk.sessions() as s:
        return bool(s.scalars(select(Distributor.accept_part_delivery)).one())


def test_a_distributor_toggles_part_delivery_in_the_portal_on_a_phone(
    browser: object, server: str, desk: Desk
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, "distributor@example.com")
    driver.get(f"{server}/distributor/settings")  # type: ignore[attr-defined]
    state = _wait(driver, "#part-delivery-state")
    assert state.text == "只接受整单交付"  # type: ignore[attr-defined]
    _fits(driver)
    box = driver.find_element(By.CSS_SELECTOR, '#part-delivery-form [name="accept_part_delivery"]')  # type: ignore[attr-defined]
    assert not box.is_selected()
    box.click()
    _submit(driver, "#part-delivery-form")
    _wait(driver, ".flash")
    assert "设置已保存" in driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
    assert driver.find_element(By.CSS_SELECTOR, "#part-delivery-state").text == "接受部分交付"  # type: ignore[attr-defined]
    assert driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, '#part-delivery-form [name="accept_part_delivery"]'
    ).is_selected()
    _shot(driver, "part-delivery-settings")
    _fits(driver)
    assert _accepts(desk) is True

    driver.get(f"{server}/distributor/?week={desk.day.isoformat()}")  # type: ignore[attr-defined]
    assert _wait(driver, "#part-delivery-state").text == "接受部分交付"  # type: ignore[attr-defined]
    _fits(driver)

    driver.get(f"{server}/distributor/settings")  # type: ignore[attr-defined]
    _wait(driver, "#part-delivery-form")
    driver.find_element(
        By.CSS_SELECTOR, '#part-delivery-form [name="accept_part_delivery"]'
    ).click()  # type: ignore[attr-defined]
    _submit(driver, "#part-delivery-form")
    _wait(driver, ".flash")
    assert driver.find_element(By.CSS_SELECTOR, "#part-delivery-state").text == "只接受整单交付"  # type: ignore[attr-defined]
    assert _accepts(desk) is False


def test_a_customer_sets_part_delivery_on_the_account_page_on_a_phone(
    browser: object, server: str, desk: Desk
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    _sign_in(driver, server, "customer@example.com")
    driver.get(f"{server}/account")  # type: ignore[attr-defined]
    _wait(driver, "#part-delivery-form")
    _fits(driver)
    driver.find_element(
        By.CSS_SELECTOR, '#part-delivery-form [name="accept_part_delivery"]'
    ).click()  # type: ignore[attr-defined]
    _submit(driver, "#part-delivery-form")
    _wait(driver, ".flash")
    assert driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, '#part-delivery-form [name="accept_part_delivery"]'
    ).is_selected()
    _fits(driver)
    with desk.sessions() as s:
        customer = s.scalars(select(User).where(User.email == "customer@example.com")).one()
        assert customer.accept_part_delivery is True
