"""The season calendar, the pickup card and wallet payments on a 390 px phone in headless
Chromium."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from shop.orders import pickup_code
from tests.shop.orders.conftest import LiveServer, Shop
from tests.shop.orders.test_store_pickup_code import _place
from tests.shop.orders.test_store_season import _season_supply
from tests.shop.orders.test_store_stripe import localstripe  # noqa: F401  (the local Stripe server)
from tests.support.browser import page_width, wait_for

pytestmark = pytest.mark.browser


def as_phone(driver: object, height: int = 844) -> None:
    """Chromium will not make a window narrower than 500 px: emulate a 390 px phone."""
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def test_the_2027_season_calendar_fits_a_phone_and_marks_the_four_days(
    browser: object,
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
    browser: object,
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


@pytest.mark.slow
@pytest.mark.parametrize(("method", "label"), [("alipay", "支付宝"), ("wechat_pay", "微信支付")])
def test_a_phone_customer_pays_with_a_wallet_and_comes_back_to_a_paid_order(
    browser: object,
    shop: Shop,
    settings: Settings,
    localstripe: str,  # noqa: F811
    method: str,
    label: str,
) -> None:
    import stripe
    from selenium.webdriver.common.by import By

    from shop.app import create_app
    from tests.shop.orders.conftest import serve
    from tests.shop.orders.test_store_stripe import stripe_settings

    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    driver = browser
    as_phone(driver, 1600)
    for server in serve(app):
        driver.get(f"{server.url}/products/GG-CLASSIC")  # type: ignore[attr-defined]
        driver.find_element(  # type: ignore[attr-defined]
            By.CSS_SELECTOR, f'label[data-day="{shop.open_day.isoformat()}"]'
        ).click()
        driver.find_element(By.ID, "add-to-cart").click()  # type: ignore[attr-defined]
        wait_for(driver, By.ID, "checkout").click()  # type: ignore[attr-defined]
        wait_for(driver, By.ID, "place-order")
        driver.find_element(By.ID, "name").send_keys("王芳")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "mobile").send_keys("13800138000")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "email").send_keys("wang@example.com")  # type: ignore[attr-defined]
        choice = driver.find_element(  # type: ignore[attr-defined]
            By.CSS_SELECTOR, f'input[name="payment_method"][value="{method}"]'
        )
        assert label in choice.find_element(By.XPATH, "..").text
        choice.click()
        assert page_width(driver) == [390, 390]
        if os.environ.get("GAOGAN_SCREENSHOT_DIR"):
            driver.save_screenshot(  # type: ignore[attr-defined]
                os.path.join(os.environ["GAOGAN_SCREENSHOT_DIR"], f"checkout-{method}.png")
            )
        driver.find_element(By.ID, "place-order").click()  # type: ignore[attr-defined]
        status = wait_for(driver, By.ID, "order-status")
        assert status.get_attribute("data-status") == "pending_payment"  # type: ignore[attr-defined]
        form = driver.find_element(By.ID, "payment-form")  # type: ignore[attr-defined]
        secret = form.get_attribute("data-client-secret")
        back = form.get_attribute("data-return")
        assert label in driver.page_source and back.endswith("/return")  # type: ignore[attr-defined]
        # The wallet itself (Alipay's page, WeChat's QR scan) is Stripe's and outside a test:
        # the intent is made to succeed on localstripe, then the browser comes back as the
        # wallet sends it, with the intent named in the query.
        intent_id = secret.split("_secret_")[0]
        client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
        client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
        client.v1.payment_intents.confirm(intent_id)
        driver.get(f"{back}?payment_intent={intent_id}&redirect_status=succeeded")  # type: ignore[attr-defined]
        status = wait_for(driver, By.ID, "order-status")
        assert status.get_attribute("data-status") == "paid"  # type: ignore[attr-defined]
        driver.get(f"{back}?payment_intent={intent_id}&redirect_status=succeeded")  # type: ignore[attr-defined]
        assert wait_for(driver, By.ID, "order-status").get_attribute("data-status") == "paid"  # type: ignore[attr-defined]
    with shop.sessions() as s:
        from sqlalchemy import func, select

        from inventory.models import OutboxEvent

        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.type == "order.paid")
            )
            == 1
        )
