"""A checkout for several pickup days (2 boxes for 腊八, 4 for 小年): one order per day, each
with its own stock hold, placed all or nothing in one transaction, paid with one payment.

Why not the two-statement checkout (shop.orders.one_trip): it takes one day's rows with a
guarded UPDATE at its very end; two multi-day checkouts taking day A then day B, and day B
then day A, could each hold one row and wait for the other's. So a multi-day checkout locks
every supply row any of its days may draw on, all in ONE `SELECT ... FOR NO KEY UPDATE ORDER
BY id` (inventory.locks.lock_supply), before it places any day; then each day goes the
ordinary way (`services.place_order(fast=False)`), whose own locks are rows it already holds.
Two such checkouts queue on the first row they share instead of deadlocking, and the guarded
take of each day still refuses what is not there, so nothing is oversold.

If any day is refused (sold out, past its cut-off, not a baking day...), the error names that
day and the whole transaction is rolled back: nothing is held for any day.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.locks import lock_supply
from inventory.models import Item
from inventory.rules import production_days_for
from inventory.settings import Settings
from shop.messages import localise
from shop.orders import placing, services
from shop.orders.models import Order, Purchase
from shop.orders.rules import LineRequest, OrderNotFound, check_lines

MAX_DAYS = 7  # a week of pickups in one checkout; more is a distributor's standing order


class DayRefused(DomainError):
    """One day of a multi-day checkout cannot be had: nothing was placed for any day."""

    code = "purchase_day_refused"
    status = 409

    def __init__(self, day: date, cause: DomainError) -> None:
        super().__init__(
            f"nothing was ordered: {day.isoformat()} cannot be ordered: {cause.message}",
            key="msg.purchase.day_refused",
            day=day.isoformat(),
            reason=localise(cause, "zh"),
            reason_code=cause.code,
            **{k: v for k, v in cause.details.items() if k in {"sku", "field", "cutoff"}},
        )
        self.status = cause.status
        self.cause = cause


class PurchaseRefused(DomainError):
    code = "purchase_refused"
    status = 422


@dataclass(frozen=True)
class DayLines:
    day: date
    lines: Sequence[LineRequest]


@dataclass(frozen=True)
class PlacePurchase:
    """What a multi-day checkout hands in: the days and their lines, then what all days
    share (contact, where, how to pay and be told)."""

    days: Sequence[DayLines]
    contact: placing.Contact
    fulfilment: str
    payment_method: str
    pickup_point: str = ""
    delivery_zone: str = ""
    delivery_address: str = ""
    language: str = "zh"
    notify_channel: str = "mail"
    # The checkout's boxes, the same for every day (see placing.PlaceOrder).
    season_reminders: bool = False
    accept_part_delivery: bool = False

    def for_day(self, entry: DayLines) -> placing.PlaceOrder:
        return placing.PlaceOrder(
            day=entry.day,
            lines=entry.lines,
            contact=self.contact,
            fulfilment=self.fulfilment,
            payment_method=self.payment_method,
            pickup_point=self.pickup_point,
            delivery_zone=self.delivery_zone,
            delivery_address=self.delivery_address,
            language=self.language,
            notify_channel=self.notify_channel,
            season_reminders=self.season_reminders,
            accept_part_delivery=self.accept_part_delivery,
        )


def check_days(days: Sequence[DayLines]) -> list[DayLines]:
    """Days in date order, each once, each with sane lines."""
    if not days:
        raise PurchaseRefused("choose at least one day", key="msg.purchase.no_days")
    if len(days) > MAX_DAYS:
        raise PurchaseRefused(
            f"at most {MAX_DAYS} days in one checkout",
            key="msg.purchase.too_many_days",
            max=MAX_DAYS,
        )
    seen: set[date] = set()
    out: list[DayLines] = []
    for entry in sorted(days, key=lambda d: d.day):
        if entry.day in seen:
            raise PurchaseRefused(
                f"{entry.day.isoformat()} is listed twice; put all its lines together",
                key="msg.purchase.day_twice",
                day=entry.day.isoformat(),
            )
        seen.add(entry.day)
        out.append(DayLines(entry.day, check_lines(entry.lines)))
    return out


def supply_ranges_of(
    days: Sequence[DayLines], products: Mapping[str, Item]
) -> list[tuple[int, date, date]]:
    """(item id, first, last production day) of every supply row any line may draw on: the
    product's whole freshness window (a delivery's window is a part of it)."""
    ranges: set[tuple[int, date, date]] = set()
    for entry in days:
        for line in entry.lines:
            item = products.get(line.sku)
            if item is None:
                continue  # refused by place_order, naming the day
            ranges.add((item.id, *production_days_for(entry.day, item.freshness_days or 1)))
    return sorted(ranges)


def place_purchase(
    session: Session,
    request: PlacePurchase,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
) -> Purchase:
    """Place one order per day, all in the caller's transaction: every day or none."""
    days = check_days(request.days)
    contact = placing.check_contact(request.contact)
    products = services.products_by_sku(session)
    # Every row of every day, locked at once in id order, before the first day is placed.
    lock_supply(session, supply_ranges_of(days, products))
    purchase = Purchase(
        public_id="P" + secrets.token_hex(6).upper(),
        access_token=secrets.token_urlsafe(24),
        user_id=user_id,
        payment_method=request.payment_method,
        total_fen=0,
        contact_email=contact.email,
        language=request.language if request.language in {"zh", "en"} else "zh",
        created_at=now,
    )
    session.add(purchase)
    session.flush()
    total = 0
    for entry in days:
        try:
            order = services.place_order(
                session,
                request.for_day(entry),
                settings=settings,
                now=now,
                user_id=user_id,
                fast=False,
            )
        except DomainError as exc:
            raise DayRefused(entry.day, exc) from exc
        order.purchase_id = purchase.id
        total += order.total_fen
    purchase.total_fen = total
    session.flush()
    return purchase


def get_purchase(session: Session, public_id: str) -> Purchase:
    found = session.scalar(select(Purchase).where(Purchase.public_id == public_id))
    if found is None:
        raise OrderNotFound("no such order", key="msg.order.not_found", public_id=public_id)
    return found


def get_purchase_by_link(session: Session, public_id: str, token: str) -> Purchase:
    """The purchase whose link this is; the same 404 for a wrong id or a wrong token."""
    found = session.scalar(select(Purchase).where(Purchase.public_id == public_id))
    expected = found.access_token if found is not None else "x" * 32
    if not hmac.compare_digest(expected.encode(), token.encode()) or found is None:
        raise OrderNotFound("no such order", key="msg.order.not_found", public_id=public_id)
    return found


def orders_of(session: Session, purchase: Purchase) -> list[Order]:
    """The purchase's orders, one per day, in day order."""
    return list(
        session.scalars(
            select(Order).where(Order.purchase_id == purchase.id).order_by(Order.day, Order.id)
        )
    )


@dataclass(frozen=True)
class PurchaseView:
    purchase: Purchase
    orders: list[Order]


def purchase_view(session: Session, public_id: str, token: str) -> PurchaseView:
    purchase = get_purchase_by_link(session, public_id, token)
    return PurchaseView(purchase, orders_of(session, purchase))


def owned_purchase_view(
    session: Session, public_id: str, user_id: int, manager: bool
) -> PurchaseView:
    """For the signed-in owner (or a manager); the same 404 as an unknown id otherwise."""
    purchase = get_purchase(session, public_id)
    if purchase.user_id != user_id and not manager:
        raise OrderNotFound("no such order", key="msg.order.not_found", public_id=public_id)
    return PurchaseView(purchase, orders_of(session, purchase))


def purchases_by_id(session: Session, ids: Sequence[int]) -> dict[int, Purchase]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Purchase).where(Purchase.id.in_(ids)))}
