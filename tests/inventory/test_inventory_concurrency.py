"""Concurrency proofs on PostgreSQL: many clients, each with its own connection, at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import make_engine, make_session_factory, transaction
from inventory.errors import ReservationStateError, SoldOut
from inventory.ledger import verify_ledger
from inventory.lots import promised_on_lots
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimLot,
    ClaimStatus,
    Lot,
    OutboxEvent,
    Reservation,
    ReservationStatus,
    Supply,
)
from inventory.production import hand_out, receive_production
from inventory.reservations import Line, confirm, expire_holds, release, reserve
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, Floor, day
from tests.support.races import race

pytestmark = pytest.mark.postgres

CLIENTS = 64


@pytest.fixture
def wide_engine(database_url: str, floor: Floor) -> Iterator[Engine]:
    """One pool big enough that every client holds its own connection at the same moment."""
    engine = make_engine(database_url, pool_size=CLIENTS, max_overflow=0, pool_timeout=20)
    yield engine
    engine.dispose()


def _race(factory: sessionmaker[Session], jobs: list[Callable[[Session], object]]) -> list[object]:
    return race(factory, jobs, join_timeout=60)


def _live_claims(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Claim.supply_id, func.sum(Claim.quantity))
        .where(Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.FULFILLED]))
        .group_by(Claim.supply_id)
    ).all()
    return {sid: int(total) for sid, total in rows}


def test_sixty_four_clients_racing_for_the_last_ten_units_sell_exactly_ten(
    floor: Floor, wide_engine: Engine
) -> None:
    floor.plan({(CLASSIC, day(1)): 30})
    with transaction(floor.db) as s:
        reserve(s, "booking:early", [Line(CLASSIC, day(1), 20)], hold_until=None, now=NOW)

    def buyer(n: int) -> Callable[[Session], object]:
        return lambda s: (
            reserve(s, f"order:{n}", [Line(CLASSIC, day(1), 1)], hold_until=HOLD, now=NOW).ref
        )

    outcomes = _race(make_session_factory(wide_engine), [buyer(n) for n in range(CLIENTS)])

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"str": 10, "SoldOut": CLIENTS - 10}, kinds
    with floor.db() as s:
        promised = s.scalars(select(Supply.promised)).one()
        assert promised == 30
        assert _live_claims(s) == {s.scalars(select(Supply.id)).one(): 30}
        held = s.scalar(select(func.count()).where(Reservation.status == ReservationStatus.HELD))
        assert held == 10
        assert verify_ledger(s) == []


def test_orders_whose_lines_contend_in_opposite_order_never_deadlock_nor_half_reserve(
    floor: Floor, wide_engine: Engine
) -> None:
    floor.plan({(CLASSIC, day(1)): 20, (OSMANTHUS, day(1)): 25})

    def order(n: int) -> Callable[[Session], object]:
        first, second = (CLASSIC, OSMANTHUS) if n % 2 == 0 else (OSMANTHUS, CLASSIC)
        lines = [Line(first, day(1), 1), Line(second, day(1), 1)]
        return lambda s: reserve(s, f"order:{n}", lines, hold_until=HOLD, now=NOW).ref

    outcomes = _race(make_session_factory(wide_engine), [order(n) for n in range(CLIENTS)])

    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, SoldOut)]
    assert unexpected == []  # in particular no DeadlockDetected
    won = [o for o in outcomes if isinstance(o, str)]
    assert len(won) == 20  # classic runs out first
    with floor.db() as s:
        per_reservation = Counter(
            ref
            for (ref,) in s.execute(
                select(Reservation.ref).join(Claim, Claim.reservation_id == Reservation.id)
            )
        )
        assert per_reservation == dict.fromkeys(won, 2)  # every line or none
        supplies = {row.item.sku: row for row in s.scalars(select(Supply))}
        assert supplies[CLASSIC].promised == 20
        assert supplies[OSMANTHUS].promised == 20 <= supplies[OSMANTHUS].planned
        assert _live_claims(s) == {row.id: row.promised for row in supplies.values()}


def test_a_hold_confirmed_while_the_sweep_runs_is_either_confirmed_or_expired_never_both(
    floor: Floor, wide_engine: Engine
) -> None:
    floor.plan({(CLASSIC, day(1)): 100})
    refs = [f"order:{n}" for n in range(CLIENTS // 2)]
    with transaction(floor.db) as s:
        for ref in refs:
            reserve(s, ref, [Line(CLASSIC, day(1), 2)], hold_until=HOLD, now=NOW)

    # The payment callbacks think the hold is still live; the sweeps think it has lapsed.
    def pay(ref: str) -> Callable[[Session], object]:
        return lambda s: confirm(s, ref, now=HOLD - timedelta(seconds=1)).status

    def sweep(s: Session) -> object:
        return expire_holds(s, now=HOLD + timedelta(seconds=1))

    jobs = [pay(ref) for ref in refs] + [sweep] * (CLIENTS - len(refs))
    outcomes = _race(make_session_factory(wide_engine), jobs)

    # A payment that lost the race is told the hold expired; nothing else may go wrong.
    assert [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ReservationStateError)
    ] == []
    swept = [ref for o in outcomes if isinstance(o, list) for ref in o]
    assert len(swept) == len(set(swept))  # no hold expired twice
    with floor.db() as s:
        for reservation in s.scalars(select(Reservation)):
            kinds = {(c.kind, c.status) for c in reservation.claims}
            if reservation.status is ReservationStatus.CONFIRMED:
                assert kinds == {(ClaimKind.ALLOCATION, ClaimStatus.ACTIVE)}
            else:
                assert reservation.status is ReservationStatus.EXPIRED
                assert kinds == {(ClaimKind.HOLD, ClaimStatus.EXPIRED)}
                assert reservation.ref in swept
        confirmed = s.scalar(
            select(func.count()).where(Reservation.status == ReservationStatus.CONFIRMED)
        )
        assert s.scalars(select(Supply.promised)).one() == 2 * confirmed


@pytest.mark.parametrize(("rival_takes", "outcome"), [(1, "reserved"), (4, "sold out")])
def test_an_order_that_loses_the_race_between_read_and_update_retries_under_lock(
    floor: Floor, rival_takes: int, outcome: str
) -> None:
    floor.plan({(CLASSIC, day(1)): 5})
    fired = False
    late_commits: list[threading.Thread] = []

    def rival_checkout(_conn: object, _cursor: object, statement: str, *_a: object) -> None:
        # Just before our guarded UPDATE, another checkout takes stock and commits. On
        # PostgreSQL our whole reservation is one call (gaogan_reserve) that reads and then
        # updates: the rival has taken its stock but not committed when the call starts, so
        # the call plans on the old figures and then waits at its UPDATE for the rival's row
        # lock; the rival commits, and the guard is evaluated on the rival's row.
        nonlocal fired
        if fired or not (statement.startswith("UPDATE supply") or "gaogan_reserve(" in statement):
            return
        fired = True
        other = floor.db()
        reserve(
            other, "order:rival", [Line(CLASSIC, day(1), rival_takes)], hold_until=HOLD, now=NOW
        )
        if statement.startswith("UPDATE supply"):
            other.commit()
            other.close()
            return

        def commit_later() -> None:
            time.sleep(0.5)
            other.commit()
            other.close()

        late_commits.append(threading.Thread(target=commit_later))
        late_commits[-1].start()

    with floor.db() as s:
        connection = s.connection()
        event.listen(connection, "before_cursor_execute", rival_checkout)
        try:
            if outcome == "reserved":
                reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
            else:
                with pytest.raises(SoldOut):
                    reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
                # The first attempt's rows are gone even before the caller rolls back.
                assert s.scalars(select(Reservation.ref)).all() == ["order:rival"]
                assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 2
            s.commit()
        finally:
            event.remove(connection, "before_cursor_execute", rival_checkout)
            for thread in late_commits:
                thread.join()
    assert fired
    with floor.db() as s:
        refs = sorted(s.scalars(select(Reservation.ref)))
        promised = s.scalars(select(Supply.promised)).one()
        assert promised == sum(_live_claims(s).values())
    if outcome == "reserved":
        assert refs == ["order:1", "order:rival"] and promised == 3 + rival_takes
    else:
        assert refs == ["order:rival"] and promised == rival_takes


def test_the_same_order_handed_out_at_two_counters_at_once_leaves_once(
    floor: Floor, wide_engine: Engine
) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    made = NOW + timedelta(hours=20)
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=made)

    def counter(s: Session) -> object:
        return len(hand_out(s, "booking:1", reference="pickup"))

    outcomes = _race(make_session_factory(wide_engine), [counter] * 8)

    assert sorted(outcomes, key=str) == [0] * 7 + [1]
    with floor.db() as s:
        assert s.scalars(select(Lot.on_hand)).one() == 6
        assert verify_ledger(s) == []


def test_releases_walk_ins_and_hand_outs_racing_on_a_made_day_never_oversell_a_lot(
    floor: Floor, wide_engine: Engine
) -> None:
    """On the pickup morning: no-shows give their pieces back while walk-ins book them and
    other distributors collect. Every walk-in that gets stock is on lots at once and can be
    handed out; no lot is promised beyond what it holds; nothing deadlocks."""
    floor.plan({(CLASSIC, day(1)): 40})
    with transaction(floor.db) as s:
        for n in range(20):
            reserve(s, f"booking:{n}", [Line(CLASSIC, day(1), 2)], hold_until=None, now=NOW)
    with transaction(floor.db) as s:
        made = NOW + timedelta(hours=18)
        result = receive_production(s, day(1), {CLASSIC: 40}, batch_ref="B1", made_at=made)
        assert result.shortfalls == []
    morning = NOW + timedelta(hours=20, minutes=45)

    def no_show(n: int) -> Callable[[Session], object]:
        return lambda s: release(s, f"booking:{n}", reason="no_show").ref

    def collect(n: int) -> Callable[[Session], object]:
        return lambda s: len(hand_out(s, f"booking:{n}", reference=f"pickup:{n}"))

    def walk_in(n: int) -> Callable[[Session], object]:
        return lambda s: (
            reserve(s, f"walk-in:{n}", [Line(CLASSIC, day(1), 1)], hold_until=None, now=morning).ref
        )

    jobs = (
        [no_show(n) for n in range(10)]
        + [collect(n) for n in range(10, 20)]
        + [walk_in(n) for n in range(CLIENTS - 20)]
    )
    outcomes = _race(make_session_factory(wide_engine), jobs)

    assert outcomes[:10] == [f"booking:{n}" for n in range(10)]
    assert outcomes[10:20] == [1] * 10
    walk_ins = [o for o in outcomes[20:] if isinstance(o, str)]
    assert all(isinstance(o, str | SoldOut) for o in outcomes[20:]), outcomes[20:]
    assert 0 < len(walk_ins) <= 20
    with floor.db() as s:
        lot = s.scalars(select(Lot)).one()
        promised = promised_on_lots(s, [lot.id]).get(lot.id, 0)
        assert lot.on_hand == 20
        assert promised == len(walk_ins) <= lot.on_hand
        covered = dict(
            s.execute(
                select(Reservation.ref, func.sum(ClaimLot.quantity))
                .join(Claim, Claim.reservation_id == Reservation.id)
                .join(ClaimLot, ClaimLot.claim_id == Claim.id)
                .where(Reservation.ref.in_(walk_ins), Claim.status == ClaimStatus.ACTIVE)
                .group_by(Reservation.ref)
            ).all()
        )
        assert covered == dict.fromkeys(walk_ins, 1)
    with transaction(floor.db) as s:
        for ref in walk_ins:
            hand_out(s, ref, reference=f"pickup:{ref}")
    with floor.db() as s:
        assert s.scalars(select(Lot.on_hand)).one() == 20 - len(walk_ins)
        assert verify_ledger(s) == []
