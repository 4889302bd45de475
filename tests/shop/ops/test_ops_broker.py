"""Events reach NATS JetStream: once, with their event id, in order; an outage loses none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.broker import stream_for, subject_for
from inventory.models import OutboxEvent, OutboxStatus
from inventory.nats_broker import forward_once
from inventory.settings import Settings
from scheduling.scheduler.housekeeping import BROKER_FORWARD, register_housekeeping_jobs
from scheduling.scheduler.jobs import JobRegistry
from shop.app import create_app
from tests.shop.ops.conftest import PrivateNats, read_stream, remember
from tests.shop.orders.conftest import Shop, order_json

ROOT = Path(__file__).resolve().parents[3]


def nats_settings(settings: Settings, url: str, prefix: str) -> Settings:
    remember(prefix, url)
    return settings.with_overrides(broker="nats", nats_url=url, nats_prefix=prefix)


def place(app: Flask, shop: Shop, n: int) -> str:
    """Order n (one unit) through the shop's API; returns the order's public id."""
    sku = "GG-CLASSIC" if n % 2 else "GG-GIFT"
    response = app.test_client().post("/api/v1/orders", json=order_json(shop.open_day, (sku, 1)))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def order_events(db: sessionmaker[Session]) -> list[OutboxEvent]:
    with db() as session:
        return list(
            session.scalars(
                select(OutboxEvent).where(OutboxEvent.type.like("order.%")).order_by(OutboxEvent.id)
            )
        )


def unforwarded(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.forwarded_at.is_(None))
            )
            or 0
        )


def test_streams_and_subjects_follow_the_event_family_and_type() -> None:
    assert stream_for("order.paid", "gaogan").name == "gaogan_orders"
    assert stream_for("order.paid", "gaogan").subjects == ("gaogan.order.>",)
    assert stream_for("booking.no_show", "gaogan").name == "gaogan_bookings"
    assert stream_for("batch.started", "gaogan").name == "gaogan_batches"
    assert subject_for("soak.standard.cleared", "gaogan") == "gaogan.soak.standard.cleared"


def test_the_forwarder_is_a_scheduler_job_only_with_a_broker(settings: Settings) -> None:
    plain, with_nats = JobRegistry(), JobRegistry()
    register_housekeeping_jobs(settings, jobs=plain)
    register_housekeeping_jobs(settings.with_overrides(broker="nats"), jobs=with_nats)
    assert BROKER_FORWARD not in {s.name for s in plain.all()}
    assert with_nats.get(BROKER_FORWARD).is_interval


def test_an_order_placed_in_the_shop_appears_on_the_broker_once_with_its_id_in_order(
    settings: Settings, shop: Shop, db: sessionmaker[Session], shared_nats: str, prefix: str
) -> None:
    settings = nats_settings(settings, shared_nats, prefix)
    app = create_app(settings)
    ids = [place(app, shop, n) for n in range(3)]
    client = app.test_client()
    token = client.post("/api/v1/orders", json=order_json(shop.open_day, ("GG-CLASSIC", 1)))
    placed = token.get_json()
    cancelled = client.post(
        f"/api/v1/orders/{placed['id']}/cancel",
        headers={"X-Order-Token": placed["access_token"]},
        json={},
    )
    assert cancelled.status_code == 200
    ids.append(placed["id"])

    stats = forward_once(db, settings)
    assert stats.error == ""
    assert unforwarded(db) == 0
    rows = order_events(db)
    stream = f"{prefix}_orders"
    messages = read_stream(shared_nats, stream)
    # Each event once, under its event id, in outbox (write) order.
    assert [m.msg_id for m in messages] == [r.event_id for r in rows]
    assert [m.subject for m in messages] == [f"{prefix}.{r.type}" for r in rows]
    bodies = [json.loads(m.body) for m in messages]
    assert {b["payload"]["public_id"] for b in bodies if b["type"] == "order.placed"} >= set(ids)
    cancelled_order = [b["type"] for b in bodies if b["payload"]["public_id"] == placed["id"]]
    assert cancelled_order[0] == "order.placed" and cancelled_order[-1] == "order.cancelled"

    # A re-publish (a forwarder that crashed after the broker's ack, before marking) is
    # dropped by JetStream: the stream does not grow.
    with db.begin() as session:
        session.execute(update(OutboxEvent).values(forwarded_at=None))
    again = forward_once(db, settings)
    assert again.forwarded == stats.forwarded and again.duplicates == stats.forwarded
    assert [m.msg_id for m in read_stream(shared_nats, stream)] == [r.event_id for r in rows]
    assert forward_once(db, settings).forwarded == 0


def test_an_unreachable_broker_delays_events_and_never_parks_them(
    settings: Settings,
    shop: Shop,
    db: sessionmaker[Session],
    private_nats: PrivateNats,
    prefix: str,
) -> None:
    settings = nats_settings(settings, private_nats.url, prefix)
    app = create_app(settings)
    place(app, shop, 0)
    private_nats.stop()
    for _ in range(20):  # far beyond the relay's attempt limit
        stats = forward_once(db, settings)
        assert stats.forwarded == 0 and stats.error
    waiting = unforwarded(db)
    assert waiting > 0
    with db() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.status == OutboxStatus.DEAD)
            )
            == 0
        )
    private_nats.start()
    assert forward_once(db, settings).forwarded == waiting
    assert unforwarded(db) == 0


@pytest.fixture
def scheduler_process(
    settings: Settings, private_nats: PrivateNats, prefix: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    remember(prefix, private_nats.url)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        GAOGAN_ENV="test",
        GAOGAN_INSTANCE=str(settings.instance_path),
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        GAOGAN_LOG_JSON="false",
        GAOGAN_BROKER="nats",
        GAOGAN_NATS_URL=private_nats.url,
        GAOGAN_NATS_PREFIX=prefix,
        GAOGAN_RELAY_INTERVAL="1",
    )
    log = tmp_path / "scheduler.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from shop.cli import main; main()",
            "scheduler",
            "--leader-check",
            "1",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
def test_with_nats_stopped_for_30_s_during_200_orders_all_arrive_after_it_returns_none_twice(
    settings: Settings,
    shop: Shop,
    db: sessionmaker[Session],
    private_nats: PrivateNats,
    prefix: str,
    scheduler_process: subprocess.Popen[bytes],
) -> None:
    settings = nats_settings(settings, private_nats.url, prefix)
    app = create_app(settings)
    ids = [place(app, shop, n) for n in range(50)]
    wait_until(lambda: unforwarded(db) == 0, 60, "the scheduler to forward the first 50 orders")

    private_nats.stop()
    stopped = time.monotonic()
    ids += [place(app, shop, n) for n in range(50, 150)]
    time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
    assert unforwarded(db) >= 100  # delayed, not lost, not forwarded elsewhere
    assert scheduler_process.poll() is None
    private_nats.start()
    ids += [place(app, shop, n) for n in range(150, 200)]
    wait_until(lambda: unforwarded(db) == 0, 90, "the backlog to drain after NATS returned")

    rows = order_events(db)
    messages = read_stream(private_nats.url, f"{prefix}_orders")
    msg_ids = [m.msg_id for m in messages]
    assert len(msg_ids) == len(set(msg_ids)), "an event reached the stream twice"
    assert msg_ids == [r.event_id for r in rows]  # every event, once, in write order
    placed = {
        json.loads(m.body)["payload"]["public_id"]
        for m in messages
        if m.subject == f"{prefix}.order.placed"
    }
    assert placed == set(ids) and len(ids) == 200
