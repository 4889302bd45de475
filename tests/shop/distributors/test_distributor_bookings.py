"""Bookings on the shared inventory: seat and stock together, cut-offs, standing orders,
no-shows, hand-out against lots, quotas and the waitlist."""

from __future__ import annotations

from datetime import date, time, timedelta

import holidays
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory import atp, production
from inventory.db import transaction
from inventory.errors import SoldOut
from inventory.ledger import verify_ledger
from inventory.models import (
    Claim,
    ClaimLot,
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
    Lot,
    OutboxEvent,
    Reservation,
)
from scheduling.errors import CutoffPassed, SlotFull, SlotUnavailable
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.distributors import bookings, common, pickup, prices, standing
from shop.distributors import quotas as dist_quotas
from shop.distributors.errors import BookingNotFound, QuotaExceeded
from shop.distributors.models import Booking, BookingStatus, Distributor, WaitlistStatus
from tests.support.distributors import (
    CASE,
    CLASSIC,
    OSMANTHUS,
    after_cutoff,
    before_cutoff,
    local,
    make_distributor,
    setup_products,
)

DAY = date(2027, 1, 20)  # a Wednesday, no holiday
RULES = SlotRules()


def _atp(s: Session, day: date = DAY, sku: str = CLASSIC) -> int:
    return atp.available_to_promise(s, [sku], day, day, window_days=1, now=before_cutoff(day))[sku][
        day
    ]


def _slots(db: sessionmaker[Session], day: date = DAY) -> list[int]:
    with transaction(db) as s:
        return [slot.id for slot in common.day_slots(s, day, RULES)]


def _book(
    db: sessionmaker[Session],
    distributor_id: int,
    slot_id: int,
    lines: dict[str, int],
    day: date = DAY,
) -> int:
    with transaction(db) as s:
        return bookings.create_booking(
            s,
            RULES,
            distributor_id=distributor_id,
            day=day,
            slot_id=slot_id,
            lines=lines,
            now=before_cutoff(day),
        ).id


@pytest.fixture
def world(db: sessionmaker[Session]) -> dict[str, int]:
    setup_products(db, [DAY], cases_per_day=20)
    return {"a": make_distributor(db, "TJ01"), "b": make_distributor(db, "BJ01")}


def test_a_booking_takes_a_seat_and_allocates_its_cases_from_that_morning_s_output(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    booking_id = _book(db, world["a"], slot, {CLASSIC: 3, OSMANTHUS: 1})
    with db() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.status is BookingStatus.CONFIRMED
        assert [(ln.sku, ln.cases, ln.pieces, ln.case_price_fen) for ln in booking.lines] == [
            (CLASSIC, 3, 30, 9600),
            (OSMANTHUS, 1, 10, 12000),
        ]
        assert s.get(PickupSlot, slot).booked == 1  # type: ignore[union-attr]
        assert _atp(s) == 200 - 30
        assert _atp(s, sku=OSMANTHUS) == 200 - 10
        event = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "booking.confirmed")).one()
        assert event.key == f"booking:{booking_id}"
        assert event.payload["distributor_id"] == world["a"]
        assert event.payload["slot_start"].startswith("2027-01-20T06:00")


def test_a_full_slot_refuses_with_slot_full_and_leaves_stock_untouched(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    for _ in range(4):
        _book(db, world["a"], slot, {CLASSIC: 1})
    with pytest.raises(SlotFull, match="slot full"):
        _book(db, world["b"], slot, {CLASSIC: 1})
    with db() as s:
        assert s.get(PickupSlot, slot).booked == 4  # type: ignore[union-attr]
        assert _atp(s) == 200 - 40
        assert s.scalars(select(Booking).where(Booking.distributor_id == world["b"])).all() == []


def test_more_cases_than_the_day_makes_are_refused_and_the_seat_stays_free(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    with pytest.raises(SoldOut):
        _book(db, world["a"], slot, {CLASSIC: 21})
    with db() as s:
        assert s.get(PickupSlot, slot).booked == 0  # type: ignore[union-attr]
        assert _atp(s) == 200


def test_a_product_off_the_price_list_or_a_closed_day_is_refused(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    with pytest.raises(Exception, match="not on your price list"):
        _book(db, world["a"], slot, {"GG-NOPE": 1})
    national_day = date(2027, 10, 1)
    assert national_day in holidays.China(years=2027)
    with transaction(db) as s:
        assert common.day_slots(s, national_day, RULES) == []
    with pytest.raises(SlotUnavailable, match="no production"):
        _book(db, world["a"], slot, {CLASSIC: 1}, day=national_day)


def test_a_change_after_the_cut_off_is_refused_with_a_clear_message(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    first, second = _slots(db)[:2]
    booking_id = _book(db, world["a"], first, {CLASSIC: 2})
    with transaction(db) as s, pytest.raises(CutoffPassed) as refused:
        bookings.change_booking(
            s,
            RULES,
            distributor_id=world["a"],
            booking_id=booking_id,
            now=after_cutoff(DAY),
            slot_id=second,
            lines={CLASSIC: 5},
        )
    assert "2027-01-19 20:00" in refused.value.message
    with transaction(db) as s, pytest.raises(CutoffPassed):
        bookings.cancel_booking(
            s, RULES, distributor_id=world["a"], booking_id=booking_id, now=after_cutoff(DAY)
        )
    with db() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.slot_id == first and booking.lines[0].cases == 2
        assert _atp(s) == 180


def test_a_change_before_the_cut_off_moves_slot_and_stock_together(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    first, second = _slots(db)[:2]
    booking_id = _book(db, world["a"], first, {CLASSIC: 2})
    with transaction(db) as s:
        bookings.change_booking(
            s,
            RULES,
            distributor_id=world["a"],
            booking_id=booking_id,
            now=before_cutoff(DAY),
            slot_id=second,
            lines={CLASSIC: 5, OSMANTHUS: 1},
        )
    with db() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.slot_id == second and booking.version == 2
        assert {ln.sku: ln.cases for ln in booking.lines} == {CLASSIC: 5, OSMANTHUS: 1}
        assert (s.get(PickupSlot, first).booked, s.get(PickupSlot, second).booked) == (0, 1)  # type: ignore[union-attr]
        assert _atp(s) == 150 and _atp(s, sku=OSMANTHUS) == 190
        types = s.scalars(
            select(OutboxEvent.type)
            .where(OutboxEvent.key == f"booking:{booking_id}", OutboxEvent.type.like("booking.%"))
            .order_by(OutboxEvent.id)
        ).all()
        assert types == ["booking.confirmed", "booking.changed"]


def test_a_change_that_does_not_fit_keeps_the_old_slot_and_stock(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    first, second = _slots(db)[:2]
    booking_id = _book(db, world["a"], first, {CLASSIC: 2})
    for _ in range(4):
        _book(db, world["b"], second, {OSMANTHUS: 1})
    # New slot full: neither the new seat nor the new stock is taken, the old ones stay held,
    # even for a caller that swallows the refusal and commits.
    with transaction(db) as s, pytest.raises(SlotFull):
        bookings.change_booking(
            s,
            RULES,
            distributor_id=world["a"],
            booking_id=booking_id,
            now=before_cutoff(DAY),
            slot_id=second,
            lines={CLASSIC: 3},
        )
    # More than the day makes: the old allocation is kept whole.
    with pytest.raises(SoldOut), transaction(db) as s:
        bookings.change_booking(
            s,
            RULES,
            distributor_id=world["a"],
            booking_id=booking_id,
            now=before_cutoff(DAY),
            lines={CLASSIC: 25},
        )
    with db() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.slot_id == first and booking.lines[0].cases == 2
        assert s.get(PickupSlot, first).booked == 1  # type: ignore[union-attr]
        assert s.get(PickupSlot, second).booked == 4  # type: ignore[union-attr]
        assert _atp(s) == 180


def test_another_distributor_s_booking_cannot_be_read_changed_or_cancelled(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    booking_id = _book(db, world["a"], _slots(db)[0], {CLASSIC: 1})
    with transaction(db) as s:
        with pytest.raises(BookingNotFound):
            bookings.get_booking(s, world["b"], booking_id)
        with pytest.raises(BookingNotFound):
            bookings.cancel_booking(
                s, RULES, distributor_id=world["b"], booking_id=booking_id, now=before_cutoff(DAY)
            )
        assert bookings.list_bookings(s, world["b"], DAY, DAY) == []


def test_cancelling_frees_seat_and_stock_and_serves_the_waitlist_in_order(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    big = _book(db, world["a"], slot, {CLASSIC: 18})
    c = make_distributor(db, "HB01")
    with transaction(db) as s:
        first = bookings.join_waitlist(
            s, distributor_id=world["b"], day=DAY, slot_id=slot, lines={CLASSIC: 5}
        )
        second = bookings.join_waitlist(
            s, distributor_id=c, day=DAY, slot_id=slot, lines={CLASSIC: 5}
        )
        first_id, second_id = first.id, second.id
    with transaction(db) as s:
        bookings.cancel_booking(
            s, RULES, distributor_id=world["a"], booking_id=big, now=before_cutoff(DAY)
        )
    with db() as s:
        assert s.get(Booking, big).status is BookingStatus.CANCELLED  # type: ignore[union-attr]
        served = [e for e in bookings.waitlist(s, DAY)]
        assert served == []  # both fit once 18 cases came back
        from shop.distributors.models import WaitlistEntry

        one, two = s.get(WaitlistEntry, first_id), s.get(WaitlistEntry, second_id)
        assert one.status is WaitlistStatus.SERVED and two.status is WaitlistStatus.SERVED  # type: ignore[union-attr]
        assert one.booking_id < two.booking_id  # type: ignore[union-attr,operator]
        assert _atp(s) == 200 - 100
        assert s.get(PickupSlot, slot).booked == 2  # type: ignore[union-attr]


def test_standing_orders_over_the_national_day_week_book_nothing_on_the_holiday(
    db: sessionmaker[Session],
) -> None:
    week = [date(2027, 9, 27) + timedelta(days=i) for i in range(7)]
    official = {d for d in holidays.China(years=2027) if d in week}
    assert date(2027, 10, 1) in official  # a Friday
    setup_products(db, week, cases_per_day=20)
    a = make_distributor(db, "TJ01")
    with transaction(db) as s:
        standing.save_standing_order(
            s,
            distributor_id=a,
            slot_time=time(6, 15),
            weekday_lines={wd: {CLASSIC: 3} for wd in range(5)},
            starts_on=week[0],
        )
    with transaction(db) as s:
        refs = standing.generate_standing_bookings(s, date(2027, 9, 26), 7, rules=RULES)
    assert len(refs) == 4
    with transaction(db) as s:
        again = standing.generate_standing_bookings(s, date(2027, 9, 26), 7, rules=RULES)
    assert again == []
    with db() as s:
        bookings = s.scalars(select(Booking).order_by(Booking.day)).all()
        assert [b.day for b in bookings] == week[:4]
        assert not official & {b.day for b in bookings}
        assert all(b.source == "standing" for b in bookings)
        slot = s.get(PickupSlot, bookings[0].slot_id)
        assert slot is not None and slot.starts_at == local(week[0], 6, 15)


def test_a_standing_order_day_can_be_skipped_or_changed_until_its_cut_off(
    db: sessionmaker[Session],
) -> None:
    days = [DAY + timedelta(days=i) for i in range(3)]  # Wed, Thu, Fri
    setup_products(db, days, cases_per_day=20)
    a = make_distributor(db, "TJ01")
    with transaction(db) as s:
        order_id = standing.save_standing_order(
            s,
            distributor_id=a,
            slot_time=time(6, 0),
            weekday_lines={wd: {CLASSIC: 2} for wd in range(5)},
            starts_on=DAY,
        ).id
    today = DAY - timedelta(days=1)
    with transaction(db) as s:
        # Friday is skipped before it is booked; Thursday after (its booking is cancelled).
        standing.skip_occurrence(
            s, RULES, distributor_id=a, order_id=order_id, day=days[2], now=before_cutoff(days[2])
        )
        standing.generate_standing_bookings(s, today, 2, rules=RULES)
    with transaction(db) as s:
        thursday = s.scalars(select(Booking).where(Booking.day == days[1])).one()
        standing.skip_occurrence(
            s, RULES, distributor_id=a, order_id=order_id, day=days[1], now=before_cutoff(days[1])
        )
        assert thursday.status is BookingStatus.CANCELLED
        with pytest.raises(CutoffPassed):
            standing.skip_occurrence(
                s,
                RULES,
                distributor_id=a,
                order_id=order_id,
                day=days[0],
                now=after_cutoff(days[0]),
            )
    with transaction(db) as s:
        standing.generate_standing_bookings(s, today, 3, rules=RULES)
        live = s.scalars(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
        assert [b.day for b in live] == [days[0]]


def test_a_no_show_after_the_grace_period_returns_the_goods_to_the_day_and_is_counted(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]  # 06:00-06:15
    booking_id = _book(db, world["a"], slot, {CLASSIC: 5})
    with transaction(db) as s:
        assert pickup.sweep_no_shows(s, local(DAY, 6, 44), grace_minutes=30) == []
    with transaction(db) as s:
        assert pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30) == [
            f"booking:{booking_id}"
        ]
    with db() as s:
        assert s.get(Booking, booking_id).status is BookingStatus.NO_SHOW  # type: ignore[union-attr]
        assert s.get(Distributor, world["a"]).no_shows == 1  # type: ignore[union-attr]
        available = atp.available_to_promise(
            s, [CLASSIC], DAY, DAY, window_days=1, now=local(DAY, 6, 46)
        )
        assert available[CLASSIC][DAY] == 200
    with transaction(db) as s:
        assert pickup.sweep_no_shows(s, local(DAY, 9, 0), grace_minutes=30) == []


def test_a_checked_in_distributor_is_not_a_no_show_and_hand_out_draws_on_the_day_s_lots(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slot = _slots(db)[0]
    booking_id = _book(db, world["a"], slot, {CLASSIC: 3})
    with transaction(db) as s:
        production.receive_production(
            s, DAY, {CLASSIC: 200, OSMANTHUS: 200}, batch_ref="B0120A", made_at=local(DAY, 5, 50)
        )
        booking = s.get_one(Booking, booking_id)
        assert pickup.mark_ready(s, booking, now=local(DAY, 5, 55)) is True
        assert pickup.mark_ready(s, booking, now=local(DAY, 5, 56)) is False
        assert booking.ready_at == local(DAY, 5, 55)
    with transaction(db) as s:
        pickup.check_in(s, booking_id, now=local(DAY, 6, 5))
        assert pickup.sweep_no_shows(s, local(DAY, 7, 0), grace_minutes=30) == []
        pickup.hand_out(s, booking_id, now=local(DAY, 6, 10))
    with db() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.status is BookingStatus.COLLECTED
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.HANDOUT)).all()
        assert sum(e.quantity for e in entries) == -3 * CASE
        assert {e.reference for e in entries} == {f"booking:{booking_id}"}
        statement = prices.monthly_statement(s, world["a"], 2027, 1)
        assert [(ln.booking_id, ln.cases, ln.amount_fen) for ln in statement] == [
            (booking_id, 3, 28800)
        ]
        # order.ready comes from the batch (scheduling.production.batches), never from this area.
        assert s.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.ready")).all() == []


def test_quotas_proportional_to_standing_orders_cap_each_distributor(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    with transaction(db) as s:
        for distributor_id, cases in ((world["a"], 30), (world["b"], 10)):
            standing.save_standing_order(
                s,
                distributor_id=distributor_id,
                slot_time=time(6, 0),
                weekday_lines={DAY.weekday(): {CLASSIC: cases}},
                starts_on=DAY,
            )
        demand = {row.sku: row for row in dist_quotas.demand_for_day(s, DAY)}
        assert demand[CLASSIC].standing_cases == 40 and demand[CLASSIC].capacity_cases == 20
        quotas = dist_quotas.apply_quotas(s, DAY)
    assert quotas == {(world["a"], CLASSIC): 15, (world["b"], CLASSIC): 5}
    slot = _slots(db)[0]
    _book(db, world["b"], slot, {CLASSIC: 4})
    with pytest.raises(QuotaExceeded, match="quota"):
        _book(db, world["b"], slot, {CLASSIC: 2})
    _book(db, world["b"], slot, {CLASSIC: 1})


def test_a_standing_order_whose_slot_is_full_takes_the_next_bay_and_waits_when_sold_out(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    from inventory import supply

    first, second = _slots(db)[:2]
    for _ in range(4):
        _book(db, world["b"], first, {OSMANTHUS: 1})
    thursday = DAY + timedelta(days=1)  # no supply planned yet
    with transaction(db) as s:
        standing.save_standing_order(
            s,
            distributor_id=world["a"],
            slot_time=time(6, 0),
            weekday_lines={DAY.weekday(): {CLASSIC: 2}, thursday.weekday(): {CLASSIC: 2}},
            starts_on=DAY,
        )
        standing.generate_standing_bookings(s, DAY - timedelta(days=1), 2, rules=RULES)
    with db() as s:
        wednesday = s.scalars(select(Booking).where(Booking.distributor_id == world["a"])).one()
        assert wednesday.day == DAY and wednesday.slot_id == second
        assert [(e.day, e.reason) for e in bookings.waitlist(s, thursday)] == [
            (thursday, "sold_out")
        ]
    with transaction(db) as s:
        supply.set_planned_supply(s, "later-plan", {(CLASSIC, thursday): 100})
    with transaction(db) as s:
        standing.generate_standing_bookings(s, DAY - timedelta(days=1), 2, rules=RULES)
    with db() as s:
        assert bookings.waitlist(s, thursday) == []
        served = s.scalars(select(Booking).where(Booking.day == thursday)).one()
        assert served.source == "waitlist" and served.standing_order_id is not None


def _pieces_on_lots(session: Session, ref: str) -> int:
    """Pieces of the reservation's live claims that sit on a made lot (ready to hand out)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(ClaimLot.quantity - ClaimLot.handed_out), 0))
            .join(Claim, Claim.id == ClaimLot.claim_id)
            .join(Reservation, Reservation.id == Claim.reservation_id)
            .where(Reservation.ref == ref, Claim.status == ClaimStatus.ACTIVE)
        )
        or 0
    )


def test_a_no_show_s_cases_already_on_lots_go_to_the_waitlist_who_can_collect_them(
    db: sessionmaker[Session], world: dict[str, int]
) -> None:
    slots = _slots(db)
    no_show = _book(db, world["a"], slots[0], {CLASSIC: 20})
    with transaction(db) as s:
        bookings.join_waitlist(
            s, distributor_id=world["b"], day=DAY, slot_id=None, lines={CLASSIC: 5}
        )
        production.receive_production(
            s, DAY, {CLASSIC: 200, OSMANTHUS: 200}, batch_ref="B0120A", made_at=local(DAY, 4, 0)
        )
        assert _pieces_on_lots(s, f"booking:{no_show}") == 20 * CASE
    with transaction(db) as s:
        assert pickup.sweep_no_shows(s, local(DAY, 6, 46), grace_minutes=30) == [
            f"booking:{no_show}"
        ]
        served = s.scalars(select(Booking).where(Booking.source == "waitlist")).one()
        served_id = served.id
        # The cases the no-show had on the batch's lot are the waitlisted booking's now.
        assert _pieces_on_lots(s, f"booking:{served_id}") == 5 * CASE
    with transaction(db) as s:
        pickup.check_in(s, served_id, now=local(DAY, 7, 0))
        pickup.hand_out(s, served_id, now=local(DAY, 7, 5))
    with db() as s:
        booking = s.get(Booking, served_id)
        assert booking is not None and booking.status is BookingStatus.COLLECTED
        lot = s.scalars(select(Lot).where(Lot.code == "B0120A-GG-CLASSIC")).one()
        assert lot.on_hand == 200 - 5 * CASE
        assert verify_ledger(s) == []
