"""Peak rationing: the day's demand against capacity and the distributors' quotas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory import catalog
from inventory.errors import InvalidQuantity
from inventory.events import publish
from inventory.models import Item, Supply
from scheduling.pickup.standing_orders import proportional_quotas
from shop.distributors.accounts import get_distributor
from shop.distributors.bookings import waitlist
from shop.distributors.models import (
    Booking,
    BookingLine,
    BookingStatus,
    CasePack,
    Distributor,
    Quota,
    StandingOrder,
    WaitlistEntry,
)
from shop.distributors.rules import LIVE
from shop.distributors.standing import pattern_of


@dataclass(frozen=True)
class DemandRow:
    sku: str
    case_pieces: int
    capacity_cases: int  # what the day's supply can make, in cases
    booked_cases: int
    waitlisted_cases: int
    standing_cases: int

    @property
    def over(self) -> bool:
        return self.booked_cases + self.waitlisted_cases > self.capacity_cases


def demand_for_day(session: Session, day: date) -> list[DemandRow]:
    packs = {p.sku: p.pieces for p in session.scalars(select(CasePack))}
    supply = {
        item.sku: s.capacity
        for s, item in session.execute(
            select(Supply, Item)
            .join(Item, Item.id == Supply.item_id)
            .where(Supply.production_day == day)
        ).all()
    }
    booked: dict[str, int] = defaultdict(int)
    for sku, n in session.execute(
        select(BookingLine.sku, func.sum(BookingLine.cases))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(Booking.day == day, Booking.status.in_((*LIVE, BookingStatus.COLLECTED)))
        .group_by(BookingLine.sku)
    ).all():
        booked[sku] = int(n)
    waiting: dict[str, int] = defaultdict(int)
    for entry in waitlist(session, day):
        for sku, n in entry.lines.items():
            waiting[sku] += int(n)
    standing = standing_weights(session, day)
    standing_total: dict[str, int] = defaultdict(int)
    for by_distributor in standing.values():
        for sku, n in by_distributor.items():
            standing_total[sku] += n
    skus = sorted(set(booked) | set(waiting) | set(standing_total))
    return [
        DemandRow(
            sku,
            packs.get(sku, 1),
            supply.get(sku, 0) // packs.get(sku, 1),
            booked[sku],
            waiting[sku],
            standing_total[sku],
        )
        for sku in skus
    ]


def standing_weights(session: Session, day: date) -> dict[int, dict[str, int]]:
    """distributor id -> sku -> cases their standing orders ask for on `day`."""
    weights: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in session.scalars(select(StandingOrder).where(StandingOrder.active.is_(True))):
        for sku, cases in pattern_of(order).lines_on(day).items():
            weights[order.distributor_id][sku] += cases
    return {d: dict(v) for d, v in weights.items()}


def apply_quotas(
    session: Session, day: date, quotas: Mapping[tuple[int, str], int] | None = None
) -> dict[tuple[int, str], int]:
    """Set the day's quotas: the given (distributor, sku) -> cases, or by default each product's
    capacity shared in proportion to the standing orders. Replaces the day's earlier quotas."""
    if quotas is None:
        computed: dict[tuple[int, str], int] = {}
        weights = standing_weights(session, day)
        for row in demand_for_day(session, day):
            per = {d: by_sku.get(row.sku, 0) for d, by_sku in weights.items()}
            if not any(per.values()):
                continue
            for distributor_id, cases in proportional_quotas(row.capacity_cases, per).items():
                computed[(distributor_id, row.sku)] = cases
        quotas = computed
    for (_, sku), cases in quotas.items():
        if cases < 0:
            raise InvalidQuantity("a quota cannot be negative", sku=sku)
    for old in session.scalars(select(Quota).where(Quota.day == day)):
        session.delete(old)
    session.flush()
    for (distributor_id, sku), cases in sorted(quotas.items()):
        session.add(Quota(day=day, distributor_id=distributor_id, sku=sku, cases=cases))
    session.flush()
    publish(
        session,
        "distributor.quotas_set",
        {
            "day": day.isoformat(),
            "quotas": [
                {"distributor_id": d, "sku": s, "cases": c} for (d, s), c in sorted(quotas.items())
            ],
        },
        key=f"quotas:{day.isoformat()}",
    )
    return dict(quotas)


def set_quota(session: Session, day: date, distributor_id: int, sku: str, cases: int) -> Quota:
    """One distributor's quota for one product and day, set by hand (keeps the others)."""
    get_distributor(session, distributor_id)
    catalog.get_product(session, sku)
    if cases < 0:
        raise InvalidQuantity("a quota cannot be negative", sku=sku)
    quota = session.scalar(
        select(Quota).where(
            Quota.day == day, Quota.distributor_id == distributor_id, Quota.sku == sku
        )
    )
    if quota is None:
        quota = Quota(day=day, distributor_id=distributor_id, sku=sku, cases=cases)
        session.add(quota)
    else:
        quota.cases = cases
    session.flush()
    publish(
        session,
        "distributor.quotas_set",
        {
            "day": day.isoformat(),
            "quotas": [{"distributor_id": distributor_id, "sku": sku, "cases": cases}],
        },
        key=f"quotas:{day.isoformat()}",
    )
    return quota


def quotas_for_day(session: Session, day: date) -> list[Quota]:
    return list(
        session.scalars(
            select(Quota).where(Quota.day == day).order_by(Quota.distributor_id, Quota.sku)
        )
    )


@dataclass(frozen=True)
class PeakView:
    """The manager's peak page of a day: demand against capacity, quotas, the waitlist."""

    demand: list[DemandRow]
    quotas: list[Quota]
    distributors: list[Distributor]
    waiting: list[WaitlistEntry]
    companies: dict[int, str]


def peak_view(session: Session, day: date) -> PeakView:
    distributors = list(session.scalars(select(Distributor).order_by(Distributor.code)))
    return PeakView(
        demand_for_day(session, day),
        quotas_for_day(session, day),
        distributors,
        waitlist(session, day),
        {d.id: d.company for d in distributors},
    )
