"""Database unavailable or overloaded: 503 with Retry-After on the API and on pages (a
Chinese error page), within 5 s, and 200 again when it returns, without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from inventory.settings import Settings
from shop.app import create_app
from tests.shop.security.conftest import Shop
from tests.shop.security.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    url = make_url(database_url)
    tunnel = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    tunnel.start()
    yield tunnel
    tunnel.stop()


def _app_through(proxy: TcpProxy, database_url: str, tmp_path: Path, **extra: str) -> Flask:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    env = {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(tmp_path / "instance-proxy"),
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key-which-is-long-enough-for-tests",
        **extra,
    }
    application = create_app(Settings.from_env(env))
    application.config["TESTING"] = True
    return application


def _timed(client: object, path: str) -> tuple[int, float, object]:
    started = time.monotonic()
    response = client.get(path, headers={"Accept": "text/html"})  # type: ignore[attr-defined]
    return response.status_code, time.monotonic() - started, response


def test_a_dropped_database_answers_503_and_recovers_without_a_restart(
    shop: Shop, proxy: TcpProxy, database_url: str, tmp_path: Path
) -> None:
    app = _app_through(proxy, database_url, tmp_path)
    client = app.test_client()
    for path in ("/api/v1/products", "/"):
        assert _timed(client, path)[0] == 200

    proxy.stop()
    for path in (
        "/api/v1/products",
        "/",
        "/api/v1/availability?product=GG-CLASSIC&from=2030-01-01&to=2030-01-02",
    ):
        status, seconds, response = _timed(client, path)
        assert status == 503, (path, status)
        assert seconds < 5, (path, seconds)
        assert response.headers["Retry-After"] == "5"  # type: ignore[attr-defined]
    api = client.get("/api/v1/products").get_json()
    assert api["error"] == "database_unavailable" and api["message"]
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "系统繁忙" in page and "503" in page
    assert client.get("/healthz").status_code == 503

    proxy.start()  # same port: the database is back
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and client.get("/api/v1/products").status_code != 200:
        time.sleep(0.2)
    assert client.get("/api/v1/products").status_code == 200
    assert _timed(client, "/")[0] == 200


def test_a_pool_with_no_free_connection_answers_503(
    shop: Shop, proxy: TcpProxy, database_url: str, tmp_path: Path
) -> None:
    """What "too many clients" looks like from inside one process: no connection to be had."""
    app = _app_through(
        proxy,
        database_url,
        tmp_path,
        GAOGAN_DB_POOL_SIZE="1",
        GAOGAN_DB_MAX_OVERFLOW="0",
        GAOGAN_DB_POOL_TIMEOUT="1",
    )
    engine = app.extensions["gaogan"].engine
    held = engine.connect()
    try:
        response = app.test_client().get("/api/v1/products")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
    finally:
        held.close()
    assert app.test_client().get("/api/v1/products").status_code == 200
