"""On a 390 px phone in headless Chromium, in Chinese: a two-day order in one checkout, the
address book and checkout filling a delivery from it, a gift paid online."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from inventory.db import transaction
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import Order, OrderStatus, Purchase
from tests.shop.orders.conftest import LiveServer, Shop, serve
from tests.shop.orders.test_store_phone_browser import as_phone
from tests.shop.orders.test_store_stripe import localstripe  # noqa: F401  (the local Stripe server)
from tests.support.browser import page_width, wait_for

pytestmark = pytest.mark.browser


def _shot(driver: object, name: str) -> None:
    folder = os.environ.get("GAOGAN_SCREENSHOT_DIR")
    if folder:
        height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
        as_phone(driver, max(844, int(height)))
        driver.save_screenshot(os.path.join(folder, f"{name}.png"))  # type: ignore[attr-defined]
        as_phone(driver, 1400)


def _click(driver: object, element: object) -> None:
    """Click and wait until the next document replaced this one (the old one is marked)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__gaoganOldPage = true;")  # type: ignore[attr-defined]
    element.click()  # type: ignore[attr-defined]

    def replaced(d: object) -> bool:
        try:
            return d.execute_script(  # type: ignore[attr-defined, no-any-return]
                "return document.readyState !== 'loading' && window.__gaoganOldPage !== true;"
            )
        except WebDriverException:
            return False

    WebDriverWait(driver, 20).until(replaced)  # type: ignore[arg-type]


def _add(driver: object, base: str, sku: str, day: str, quantity: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base}/products/{sku}?day={day}")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, f'label[data-day="{day}"]').click()  # type: ignore[attr-defined]
    field = driver.find_element(By.ID, "quantity")  # type: ignore[attr-defined]
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(quantity))
    _click(driver, driver.find_element(By.ID, "add-to-cart"))  # type: ignore[attr-defined]


def test_a_phone_customer_places_a_two_day_order_in_one_checkout(
    browser: object,
    live_server: LiveServer,
    shop: Shop,
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    as_phone(driver, 1400)
    second = (shop.open_day + timedelta(days=4)).isoformat()
    _add(driver, live_server.url, "GG-GIFT", shop.open_day.isoformat(), 2)  # 腊八, say
    _add(driver, live_server.url, "GG-CLASSIC", second, 4)  # 小年
    days = driver.find_elements(By.CSS_SELECTOR, "section.cart-day")  # type: ignore[attr-defined]
    assert [d.get_attribute("data-day") for d in days] == [shop.open_day.isoformat(), second]
    assert "购物车里有 2 个取货日" in driver.page_source  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "cart-total").text == "¥226.00"  # type: ignore[attr-defined]
    assert page_width(driver) == [390, 390]
    _shot(driver, "cart-two-days")

    _click(driver, driver.find_element(By.ID, "checkout"))  # type: ignore[attr-defined]
    assert driver.find_element(By.ID, "checkout-days").get_attribute("data-days") == "2"  # type: ignore[attr-defined]
    driver.find_element(By.ID, "name").send_keys("王芳")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "mobile").send_keys("13800138000")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "email").send_keys("wang@example.com")  # type: ignore[attr-defined]
    assert page_width(driver) == [390, 390]
    _shot(driver, "checkout-two-days")
    _click(driver, driver.find_element(By.ID, "place-order"))  # type: ignore[attr-defined]

    wait_for(driver, By.ID, "purchase")
    rows = driver.find_elements(By.CSS_SELECTOR, "li.purchase-order")  # type: ignore[attr-defined]
    assert [(r.get_attribute("data-day"), r.get_attribute("data-status")) for r in rows] == [
        (shop.open_day.isoformat(), "confirmed"),
        (second, "confirmed"),
    ]
    assert driver.find_element(By.ID, "purchase-total").text == "¥226.00"  # type: ignore[attr-defined]
    assert "合并订单" in driver.title  # type: ignore[attr-defined]
    assert page_width(driver) == [390, 390]
    _shot(driver, "purchase")
    # Each day's order opens from the purchase page.
    _click(driver, rows[1].find_element(By.TAG_NAME, "a"))
    assert wait_for(driver, By.ID, "order-status").get_attribute("data-status") == "confirmed"  # type: ignore[attr-defined]
    with shop.sessions() as s:
        purchase = s.scalars(select(Purchase)).one()
        assert {o.purchase_id for o in s.scalars(select(Order))} == {purchase.id}


def test_a_phone_customer_saves_an_address_and_checkout_fills_the_delivery_from_it(
    browser: object,
    shop: Shop,
    settings: Settings,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with transaction(shop.sessions) as s:
        create_user(
            s, email="a@example.com", name="王芳", password="long-password", role=Role.CUSTOMER
        )
    # Delivery is offered with online payment; the checkout is not submitted here.
    online = settings.with_overrides(
        payment_provider="stripe",
        stripe_secret_key="sk_test_gaogan",
        stripe_publishable_key="pk_test_gaogan",
        stripe_api_base="http://127.0.0.1:9",
    )
    app = create_app(online)
    app.config["TESTING"] = True
    driver = browser
    as_phone(driver, 1400)
    for server in serve(app):
        driver.get(f"{server.url}/signin")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "email").send_keys("a@example.com")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "password").send_keys("long-password")  # type: ignore[attr-defined]
        _click(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))  # type: ignore[attr-defined]
        driver.get(f"{server.url}/account")  # type: ignore[attr-defined]
        book = driver.find_element(By.ID, "address-book")  # type: ignore[attr-defined]
        assert "还没有保存地址" in book.text
        for name, value in (
            ("label", "父母家"),
            ("recipient", "王建国"),
            ("phone", "13900001111"),
            ("address", "天津市河西区友谊路 1 号"),
        ):
            driver.find_element(By.CSS_SELECTOR, f'#add-address [name="{name}"]').send_keys(value)  # type: ignore[attr-defined]
        Select(driver.find_element(By.CSS_SELECTOR, '#add-address [name="zone"]')).select_by_value(
            "tianjin"
        )  # type: ignore[attr-defined]
        assert page_width(driver) == [390, 390]
        _click(driver, driver.find_element(By.CSS_SELECTOR, "#add-address button[type=submit]"))  # type: ignore[attr-defined]
        entry = wait_for(driver, By.CSS_SELECTOR, "li.address-entry")
        assert entry.get_attribute("data-default") == "yes" and "王建国" in entry.text  # type: ignore[attr-defined]
        assert "地址已保存" in driver.page_source  # type: ignore[attr-defined]
        assert page_width(driver) == [390, 390]
        _shot(driver, "address-book")

        _add(driver, server.url, "GG-GIFT", shop.open_day.isoformat(), 1)
        driver.get(f"{server.url}/checkout")  # type: ignore[attr-defined]
        choose = Select(driver.find_element(By.ID, "address_id"))  # type: ignore[attr-defined]
        # The default entry is preselected: choosing delivery fills the form from it.
        assert "父母家（默认）" in choose.first_selected_option.text.replace(" (", "（").replace(
            ")", "）"
        )
        driver.find_element(  # type: ignore[attr-defined]
            By.CSS_SELECTOR, 'input[name="fulfilment"][value="delivery"]'
        ).click()
        values = {
            name: driver.find_element(By.ID, name).get_attribute("value")  # type: ignore[attr-defined]
            for name in ("delivery_zone", "delivery_address", "name", "mobile")
        }
        assert values == {
            "delivery_zone": "tianjin",
            "delivery_address": "天津市河西区友谊路 1 号",
            "name": "王建国",
            "mobile": "13900001111",
        }
        assert page_width(driver) == [390, 390]
        _shot(driver, "checkout-address-book")


@pytest.mark.slow
def test_a_phone_buyer_pays_a_gift_online_and_sees_it_paid(
    browser: object,
    shop: Shop,
    settings: Settings,
    localstripe: str,  # noqa: F811
) -> None:
    import requests
    import stripe
    from selenium.webdriver.common.by import By

    from tests.shop.orders.test_store_gift_payments import five_recipients
    from tests.shop.orders.test_store_gifts import gift_json
    from tests.shop.orders.test_store_stripe import stripe_settings

    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    driver = browser
    as_phone(driver, 1400)
    for server in serve(app):
        driver.get(f"{server.url}/gifts/new")  # type: ignore[attr-defined]
        methods = driver.find_elements(By.CSS_SELECTOR, 'input[name="payment_method"]')  # type: ignore[attr-defined]
        assert [m.get_attribute("value") for m in methods] == [
            "bank_transfer",
            "stripe",
            "alipay",
            "wechat_pay",
        ]
        assert "在线支付：支付宝" in driver.page_source  # type: ignore[attr-defined]
        assert page_width(driver) == [390, 390]
        _shot(driver, "gift-new")
        placed = requests.post(
            f"{server.url}/api/v1/gifts",
            json={**gift_json(five_recipients(shop)), "payment_method": "alipay"},
            timeout=20,
        ).json()
        driver.get(placed["url"])  # type: ignore[attr-defined]
        form = wait_for(driver, By.ID, "payment-form")
        secret = form.get_attribute("data-client-secret")  # type: ignore[attr-defined]
        back = form.get_attribute("data-return")  # type: ignore[attr-defined]
        assert driver.find_element(By.ID, "gift-payment").get_attribute("data-paid") == "no"  # type: ignore[attr-defined]
        assert "¥514.00" in driver.find_element(By.ID, "pay-button").text  # type: ignore[attr-defined]
        assert page_width(driver) == [390, 390]
        _shot(driver, "gift-pay")
        # Alipay's own page is outside a test: the intent is made to succeed on localstripe
        # and the browser comes back as Alipay sends it.
        intent_id = secret.split("_secret_")[0]
        client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
        client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
        client.v1.payment_intents.confirm(intent_id)
        driver.get(f"{back}?payment_intent={intent_id}&redirect_status=succeeded")  # type: ignore[attr-defined]
        paid = wait_for(driver, By.ID, "gift-payment")
        assert paid.get_attribute("data-paid") == "yes" and "支付宝" in paid.text  # type: ignore[attr-defined]
        statuses = {
            r.get_attribute("data-status")
            for r in driver.find_elements(By.CSS_SELECTOR, "#gift-recipients tr")  # type: ignore[attr-defined]
        }
        assert statuses == {"paid"}
        assert page_width(driver) == [390, 390]
        _shot(driver, "gift-paid")
    with shop.sessions() as s:
        assert {o.status for o in s.scalars(select(Order))} == {OrderStatus.PAID}
