from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.app import create_app
from shop.i18n import yuan


def make_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def test_healthz_answers_ok_when_the_database_is_reachable(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    response = make_app(settings).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(settings: Settings) -> None:
    broken = settings.with_overrides(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(runtime=Runtime.from_settings(broken))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_every_response_carries_a_request_id_and_keeps_a_sane_one_from_the_caller(
    settings: Settings,
) -> None:
    client = make_app(settings).test_client()
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"})
    assert kept.headers["X-Request-ID"] == "abc-123-def-456"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert replaced.headers["X-Request-ID"] != "<script>"


def test_an_unknown_api_path_gets_a_json_404(settings: Settings) -> None:
    response = make_app(settings).test_client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_a_post_without_a_csrf_token_is_refused_with_json(settings: Settings) -> None:
    app = make_app(settings)

    @app.post("/api/v1/echo")
    def echo() -> str:
        return "unreachable without a token"

    response = app.test_client().post("/api/v1/echo", json={"a": 1})
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"


def test_a_ten_megabyte_body_is_refused_before_it_is_read(settings: Settings) -> None:
    app = make_app(settings)

    @app.post("/api/v1/upload")
    def upload() -> str:
        return "never"

    response = app.test_client().post(
        "/api/v1/upload",
        data=b"x" * (10 * 1024 * 1024),
        content_type="application/json",
        headers={"Authorization": "Bearer test"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_prices_are_shown_in_yuan_from_integer_fen() -> None:
    assert yuan(1250) == "¥12.50"
    assert yuan(5) == "¥0.05"
    assert yuan(123456789) == "¥1,234,567.89"
    assert yuan(None) == "-"


def test_the_openapi_document_and_offline_docs_are_served(settings: Settings) -> None:
    client = make_app(settings).test_client()
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.get_json()["info"]["title"] == "gaogan API"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"/api/docs/assets/swagger-ui-bundle.js" in docs.data
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()
