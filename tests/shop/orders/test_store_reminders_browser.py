"""Issue 14's last pieces on a 390 px phone in Chinese, in headless Chromium: the checkout's
reminder box, the account page's reminder form, the unsubscribe link, the waitlist form's
SMS choice and the pickup ticket's keeping advice."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import Order, WaitlistEntry
from shop.orders.reminder_models import ReminderSubscription
from tests.e2e.test_manager_browser import _click, _fill, _wait
from tests.shop.orders.conftest import LiveServer, Shop
from tests.shop.orders.test_store_phone_browser import as_phone
from tests.support.browser import WIDER_THAN_SCREEN, page_width

pytestmark = pytest.mark.browser


def _fits(driver: object) -> None:
    """The page is as wide as the screen and nothing sticks out of it."""
    viewport, page = page_width(driver)
    assert page <= viewport  # a desktop's scrollbar takes its share of the viewport
    assert driver.execute_script(WIDER_THAN_SCREEN) == []  # type: ignore[attr-defined]


def _shot(driver: object, name: str) -> None:
    folder = os.environ.get("GAOGAN_SCREENSHOT_DIR")
    if folder:
        width = driver.execute_script("return window.innerWidth")  # type: ignore[attr-defined]
        driver.save_screenshot(os.path.join(folder, f"reminders-{name}-{width}.png"))  # type: ignore[attr-defined]


def _screen(driver: object, width: int) -> None:
    if width == 390:
        as_phone(driver, 1800)
        return
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 1200, "deviceScaleFactor": 1, "mobile": False},
    )


def _sign_in(driver: object, base: str, email: str) -> None:
    driver.get(f"{base}/signin?lang=zh")  # type: ignore[attr-defined]
    _fill(driver, "main form", {"email": email, "password": "long-enough-pw"})
    _click(driver, driver.find_element("css selector", 'main form button[type="submit"]'))  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [390, 1280])
def test_reminders_waitlist_sms_and_the_ticket_on_a_phone_in_chinese(
    browser: object,
    live_server: LiveServer,
    shop: Shop,
    db: sessionmaker[Session],
    width: int,
) -> None:
    from selenium.webdriver.common.by import By

    with transaction(db) as s:
        for email, role in (("mei@example.com", Role.CUSTOMER), ("desk@example.com", Role.STAFF)):
            create_user(s, email=email, name="梅", password="long-enough-pw", role=role)
    driver = browser
    base = live_server.url
    _screen(driver, width)

    # A guest orders and ticks "remind me", choosing SMS.
    driver.get(f"{base}/products/GG-CLASSIC?lang=zh")  # type: ignore[attr-defined]
    driver.find_element(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, f'label[data-day="{shop.open_day.isoformat()}"]'
    ).click()
    _click(driver, driver.find_element(By.ID, "add-to-cart"))  # type: ignore[attr-defined]
    _click(driver, driver.find_element(By.ID, "checkout"))  # type: ignore[attr-defined]
    _fill(driver, "#checkout-form", {"name": "王芳", "mobile": "13800138000"})
    _fill(driver, "#checkout-form", {"email": "wang@example.com"})
    driver.find_element(By.CSS_SELECTOR, 'input[name="notify_channel"][value="sms"]').click()  # type: ignore[attr-defined]
    box = driver.find_element(By.CSS_SELECTOR, 'input[name="season_reminders"]')  # type: ignore[attr-defined]
    assert not box.is_selected()  # opting in is never a default
    assert "春节前提醒我订货" in driver.find_element(By.ID, "season-reminders").text  # type: ignore[attr-defined]
    box.click()
    _fits(driver)
    _shot(driver, "checkout")
    _click(driver, driver.find_element(By.ID, "place-order"))  # type: ignore[attr-defined]
    with db() as s:
        sub = s.scalars(select(ReminderSubscription)).one()
        assert (sub.subscriber, sub.channel, sub.language) == ("mobile:13800138000", "sms", "zh")
        public_id = s.scalars(select(Order.public_id)).one()

    # The link in every reminder: says how it comes, stops it without signing in.
    driver.get(f"{base}/reminders/{sub.id}/{sub.token}")  # type: ignore[attr-defined]
    card = driver.find_element(By.ID, "reminder-link")  # type: ignore[attr-defined]
    assert "提醒已开启：将通过短信发送到 13800138000" in card.text
    _fits(driver)
    _shot(driver, "link")
    _click(driver, driver.find_element(By.ID, "reminder-stop"))  # type: ignore[attr-defined]
    assert "提醒已关闭" in driver.find_element(By.ID, "reminder-link").text  # type: ignore[attr-defined]

    # A signed-in customer opts in by SMS on the account page.
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    _sign_in(driver, base, "mei@example.com")
    driver.get(f"{base}/account")  # type: ignore[attr-defined]
    form = driver.find_element(By.ID, "reminders")  # type: ignore[attr-defined]
    assert "春节订货提醒" in form.text and "3 天" in form.text
    _fits(driver)
    driver.find_element(By.ID, "reminder-opt-in").click()  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, '#reminders input[value="sms"]').click()  # type: ignore[attr-defined]
    _fill(driver, "#reminders", {"mobile": "13900001111"})
    _click(driver, driver.find_element(By.ID, "reminder-save"))  # type: ignore[attr-defined]
    assert "已开启春节订货提醒" in driver.find_element(By.CSS_SELECTOR, ".flash").text  # type: ignore[attr-defined]
    assert _wait(driver, "#reminders").get_attribute("data-opted-in") == "yes"  # type: ignore[attr-defined]
    _fits(driver)
    _shot(driver, "account")

    # A sold-out day's waitlist form offers SMS.
    driver.get(f"{base}/products/GG-CLASSIC?day={shop.sold_out_day.isoformat()}")  # type: ignore[attr-defined]
    _fill(
        driver,
        "#join-waitlist",
        {"name": "李雷", "mobile": "13900002222", "email": "li@example.com"},
    )
    driver.find_element(By.CSS_SELECTOR, '#wl-notify-channel input[value="sms"]').click()  # type: ignore[attr-defined]
    _fits(driver)
    _shot(driver, "waitlist")
    _click(driver, driver.find_element(By.ID, "join-waitlist-button"))  # type: ignore[attr-defined]
    assert _wait(driver, "#waitlist-entry").get_attribute("data-status") == "waiting"  # type: ignore[attr-defined]
    with db() as s:
        assert s.scalars(select(WaitlistEntry.notify_channel)).one() == "sms"

    # Staff print the guest's pickup ticket: the keeping advice, dated from its steaming day.
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    _sign_in(driver, base, "desk@example.com")
    driver.get(f"{base}/manager/orders/{public_id}/ticket")  # type: ignore[attr-defined]
    advice = driver.find_element(By.ID, "label-advice")  # type: ignore[attr-defined]
    day = shop.open_day
    assert f"出锅 {day.month}月{day.day}日 · 保存与复蒸" in advice.text
    assert "上锅蒸 1 分钟" in advice.text and "请勿食用" in advice.text
    _fits(driver)
    _shot(driver, "ticket")
