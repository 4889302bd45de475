"""Two bookings of one account at the same moment that together would exceed its credit
limit: only one may pass (PostgreSQL: the check runs under a row lock on the distributor)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import DomainError
from scheduling.pickup.slots import SlotRules
from shop.distributors import bookings, common, onboarding
from shop.distributors.models import Booking
from shop.distributors.tokens import create_token
from tests.support.api_server import post_json, server
from tests.support.distributors import (
    CLASSIC,
    before_cutoff,
    local_day,
    make_distributor,
    open_day_from,
    setup_products,
)

__all__ = ["server"]  # the fixture

pytestmark = [pytest.mark.postgres]

LIMIT = 15_000  # ¥150: one case at ¥96 fits, two do not


def _with_limit(db: sessionmaker[Session], code: str) -> int:
    distributor_id = make_distributor(db, code)
    with transaction(db) as s:
        onboarding.update_account(
            s,
            distributor_id,
            company=f"{code} 副食商行",
            region="天津",
            address="",
            contacts=[],
            credit_limit_fen=LIMIT,
            payment_days=30,
            preference="pickup",
            preferred_slot="",
        )
    return distributor_id


def test_the_second_booking_waits_for_the_first_and_then_counts_it(
    db: sessionmaker[Session],
) -> None:
    """Forced interleaving: the first booking has passed its credit check and not committed
    yet. Without the lock the second would read the committed open balance (no first booking)
    and pass too; with it, it waits, then sees the first and is refused."""
    day: date = open_day_from(local_day() + timedelta(days=3))
    setup_products(db, [day], cases_per_day=100)
    distributor_id = _with_limit(db, "TJ01")
    rules = SlotRules()
    with transaction(db) as s:
        slot_id = common.day_slots(s, day, rules)[1].id
    first_checked, release_first = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def book(name: str, hold: bool) -> None:
        try:
            with transaction(db) as s:
                bookings.create_booking(
                    s,
                    rules,
                    distributor_id=distributor_id,
                    day=day,
                    slot_id=slot_id,
                    lines={CLASSIC: 1},
                    now=before_cutoff(day),
                )
                if hold:
                    first_checked.set()
                    release_first.wait(timeout=20)
            outcome[name] = "booked"
        except DomainError as exc:
            outcome[name] = exc.code

    first = threading.Thread(target=book, args=("first", True))
    first.start()
    assert first_checked.wait(timeout=20)
    second = threading.Thread(target=book, args=("second", False))
    second.start()
    # Give the second time to reach the database. (It would wait either way, at the slot or
    # supply row if not at the account; the outcome below is what the lock decides.)
    time.sleep(1.0)
    assert "second" not in outcome
    release_first.set()
    first.join(timeout=20)
    second.join(timeout=20)
    assert outcome == {"first": "booked", "second": "credit_limit_exceeded"}


def test_pairs_of_simultaneous_bookings_over_http_never_both_pass_the_limit(
    server: str, db: sessionmaker[Session]
) -> None:
    """Eight accounts, each sending two ¥96 bookings at the same instant against ¥150 of
    credit: exactly one of each pair is booked, the other refused with 409 in Chinese."""
    day: date = open_day_from(local_day() + timedelta(days=3))
    setup_products(db, [day], cases_per_day=1000)
    accounts = []
    for i in range(8):
        distributor_id = _with_limit(db, f"C{i:02d}")
        with transaction(db) as s:
            accounts.append((distributor_id, create_token(s, distributor_id, "pair").plaintext))
    with transaction(db) as s:
        slots = [slot.id for slot in common.day_slots(s, day, SlotRules(capacity=40))[1:3]]
    start = threading.Barrier(16)

    def attempt(i: int) -> tuple[int, int, dict[str, object]]:
        distributor_id, token = accounts[i // 2]
        body = {
            "day": day.isoformat(),
            "slot_id": slots[i % 2],
            "lines": [{"sku": CLASSIC, "cases": 1}],
        }
        start.wait()
        status, answer = post_json(f"{server}/api/v1/distributor/bookings", token, body)
        return distributor_id, status, answer

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(16)))

    by_account: dict[int, Counter[int]] = {}
    for distributor_id, status, _ in results:
        by_account.setdefault(distributor_id, Counter())[status] += 1
    assert all(c == Counter({201: 1, 409: 1}) for c in by_account.values()), by_account
    refusals = [answer for _, status, answer in results if status == 409]
    assert {r["error"] for r in refusals} == {"credit_limit_exceeded"}
    assert all("信用额度 ¥150.00" in str(r["message"]) for r in refusals)
    with db() as s:
        for distributor_id, _ in accounts:
            count = s.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.distributor_id == distributor_id)
            )
            assert count == 1
