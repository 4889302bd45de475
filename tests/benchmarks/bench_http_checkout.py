"""Checkouts per second through gunicorn: the figure the README's capacity guide quotes.

    PYTHONPATH=$PWD .venv/bin/python tests/benchmarks/bench_http_checkout.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH --workers 1 --threads 4 \\
        --clients 8 -n 600

It DROPS and recreates every table of the database at --url (give it a scratch one), seeds
five products with plenty of stock, starts gunicorn with the repository's gunicorn.conf.py
(--workers processes x --threads threads) on a free local port, then runs a bounded load:
--clients client threads post -n checkouts in all to the order API (one line, pay at pickup,
keep-alive connections) and report checkouts/s, median and p95 latency. The load generator
runs on the same machine and takes some of its CPU: the figure is a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import text

from inventory.db import make_engine, utcnow
from shop.orders.rules import local_day
from shop.schema import import_all_models, upgrade
from tests.benchmarks.bench_checkout import SKUS, seed

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("-n", type=int, default=600)
    args = parser.parse_args()

    import_all_models()
    engine = make_engine(args.url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    day = local_day(utcnow()) + timedelta(days=2)
    seed(engine, day, units=10 * args.n)
    engine.dispose()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    instance = Path(tempfile.mkdtemp())
    env = dict(os.environ)
    env.update(
        GAOGAN_ENV="test",
        GAOGAN_INSTANCE=str(instance),
        DATABASE_URL=args.url,
        SECRET_KEY="bench-secret-key-long-enough-for-production-rules",
        GAOGAN_LOG_JSON="true",
        GAOGAN_WEB_BIND=f"127.0.0.1:{port}",
        GAOGAN_WEB_WORKERS=str(args.workers),
        GAOGAN_WEB_THREADS=str(args.threads),
        PROMETHEUS_MULTIPROC_DIR=str(instance / "prometheus"),
    )
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "shop.app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.3)
        # Warm every worker (imports, first connections) before timing.
        for _ in range(4 * args.workers):
            requests.get(f"{url}/api/v1/products", timeout=30)

        timings: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        remaining = [args.n]

        def client(n: int) -> None:
            http = requests.Session()
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                body = {
                    "day": day.isoformat(),
                    "lines": [{"sku": SKUS[n % len(SKUS)], "quantity": 1}],
                    "contact": {"name": "王芳", "mobile": "13800138000", "email": "w@example.com"},
                    "fulfilment": "pickup",
                    "pickup_point": "factory",
                    "payment_method": "pay_at_pickup",
                }
                t0 = time.perf_counter()
                status = http.post(f"{url}/api/v1/orders", json=body, timeout=60).status_code
                elapsed = time.perf_counter() - t0
                with lock:
                    timings.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(60)
    ok = statuses.get(201, 0)
    timings.sort()
    print(
        f"gunicorn {args.workers} worker(s) x {args.threads} thread(s), {args.clients} clients, "
        f"{os.cpu_count()} CPU(s)"
    )
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(
        f"{ok} checkouts in {wall:.1f} s = {ok / wall:.1f} checkouts/s "
        f"({ok / wall / args.workers:.1f} per worker)"
    )
    print(
        f"latency: median {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {timings[int(0.95 * len(timings)) - 1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
