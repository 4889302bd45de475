"""The manager console in headless Chromium, walking the issue's check with no CLI and no
code between the steps: create a product, onboard a distributor with a price list and a
portal user, make a plan that the rice in stock binds, receive 500 kg of new-crop rice and
see the same plan no longer bound by rice, publish a plan from the planner's pages, see the
sugar purchase suggestion, take a customer's order through the storefront (as the customer),
mark it ready on its pickup day and collected, refund part of another, export the day's
sales CSV; staff can use the order desk and are refused the catalogue.

On a 390 px phone; a second walk looks at every page this work changed on a desktop screen.

The desk's "pickup day" is reached the way a rehearsal reaches it: the server reads the
rehearsal clock file (GAOGAN_CLOCK_FILE, as `gaogan orders advance` and the scheduler do),
and the test moves that clock to 07:00 of the order's day before the desk marks it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from inventory.catalog import create_raw_material
from inventory.db import transaction, utcnow
from inventory.rules import current_crop_year, local_day, local_moment
from inventory.settings import Settings
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.recipes import set_recipe
from scheduling.scheduler.clock import FileClock
from shop.app import create_app
from tests.shop.conftest import Desk, build_desk
from tests.support.browser import WIDER_THAN_SCREEN, click_and_wait

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(db: sessionmaker[Session], settings: Settings) -> Desk:
    return build_desk(db, settings)


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    """The rehearsal clock the server's order desk reads; it starts at the wall time."""
    path = tmp_path / "clock"
    FileClock.write(path, utcnow())
    return path


@pytest.fixture
def server(settings: Settings, desk: Desk, clock_file: Path) -> Iterator[str]:
    app: Flask = create_app(settings.with_overrides(clock_file=clock_file))
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)


def _shot(driver: object, name: str) -> None:
    folder = os.environ.get("GAOGAN_SCREENSHOT_DIR")
    if folder:
        driver.save_screenshot(os.path.join(folder, f"manager-{name}.png"))  # type: ignore[attr-defined]


def _wait(driver: object, css: str, seconds: int = 20) -> object:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(  # type: ignore[arg-type]
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _find(driver: object, css: str) -> object:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]


def _fill(driver: object, form: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = _find(driver, f'{form} [name="{name}"]')
        field.clear()  # type: ignore[attr-defined]
        field.send_keys(value)  # type: ignore[attr-defined]


def _set_date(driver: object, css: str, day: date) -> None:
    """A date input's value: typing into Chromium's date widget depends on the locale."""
    driver.execute_script("arguments[0].value = arguments[1];", _find(driver, css), day.isoformat())  # type: ignore[attr-defined]


def _click(driver: object, element: object, seconds: int = 20) -> None:
    click_and_wait(driver, element, seconds)


def _submit(driver: object, form: str, seconds: int = 20) -> None:
    _click(driver, _find(driver, f'{form} button[type="submit"]'), seconds)


def _sign_in(driver: object, base: str, email: str) -> None:
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    driver.get(f"{base}/signin")  # type: ignore[attr-defined]
    _fill(driver, "form", {"email": email, "password": "long-enough-pw"})
    _submit(driver, "form")
    _wait(driver, ".flash")


def _plan_material_world(db: sessionmaker[Session]) -> None:
    """Recipes, past seasons and the raw materials (none in stock): what the planner stands
    on. The shop's own world (products, supply, users, a distributor) is the desk fixture."""
    with transaction(db) as s:
        for sku in ("GG-CLASSIC", "GG-GIFT"):
            set_recipe(s, sku, rice_g=180, sugar_g=50, units_per_tray=24, loss_fraction=0.04)
        create_raw_material(s, "RICE", "rice", "新米（粳米）", "New-crop rice")
        create_raw_material(s, "SUGAR", "sugar", "绵白糖", "Soft white sugar")
        seed_sales_history(
            s, latest_festival_year=local_day(utcnow()).year, everyday_per_product=300
        )


def _make_plan(driver: object, base: str, start: date, *, limit_materials: bool) -> int:
    """A three-day plan from the planner's form; its unmet demand, read on its page."""
    form = 'form[action$="/manager/plan/plans"]'
    driver.get(f"{base}/manager/plan/")  # type: ignore[attr-defined]
    _set_date(driver, f'{form} [name="start"]', start)
    _set_date(driver, f'{form} [name="end"]', start + timedelta(days=2))
    box = _find(driver, f'{form} [name="limit_materials"]')
    if box.is_selected() != limit_materials:  # type: ignore[attr-defined]
        box.click()  # type: ignore[attr-defined]
    _submit(driver, form, seconds=120)  # the solver runs in the request
    unmet = _wait(driver, "#plan-unmet")
    return int(unmet.get_attribute("data-unmet"))  # type: ignore[attr-defined]


def _bottleneck(driver: object) -> str | None:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#bottleneck")  # type: ignore[attr-defined]
    return found[0].get_attribute("data-material") if found else None


def _order_in_shop(
    driver: object, base: str, *, quantity: int, name: str, mobile: str
) -> tuple[date, str]:
    """The signed-in customer orders classic gaogan for the first open day, paying at
    pickup; the day and the order's number."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(base + "/")  # type: ignore[attr-defined]
    _click(driver, driver.find_element(By.LINK_TEXT, "杨村糕干（经典）"))  # type: ignore[attr-defined]
    label = _find(driver, 'label.day[data-state="open"]')
    day = date.fromisoformat(label.get_attribute("data-day"))  # type: ignore[attr-defined]
    label.click()  # type: ignore[attr-defined]
    field = _find(driver, "#quantity")
    field.send_keys(Keys.CONTROL, "a")  # type: ignore[attr-defined]
    field.send_keys(str(quantity))  # type: ignore[attr-defined]
    _click(driver, _find(driver, "#add-to-cart"))
    _click(driver, _wait(driver, "#checkout"))
    _wait(driver, "#place-order")
    _fill(driver, "form", {"name": name, "mobile": mobile})
    _find(driver, 'input[name="payment_method"][value="pay_at_pickup"]').click()  # type: ignore[attr-defined]
    _click(driver, _find(driver, "#place-order"))
    status = _wait(driver, "#order-status")
    assert status.get_attribute("data-status") == "confirmed"  # type: ignore[attr-defined]
    found = re.search(r"/track/([A-Z0-9]+)/", driver.current_url)  # type: ignore[attr-defined]
    assert found, driver.current_url  # type: ignore[attr-defined]
    return day, found.group(1)


def _fits(driver: object, base: str, paths: list[str], width: int) -> None:
    """Every page is in Chinese and nothing is wider than the screen."""
    for path in paths:
        driver.get(base + path)  # type: ignore[attr-defined]
        lang = driver.execute_script("return document.documentElement.lang")  # type: ignore[attr-defined]
        page_width = driver.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        viewport = driver.execute_script("return window.innerWidth")  # type: ignore[attr-defined]
        wide = driver.execute_script(WIDER_THAN_SCREEN)  # type: ignore[attr-defined]
        assert lang == "zh-CN" or lang.startswith("zh"), (path, lang)
        assert viewport == width and page_width <= viewport, (path, page_width, viewport, wide)


def test_the_manager_runs_the_day_from_a_phone_and_staff_get_the_desk_only(
    browser: object,
    server: str,
    desk: Desk,
    db: sessionmaker[Session],
    clock_file: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    _plan_material_world(db)
    _sign_in(driver, server, "manager@example.com")

    # A new product from the catalogue page.
    driver.get(f"{server}/manager/catalogue/")  # type: ignore[attr-defined]
    _fill(
        driver,
        "#new-product",
        {
            "sku": "GG-OSMANTHUS",
            "name_zh": "桂花糕干",
            "name_en": "Osmanthus gaogan",
            "price": "15.00",
            "pack_size_g": "250",
            "freshness_days": "2",
            "best_before_days": "7",
        },
    )
    _submit(driver, "#new-product")
    _wait(driver, "#edit-product")
    assert "已创建 GG-OSMANTHUS" in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "product")

    # A distributor with a price list and a portal user.
    driver.get(f"{server}/manager/distributors/")  # type: ignore[attr-defined]
    _fill(
        driver,
        "#new-distributor",
        {"code": "BJ02", "company": "北京稻香副食", "contact_name_0": "刘经理"},
    )
    _submit(driver, "#new-distributor")
    _wait(driver, "#price-list")
    account_path = driver.current_url.removeprefix(server)  # type: ignore[attr-defined]
    _fill(driver, "#price-list", {"price_GG-OSMANTHUS": "120.00", "price_GG-CLASSIC": "96.50"})
    _submit(driver, "#price-list")
    _wait(driver, "#invite-form")
    _fill(driver, "#invite-form", {"name": "小刘", "email": "liu@bj02.example"})
    _submit(driver, "#invite-form")
    _wait(driver, ".flash")
    invitation = re.search(r"(/invite/[A-Za-z0-9_-]+)", driver.page_source)  # type: ignore[attr-defined]
    assert invitation
    _shot(driver, "distributor")

    # The next three days planned within the materials in stock: there is no rice at all,
    # so the plan is bound by rice and says so.
    start = local_day(utcnow()) + timedelta(days=1)
    bound_unmet = _make_plan(driver, server, start, limit_materials=True)
    assert _bottleneck(driver) == "rice"
    assert "瓶颈是大米库存" in _find(driver, "#bottleneck").text  # type: ignore[attr-defined]
    assert bound_unmet > 0
    _shot(driver, "plan-bound-by-rice")

    # 500 kg of new-crop rice and a little sugar into stock.
    crop = current_crop_year(local_day(utcnow()))
    for sku, quantity, year in (("RICE", "500", str(crop)), ("SUGAR", "5", "")):
        driver.get(f"{server}/manager/stock/")  # type: ignore[attr-defined]
        Select(_find(driver, '#receive-form [name="sku"]')).select_by_value(sku)
        _fill(
            driver,
            "#receive-form",
            {"quantity": quantity, "crop_year": year, "supplier": "杨村粮站"},
        )
        _submit(driver, "#receive-form")
        _wait(driver, ".flash")
        assert "已入库批次" in driver.page_source  # type: ignore[attr-defined]
    assert "500.0 kg" in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "stock")

    # The same plan again: no longer bound by rice (the 5 kg of sugar is what binds now).
    after_rice = _make_plan(driver, server, start, limit_materials=True)
    assert _bottleneck(driver) != "rice"
    assert after_rice < bound_unmet

    # The plan of the whole demand, published from its page; the requirements page then
    # suggests buying sugar.
    _make_plan(driver, server, start, limit_materials=False)
    plan_path = driver.current_url.removeprefix(server)  # type: ignore[attr-defined]
    _submit(driver, 'form[action$="/publish"]')
    _wait(driver, ".flash")
    assert "已发布" in driver.find_element(By.TAG_NAME, "h1").text  # type: ignore[attr-defined]
    assert "已发布：商城与经销商按此计划接单" in driver.page_source  # type: ignore[attr-defined]
    assert 'id="forecast-basis"' in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "plan-published")
    driver.get(f"{server}/manager/stock/requirements")  # type: ignore[attr-defined]
    sugar = _find(driver, 'section[data-sku="SUGAR"]')
    assert "建议采购" in sugar.text and sugar.get_attribute("data-short") != "0"  # type: ignore[attr-defined]
    _shot(driver, "requirements")

    # A customer orders through the storefront, twice, paying at pickup.
    _sign_in(driver, server, "customer@example.com")
    day, first = _order_in_shop(driver, server, quantity=4, name="王芳", mobile="13800138000")
    other_day, other = _order_in_shop(driver, server, quantity=2, name="赵敏", mobile="13700001111")
    assert other_day == day
    _shot(driver, "customer-order")

    # On the morning of the pickup day the desk marks the first ready, then collected: no
    # "made early" reason is asked, it is its day.
    FileClock.write(clock_file, local_moment(day, time(7, 0)))
    _sign_in(driver, server, "manager@example.com")
    driver.get(f"{server}/manager/orders/?day={day.isoformat()}")  # type: ignore[attr-defined]
    row = f'article[data-number="{first}"]'
    assert not driver.find_elements(By.CSS_SELECTOR, f'{row} input[name="override_reason"]')  # type: ignore[attr-defined]
    for target in ("ready", "collected"):
        _click(driver, _find(driver, f'{row} button[value="{target}"]'))
        _wait(driver, ".flash")
    assert _find(driver, row).get_attribute("data-status") == "collected"  # type: ignore[attr-defined]
    _shot(driver, "desk")
    # The other is paid at the counter and part refunded.
    driver.get(f"{server}/manager/orders/{other}")  # type: ignore[attr-defined]
    _click(driver, _find(driver, 'form[action$="/paid"] button'))
    _wait(driver, "#refund-form")
    _fill(driver, "#refund-form", {"amount": "5.00", "reason": "压坏一块"})
    _submit(driver, "#refund-form")
    _wait(driver, "#refunds")
    assert "部分退款" in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "refund")

    # The day's sales as CSV: the storefront's six pieces.
    driver.get(f"{server}/manager/reports/?start={day.isoformat()}&by=product")  # type: ignore[attr-defined]
    link = _find(driver, "#sales-csv").get_attribute("href")  # type: ignore[attr-defined]
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}  # type: ignore[attr-defined]
    csv_body = requests.get(link, cookies=cookies, timeout=10).content.decode("utf-8-sig")
    assert csv_body.splitlines()[0] == "product,lines,pieces,revenue_fen"
    assert "GG-CLASSIC" in csv_body
    _shot(driver, "reports")

    # Staff: the desk yes, the catalogue no.
    _sign_in(driver, server, "staff@example.com")
    driver.get(f"{server}/manager/orders/?day={day.isoformat()}")  # type: ignore[attr-defined]
    assert "订单台" in driver.page_source and other in driver.page_source  # type: ignore[attr-defined]
    driver.get(f"{server}/manager/catalogue/")  # type: ignore[attr-defined]
    assert "商品与价格" not in driver.page_source  # type: ignore[attr-defined]
    assert "not allowed" in driver.page_source or "403" in driver.page_source  # type: ignore[attr-defined]

    # The invited distributor sets a password and lands in the portal with the new price.
    driver.delete_all_cookies()  # type: ignore[attr-defined]
    driver.get(server + invitation.group(1))  # type: ignore[attr-defined]
    _fill(driver, "#accept-form", {"password": "bj02-portal-pw"})
    _submit(driver, "#accept-form")
    _wait(driver, ".site-nav")
    _shot(driver, "portal")
    assert "¥96.50" in driver.page_source, _find(driver, "main").text  # type: ignore[attr-defined]

    # Every page fits a 390 px phone: nothing wider than the screen.
    _sign_in(driver, server, "manager@example.com")
    _fits(
        driver,
        server,
        [
            "/manager/orders/",
            f"/manager/orders/{other}",
            "/manager/catalogue/",
            "/manager/stock/",
            "/manager/stock/requirements",
            "/manager/stock/purchases",
            "/manager/distributors/",
            account_path,
            "/manager/plan/",
            plan_path,
            "/manager/reports/",
            "/manager/reports/season",
            "/manager/history/",
            "/manager/staff/",
        ],
        390,
    )


def test_the_changed_pages_on_a_desktop_screen(
    desktop: object, server: str, desk: Desk, db: sessionmaker[Session]
) -> None:
    """The pages this work changed, in Chinese on a 1280 px screen: the storefront without a
    product kept off the web shop, the portal without one kept from distributors, an account
    over its credit limit, and the forecast's basis on the planner's overview."""
    driver = desktop
    _plan_material_world(db)
    _sign_in(driver, server, "manager@example.com")
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}  # type: ignore[attr-defined]
    token = re.search(r'name="csrf-token" content="([^"]+)"', driver.page_source)  # type: ignore[attr-defined]
    headers = {"X-CSRF-Token": token.group(1)} if token else {}
    api = f"{server}/api/v1/manager"
    # The gift box is sold to distributors only; the classic one in the shop only.
    for sku, channels in (("GG-GIFT", ["distributor"]), ("GG-CLASSIC", ["shop"])):
        changed = requests.patch(
            f"{api}/catalogue/products/{sku}",
            json={"channels": channels},
            cookies=cookies,
            headers=headers,
            timeout=10,
        )
        assert changed.status_code == 200, changed.text
    accounts = requests.get(f"{api}/distributors", cookies=cookies, timeout=10).json()
    tj01 = next(a for a in accounts if a["code"] == "TJ01")
    limited = requests.put(
        f"{api}/distributors/{tj01['id']}",
        json={"company": tj01["company"], "credit_limit_fen": 10_000},
        cookies=cookies,
        headers=headers,
        timeout=10,
    )
    assert limited.status_code == 200 and limited.json()["credit_available_fen"] == 10_000 - 19_200

    driver.get(f"{server}/manager/distributors/{tj01['id']}")  # type: ignore[attr-defined]
    credit = _find(driver, "#credit")
    assert "已超额度 ¥92.00" in credit.text and "¥100.00" in credit.text  # type: ignore[attr-defined]
    assert _find(driver, '[data-not-sold="GG-CLASSIC"]').text == "不向经销商销售"  # type: ignore[attr-defined]
    _shot(driver, "desktop-credit")
    driver.get(f"{server}/manager/plan/")  # type: ignore[attr-defined]
    basis = _find(driver, "#forecast-basis")
    assert "预测依据" in basis.text and "演示/初始数据" in basis.text  # type: ignore[attr-defined]
    _shot(driver, "desktop-basis")
    _fits(
        driver,
        server,
        ["/manager/distributors/", f"/manager/distributors/{tj01['id']}", "/manager/plan/"],
        1280,
    )

    driver.delete_all_cookies()  # type: ignore[attr-defined]
    driver.get(server + "/")  # type: ignore[attr-defined]
    assert "杨村糕干（经典）" in driver.page_source  # type: ignore[attr-defined]
    assert "糕干礼盒" not in driver.page_source  # type: ignore[attr-defined]
    driver.get(server + "/products/GG-GIFT")  # type: ignore[attr-defined]
    assert "GG-GIFT 不在网店销售" in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "desktop-store")
    _fits(driver, server, ["/", "/products/GG-CLASSIC"], 1280)

    _sign_in(driver, server, "distributor@example.com")
    driver.get(f"{server}/distributor/?week={desk.day.isoformat()}")  # type: ignore[attr-defined]
    assert 'name="cases_GG-CLASSIC"' not in driver.page_source  # type: ignore[attr-defined]
    _shot(driver, "desktop-portal")
    _fits(driver, server, ["/distributor/", "/distributor/statement"], 1280)
