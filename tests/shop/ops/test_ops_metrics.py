"""/metrics: Prometheus text, counters that move by exactly what happened, access rules."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from inventory.metrics import record_atp_cache
from inventory.settings import Settings
from shop.app import create_app
from tests.shop.orders.conftest import Shop, order_json


def scrape(
    client: FlaskClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_checkout_counter_moves_by_exactly_the_number_of_checkouts(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    before = scrape(client)
    for _ in range(3):
        placed = client.post("/api/v1/orders", json=order_json(shop.open_day, ("GG-CLASSIC", 1)))
        assert placed.status_code == 201
    refused = client.post("/api/v1/orders", json=order_json(shop.sold_out_day, ("GG-CLASSIC", 1)))
    assert refused.status_code == 409
    bad = client.post("/api/v1/orders", json=order_json(shop.open_day, ("NO-SUCH", 1)))
    assert bad.status_code in {404, 422}
    record_atp_cache(hit=True)
    after = scrape(client)

    assert value(after, "gaogan_checkouts_total") - value(before, "gaogan_checkouts_total") == 3
    assert (
        value(after, "gaogan_sold_out_refusals_total")
        - value(before, "gaogan_sold_out_refusals_total")
        == 1
    )
    assert (
        value(after, "gaogan_atp_cache_lookups_total", result="hit")
        - value(before, "gaogan_atp_cache_lookups_total", result="hit")
        == 1
    )
    route = {"route": "/api/v1/orders", "method": "POST"}
    created = value(after, "gaogan_http_requests_total", status="201", **route) - value(
        before, "gaogan_http_requests_total", status="201", **route
    )
    assert created == 3
    assert value(after, "gaogan_http_request_duration_seconds_count", status="409", **route) >= 1
    # Read from the database at scrape time: the orders' events wait for the relay.
    assert value(after, "gaogan_outbox_events", status="pending") >= 3
    assert value(after, "gaogan_outbox_dead_events") == 0
    assert value(after, "gaogan_relay_lag_seconds") >= 0
    assert value(after, "gaogan_scheduler_leader") == 0
    assert value(after, "gaogan_metrics_database_up") == 1
    assert value(after, "gaogan_db_pool_connections_in_use") >= 0


def test_metrics_need_the_bearer_token_when_one_is_set_and_hide_in_production_without(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    guarded = create_app(settings.with_overrides(metrics_token="s3cret-token")).test_client()
    refused = guarded.get("/metrics", headers={"Accept": "application/json"})
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert scrape(guarded, Authorization="Bearer s3cret-token")
    hidden = create_app(settings.with_overrides(env="production")).test_client()
    assert hidden.get("/metrics").status_code == 404
