"""`gaogan bench ...`: the busiest morning, measured beside its floor in the same run.

gaogan bench checkout     --database-url URL [--clients 16] [--processes 2] [--seconds 10]
gaogan bench reserve      --database-url URL [--clients 16] [--processes 2] [--seconds 10]
gaogan bench availability --database-url URL [--claims 100000] [--connections 32]
gaogan bench relay        --database-url URL [--events 20000]
gaogan bench plan         [--days 30,60,120] [--products 12] [--budget 10] [--database-url URL]

Every command WIPES the database it is given (drop and create every table): give it a
scratch one (`createdb -h 127.0.0.1 -U postgres gaogan_perf_bench`); a database named `test`
is refused. Each prints, per round, the measured path and its baseline run alternately (so
machine noise hits both alike), then the medians and their ratio. Results and the exact
commands used are in docs/BENCHMARKS.md. Not a test: numbers inform, tests assert.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import secrets
import signal
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import click
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import make_engine, make_session_factory, transaction, utcnow
from inventory.events import Registry
from inventory.models import Item, Supply
from inventory.relay import relay_once
from inventory.reservations import Line, reserve
from inventory.settings import Settings
from shop.commands.bench_load import (
    HOT,
    check_url,
    fresh_database,
    http_load,
    seed_claims,
    seed_events,
    start_gunicorn,
)
from shop.commands.bench_plan import register as register_plan

BASE = "BENCH-BASE"
SKUS = [HOT, BASE, "BENCH-2", "BENCH-3", "BENCH-4"]
BARE_UPDATE = text(
    "UPDATE supply SET promised = promised + 1 "
    "WHERE id = :id AND promised + 1 <= planned RETURNING id"
)
Work = Callable[[int], None]


# ---------------------------------------------------------------- shared plumbing


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _rounds(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def _order_day() -> date:
    from inventory.rules import local_day

    # Two days ahead is open whatever the time of day (cut-off is the evening before).
    return local_day(utcnow()) + timedelta(days=2)


def _seed_products(factory: sessionmaker[Session], day: date, extra: Sequence[str] = ()) -> None:
    from inventory.catalog import create_product
    from inventory.supply import set_planned_supply
    from scheduling.planning.calendar import set_calendar_entry
    from shop.orders import services

    with transaction(factory) as s:
        for sku in [*SKUS, *extra]:
            create_product(s, sku, "基准糕干", "Benchmark gaogan", 1000, 250, 2, 7)
        set_planned_supply(s, "bench", {(sku, day): 1_000_000 for sku in [*SKUS, *extra]})
        set_calendar_entry(s, day, production=True)
        services.ensure_locations(s)


def _supply_id(factory: sessionmaker[Session], sku: str, day: date) -> int:
    with factory() as s:
        return s.scalars(
            select(Supply.id)
            .join(Item, Item.id == Supply.item_id)
            .where(Item.sku == sku, Supply.production_day == day)
        ).one()


def _client_process(
    url: str,
    threads: int,
    seconds: float,
    make_work: Callable[[Engine, sessionmaker[Session], int], Work],
    process_no: int,
    barrier: Any,
    results: Any,
) -> None:
    engine = make_engine(url, pool_size=threads, max_overflow=0)
    factory = make_session_factory(engine)
    works = [make_work(engine, factory, process_no * 1000 + i) for i in range(threads)]
    counts = [0] * threads
    errors: list[str] = []
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)

    def loop(i: int) -> None:
        ready.wait()
        try:
            while not stop.is_set():
                works[i](i)
                counts[i] += 1
        except Exception as exc:
            errors.append(repr(exc))

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()  # every process connected and ready: start together
    ready.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    results.put((sum(counts), time.perf_counter() - started, errors[:1]))
    engine.dispose()


def run_layout(
    url: str,
    processes: int,
    threads: int,
    seconds: float,
    make_work: Callable[[Engine, sessionmaker[Session], int], Work],
) -> float:
    """`processes` x `threads` clients, each in its own transaction per call; per second."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_client_process,
            args=(url, threads, seconds, make_work, n, barrier, results),
        )
        for n in range(processes)
    ]
    for proc in procs:
        proc.start()
    got = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    errors = [e for _, _, es in got for e in es]
    if errors:
        raise click.ClickException(f"a client failed: {errors[0]}")
    return float(sum(n for n, _, _ in got)) / float(max(s for _, s, _ in got))


def _layout(clients: int, processes: int) -> tuple[int, int]:
    processes = max(1, min(processes, clients))
    return processes, max(1, clients // processes)


def _bare_update_work(base_id: int) -> Callable[[Engine, sessionmaker[Session], int], Work]:
    def make(engine: Engine, _factory: sessionmaker[Session], _n: int) -> Work:
        def work(_i: int) -> None:
            with engine.begin() as conn:
                if conn.execute(BARE_UPDATE, {"id": base_id}).first() is None:
                    raise RuntimeError("baseline row sold out; plan more")

        return work

    return make


def _count_statements(engine: Engine, action: Callable[[], None]) -> int:
    seen: list[str] = []

    def count(_c: object, _cu: object, statement: str, *_a: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len([q for q in seen if not q.startswith(("BEGIN", "COMMIT"))])


def _hot_vs_bare(
    label: str,
    url: str,
    clients_list: Sequence[int],
    processes: int,
    seconds: float,
    rounds: int,
    make_hot: Callable[[Engine, sessionmaker[Session], int], Work],
    base_id: int,
) -> None:
    bare = _bare_update_work(base_id)
    summary = []
    for clients in clients_list:
        procs, threads = _layout(clients, processes)
        run_layout(url, procs, threads, 0.5, bare)  # warm up: connections, caches
        hot_rates: list[float] = []
        bare_rates: list[float] = []
        for round_no in range(1, rounds + 1):
            hot_rates.append(run_layout(url, procs, threads, seconds, make_hot))
            bare_rates.append(run_layout(url, procs, threads, seconds, bare))
            click.echo(
                f"  {clients} clients ({procs} x {threads}) round {round_no}/{rounds}: "
                f"{label} {hot_rates[-1]:.0f}/s, bare UPDATE {bare_rates[-1]:.0f}/s",
            )
        h, b = _median(hot_rates), _median(bare_rates)
        summary.append((clients, procs, threads, h, b, hot_rates, bare_rates))
    click.echo("")
    click.echo(
        f"| clients (processes x threads) | {label} /s (median) | bare UPDATE /s (median) "
        f"| ratio | {label} rounds | UPDATE rounds |"
    )
    click.echo("| --- | ---: | ---: | ---: | --- | --- |")
    for clients, procs, threads, h, b, hr, br in summary:
        click.echo(
            f"| {clients} ({procs} x {threads}) | {h:.0f} | {b:.0f} | {h / b:.2f} | "
            f"{_rounds(hr)} | {_rounds(br)} |"
        )


def _clients_option(default: str) -> Callable[[Any], Any]:
    return click.option(
        "--clients",
        default=default,
        show_default=True,
        help="comma-separated client counts, e.g. 1,16,64",
    )


def _ints(raw: str) -> list[int]:
    try:
        values = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"comma-separated whole numbers, got {raw!r}") from exc
    if not values or any(v < 1 for v in values):
        raise click.BadParameter(f"comma-separated whole numbers >= 1, got {raw!r}")
    return values


# ---------------------------------------------------------------- the commands


def register(cli: click.Group) -> None:
    @cli.group()
    def bench() -> None:
        """Benchmarks beside their baseline (they WIPE the database given)."""

    url_option = click.option(
        "--database-url", "url", required=True, help="a scratch PostgreSQL database to wipe"
    )
    common = [
        click.option("--processes", default=2, show_default=True, help="client processes"),
        click.option("--seconds", default=10.0, show_default=True, help="per round"),
        click.option("--rounds", default=3, show_default=True),
    ]

    def with_common(f: Any) -> Any:
        for option in reversed(common):
            f = option(f)
        return f

    @bench.command("checkout")
    @url_option
    @_clients_option("16,64")
    @with_common
    def checkout(url: str, clients: str, processes: int, seconds: float, rounds: int) -> None:
        """Hot-day checkouts (place_order, pay at pickup, one line) vs a bare UPDATE."""
        from shop.orders import placing, services
        from shop.orders.rules import LineRequest

        url = check_url(url)
        engine = fresh_database(url)
        factory = make_session_factory(engine)
        day = _order_day()
        _seed_products(factory, day)
        base_id = _supply_id(factory, BASE, day)
        settings = Settings(database_url=url, secret_key="bench")

        def request(n: int, skus: Sequence[str]) -> placing.PlaceOrder:
            return placing.PlaceOrder(
                day=day,
                lines=[LineRequest(sku, 1) for sku in skus],
                contact=placing.Contact(f"顾客{n}", "13800138000", f"c{n}@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            )

        counts = {}
        for lines in (1, 2, 5):

            def once(lines: int = lines) -> None:
                with transaction(factory) as s:
                    services.place_order(
                        s, request(0, SKUS[:lines]), settings=settings, now=utcnow()
                    )

            counts[lines] = _count_statements(engine, once)
        click.echo(
            "SQL statements per checkout (BEGIN/COMMIT not counted): "
            + ", ".join(f"{n} line(s) {c}" for n, c in counts.items())
        )
        engine.dispose()

        def make_hot(_e: Engine, f: sessionmaker[Session], n: int) -> Work:
            def work(_i: int) -> None:
                with transaction(f) as s:
                    services.place_order(s, request(n, [HOT]), settings=settings, now=utcnow())

            return work

        _hot_vs_bare("checkout", url, _ints(clients), processes, seconds, rounds, make_hot, base_id)

    @bench.command("reserve")
    @url_option
    @_clients_option("16,64")
    @with_common
    def reserve_cmd(url: str, clients: str, processes: int, seconds: float, rounds: int) -> None:
        """Hot-day reserve() (a 15-minute hold, one line) vs a bare UPDATE."""
        url = check_url(url)
        engine = fresh_database(url)
        factory = make_session_factory(engine)
        day = _order_day()
        _seed_products(factory, day)
        base_id = _supply_id(factory, BASE, day)
        counts = {}
        for lines in (1, 5):

            def once(lines: int = lines) -> None:
                with transaction(factory) as s:
                    reserve(
                        s,
                        f"count:{lines}",
                        [Line(sku, day, 1) for sku in SKUS[:lines]],
                        hold_until=utcnow() + timedelta(minutes=15),
                    )

            counts[lines] = _count_statements(engine, once)
        click.echo(
            "SQL statements per reserve(): "
            + ", ".join(f"{n} line(s) {c}" for n, c in counts.items())
        )
        engine.dispose()

        def make_hot(_e: Engine, f: sessionmaker[Session], n: int) -> Work:
            refs = itertools.count()

            def work(_i: int) -> None:
                with transaction(f) as s:
                    reserve(
                        s,
                        f"bench:{n}:{next(refs)}:{secrets.token_hex(3)}",
                        [Line(HOT, day, 1)],
                        hold_until=utcnow() + timedelta(minutes=15),
                    )

            return work

        _hot_vs_bare(
            "reserve()", url, _ints(clients), processes, seconds, rounds, make_hot, base_id
        )

    @bench.command("availability")
    @url_option
    @click.option("--claims", default="100000", show_default=True, help="e.g. 10000,100000")
    @click.option("--connections", default=32, show_default=True)
    @click.option("--workers", default=0, help="gunicorn workers [default: gunicorn.conf.py]")
    @click.option("--threads", default=0, help="threads per worker [default: gunicorn.conf.py]")
    @click.option("--cache-seconds", default=2, show_default=True, help="0 turns the cache off")
    @click.option("--port", default=8765, show_default=True)
    @with_common
    def availability(
        url: str,
        claims: str,
        connections: int,
        workers: int,
        threads: int,
        cache_seconds: int,
        port: int,
        processes: int,
        seconds: float,
        rounds: int,
    ) -> None:
        """GET /api/v1/availability (14 days) vs GET /healthz over HTTP, through gunicorn."""
        url = check_url(url)
        rows = []
        for n_claims in _ints(claims):
            engine = fresh_database(url)
            factory = make_session_factory(engine)
            start = _order_day()
            click.echo(f"seeding {n_claims} claims ...")
            seed_claims(engine, factory, start, n_claims)
            engine.dispose()
            path = f"/api/v1/availability?product={HOT}&from={start}&to={start + timedelta(13)}"
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "GAOGAN_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(40),
                "GAOGAN_AVAILABILITY_CACHE_SECONDS": str(cache_seconds),
                "GAOGAN_LOG_JSON": "1",
            }
            if workers:
                env["GAOGAN_WEB_WORKERS"] = str(workers)
            if threads:
                env["GAOGAN_WEB_THREADS"] = str(threads)
            server = start_gunicorn(env, port)
            try:
                procs, per = _layout(connections, processes)
                http_load(port, path, procs, per, 1.0)  # warm up
                found: dict[str, list[tuple[float, float, float]]] = {"avail": [], "health": []}
                for round_no in range(1, rounds + 1):
                    found["avail"].append(http_load(port, path, procs, per, seconds))
                    found["health"].append(http_load(port, "/healthz", procs, per, seconds))
                    a, h = found["avail"][-1], found["health"][-1]
                    click.echo(
                        f"  {n_claims} claims round {round_no}/{rounds}: availability "
                        f"{a[0]:.0f}/s p50 {a[1]:.1f} ms p95 {a[2]:.1f} ms; /healthz "
                        f"{h[0]:.0f}/s p50 {h[1]:.1f} ms p95 {h[2]:.1f} ms"
                    )
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            rows.append((n_claims, found))
        click.echo("")
        click.echo(
            f"| claims | availability /s | p50 ms | p95 ms | /healthz /s | p95 ms | ratio "
            f"| ({connections} connections, cache {cache_seconds} s, medians of {rounds}) |"
        )
        click.echo("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for n_claims, found in rows:
            med_a = [_median([r[i] for r in found["avail"]]) for i in range(3)]
            med_h = [_median([r[i] for r in found["health"]]) for i in range(3)]
            click.echo(
                f"| {n_claims} | {med_a[0]:.0f} | {med_a[1]:.1f} | {med_a[2]:.1f} | "
                f"{med_h[0]:.0f} | {med_h[2]:.1f} | {med_a[0] / med_h[0]:.2f} | |"
            )

    @bench.command("relay")
    @url_option
    @click.option("--events", default=20000, show_default=True)
    @click.option("--batch", default=0, help="relay batch size [default: the setting, 50]")
    @click.option("--rounds", default=3, show_default=True)
    def relay(url: str, events: int, batch: int, rounds: int) -> None:
        """Relay events/s with an inbox-recording subscriber vs with no subscriber."""
        url = check_url(url)
        engine = fresh_database(url)
        factory = make_session_factory(engine)
        settings = Settings(database_url=url, secret_key="bench")
        if batch:
            settings = settings.with_overrides(relay_batch_size=batch)
        recording = Registry()
        # Its effect is its inbox record, written by the relay in the handler's transaction:
        # the cost of exactly-once bookkeeping without any work of its own.
        recording.subscribe("bench.thing", "bench.inbox", lambda _s, _e: None)
        bare = Registry()
        results: dict[str, list[float]] = {"inbox": [], "none": []}
        for round_no in range(1, rounds + 1):
            for name, registry in (("inbox", recording), ("none", bare)):
                seed_events(factory, events)
                started = time.perf_counter()
                moved = 0
                while True:
                    stats = relay_once(factory, settings, registry=registry)
                    moved += stats.delivered
                    if not stats.claimed:
                        break
                rate = moved / (time.perf_counter() - started)
                if moved != events:
                    raise click.ClickException(f"delivered {moved} of {events}")
                results[name].append(rate)
            click.echo(
                f"  round {round_no}/{rounds}: {events} events, inbox-recording subscriber "
                f"{results['inbox'][-1]:.0f} ev/s, no subscriber {results['none'][-1]:.0f} ev/s"
            )
        with factory() as s:
            inbox = s.scalar(text("SELECT count(*) FROM inbox"))
        i, n = _median(results["inbox"]), _median(results["none"])
        click.echo("")
        click.echo(f"| relay, batch {settings.relay_batch_size} | events/s (median) | rounds |")
        click.echo("| --- | ---: | --- |")
        click.echo(f"| inbox-recording subscriber | {i:.0f} | {_rounds(results['inbox'])} |")
        click.echo(f"| no subscriber (baseline) | {n:.0f} | {_rounds(results['none'])} |")
        click.echo(f"ratio {i / n:.2f}; inbox records {inbox} (= events x rounds: once each)")
        engine.dispose()

    register_plan(bench)


# ---------------------------------------------------------------- availability helpers
