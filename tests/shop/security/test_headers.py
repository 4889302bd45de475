"""Security headers on every response, and templates a strict CSP can allow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from inventory.settings import Settings
from shop.app import create_app
from tests.shop.security.conftest import Shop, signed_in
from tests.shop.security.crawler import crawl

TEMPLATES = Path(__file__).resolve().parents[3] / "shop" / "templates"
COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _check(response: object, *, hsts: bool) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in COMMON.items():
        assert headers.get(name) == value, name
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert ("Strict-Transport-Security" in headers) is hsts


@pytest.fixture
def production_app(tmp_path: Path, database_url: str, shop: Shop) -> Flask:
    env = {
        "GAOGAN_ENV": "production",
        "GAOGAN_INSTANCE": str(tmp_path / "prod"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "a-production-secret-key-of-at-least-32-characters",
        "GAOGAN_LOG_JSON": "false",
    }
    return create_app(Settings.from_env(env))


def test_every_page_in_production_carries_the_headers_and_hsts(production_app: Flask) -> None:
    # https: the production session cookie is Secure and is only sent back over HTTPS.
    client = production_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    pages, _ = crawl(client, ["/", "/signin", "/signup", "/cart"])
    assert len(pages) >= 4
    for path in [*pages, "/api/v1/products", "/static/style.css", "/no-such-page", "/api/docs"]:
        _check(client.get(path), hsts=True)


@pytest.mark.parametrize("role", ["customer", "distributor", "manager"])
def test_every_page_of_each_role_carries_the_headers(app: Flask, shop: Shop, role: str) -> None:
    client, _ = signed_in(app, getattr(shop, role))
    pages, _ = crawl(
        client,
        ["/", "/account", "/distributor/", "/manager/plan/", "/manager/security/audit"],
        limit=40,
    )
    for path in pages:
        _check(client.get(path), hsts=False)


def test_templates_have_no_inline_script_handler_style_or_external_origin() -> None:
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script(?P<attrs>[^>]*)>", text):
            attrs = match.group("attrs")
            if "src=" not in attrs and "nonce=" not in attrs:
                problems.append(f"{path.name}: inline <script> without the CSP nonce")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{path.name}: inline event handler")
        if "javascript:" in text:
            problems.append(f"{path.name}: javascript: URL")
        if re.search(r"<style|\sstyle\s*=", text):
            problems.append(f"{path.name}: inline style")
        if re.search(r"<(script|link)[^>]+(src|href)=\"https?://", text):
            problems.append(f"{path.name}: script or stylesheet from another origin")
    assert not problems, problems
