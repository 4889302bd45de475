"""Pieces on lots come back when the reservation that had them is released.

After a batch, allocations are put on lots (claim_lots). A reservation released afterwards
(cancelled, unserved in a shortfall, a distributor who did not show up) keeps its claim_lots
rows as history, but its pieces must be free again: for the day's later reservations (ATP),
for a later batch's lot assignment, and for handing out whoever takes them next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from inventory.atp import available_to_promise
from inventory.db import transaction
from inventory.ledger import verify_ledger
from inventory.lots import promised_on_lots
from inventory.materials import expire_lots
from inventory.models import Claim, ClaimLot, LedgerEntry, LedgerKind, Lot, Reservation
from inventory.production import hand_out, receive_production
from inventory.reservations import Line, change, confirm, release, reserve
from tests.inventory.conftest import CLASSIC, NOW, Floor, day

MADE = datetime(2027, 1, 20, 20, 0, tzinfo=UTC)  # 04:00 on the 21st in Tianjin
PICKUP_MORNING = datetime(2027, 1, 20, 22, 45, tzinfo=UTC)  # 06:45 on the 21st


def _atp(floor: Floor, demand_day: date, now: datetime = NOW) -> int:
    with floor.db() as s:
        return available_to_promise(s, [CLASSIC], demand_day, demand_day, now=now)[CLASSIC][
            demand_day
        ]


def _on_lots(floor: Floor, ref: str) -> list[tuple[str, int]]:
    """(lot code, quantity) of the reservation's live claims."""
    with floor.db() as s:
        rows = s.execute(
            select(Lot.code, ClaimLot.quantity)
            .join(ClaimLot, ClaimLot.lot_id == Lot.id)
            .join(Claim, Claim.id == ClaimLot.claim_id)
            .join(Reservation, Reservation.id == Claim.reservation_id)
            .where(Reservation.ref == ref, Claim.status.in_(["active", "fulfilled"]))
            .order_by(Lot.code, ClaimLot.id)
        ).all()
    return [(code, quantity) for code, quantity in rows]


def _on_hand(floor: Floor, code: str) -> int:
    with floor.db() as s:
        return int(s.scalar(select(Lot.on_hand).where(Lot.code == code)) or 0)


def _book(floor: Floor, ref: str, quantity: int, now: datetime = NOW) -> None:
    with transaction(floor.db) as s:
        reserve(s, ref, [Line(CLASSIC, day(1), quantity)], hold_until=None, now=now)


def _hand_out(floor: Floor, ref: str) -> int:
    with transaction(floor.db) as s:
        return -sum(e.quantity for e in hand_out(s, ref, reference=f"pickup:{ref}"))


def _balanced(floor: Floor) -> None:
    with floor.db() as s:
        assert verify_ledger(s) == []


def test_a_cancelled_booking_gives_its_pieces_on_lots_to_a_later_reservation(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 6)
    _book(floor, "booking:2", 4)
    with transaction(floor.db) as s:
        assert (
            receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE).shortfalls
            == []
        )
    assert _on_lots(floor, "booking:1") == [("B1-GG-CLASSIC", 6)]
    assert _atp(floor, day(1)) == 0

    with transaction(floor.db) as s:
        release(s, "booking:1", reason="cancelled")
        lot_id = s.scalar(select(Lot.id).where(Lot.code == "B1-GG-CLASSIC"))
        assert lot_id is not None
        # Only booking:2's pieces are still promised on the lot.
        assert promised_on_lots(s, [lot_id]) == {lot_id: 4}
    assert _atp(floor, day(1)) == 6

    _book(floor, "order:3", 6)
    assert _atp(floor, day(1)) == 0
    assert _hand_out(floor, "order:3") == 6
    assert _on_lots(floor, "order:3") == [("B1-GG-CLASSIC", 6)]
    assert _hand_out(floor, "booking:2") == 4
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)


def test_a_later_batch_assigns_pieces_a_released_reservation_had_on_an_earlier_lot(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 6)
    _book(floor, "booking:2", 4)
    with transaction(floor.db) as s:
        first = receive_production(s, day(1), {CLASSIC: 6}, batch_ref="B1", made_at=MADE)
    assert [(f.ref, f.short_quantity) for f in first.shortfalls] == [("booking:2", 4)]
    with transaction(floor.db) as s:
        release(s, "booking:1", reason="cancelled")
    with transaction(floor.db) as s:
        second = receive_production(
            s, day(1), {CLASSIC: 0}, batch_ref="B2", made_at=MADE + timedelta(hours=1)
        )
    # booking:1's six pieces on B1 are free again: booking:2 is covered from them.
    assert second.shortfalls == []
    assert _on_lots(floor, "booking:2") == [("B1-GG-CLASSIC", 4)]
    assert _hand_out(floor, "booking:2") == 4
    _balanced(floor)


def test_a_booking_released_in_a_shortfall_frees_the_pieces_it_already_had(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 4)
    _book(floor, "booking:2", 6)
    with transaction(floor.db) as s:
        result = receive_production(s, day(1), {CLASSIC: 7}, batch_ref="B1", made_at=MADE)
    assert [(f.ref, f.short_quantity) for f in result.shortfalls] == [("booking:2", 3)]
    assert _on_lots(floor, "booking:2") == [("B1-GG-CLASSIC", 3)]
    assert _atp(floor, day(1)) == 0

    # The day's last batch is in: booking:2 cannot be served in full and is released.
    with transaction(floor.db) as s:
        release(s, "booking:2", reason="production shortfall in batch B1")
    assert _atp(floor, day(1)) == 3

    _book(floor, "order:3", 3)
    assert _hand_out(floor, "order:3") == 3
    assert _hand_out(floor, "booking:1") == 4
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)


def test_a_no_show_on_the_pickup_morning_gives_its_goods_to_a_walk_in(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 5)
    _book(floor, "booking:2", 5)
    with transaction(floor.db) as s:
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
    assert _hand_out(floor, "booking:2") == 5

    with transaction(floor.db) as s:
        release(s, "booking:1", reason="no_show")
    assert _atp(floor, day(1), now=PICKUP_MORNING) == 5

    # A walk-in booked on the pickup morning, after the day's lots exist.
    _book(floor, "booking:walk-in", 5, now=PICKUP_MORNING)
    assert _on_lots(floor, "booking:walk-in") == [("B1-GG-CLASSIC", 5)]
    assert _atp(floor, day(1), now=PICKUP_MORNING) == 0
    assert _hand_out(floor, "booking:walk-in") == 5
    assert _on_lots(floor, "booking:walk-in") == [("B1-GG-CLASSIC", 5)]
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)


def test_a_reservation_made_after_the_lots_exist_is_handed_out_from_them(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 6)
    with transaction(floor.db) as s:
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
    # A waitlist booking and a paid web order, both after the batch came in.
    _book(floor, "booking:waitlist", 3, now=PICKUP_MORNING)
    with transaction(floor.db) as s:
        reserve(
            s,
            "order:web",
            [Line(CLASSIC, day(1), 1)],
            hold_until=PICKUP_MORNING + timedelta(minutes=15),
            now=PICKUP_MORNING,
        )
    # Unpaid, it waits for its confirmation before taking a piece off a lot.
    assert _on_lots(floor, "order:web") == []
    with transaction(floor.db) as s:
        confirm(s, "order:web", now=PICKUP_MORNING)
    assert _atp(floor, day(1), now=PICKUP_MORNING) == 0
    # Both are on lots at once (so they can show as ready), not only at hand-out.
    assert _on_lots(floor, "booking:waitlist") == [("B1-GG-CLASSIC", 3)]
    assert _on_lots(floor, "order:web") == [("B1-GG-CLASSIC", 1)]
    assert _hand_out(floor, "booking:waitlist") == 3
    assert _hand_out(floor, "order:web") == 1
    assert _hand_out(floor, "booking:1") == 6
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)


def test_pieces_given_back_go_first_to_an_order_still_short(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 6)
    _book(floor, "booking:2", 4)
    with transaction(floor.db) as s:
        result = receive_production(s, day(1), {CLASSIC: 8}, batch_ref="B1", made_at=MADE)
    assert [(f.ref, f.short_quantity) for f in result.shortfalls] == [("booking:2", 2)]
    with transaction(floor.db) as s:
        release(s, "booking:1", reason="cancelled")
    # booking:2 is covered from the pieces booking:1 gave back, before anyone new books.
    assert _on_lots(floor, "booking:2") == [("B1-GG-CLASSIC", 2), ("B1-GG-CLASSIC", 2)]
    assert _atp(floor, day(1)) == 4
    _book(floor, "order:3", 4)
    assert _on_lots(floor, "order:3") == [("B1-GG-CLASSIC", 4)]
    assert _hand_out(floor, "booking:2") == 4
    assert _hand_out(floor, "order:3") == 4
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)


def test_a_booking_cut_down_after_production_frees_the_pieces_it_no_longer_needs(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 10)
    with transaction(floor.db) as s:
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
    with transaction(floor.db) as s:
        change(s, "booking:1", [Line(CLASSIC, day(1), 4)], now=PICKUP_MORNING)
    assert _atp(floor, day(1), now=PICKUP_MORNING) == 6
    _book(floor, "booking:2", 6, now=PICKUP_MORNING)
    assert _hand_out(floor, "booking:2") == 6
    assert _hand_out(floor, "booking:1") == 4
    _balanced(floor)


def test_expiry_writes_off_what_is_left_of_a_lot_including_released_pieces(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    _book(floor, "booking:1", 6)
    _book(floor, "booking:2", 4)
    with transaction(floor.db) as s:
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
    assert _hand_out(floor, "booking:2") == 4
    with transaction(floor.db) as s:
        release(s, "booking:1", reason="cancelled")
    with transaction(floor.db) as s:
        # Best-before is day(7): on day(8) the six released pieces are written off.
        assert [lot.code for lot in expire_lots(s, day(8))] == ["B1-GG-CLASSIC"]
    with floor.db() as s:
        waste = s.scalars(
            select(LedgerEntry.quantity)
            .join(Lot, Lot.id == LedgerEntry.lot_id)
            .where(Lot.code == "B1-GG-CLASSIC", LedgerEntry.kind == LedgerKind.WASTE)
        ).all()
    assert waste == [-6]
    assert _on_hand(floor, "B1-GG-CLASSIC") == 0
    _balanced(floor)
