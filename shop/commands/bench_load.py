"""Load for `gaogan bench`: seeded claims and events, a gunicorn of the app, and HTTP clients in processes that measure it."""

from __future__ import annotations

import http.client
import multiprocessing
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import Base, make_engine, transaction
from inventory.events import publish
from shop.schema import import_all_models


def check_url(url: str) -> str:
    """The URL of a scratch PostgreSQL database a benchmark may wipe, or a usage error."""
    if not url.startswith(("postgresql", "postgres")):
        raise click.BadParameter("a PostgreSQL URL (postgresql+psycopg://...)", param_hint="url")
    name = urlsplit(url).path.lstrip("/")
    if name in {"", "test", "postgres"}:
        raise click.BadParameter(
            f"refusing to wipe database {name or '(default)'!r}: give a scratch benchmark "
            "database (createdb gaogan_perf_bench)",
            param_hint="url",
        )
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def fresh_database(url: str) -> Engine:
    """Every table dropped and created again.

    On PostgreSQL the whole `public` schema goes: a database the app migrated also holds
    what the models do not list (the one-trip checkout function, the alembic version), and
    a plain drop_all stops at those with DependentObjectsStillExist. The bench refuses a
    database named `test` and says it wipes the one it is given."""
    import_all_models()
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


# The one product every benchmark sells: a hot Spring Festival day in miniature.
HOT = "BENCH-HOT"


def seed_claims(engine: Engine, factory: sessionmaker[Session], start: date, n: int) -> None:
    """The hot product planned for 60 days and `n` claims on it: a third live holds, a third
    holds past their expiry (not yet swept), a third allocations; `promised` kept equal to the
    sum of the claims that count (what reserve() keeps)."""
    from inventory.catalog import create_product
    from inventory.supply import set_planned_supply

    days = [start - timedelta(days=1) + timedelta(days=i) for i in range(60)]
    with transaction(factory) as s:
        create_product(s, HOT, "基准糕干", "Benchmark gaogan", 1000, 250, 2, 7)
        set_planned_supply(s, "bench", {(HOT, d): 1_000_000 for d in days})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reservations (ref, status, expires_at, created_at, updated_at) "
                "SELECT 'bench:' || g, 'held', now() + interval '1 hour', now(), now() "
                "FROM generate_series(1, :r) AS g"
            ),
            {"r": max(1, n // 10)},
        )
        conn.execute(
            text(
                "INSERT INTO claims (reservation_id, supply_id, item_id, demand_day, line_no, "
                "quantity, kind, status, expires_at, created_at) "
                "SELECT 1 + g % :r, s.id, s.item_id, s.production_day, 0, 1 + g % 3, "
                "CASE WHEN g % 3 = 2 THEN 'allocation' ELSE 'hold' END, 'active', "
                "CASE WHEN g % 3 = 0 THEN now() + interval '1 hour' "
                "     WHEN g % 3 = 1 THEN now() - interval '1 hour' END, now() "
                "FROM generate_series(0, :n - 1) AS g "
                "CROSS JOIN (SELECT array_agg(id ORDER BY id) AS a FROM supply) AS ids "
                "JOIN supply AS s ON s.id = ids.a[1 + g % 60]"
            ),
            {"n": n, "r": max(1, n // 10)},
        )
        conn.execute(
            text(
                "UPDATE supply SET promised = c.total FROM (SELECT supply_id, sum(quantity) "
                "AS total FROM claims WHERE status = 'active' GROUP BY supply_id) AS c "
                "WHERE c.supply_id = supply.id"
            )
        )
        conn.execute(text("ANALYZE"))


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    root = Path(__file__).resolve().parents[2]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "shop.app:create_app()"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise click.ClickException("gunicorn did not answer /healthz within 60 s")


def http_process(port: int, path: str, threads: int, seconds: float, results: Any) -> None:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    stop = threading.Event()

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}")
                    return
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[i].append(time.perf_counter() - t0)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    flat = [x for per in latencies for x in per]
    results.put((flat, time.perf_counter() - started, errors[:1]))


def http_load(
    port: int, path: str, processes: int, threads: int, seconds: float
) -> tuple[float, float, float]:
    """Requests per second, p50 and p95 latency in ms over `processes` x `threads`
    keep-alive connections."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=http_process, args=(port, path, threads, seconds, results))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    got = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    errors = [e for _, _, es in got for e in es]
    if errors:
        raise click.ClickException(f"HTTP load failed: {errors[0]}")
    flat = sorted(x for lat, _, _ in got for x in lat)
    if not flat:
        return 0.0, 0.0, 0.0
    elapsed = max(s for _, s, _ in got)
    return (
        len(flat) / elapsed,
        flat[len(flat) // 2] * 1000,
        flat[min(len(flat) - 1, int(0.95 * len(flat)))] * 1000,
    )


def seed_events(factory: sessionmaker[Session], n: int) -> None:
    with transaction(factory) as s:
        for i in range(n):
            publish(s, "bench.thing", {"seq": i}, key=f"order:{i % 500}")
