"""Checkout benchmark: checkouts per second, and SQL statements per checkout for 1, 2, 5 lines.

    PYTHONPATH=$PWD python tests/benchmarks/bench_checkout.py [--url DATABASE_URL] [-n 300]

Without --url it runs on a fresh SQLite file in a temporary folder; with --url it DROPS and
recreates every table of that database, so give it a scratch one. The statement count must
not grow with the number of lines (one executemany for the order lines, one locking select
and one update for the supply rows, whatever the count). It runs the service the web layer
calls (place_order in its own transaction), so it measures the database work of a checkout,
not HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, event

from inventory.catalog import create_product
from inventory.db import Base, make_engine, make_session_factory, transaction, utcnow
from inventory.rules import local_day
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.planning.calendar import set_calendar_entry
from shop.orders import placing, services
from shop.orders.rules import LineRequest
from shop.schema import import_all_models

SKUS = [f"BENCH-{i}" for i in range(5)]


def seed(engine: Engine, day: date, units: int) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        for sku in SKUS:
            create_product(
                s,
                sku,
                f"糕干 {sku}",
                f"Gaogan {sku}",
                price_fen=1250,
                pack_size_g=250,
                freshness_days=1,
                best_before_days=7,
            )
        set_planned_supply(s, "bench", {(sku, day): units for sku in SKUS})
        set_calendar_entry(s, day, production=True)  # never an official holiday in the bench
        services.ensure_locations(s)


def request(day: date, lines: int, n: int) -> placing.PlaceOrder:
    return placing.PlaceOrder(
        day=day,
        lines=[LineRequest(sku, 1) for sku in SKUS[:lines]],
        contact=placing.Contact(f"顾客{n}", "13800138000", f"c{n}@example.com"),
        fulfilment="pickup",
        payment_method="pay_at_pickup",
        pickup_point="factory",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="")
    parser.add_argument("-n", type=int, default=300, help="checkouts to time")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    import_all_models()
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    day = local_day(utcnow()) + timedelta(days=2)
    seed(engine, day, units=10 * args.n)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url, secret_key="bench")

    statements: list[str] = []

    def count(_conn: object, _cursor: object, stmt: str, *_rest: object) -> None:
        statements.append(stmt)

    per_lines: dict[int, int] = {}
    for lines in (1, 2, 5):
        event.listen(engine, "before_cursor_execute", count)
        with transaction(factory) as s:
            services.place_order(s, request(day, lines, 0), settings=settings, now=utcnow())
        event.remove(engine, "before_cursor_execute", count)
        per_lines[lines] = len(statements)
        statements.clear()

    timings = []
    started = time.perf_counter()
    for n in range(args.n):
        t0 = time.perf_counter()
        with transaction(factory) as s:
            services.place_order(s, request(day, 1, n), settings=settings, now=utcnow())
        timings.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started

    print(f"database: {engine.dialect.name}")
    print(
        f"checkouts: {args.n} in {elapsed:.2f} s = {args.n / elapsed:.0f} checkouts/s (one client)"
    )
    print(
        f"latency: median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {sorted(timings)[int(0.95 * len(timings)) - 1] * 1000:.1f} ms"
    )
    print(
        "SQL statements per checkout: "
        + ", ".join(f"{n} line(s) = {c}" for n, c in per_lines.items())
    )
    engine.dispose()


if __name__ == "__main__":
    main()
