from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.atp import available_to_promise
from inventory.db import transaction
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Item,
    ItemKind,
    Lot,
    OutboxEvent,
    Reservation,
    ReservationStatus,
    Supply,
)
from scheduling.planner import BOOKED, CONFIRMED, FORECAST
from scheduling.planning import calendar as cal
from scheduling.planning.capacity import copy_profile, extra_shift_on, main_profile, update_profile
from scheduling.planning.demand import forecast, promised_demand, season_demand
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.plan_reports import compare, plan_csv
from scheduling.planning.plans import PlanRequest, create_plan, publish_plan

START, END = date(2027, 1, 25), date(2027, 2, 8)
NOW = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)


def _claim(
    session: Session,
    ref: str,
    sku: str,
    day: date,
    quantity: int,
    kind: ClaimKind,
    made_on: date | None = None,
) -> None:
    item = session.scalar(select(Item).where(Item.sku == sku))
    assert item is not None
    supply = Supply(
        item_id=item.id, production_day=made_on or day, planned=0, promised=quantity, closed=False
    )
    session.add(supply)
    reservation = Reservation(ref=ref, status=ReservationStatus.CONFIRMED)
    session.add(reservation)
    session.flush()
    session.add(
        Claim(
            reservation_id=reservation.id,
            supply_id=supply.id,
            item_id=item.id,
            demand_day=day,
            quantity=quantity,
            kind=kind,
            status=ClaimStatus.ACTIVE,
            expires_at=NOW + timedelta(minutes=10) if kind is ClaimKind.HOLD else None,
        )
    )
    session.flush()


def test_paid_orders_are_confirmed_and_bookings_and_live_holds_are_booked(
    session: Session, products: list[str]
) -> None:
    _claim(session, "order:1", products[0], date(2027, 2, 1), 30, ClaimKind.ALLOCATION)
    _claim(session, "booking:7", products[0], date(2027, 2, 2), 200, ClaimKind.ALLOCATION)
    _claim(session, "order:2", products[1], date(2027, 2, 3), 5, ClaimKind.HOLD)
    demand = promised_demand(session, START, END, now=NOW)
    assert demand == {
        (products[0], date(2027, 2, 1), CONFIRMED): 30,
        (products[0], date(2027, 2, 2), BOOKED): 200,
        (products[1], date(2027, 2, 3), BOOKED): 5,
    }
    # An expired hold no longer counts.
    assert (products[1], date(2027, 2, 3), BOOKED) not in promised_demand(
        session, START, END, now=NOW + timedelta(hours=1)
    )


def test_the_forecast_aligns_past_seasons_on_the_festival_and_applies_growth(
    session: Session, products: list[str]
) -> None:
    seed_sales_history(session, latest_festival_year=2026, seasons=3)
    # The eve of 2027 is compared with the eves of 2024, 2025 and 2026, whatever their dates.
    eve = cal.lunar_markers(2027)["chuxi"]
    base = forecast(session, products, eve, eve)
    grown = forecast(session, products, eve, eve, growth_pct=150)
    assert base[products[0], eve] > 0
    assert abs(grown[products[0], eve] - 1.5 * base[products[0], eve]) <= 1
    # Three weeks before the eve is far below the eve itself.
    early = forecast(session, products, eve - timedelta(days=21), eve - timedelta(days=21))
    assert early[products[0], eve - timedelta(days=21)] < base[products[0], eve] / 2
    # The forecast tier is what the history expects beyond what is already promised.
    _claim(session, "booking:1", products[0], eve, 100, ClaimKind.ALLOCATION)
    demand = season_demand(session, products, eve, eve, now=NOW)
    assert demand[products[0], eve, FORECAST] == base[products[0], eve] - 100


def test_a_plan_is_made_stored_and_published_as_planned_supply(
    db: sessionmaker[Session], products: list[str]
) -> None:
    with transaction(db) as s:
        seed_sales_history(s, latest_festival_year=2026)
        _claim(s, "order:9", products[0], date(2027, 2, 2), 40, ClaimKind.ALLOCATION)
        rice = Item(sku="RICE", kind=ItemKind.RICE, name_zh="米", name_en="rice", unit="g")
        s.add(rice)
        s.flush()
        s.add(
            Lot(
                code="R-2026", item_id=rice.id, received_at=NOW, crop_year=2026, on_hand=200_000_000
            )
        )
        s.add(
            Lot(
                code="R-2025", item_id=rice.id, received_at=NOW, crop_year=2025, on_hand=500_000_000
            )
        )
        sugar = Item(sku="SUGAR", kind=ItemKind.SUGAR, name_zh="绵白糖", name_en="sugar", unit="g")
        s.add(sugar)
        s.flush()
        s.add(Lot(code="S-1", item_id=sugar.id, received_at=NOW, on_hand=100_000_000))
    with transaction(db) as s:
        plan = create_plan(s, PlanRequest(start=START, end=END, time_limit=10), now=NOW)
        plan_id = plan.id
        assert plan.demand_total > 0
        assert plan.summary["lp_bound_unmet"] <= plan.unmet_total + 1e-6
        assert plan.unmet_total <= plan.summary["greedy_unmet"]
        assert any("2027" in w for w in plan.warnings)  # 2027's arrangement is not in the library
        assert "day,production" in plan_csv(s, plan)
        made = {(line.item_id, line.day): line.quantity for line in plan.lines if line.quantity}
        assert made
    with db() as s:
        before = available_to_promise(s, products, START, END, now=NOW)
    with transaction(db) as s:
        publish_plan(s, plan_id)
    with db() as s:
        supply = {(r.item_id, r.production_day): r.planned for r in s.scalars(select(Supply))}
        for key, quantity in made.items():
            assert supply[key] == quantity
        # The storefront's availability calendar now offers what the plan makes, fresh
        # within the window, less what is already promised.
        after = available_to_promise(s, products, START, END, now=NOW)
        ids = {i.sku: i.id for i in s.scalars(select(Item))}
        promised = {(products[0], date(2027, 2, 2)): 40}  # order:9, on that day's supply
        for sku in products:
            for day in after[sku]:
                free = sum(
                    made.get((ids[sku], made_on), 0) - promised.get((sku, made_on), 0)
                    for made_on in (day - timedelta(days=1), day)
                )
                assert after[sku][day] == max(0, free)
        assert sum(after[products[0]].values()) > sum(before[products[0]].values())
        types = {e.type for e in s.scalars(select(OutboxEvent))}
        assert {"plan.created", "plan.published"} <= types


def test_a_scenario_with_more_capacity_serves_more_and_is_compared_side_by_side(
    db: sessionmaker[Session], products: list[str]
) -> None:
    with transaction(db) as s:
        seed_sales_history(s, latest_festival_year=2026)
        main = main_profile(s)
        bigger = copy_profile(s, main, "一台磨 + 加班")
        update_profile(s, bigger, {"mills": main.mills + 1})
        eve = cal.lunar_markers(2027)["chuxi"]
        extra_shift_on(s, bigger, [eve - timedelta(days=k) for k in range(5)])
        base = create_plan(
            s,
            PlanRequest(start=START, end=END, limit_materials=False, time_limit=3),
            now=NOW,
            with_baselines=False,
        )
        more = create_plan(
            s,
            PlanRequest(
                start=START, end=END, profile_id=bigger.id, limit_materials=False, time_limit=3
            ),
            now=NOW,
            with_baselines=False,
        )
        rows = compare([base, more])
    assert rows[0]["demand"] == rows[1]["demand"]
    assert rows[1]["unmet"] < rows[0]["unmet"]
    assert rows[1]["served"] > rows[0]["served"]
    assert set(rows[0]["peak_utilisation"]) >= {"mill", "cabinet"}


def test_a_distributor_booking_is_made_on_its_pickup_morning_not_the_day_before(
    db: sessionmaker[Session], products: list[str]
) -> None:
    # GG-1 keeps two days, but a booking is collected hot: if its pickup day has no
    # production, making it the day before does not count.
    pickup = date(2027, 2, 2)
    with transaction(db) as s:
        _claim(s, "booking:5", products[0], pickup, 100, ClaimKind.ALLOCATION)
        _claim(
            s, "order:6", products[0], pickup, 30, ClaimKind.ALLOCATION, made_on=date(2027, 2, 1)
        )
        cal.set_calendar_entry(s, pickup, production=False)
        plan = create_plan(
            s,
            PlanRequest(
                start=date(2027, 2, 1), end=date(2027, 2, 3), limit_materials=False, time_limit=5
            ),
            now=NOW,
        )
        assert plan.summary["unmet_by_tier"] == [0, 100, 0]  # the order is made the day before
        lines = {(line.day, line.quantity) for line in plan.lines if line.quantity}
        assert lines == {(date(2027, 2, 1), 48)}  # 30 pieces in whole trays of 24
    with transaction(db) as s:
        cal.set_calendar_entry(s, pickup)  # production again on the pickup day
        plan = create_plan(
            s,
            PlanRequest(
                start=date(2027, 2, 1), end=date(2027, 2, 3), limit_materials=False, time_limit=5
            ),
            now=NOW,
        )
        assert plan.unmet_total == 0
        made = {line.day: line.quantity for line in plan.lines if line.quantity}
        assert made.get(pickup, 0) >= 100
