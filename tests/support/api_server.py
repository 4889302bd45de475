"""The whole app served on a real port for concurrent HTTP clients, and a bearer-token POST."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from inventory.settings import Settings
from shop.app import create_app


@pytest.fixture
def server(settings: Settings, db: sessionmaker[Session]) -> Iterator[str]:
    app = create_app(settings)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def post_json(url: str, token: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    """POST with a bearer token; (status, JSON body) whatever the status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
