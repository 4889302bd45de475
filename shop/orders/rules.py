"""The storefront's business rules as plain functions over plain values (no database)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from inventory.errors import DomainError, InvalidQuantity
from inventory.rules import local_day
from scheduling.cutoff import CutoffPassed, cutoff_for
from shop.orders.models import OrderStatus

MAX_LINE_QUANTITY = 500  # more than a family gift order; bulk buyers book as distributors
MAX_LINES = 20
CALENDAR_DAYS = 21


class OrderStateError(DomainError):
    code = "order_state"
    status = 409


class DeliveryRefused(DomainError):
    code = "delivery_refused"


class OrderNotFound(DomainError):
    code = "order_not_found"
    status = 404


# How far along an order is. A move to a lower rank is refused, so a late or replayed event
# (payment_failed after succeeded, a second succeeded) cannot undo progress.
_RANK = {
    OrderStatus.PENDING_PAYMENT: 0,
    OrderStatus.PAID: 1,
    OrderStatus.CONFIRMED: 1,
    OrderStatus.READY: 2,
    OrderStatus.COLLECTED: 3,
    OrderStatus.DELIVERED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.EXPIRED: 4,
    OrderStatus.REFUNDED: 5,
}

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset(
        {OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.READY, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.READY, OrderStatus.CANCELLED}),
    OrderStatus.READY: frozenset({OrderStatus.COLLECTED, OrderStatus.DELIVERED}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED}),
    # A payment that lands after its hold expired is paid back.
    OrderStatus.EXPIRED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.COLLECTED: frozenset(),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

LIVE_STATUSES = frozenset(
    {OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.READY}
)


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED[current]


def check_move(current: OrderStatus, target: OrderStatus) -> None:
    if not can_move(current, target):
        raise OrderStateError(
            f"an order that is {current.value} cannot become {target.value}",
            key="msg.order.bad_move",
            order_status=current.value,
            target=target.value,
        )


def is_backward(current: OrderStatus, target: OrderStatus) -> bool:
    return _RANK[target] < _RANK[current]


def first_orderable_day(now: datetime, cutoff: time) -> date:
    today = local_day(now)
    tomorrow = today + timedelta(days=1)
    return tomorrow if now < cutoff_for(tomorrow, cutoff) else tomorrow + timedelta(days=1)


def check_orderable_day(day: date, now: datetime, cutoff: time) -> None:
    if day <= local_day(now):
        raise CutoffPassed(
            f"{day.isoformat()} is not in the future; choose a later day",
            key="msg.order.not_future",
            day=day.isoformat(),
        )
    closes = cutoff_for(day, cutoff)
    if now >= closes:
        raise CutoffPassed(
            f"orders for {day.isoformat()} closed at "
            f"{closes.strftime('%Y-%m-%d %H:%M')} (Asia/Shanghai)",
            key="msg.order.cutoff",
            day=day.isoformat(),
            cutoff=closes.isoformat(),
        )


def check_can_cancel(status: OrderStatus, day: date, now: datetime, cutoff: time) -> None:
    if status not in {OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.CONFIRMED}:
        raise OrderStateError(
            f"an order that is {status.value} cannot be cancelled",
            key="msg.order.cannot_cancel",
            order_status=status.value,
        )
    closes = cutoff_for(day, cutoff)
    if now >= closes:
        raise CutoffPassed(
            "this order can no longer be cancelled: production was planned at "
            f"{closes.strftime('%Y-%m-%d %H:%M')} (Asia/Shanghai)",
            key="msg.order.cancel_too_late",
            cutoff=closes.isoformat(),
        )


def delivery_window_days(freshness_days: int, transit_days: int) -> int:
    """Days of production that stay fresh until arrival; DeliveryRefused when none do.

    A unit made on D is good on D..D+L-1; shipped on the chosen day t and arriving on
    t+transit, it must have been made on t+transit-L+1 or later, so only L-transit production
    days can serve the order.
    """
    window = freshness_days - transit_days
    if window < 1:
        raise DeliveryRefused(
            f"delivery takes {transit_days} day(s) but this gaogan stays fresh for only "
            f"{freshness_days} day(s); choose pickup or a nearer destination",
            key="msg.order.delivery_too_slow",
            transit_days=transit_days,
            freshness_days=freshness_days,
        )
    return window


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


def check_lines(lines: Iterable[LineRequest]) -> list[LineRequest]:
    """Merge repeated SKUs and refuse empty, zero, negative or absurd quantities."""
    merged: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
            raise InvalidQuantity(
                "quantity must be a whole number", key="msg.order.quantity_whole", sku=line.sku
            )
        if line.quantity < 1 or line.quantity > MAX_LINE_QUANTITY:
            raise InvalidQuantity(
                f"quantity must be between 1 and {MAX_LINE_QUANTITY}",
                key="msg.order.quantity_range",
                sku=line.sku,
                quantity=line.quantity,
            )
        merged[line.sku] = merged.get(line.sku, 0) + line.quantity
    if not merged:
        raise InvalidQuantity("an order needs at least one line", key="msg.order.no_lines")
    if len(merged) > MAX_LINES:
        raise InvalidQuantity(
            f"an order has at most {MAX_LINES} lines", key="msg.order.too_many_lines"
        )
    for sku, quantity in merged.items():
        if quantity > MAX_LINE_QUANTITY:
            raise InvalidQuantity(
                f"quantity must be between 1 and {MAX_LINE_QUANTITY}",
                key="msg.order.quantity_range_total",
                sku=sku,
                quantity=quantity,
            )
    return [LineRequest(sku, q) for sku, q in merged.items()]


def hold_remaining_seconds(hold_expires_at: datetime | None, now: datetime) -> int:
    if hold_expires_at is None:
        return 0
    return max(0, int((hold_expires_at - now).total_seconds()))


@dataclass(frozen=True)
class DayState:
    day: date
    available: int
    state: str  # "open", "sold_out", "closed", "cutoff"


def day_states(
    days: Iterable[date],
    availability: dict[date, int],
    closed: set[date],
    now: datetime,
    cutoff: time,
) -> list[DayState]:
    """What the calendar shows per day: only "open" days can be chosen."""
    out = []
    for day in days:
        available = availability.get(day, 0)
        # Past the cut-off first: the cut-off job closes the day's supply rows too, and a day
        # whose orders have closed is not a rest day (issue 10: "休息" after 20:00).
        if day <= local_day(now) or now >= cutoff_for(day, cutoff):
            state = "cutoff"
        elif day in closed:
            state = "closed"
        elif available <= 0:
            state = "sold_out"
        else:
            state = "open"
        out.append(DayState(day, max(0, available) if state == "open" else 0, state))
    return out
