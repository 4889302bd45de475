"""No 5xx from any API operation, whatever is sent.

- A bounded schemathesis run of every operation in /api/openapi.json, in-process (WSGI, no
  network), as a distributor and as a manager (so the signed-in operations get past the
  sign-in check and their bodies are really read). Derandomized so a failure reproduces.
- A property-based test (hypothesis) of the raw edges the schema does not describe: any JSON
  document, any path segment, any query value.
CI runs the whole suite on SQLite and on PostgreSQL, so both engines are fuzzed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shop.security.conftest import Shop, signed_in

# Examples per operation: enough to hit every field with boundary values, small enough that
# the run stays well under a minute. GAOGAN_FUZZ_EXAMPLES raises it for a deeper local run.
EXAMPLES = int(os.environ.get("GAOGAN_FUZZ_EXAMPLES", "12"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("role", ["distributor", "manager"])
def test_schemathesis_finds_no_5xx_in_any_operation(app: Flask, shop: Shop, role: str) -> None:
    schema = schemathesis.from_wsgi("/api/openapi.json", app)
    client, csrf = signed_in(app, getattr(shop, role))
    headers = {"X-CSRF-Token": csrf}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        # Signing oneself out everywhere would turn the rest of the run into 401s.
        if operation.method.upper() == "DELETE" and operation.path.endswith("/sessions"):
            continue

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            # The signed-in test client sends the case (its cookie jar holds the session).
            response = client.open(**case.as_werkzeug_kwargs(headers=headers))
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} query={case.query} "
                    f"body={case.body!r:.200} -> {response.status_code}"
                )

        check()
    assert operations >= 20
    assert not failures, "\n".join(failures[:30])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.dates().map(lambda d: d.isoformat()),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["day", "slot_id", "lines", "sku", "cases", "quantity", "contact", "name", "x"]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@FUZZ_SETTINGS
@given(document=json_values)
def test_any_json_body_is_answered_without_5xx(app: Flask, shop: Shop, document: Any) -> None:
    client = app.test_client()
    # ensure_ascii keeps lone surrogates as \\ud800 escapes, as a hostile client would send.
    body = json.dumps(document)
    for path in ("/api/v1/orders", "/api/v1/distributor/bookings", "/api/v1/distributor/waitlist"):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code < 500, (path, body[:200], response.status_code)


@FUZZ_SETTINGS
@given(segment=st.text(min_size=1, max_size=40), value=st.text(max_size=40))
def test_any_path_segment_or_query_value_is_answered_without_5xx(
    app: Flask, shop: Shop, segment: str, value: str
) -> None:
    from urllib.parse import quote

    client = app.test_client()
    part = quote(segment.encode("utf-8", "surrogatepass"), safe="")
    query = quote(value.encode("utf-8", "surrogatepass"), safe="")
    for path in (
        f"/products/{part}",
        f"/api/v1/products/{part}",
        f"/api/v1/orders/{part}",
        f"/track/{part}/{part}",
        f"/api/v1/availability?product={query}&from={query}&to={query}",
    ):
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
