"""One OpenAPI document for the whole JSON API.

Every area registers its flask-smorest blueprints on the app's single `Api` (`get_api(app)`),
so storefront, distributor and planner endpoints share `/api/openapi.json` and the interactive
docs at `/api/docs`. The Swagger UI assets come from the `swagger-ui-bundle` package and are
served by us: the docs must work on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask.typing import ResponseReturnValue
from flask_smorest import Api

ASSETS_URL = "/api/docs/assets/"


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="gaogan API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=ASSETS_URL,
        API_SPEC_OPTIONS={
            "info": {
                "description": "Orders, availability, distributor bookings and production "
                "planning for Yangcun gaogan. Money is integer fen (CNY); dates are "
                "Asia/Shanghai local dates (YYYY-MM-DD). Errors are {error, message, "
                "details}: `error` is a stable code, `message` is Chinese unless the request "
                "asks for English (Accept-Language: en, or ?lang=en); a 422 lists each bad "
                "field in details.field_errors with a stable `code` and its `message`."
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                }
            },
        },
    )
    api = Api(app)
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get(f"{ASSETS_URL}<path:filename>")
    def swagger_assets(filename: str) -> ResponseReturnValue:
        return send_from_directory(assets, filename, max_age=86400)

    app.extensions["gaogan_api"] = api
    return api


def get_api(app: Flask) -> Api:
    api: Api = app.extensions["gaogan_api"]
    return api
