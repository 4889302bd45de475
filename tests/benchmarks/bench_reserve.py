"""Reservations per second on one hot product-day, beside a bare conditional UPDATE.

Not a test: run it by hand. It WIPES the database it is given (create_all + delete of every
table), so point it at a scratch database:

    PYTHONPATH=$PWD python tests/benchmarks/bench_reserve.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gaogan_inv \
        --clients 64 --seconds 10 --rounds 3

Each client is a thread with its own session (one pooled connection each) that reserves one
unit per transaction and commits, as a checkout would. The baseline clients run only
`UPDATE supply SET promised = promised + 1 WHERE id = :id AND promised + 1 <= planned
RETURNING id`, one per transaction, on a second row in the same process. The two alternate
round by round so that machine noise hits both alike; medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

import inventory.models  # noqa: F401  (tables on the metadata)
from inventory.catalog import create_product
from inventory.db import Base, make_engine, make_session_factory, transaction, utcnow
from inventory.models import Item, Supply
from inventory.reservations import Line, reserve
from inventory.rules import local_day
from inventory.supply import set_planned_supply

HOT = "BENCH-HOT"
BASE = "BENCH-BASE"
SKUS = [HOT, BASE, "BENCH-2", "BENCH-3", "BENCH-4"]


def _wipe(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


def _spread_sku(index: int) -> str:
    return f"BENCH-S{index}"


def _setup(factory: sessionmaker[Session], day: date, clients: int) -> int:
    skus = SKUS + [_spread_sku(i) for i in range(clients)]
    with transaction(factory) as s:
        for sku in skus:
            create_product(s, sku, "基准糕干", "Benchmark gaogan", 1000, 250, 2, 7)
        set_planned_supply(s, "bench", {(sku, day): 1_000_000 for sku in skus})
    with factory() as s:
        return s.scalars(
            select(Supply.id).join(Item, Item.id == Supply.item_id).where(Item.sku == BASE)
        ).one()


def _run_clients(clients: int, seconds: float, work: Callable[[int], None]) -> float:
    """Start `clients` threads together; each calls work() until time is up. Returns per second."""
    barrier = threading.Barrier(clients + 1)
    counts = [0] * clients
    errors: list[BaseException] = []
    stop = threading.Event()

    def loop(index: int) -> None:
        barrier.wait()
        try:
            while not stop.is_set():
                work(index)
                counts[index] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed; first: {errors[0]!r}")
    return sum(counts) / elapsed


def _count_statements(engine: Engine, factory: sessionmaker[Session], day: date) -> dict[int, int]:
    found: dict[int, int] = {}
    for lines in (1, 5):
        seen: list[str] = []

        def count(
            _c: object, _cu: object, statement: str, *_a: object, seen: list[str] = seen
        ) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            with transaction(factory) as s:
                reserve(
                    s,
                    f"count:{lines}",
                    [Line(sku, day, 1) for sku in SKUS[:lines]],
                    hold_until=utcnow() + timedelta(minutes=15),
                )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        found[lines] = len([q for q in seen if not q.startswith("BEGIN")])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    engine = make_engine(args.database_url, pool_size=args.clients, max_overflow=0)
    factory = make_session_factory(engine)
    _wipe(engine)
    day = local_day(utcnow()) + timedelta(days=1)
    base_id = _setup(factory, day, args.clients)
    refs = itertools.count()

    def reserve_one(_index: int) -> None:
        with transaction(factory) as s:
            reserve(
                s,
                f"bench:{next(refs)}",
                [Line(HOT, day, 1)],
                hold_until=utcnow() + timedelta(minutes=15),
            )

    def reserve_spread(index: int) -> None:
        # Each client on its own product: the same work without a shared hot row.
        with transaction(factory) as s:
            reserve(
                s,
                f"bench:{next(refs)}",
                [Line(_spread_sku(index), day, 1)],
                hold_until=utcnow() + timedelta(minutes=15),
            )

    bare = text(
        "UPDATE supply SET promised = promised + 1 "
        "WHERE id = :id AND promised + 1 <= planned RETURNING id"
    )

    def update_one(_index: int) -> None:
        with engine.begin() as conn:
            if conn.execute(bare, {"id": base_id}).first() is None:
                raise RuntimeError("baseline row sold out; plan more")

    # Warm the pool so connection set-up is not measured.
    _run_clients(args.clients, 0.5, update_one)

    reserve_rates: list[float] = []
    update_rates: list[float] = []
    spread_rates: list[float] = []
    for round_no in range(1, args.rounds + 1):
        reserve_rates.append(_run_clients(args.clients, args.seconds, reserve_one))
        update_rates.append(_run_clients(args.clients, args.seconds, update_one))
        spread_rates.append(_run_clients(args.clients, args.seconds, reserve_spread))
        print(
            f"round {round_no}: reserve() {reserve_rates[-1]:.0f}/s, "
            f"bare UPDATE {update_rates[-1]:.0f}/s, "
            f"reserve() spread {spread_rates[-1]:.0f}/s",
            flush=True,
        )

    statements = _count_statements(engine, factory, day)
    r, u = statistics.median(reserve_rates), statistics.median(update_rates)
    print()
    print(
        f"engine: {engine.dialect.name}, clients: {args.clients}, seconds per round: "
        f"{args.seconds}, rounds: {args.rounds}"
    )
    print("| path | median per second | rounds |")
    print("| --- | ---: | --- |")
    print(
        f"| reserve() (hold, 1 line, commit each) | {r:.0f} | "
        f"{', '.join(f'{x:.0f}' for x in reserve_rates)} |"
    )
    print(
        f"| bare conditional UPDATE (commit each) | {u:.0f} | "
        f"{', '.join(f'{x:.0f}' for x in update_rates)} |"
    )
    spread = statistics.median(spread_rates)
    print(
        f"| reserve(), each client its own product (no hot row) | {spread:.0f} | "
        f"{', '.join(f'{x:.0f}' for x in spread_rates)} |"
    )
    print(f"ratio reserve()/UPDATE on the hot row: {r / u:.2f}")
    print(
        f"SQL statements per reserve() (BEGIN/COMMIT not counted): 1 line {statements[1]}, "
        f"5 lines {statements[5]}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
