"""100 distributors' systems book the last seats of one slot at the same moment, over HTTP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from inventory import atp
from inventory.db import transaction
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.distributors import bookings, common
from shop.distributors.models import Booking
from shop.distributors.tokens import create_token
from tests.support.api_server import post_json, server
from tests.support.distributors import (
    CLASSIC,
    local_day,
    make_distributor,
    open_day_from,
    setup_products,
)

__all__ = ["server"]  # the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_hundred_concurrent_bookings_for_a_slot_with_four_bays_give_exactly_four(
    server: str, db: sessionmaker[Session]
) -> None:
    day: date = open_day_from(local_day() + timedelta(days=3))
    setup_products(db, [day], cases_per_day=1000)
    tokens = []
    for i in range(10):
        distributor_id = make_distributor(db, f"D{i:02d}")
        with transaction(db) as s:
            tokens.append(create_token(s, distributor_id, "load test").plaintext)
    with transaction(db) as s:
        slot_id = common.day_slots(s, day, SlotRules(capacity=4))[0].id
        assert s.get(PickupSlot, slot_id).capacity == 4  # type: ignore[union-attr]

    body = {"day": day.isoformat(), "slot_id": slot_id, "lines": [{"sku": CLASSIC, "cases": 2}]}
    start = threading.Barrier(100)

    def attempt(i: int) -> tuple[int, dict[str, object]]:
        start.wait()
        return post_json(f"{server}/api/v1/distributor/bookings", tokens[i % 10], body)

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(attempt, range(100)))
    elapsed = time.monotonic() - began

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 4, 409: 96}, statuses
    refusals = {(b["error"], b["message"]) for status, b in results if status == 409}
    assert {error for error, _ in refusals} == {"slot_full"}
    # Worded for the reader (Chinese by default), the code stays "slot_full".
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(message)) for _, message in refusals)
    with db() as s:
        assert s.get(PickupSlot, slot_id).booked == 4  # type: ignore[union-attr]
        left = atp.available_to_promise(s, [CLASSIC], day, day, window_days=1)[CLASSIC][day]
        assert left == 1000 * 10 - 4 * 2 * 10
    print(f"100 concurrent bookings: {dict(statuses)} in {elapsed:.2f} s")


def test_a_change_is_never_seen_half_done_by_a_concurrent_reader(db: sessionmaker[Session]) -> None:
    """While a booking flips between (slot 1, 2 cases) and (slot 2, 3 cases), readers in
    snapshot transactions always see exactly one seat and the stock of one state."""
    from tests.support.distributors import before_cutoff

    day: date = open_day_from(local_day() + timedelta(days=3))
    setup_products(db, [day], cases_per_day=20)
    distributor_id = make_distributor(db, "TJ01")
    rules = SlotRules()
    with transaction(db) as s:
        first, second = (slot.id for slot in common.day_slots(s, day, rules)[:2])
        booking_id = bookings.create_booking(
            s,
            rules,
            distributor_id=distributor_id,
            day=day,
            slot_id=first,
            lines={CLASSIC: 2},
            now=before_cutoff(day),
        ).id
    expected = {first: 200 - 20, second: 200 - 30}
    done = threading.Event()
    seen: list[tuple[int, int, int]] = []

    def flip() -> None:
        try:
            for i in range(30):
                target, cases = (second, 3) if i % 2 == 0 else (first, 2)
                with transaction(db) as s:
                    bookings.change_booking(
                        s,
                        rules,
                        distributor_id=distributor_id,
                        booking_id=booking_id,
                        now=before_cutoff(day),
                        slot_id=target,
                        lines={CLASSIC: cases},
                    )
        finally:
            done.set()

    def read() -> None:
        while not done.is_set():
            with db() as s:
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                seats = {sid: s.get(PickupSlot, sid).booked for sid in (first, second)}  # type: ignore[union-attr]
                held = s.get(Booking, booking_id).slot_id  # type: ignore[union-attr]
                left = atp.available_to_promise(s, [CLASSIC], day, day, window_days=1)[CLASSIC][day]
                seen.append((seats[first] + seats[second], held, left))

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer = threading.Thread(target=flip)
    for t in (*readers, writer):
        t.start()
    for t in (writer, *readers):
        t.join(timeout=60)
    assert len(seen) > 10
    print(f"{len(seen)} snapshot reads during 30 changes, none half done")
    assert all(total == 1 for total, _, _ in seen), [x for x in seen if x[0] != 1][:5]
    assert all(left == expected[held] for _, held, left in seen), [
        x for x in seen if x[2] != expected[x[1]]
    ][:5]
