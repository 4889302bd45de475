"""Issue 10 item 7: every refusal a person can see has Chinese (default) and English text."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from flask import Flask

from inventory.errors import DomainError
from shop.errors import _HTTP_CODES
from shop.i18n import catalogue
from shop.messages import ABORT_KEYS, localise

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("inventory", "scheduling", "shop")


def _all_subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    found: set[type[DomainError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def _import_everything() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def _sources() -> list[Path]:
    return [p for name in PACKAGES for p in (ROOT / name).rglob("*.py")]


def _complete(key: str) -> bool:
    texts = catalogue().get(key, {})
    return bool(texts.get("zh")) and bool(texts.get("en"))


def test_every_domain_error_code_of_the_three_packages_has_chinese_and_english() -> None:
    _import_everything()
    codes = {cls.code for cls in _all_subclasses(DomainError) | {DomainError}}
    assert len(codes) > 40
    missing = sorted(code for code in codes if not _complete(f"error.{code}"))
    assert missing == [], f"error codes without zh+en text: {missing}"


def test_every_message_key_given_at_a_raise_site_is_in_the_catalogue() -> None:
    keys: set[str] = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                    if kw.arg == "key" and isinstance(value, str) and "." in value:
                        keys.add(value)
    assert keys, "no raise site names a message key"
    missing = sorted(k for k in keys if not _complete(k))
    assert missing == [], f"message keys without zh+en text: {missing}"


def test_every_abort_description_a_user_can_see_has_a_translation() -> None:
    described: set[str] = set()
    for path in (ROOT / "shop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "abort":
                for kw in node.keywords:
                    if kw.arg == "description" and isinstance(kw.value, ast.Constant):
                        described.add(str(kw.value.value))
    described.discard("csrf_token_missing_or_invalid")  # worded by error.csrf
    unmapped = sorted(d for d in described if d not in ABORT_KEYS)
    assert unmapped == [], f"abort descriptions without a message key: {unmapped}"
    assert all(_complete(key) for key in ABORT_KEYS.values())
    statuses = [*_HTTP_CODES, 500]
    assert [s for s in statuses if not _complete(f"http.{s}")] == []


def test_the_json_api_keeps_its_code_and_words_the_message_in_the_asked_language(
    app: Flask,
) -> None:
    client = app.test_client()
    zh = client.get("/api/v1/availability?product=NOPE&from=2026-12-10&to=2026-12-11")
    assert zh.status_code == 404 and zh.get_json()["error"] == "unknown_item"
    assert zh.get_json()["message"] == "没有这个商品。"
    en = client.get("/api/v1/availability?product=NOPE&from=2026-12-10&to=2026-12-11&lang=en")
    assert en.get_json()["error"] == "unknown_item"
    assert "NOPE" in en.get_json()["message"]
    missing = app.test_client().get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)


def test_a_generic_refusal_with_a_key_is_worded_from_that_key(app: Flask) -> None:
    exc = DomainError("cases must be a whole number", key="dist.error.cases_number", sku="X")
    with app.test_request_context("/"):
        assert localise(exc) == catalogue()["dist.error.cases_number"]["zh"]
        assert localise(exc, "en") == "cases must be a whole number"


def test_a_quantity_over_500_in_the_cart_is_a_chinese_message_on_the_product_page(
    app: Flask,
) -> None:
    from tests.shop.orders.conftest import csrf_of, order_days

    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    answer = client.post(
        "/cart/add",
        data={
            "csrf_token": token,
            "sku": "GG-CLASSIC",
            "day": order_days()[0].isoformat(),
            "quantity": "501",
        },
        follow_redirects=True,
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "杨村糕干（经典）" in page
    assert "GG-CLASSIC 的数量必须在 1 到 500 之间（您填写了 501）" in page
