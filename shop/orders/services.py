"""Order services: plain functions over a Session and explicit arguments. They never commit
and never call a payment provider: the web layer (shop.orders.flows) commits a short
transaction, calls out, and applies the answer in a second one."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from inventory.atp import available_to_promise
from inventory.catalog import list_products
from inventory.errors import DayClosed, DomainError, ReservationStateError, UnknownItem
from inventory.events import publish
from inventory.models import Item, Supply
from inventory.reservations import Line, confirm, release, reserve
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.cutoff import cutoff_for
from scheduling.planning import calendar as production_calendar
from shop.orders.models import (
    DeliveryZone,
    Fulfilment,
    Order,
    OrderLine,
    OrderMail,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
    PickupPoint,
)
from shop.orders.rules import (
    CALENDAR_DAYS,
    DayState,
    LineRequest,
    OrderNotFound,
    OrderStateError,
    check_can_cancel,
    check_lines,
    check_move,
    check_orderable_day,
    day_states,
    delivery_window_days,
)

MOBILE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")

DEFAULT_PICKUP_POINTS = (
    (
        "factory",
        "万全堂工厂店",
        "Wanquantang factory shop",
        "天津市武清区杨村",
        "Yangcun, Wuqing, Tianjin",
    ),
    (
        "changde",
        "长德街手工作坊",
        "Changde Street workshop",
        "天津市长德街",
        "Changde Street, Tianjin",
    ),
)
# (code, zh, en, fee in fen, courier transit days); editable rows, these are first defaults.
DEFAULT_DELIVERY_ZONES = (
    ("tianjin", "天津市内同城配送", "Tianjin same-city", 1200, 0),
    ("beijing", "北京", "Beijing", 2000, 1),
    ("hebei", "河北", "Hebei", 2000, 1),
    ("shanghai", "上海", "Shanghai", 3000, 2),
    ("guangzhou", "广州", "Guangzhou", 3500, 3),
    ("urumqi", "乌鲁木齐", "Ürümqi", 4500, 5),
)


@dataclass(frozen=True)
class Contact:
    name: str
    mobile: str
    email: str


@dataclass(frozen=True)
class PlaceOrder:
    day: date
    lines: Sequence[LineRequest]
    contact: Contact
    fulfilment: str  # "pickup" | "delivery"
    payment_method: str  # "pay_at_pickup" | "stripe"
    pickup_point: str = ""
    delivery_zone: str = ""
    delivery_address: str = ""
    language: str = "zh"


def ensure_locations(session: Session) -> None:
    """Create the default pickup points and delivery zones if there are none."""
    if session.scalar(select(func.count()).select_from(PickupPoint)) == 0:
        session.add_all(
            PickupPoint(code=c, name_zh=zh, name_en=en, address_zh=azh, address_en=aen)
            for c, zh, en, azh, aen in DEFAULT_PICKUP_POINTS
        )
    if session.scalar(select(func.count()).select_from(DeliveryZone)) == 0:
        session.add_all(
            DeliveryZone(code=c, name_zh=zh, name_en=en, fee_fen=fee, transit_days=t)
            for c, zh, en, fee, t in DEFAULT_DELIVERY_ZONES
        )
    session.flush()


def pickup_points(session: Session) -> list[PickupPoint]:
    return list(
        session.scalars(select(PickupPoint).where(PickupPoint.active).order_by(PickupPoint.id))
    )


def delivery_zones(session: Session) -> list[DeliveryZone]:
    return list(
        session.scalars(
            select(DeliveryZone).where(DeliveryZone.active).order_by(DeliveryZone.transit_days)
        )
    )


def checkout_locations(session: Session) -> tuple[list[PickupPoint], list[DeliveryZone]]:
    """The pickup points and delivery zones a checkout offers (defaults made on first use)."""
    ensure_locations(session)
    return pickup_points(session), delivery_zones(session)


def _check_contact(contact: Contact) -> Contact:
    name = contact.name.strip()
    mobile = contact.mobile.strip()
    email = contact.email.strip().lower()
    if not name or len(name) > 120:
        raise DomainError("please give a name (at most 120 characters)", field="name")
    if not MOBILE.match(mobile):
        raise DomainError("please give a mobile number we can call", field="mobile")
    if not EMAIL.match(email):
        raise DomainError("please give a valid email address", field="email")
    return Contact(name, mobile, email)


def _pickup_point(session: Session, code: str) -> PickupPoint | None:
    query = select(PickupPoint).where(PickupPoint.code == code, PickupPoint.active)
    found = session.scalar(query)
    if found is None and code in {p[0] for p in DEFAULT_PICKUP_POINTS}:
        # A fresh database whose first order comes through the API: lay out the defaults
        # (only on a miss, so a checkout normally costs one statement here).
        ensure_locations(session)
        found = session.scalar(query)
    return found


def _delivery_zone(session: Session, code: str) -> DeliveryZone | None:
    query = select(DeliveryZone).where(DeliveryZone.code == code, DeliveryZone.active)
    found = session.scalar(query)
    if found is None and code in {z[0] for z in DEFAULT_DELIVERY_ZONES}:
        ensure_locations(session)
        found = session.scalar(query)
    return found


def products_by_sku(session: Session) -> dict[str, Item]:
    return {p.sku: p for p in list_products(session)}


def _event_payload(order: Order, *, with_lines: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": order.id,
        "public_id": order.public_id,
        "status": order.status.value,
        "day": order.day.isoformat(),
        "fulfilment": order.fulfilment.value,
        "total_fen": order.total_fen,
        "email": order.contact_email,
        "name": order.contact_name,
        "language": order.language,
        "user_id": order.user_id,
    }
    if with_lines:
        payload["lines"] = [{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines]
    return payload


def _publish(session: Session, order: Order, event_type: str, **extra: Any) -> None:
    payload = _event_payload(order, with_lines="lines" not in extra)
    publish(session, event_type, {**payload, **extra}, key=f"order:{order.id}")


def place_order(
    session: Session,
    request: PlaceOrder,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
) -> Order:
    """Create the order and take its stock in one transaction: all of it or nothing.

    An online payment takes a hold that lapses after `settings.hold_minutes`; pay at pickup
    allocates at once (the order is confirmed, nothing is owed online).
    """
    lines = check_lines(request.lines)
    check_orderable_day(request.day, now, settings.order_cutoff)
    if not production_calendar.is_production_day(session, request.day):
        raise DayClosed(
            f"we do not bake on {request.day.isoformat()}; please choose another day",
            day=request.day.isoformat(),
        )
    contact = _check_contact(request.contact)
    if request.payment_method not in {"pay_at_pickup", "stripe"}:
        raise DomainError("unknown payment method", field="payment_method")
    if request.payment_method == "stripe" and not settings.stripe_secret_key:
        raise DomainError("online payment is not available", field="payment_method")

    products = products_by_sku(session)
    for line in lines:
        if line.sku not in products:
            raise UnknownItem(f"no product with SKU {line.sku!r}", sku=line.sku)

    window: int | None = None
    pickup: PickupPoint | None = None
    zone: DeliveryZone | None = None
    fee = 0
    if request.fulfilment == Fulfilment.PICKUP.value:
        pickup = _pickup_point(session, request.pickup_point)
        if pickup is None:
            raise DomainError("choose a pickup point", field="pickup_point")
    elif request.fulfilment == Fulfilment.DELIVERY.value:
        if request.payment_method == "pay_at_pickup":
            raise DomainError(
                "pay at pickup is only for orders collected at a pickup point",
                field="payment_method",
            )
        zone = _delivery_zone(session, request.delivery_zone)
        if zone is None:
            raise DomainError("choose a delivery destination", field="delivery_zone")
        address = request.delivery_address.strip()
        if not address or len(address) > 300:
            raise DomainError("please give a delivery address", field="delivery_address")
        window = min(
            delivery_window_days(products[ln.sku].freshness_days or 1, zone.transit_days)
            for ln in lines
        )
        fee = zone.fee_fen
    else:
        raise DomainError("choose pickup or delivery", field="fulfilment")

    online = request.payment_method != "pay_at_pickup"
    subtotal = sum((products[ln.sku].price_fen or 0) * ln.quantity for ln in lines)
    order = Order(
        public_id="G" + secrets.token_hex(6).upper(),
        access_token=secrets.token_urlsafe(24),
        user_id=user_id,
        status=OrderStatus.PENDING_PAYMENT if online else OrderStatus.CONFIRMED,
        day=request.day,
        fulfilment=Fulfilment(request.fulfilment),
        pickup_point=pickup,
        delivery_zone=zone,
        delivery_address=request.delivery_address.strip() if zone else "",
        contact_name=contact.name,
        contact_mobile=contact.mobile,
        contact_email=contact.email,
        language=request.language if request.language in {"zh", "en"} else "zh",
        payment_method=request.payment_method,
        subtotal_fen=subtotal,
        delivery_fee_fen=fee,
        total_fen=subtotal + fee,
        hold_expires_at=now + timedelta(minutes=settings.hold_minutes) if online else None,
        cutoff_at=cutoff_for(request.day, settings.order_cutoff),
        created_at=now,
    )
    session.add(order)
    session.flush()  # the id names the reservation
    # One executemany for all lines (the ORM would insert them one by one on SQLite to read
    # back their ids), so a checkout costs the same number of statements for 1 or 20 lines.
    line_rows = [
        {
            "order_id": order.id,
            "line_no": i,
            "sku": ln.sku,
            "name_zh": products[ln.sku].name_zh,
            "name_en": products[ln.sku].name_en,
            "quantity": ln.quantity,
            "unit_price_fen": products[ln.sku].price_fen or 0,
            "line_total_fen": (products[ln.sku].price_fen or 0) * ln.quantity,
        }
        for i, ln in enumerate(lines, start=1)
    ]
    session.execute(insert(OrderLine), line_rows)
    reserve(
        session,
        order.reservation_ref,
        [Line(ln.sku, request.day, ln.quantity) for ln in lines],
        hold_until=order.hold_expires_at,
        window_days=window,
        now=now,
    )
    summary = [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]
    _publish(session, order, "order.placed", lines=summary)
    if not online:
        _publish(session, order, "order.confirmed", lines=summary)
    return order


def get_order(session: Session, public_id: str) -> Order:
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    if order is None:
        raise OrderNotFound("no such order", public_id=public_id)
    return order


def order_for_ref(session: Session, ref: str) -> Order | None:
    """The order behind a reservation ref ("order:42"); None for any other ref."""
    prefix, _, raw = ref.partition(":")
    if prefix != "order" or not raw.isdigit():
        return None
    return session.get(Order, int(raw))


def get_order_by_link(session: Session, public_id: str, token: str) -> Order:
    """The order whose status link this is; the same 404 for a wrong id or a wrong token."""
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    expected = order.access_token if order is not None else "x" * 32
    if not hmac.compare_digest(expected.encode(), token.encode()) or order is None:
        raise OrderNotFound("no such order", public_id=public_id)
    return order


def orders_of_user(session: Session, user_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.user_id == user_id).order_by(Order.created_at.desc())
        )
    )


def _guarded_move(
    session: Session,
    order: Order,
    sources: Sequence[OrderStatus],
    target: OrderStatus,
    **values: Any,
) -> bool:
    """Move the order only if it is still in one of `sources`: a single conditional UPDATE, so
    a concurrent payment, cancellation or expiry cannot be overwritten."""
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_(list(sources)))
        .values(status=target, **values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(order)
    return result is not None


def start_payment_attempt(session: Session, order: Order, provider: str, now: datetime) -> int:
    """Record a new attempt and return its number (1, 2, ...) for the idempotency key."""
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderStateError(
            f"an order that is {order.status.value} cannot be paid", order_status=order.status.value
        )
    if order.hold_expires_at is not None and order.hold_expires_at <= now:
        raise OrderStateError("the hold on this order has expired; please order again")
    number = (
        session.scalar(
            select(func.coalesce(func.max(PaymentAttempt.number), 0)).where(
                PaymentAttempt.order_id == order.id
            )
        )
        or 0
    ) + 1
    session.add(
        PaymentAttempt(
            order_id=order.id,
            number=number,
            provider=provider,
            amount_fen=order.total_fen,
            status=PaymentAttemptStatus.STARTED,
        )
    )
    session.flush()
    return number


def record_payment_started(
    session: Session, order: Order, number: int, provider_ref: str, client_secret: str
) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.number == number)
        .values(provider_ref=provider_ref, client_secret=client_secret)
    )


def record_payment_start_failed(session: Session, order: Order, number: int, error: str) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.order_id == order.id,
            PaymentAttempt.number == number,
            PaymentAttempt.status == PaymentAttemptStatus.STARTED,
        )
        .values(status=PaymentAttemptStatus.FAILED, error=error[:500])
    )


def latest_attempt(session: Session, order: Order) -> PaymentAttempt | None:
    return session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class PaymentOutcome:
    outcome: str  # "paid", "duplicate", "refund_due", "ignored", "failed_recorded"
    order_public_id: str | None = None
    provider_ref: str | None = None
    amount_fen: int = 0


def apply_payment_succeeded(
    session: Session, provider_ref: str, amount_fen: int, now: datetime
) -> PaymentOutcome:
    """The provider says the money arrived: confirm the hold into an allocation, once.

    If the order is no longer waiting (expired or cancelled while the customer paid) the
    money must go back: the caller refunds after commit.
    """
    attempt = session.scalar(
        select(PaymentAttempt).where(PaymentAttempt.provider_ref == provider_ref)
    )
    if attempt is None:
        return PaymentOutcome("ignored")
    order = session.get_one(Order, attempt.order_id)
    if (
        attempt.status is PaymentAttemptStatus.STARTED
        or attempt.status is PaymentAttemptStatus.FAILED
    ):
        attempt.status = PaymentAttemptStatus.SUCCEEDED
        attempt.error = None
    else:
        return PaymentOutcome("duplicate", order.public_id)
    if amount_fen != order.total_fen:
        # Never settle an order on a different amount than it costs.
        return PaymentOutcome("refund_due", order.public_id, provider_ref, amount_fen)
    if _guarded_move(session, order, [OrderStatus.PENDING_PAYMENT], OrderStatus.PAID, paid_at=now):
        try:
            confirm(session, order.reservation_ref, now=now)
        except ReservationStateError:
            # The hold lapsed between the card and the webhook: the stock may be gone.
            order.status = OrderStatus.EXPIRED
            release(session, order.reservation_ref, reason="hold lapsed before payment")
            _publish(session, order, "order.expired")
            return PaymentOutcome("refund_due", order.public_id, provider_ref, amount_fen)
        _publish(session, order, "order.paid", provider_ref=provider_ref)
        return PaymentOutcome("paid", order.public_id)
    # Expired or cancelled meanwhile, or already paid through another attempt (the customer
    # retried while the first payment was still going through): this money goes back.
    return PaymentOutcome("refund_due", order.public_id, provider_ref, amount_fen)


def apply_payment_failed(session: Session, provider_ref: str, error: str) -> PaymentOutcome:
    """A failed try: the order keeps waiting until its hold lapses. Never undoes a success."""
    result = session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.provider_ref == provider_ref,
            PaymentAttempt.status == PaymentAttemptStatus.STARTED,
        )
        .values(status=PaymentAttemptStatus.FAILED, error=error[:500])
        .returning(PaymentAttempt.order_id)
    ).first()
    if result is None:
        return PaymentOutcome("ignored")
    order = session.get_one(Order, result[0])
    if order.status is OrderStatus.PENDING_PAYMENT:
        _publish(session, order, "order.payment_failed", error=error[:200])
    return PaymentOutcome("failed_recorded", order.public_id)


def cancel_order(
    session: Session, order: Order, *, settings: Settings, now: datetime, reason: str
) -> PaymentAttempt | None:
    """Cancel before the cut-off and free the stock. Returns the paid attempt to refund."""
    check_can_cancel(order.status, order.day, now, settings.order_cutoff)
    was = order.status
    if not _guarded_move(
        session, order, [was], OrderStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    ):
        raise OrderStateError("the order changed meanwhile; reload and try again")
    release(session, order.reservation_ref, reason=f"order cancelled: {reason}"[:200])
    _publish(session, order, "order.cancelled", reason=reason[:200], was=was.value)
    if was is OrderStatus.PAID:
        return session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.status == PaymentAttemptStatus.SUCCEEDED,
            )
        )
    return None


def record_refund(
    session: Session, order: Order, provider_ref: str, refund_ref: str, amount_fen: int
) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.provider_ref == provider_ref)
        .values(status=PaymentAttemptStatus.REFUNDED, refund_ref=refund_ref)
    )
    if _guarded_move(
        session, order, [OrderStatus.CANCELLED, OrderStatus.EXPIRED], OrderStatus.REFUNDED
    ):
        _publish(session, order, "order.refunded", refund_ref=refund_ref, amount_fen=amount_fen)
    # Every refund is money going out, whether or not it changed the order's status.
    from shop.security import audit

    audit.record(
        session,
        "order.refunded",
        f"order:{order.public_id}",
        refund_ref=refund_ref,
        amount_fen=amount_fen,
        provider_ref=provider_ref,
    )


def expire_unpaid_orders(session: Session, now: datetime) -> list[str]:
    """Expire unpaid orders whose hold has lapsed and free their stock.

    One guarded UPDATE: an order paid a moment ago is no longer pending_payment and is left
    alone, whatever this sweep read before. Returns the public ids expired.
    """
    # Lock candidates in id order, skipping any a payment is settling right now (it will be
    # paid, or seen again by the next sweep), so two sweeps or a sweep and a webhook never
    # deadlock.
    candidates = list(
        session.scalars(
            select(Order.id)
            .where(
                Order.status == OrderStatus.PENDING_PAYMENT,
                Order.hold_expires_at.is_not(None),
                Order.hold_expires_at <= now,
            )
            .order_by(Order.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        return []
    rows = session.execute(
        update(Order)
        .where(
            Order.id.in_(candidates),
            Order.status == OrderStatus.PENDING_PAYMENT,
            Order.hold_expires_at <= now,
        )
        .values(status=OrderStatus.EXPIRED, updated_at=now)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).all()
    expired: list[str] = []
    for (order_id,) in sorted(rows):
        order = session.get_one(Order, order_id)
        session.refresh(order)
        release(session, order.reservation_ref, reason="payment hold expired")
        _publish(session, order, "order.expired")
        expired.append(order.public_id)
    return expired


def advance_order(session: Session, order: Order, target: OrderStatus, now: datetime) -> None:
    """Staff moves: ready, collected, delivered (with the event the customer is told of)."""
    check_move(order.status, target)
    if target not in {OrderStatus.READY, OrderStatus.COLLECTED, OrderStatus.DELIVERED}:
        raise OrderStateError(f"use the matching action to make an order {target.value}")
    if target is OrderStatus.DELIVERED and order.fulfilment is not Fulfilment.DELIVERY:
        raise OrderStateError("a pickup order is collected, not delivered")
    if target is OrderStatus.COLLECTED and order.fulfilment is not Fulfilment.PICKUP:
        raise OrderStateError("a delivery order is delivered, not collected")
    if not _guarded_move(session, order, [order.status], target, updated_at=now):
        raise OrderStateError("the order changed meanwhile; reload and try again")
    if target is OrderStatus.READY:
        publish_ready_by_hand(session, order)
    else:
        _publish(session, order, f"order.{target.value}")


# Statuses an order is served from: the stock is allocated and nothing has been handed out.
SERVABLE = (OrderStatus.PAID, OrderStatus.CONFIRMED)
SHORTFALL = "production_shortfall"


def publish_ready_by_hand(session: Session, order: Order) -> None:
    """`order.ready` in its one shape (docs/events/scheduling.md), for a move made by staff."""
    publish(
        session,
        "order.ready",
        {
            "ref": order.reservation_ref,
            "production_day": order.day.isoformat(),
            "batch_ref": None,
            "lots": [],
            "source": "manual",
        },
        key=order.reservation_ref,
    )


def make_ready(session: Session, order: Order, now: datetime) -> bool:
    """The morning batch covered the order: paid or confirmed -> ready. Guarded and
    idempotent: an order already ready, collected, cancelled (...) is left alone."""
    return _guarded_move(session, order, list(SERVABLE), OrderStatus.READY, updated_at=now)


def first_mail(session: Session, order: Order, kind: str, event_id: str, now: datetime) -> bool:
    """Record that the `kind` mail about `order` goes out now; False if it already went.
    The unique (order, kind) row keeps two deliveries from both sending."""
    sent = session.scalar(
        select(OrderMail.id).where(OrderMail.order_id == order.id, OrderMail.kind == kind)
    )
    if sent is not None:
        return False
    session.add(OrderMail(order_id=order.id, kind=kind, event_id=event_id, sent_at=now))
    session.flush()
    return True


def cancel_unserved(session: Session, order: Order, *, now: datetime, batch_ref: str) -> bool:
    """The day's last batch made too little for this order: cancel it, whatever the cut-off.

    Its reservation was already released by the batch. A paid order is left cancelled with
    its succeeded payment attempt: that pair is a refund due, issued after commit by
    `shop.orders.flows.issue_due_refunds` (never inside the relay's transaction).
    """
    was = order.status
    if was not in (*SERVABLE, OrderStatus.READY):
        return False
    if not _guarded_move(
        session, order, [was], OrderStatus.CANCELLED, cancelled_at=now, cancel_reason=SHORTFALL
    ):
        return False
    _publish(
        session, order, "order.cancelled", reason=SHORTFALL, was=was.value, batch_ref=batch_ref
    )
    return True


@dataclass(frozen=True)
class RefundDue:
    public_id: str
    provider_ref: str
    amount_fen: int


def refunds_due(session: Session, limit: int = 100) -> list[RefundDue]:
    """Money to send back: a cancelled or expired order whose payment attempt succeeded."""
    rows = session.execute(
        select(Order.public_id, PaymentAttempt.provider_ref, PaymentAttempt.amount_fen)
        .join(PaymentAttempt, PaymentAttempt.order_id == Order.id)
        .where(
            Order.status.in_([OrderStatus.CANCELLED, OrderStatus.EXPIRED]),
            PaymentAttempt.status == PaymentAttemptStatus.SUCCEEDED,
            PaymentAttempt.provider_ref.is_not(None),
        )
        .order_by(Order.id, PaymentAttempt.number)
        .limit(limit)
    ).all()
    return [RefundDue(p, str(ref), amount) for p, ref, amount in rows]


def closed_days_by_sku(
    session: Session, skus: Sequence[str], start: date, end: date
) -> dict[str, set[date]]:
    """Days closed to orders per product: its supply row is closed, or the production
    calendar says the plant does not bake that day."""
    out: dict[str, set[date]] = {sku: set() for sku in skus}
    if not skus:
        return out
    rows = session.execute(
        select(Item.sku, Supply.production_day)
        .join(Item, Item.id == Supply.item_id)
        .where(
            Item.sku.in_(list(skus)),
            Supply.closed.is_(True),
            Supply.production_day >= start,
            Supply.production_day <= end,
        )
    ).all()
    for sku, day in rows:
        out[sku].add(day)
    # Days the plant does not bake (official holidays not marked as working, manager-closed
    # days): the morning batch is what customers collect, so nothing can be ordered for them.
    no_production = production_calendar.closed_days(session, start, end)
    for days in out.values():
        days |= no_production
    return out


def closed_days(session: Session, skus: Sequence[str], start: date, end: date) -> set[date]:
    """Days closed to orders for every one of these products."""
    by_sku = closed_days_by_sku(session, skus, start, end)
    sets = list(by_sku.values())
    return set.intersection(*sets) if sets else set()


def calendars(
    session: Session,
    skus: Sequence[str],
    *,
    settings: Settings,
    now: datetime,
    days: int = CALENDAR_DAYS,
) -> dict[str, list[DayState]]:
    """The order calendar of several products from one availability query."""
    start = local_day(now) + timedelta(days=1)
    end = start + timedelta(days=days - 1)
    atp = available_to_promise(session, list(skus), start, end, now=now) if skus else {}
    shut = closed_days_by_sku(session, skus, start, end)
    span = [start + timedelta(days=i) for i in range(days)]
    return {
        sku: day_states(span, atp.get(sku, {}), shut[sku], now, settings.order_cutoff)
        for sku in skus
    }


def calendar(
    session: Session, sku: str, *, settings: Settings, now: datetime, days: int = CALENDAR_DAYS
) -> list[DayState]:
    return calendars(session, [sku], settings=settings, now=now, days=days)[sku]
