"""The web process as deployed: gunicorn with the repository's config, several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from inventory.models import Supply
from inventory.settings import Settings
from shop.orders.models import Order
from tests.shop.orders.conftest import Shop, order_json

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Gunicorn:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()]


@pytest.fixture
def gunicorn(settings: Settings, shop: Shop, tmp_path: Path) -> Iterator[Gunicorn]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ)
    env.update(
        GAOGAN_ENV="test",
        GAOGAN_INSTANCE=str(settings.instance_path),
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        GAOGAN_LOG_JSON="false",
        GAOGAN_WEB_BIND=f"127.0.0.1:{port}",
        GAOGAN_WEB_WORKERS="2",
        GAOGAN_WEB_THREADS="4",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "shop.app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Gunicorn(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{server.url}/healthz", timeout=10).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or the workers still booting
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"gunicorn did not start: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield server
    finally:
        proc.terminate()
        proc.wait(60)


def checkouts_total(url: str) -> float:
    body = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(body):
        if family.name == "gaogan_checkouts":
            return sum(s.value for s in family.samples if s.name == "gaogan_checkouts_total")
    return 0.0


def place(url: str, shop: Shop) -> int:
    body = order_json(shop.open_day, ("GG-CLASSIC", 1))
    return requests.post(f"{url}/api/v1/orders", json=body, timeout=60).status_code


@pytest.mark.slow
def test_the_checkout_counter_sums_every_gunicorn_worker_exactly(
    gunicorn: Gunicorn, shop: Shop
) -> None:
    assert len(gunicorn.workers()) == 2
    before = checkouts_total(gunicorn.url)
    # New connections each time, so both workers take some of them.
    statuses = [place(gunicorn.url, shop) for _ in range(12)]
    assert statuses == [201] * 12
    assert checkouts_total(gunicorn.url) - before == 12


@pytest.mark.postgres
@pytest.mark.slow
def test_sigterm_to_the_workers_finishes_the_checkouts_in_flight(
    gunicorn: Gunicorn, shop: Shop, db: sessionmaker[Session]
) -> None:
    with db() as session:
        orders_before = session.scalar(select(func.count()).select_from(Order)) or 0
    results: list[int] = []
    # Hold the day's supply rows: every checkout for it now waits inside the database.
    blocker = db()
    blocker.execute(
        select(Supply.id).where(Supply.production_day == shop.open_day).with_for_update()
    ).all()
    threads = [
        threading.Thread(target=lambda: results.append(place(gunicorn.url, shop))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    waiting = 0
    while time.monotonic() < deadline:
        with db() as session:
            waiting = (
                session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                )
                or 0
            )
        if waiting >= 4:
            break
        time.sleep(0.1)
    assert waiting >= 4, "the checkouts never reached the database"
    workers = gunicorn.workers()
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    time.sleep(1.5)  # the workers are shutting down with the checkouts still in flight
    blocker.commit()
    blocker.close()
    for thread in threads:
        thread.join(30)
    assert results == [201] * 4
    with db() as session:
        assert (session.scalar(select(func.count()).select_from(Order)) or 0) == orders_before + 4
    # The master replaced them; the shop keeps serving.
    # (A new worker boots in a few seconds; on a busy two-core machine, longer.)
    assert requests.get(f"{gunicorn.url}/healthz", timeout=60).status_code == 200
    # A worker told to stop leaves once its in-flight requests are done: wait for that.
    deadline = time.monotonic() + 30
    while set(workers) & set(gunicorn.workers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(workers) & set(gunicorn.workers())
