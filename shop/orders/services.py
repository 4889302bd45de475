"""Order services: plain functions over a Session and explicit arguments. They never commit
and never call a payment provider: the web layer (shop.orders.flows) commits a short
transaction, calls out, and applies the answer in a second one."""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from inventory.catalog import get_product, list_products
from inventory.db import is_postgres
from inventory.errors import DayClosed, DomainError, UnknownItem
from inventory.events import publish
from inventory.models import Item
from inventory.reservations import Line, release, reserve
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.cutoff import cutoff_for
from scheduling.early import check_not_before_day
from scheduling.planning import calendar as production_calendar
from shop.catalogue.channels import SHOP, check_sold_on, not_sold_on
from shop.orders import payment_records
from shop.orders.lifecycle import guarded_move, publish_order_event
from shop.orders.models import (
    CustomerDayCap,
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
from shop.orders.one_trip import place_order_in_one_trip
from shop.orders.placing import PlaceOrder, check_contact, order_line_rows
from shop.orders.rules import (
    OrderNotFound,
    OrderStateError,
    check_can_cancel,
    check_lines,
    check_move,
    check_orderable_day,
    delivery_window_days,
)

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


class DayCapExceeded(DomainError):
    code = "day_cap_exceeded"
    status = 409


def check_day_cap(session: Session, day: date, mobile: str, adding: int) -> None:
    """On a peak day the manager capped, one customer (known by mobile number) may have at
    most that many pieces in live orders: one indexed read when the day has no cap."""
    cap = session.scalar(select(CustomerDayCap.max_pieces).where(CustomerDayCap.day == day))
    if cap is None:
        return
    held = session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.day == day,
            Order.contact_mobile == mobile,
            Order.status.in_(
                [
                    OrderStatus.PENDING_PAYMENT,
                    OrderStatus.PAID,
                    OrderStatus.CONFIRMED,
                    OrderStatus.READY,
                    OrderStatus.COLLECTED,
                ]
            ),
        )
    )
    if int(held or 0) + adding > cap:
        raise DayCapExceeded(
            f"on {day.isoformat()} each customer may order at most {cap} pieces "
            f"({int(held or 0)} already ordered)",
            day=day.isoformat(),
            cap=cap,
            already=int(held or 0),
        )


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
    """Every active product (the desk and the reports name them all)."""
    return {p.sku: p for p in list_products(session)}


def shop_products(session: Session) -> dict[str, Item]:
    """The active products sold in the online shop: what the storefront lists."""
    hidden = not_sold_on(session, SHOP)
    return {sku: p for sku, p in products_by_sku(session).items() if sku not in hidden}


def shop_product(session: Session, sku: str) -> Item:
    """One product of the online shop; a product not sold there is a 404 to customers."""
    item = get_product(session, sku)
    check_sold_on(session, SHOP, [item.sku], status=404)
    return item


def place_order(
    session: Session,
    request: PlaceOrder,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
    from_waitlist: bool = False,
    fast: bool = True,
) -> Order:
    """Create the order and take its stock in one transaction: all of it or nothing.

    An online payment takes a hold that lapses after `settings.hold_minutes`; pay at pickup
    allocates at once (the order is confirmed, nothing is owed online). `from_waitlist`: a
    waitlist offer of stock already made (a no-show's, say) may be taken up after the cut-off,
    up to the day itself (`shop.orders.waitlist.claim_offer`).

    On PostgreSQL shop.orders.one_trip first tries it in two statements; what it cannot
    decide alone (or SQLite) comes here. `fast=False` skips that lane: a checkout for several
    days (shop.orders.purchases) has locked every supply row of all its days first, in id
    order, and places each day here.
    """
    # The hot path (a pickup or card checkout told by mail) goes in two statements on
    # PostgreSQL; everything else, and anything the one trip is unsure of, comes here, where
    # every check is made and every refusal is worded for the reader.
    plain = (
        fast
        and not from_waitlist
        and request.payment_method in {"pay_at_pickup", "stripe"}
        and request.notify_channel == "mail"
    )
    if plain and is_postgres(session):
        placed = place_order_in_one_trip(
            session, request, settings=settings, now=now, user_id=user_id
        )
        if placed is not None:
            return placed
    lines = check_lines(request.lines)
    if from_waitlist:
        if request.day < local_day(now):
            raise OrderStateError("this day is over")
    else:
        check_orderable_day(request.day, now, settings.order_cutoff)
    if not production_calendar.is_production_day(session, request.day):
        raise DayClosed(
            f"we do not bake on {request.day.isoformat()}; please choose another day",
            key="msg.checkout.no_baking",
            day=request.day.isoformat(),
        )
    contact = check_contact(request.contact)
    check_day_cap(session, request.day, contact.mobile, sum(ln.quantity for ln in lines))
    if request.payment_method not in {"pay_at_pickup", "stripe", "alipay", "wechat_pay", "gift"}:
        raise DomainError(
            "unknown payment method", key="msg.checkout.unknown_payment", field="payment_method"
        )
    if request.notify_channel not in {"mail", "sms", "none"}:
        raise DomainError(
            "choose mail or sms for notices",
            key="msg.checkout.notify_channel",
            field="notify_channel",
        )
    if request.payment_method not in {"pay_at_pickup", "gift"} and not settings.stripe_secret_key:
        raise DomainError(
            "online payment is not available",
            key="msg.checkout.online_unavailable",
            field="payment_method",
        )

    products = products_by_sku(session)
    for line in lines:
        if line.sku not in products:
            raise UnknownItem(
                f"no product with SKU {line.sku!r}", key="msg.checkout.no_product", sku=line.sku
            )
    # The manager may sell a product to distributors only (catalogue channels).
    check_sold_on(session, SHOP, [ln.sku for ln in lines])

    window: int | None = None
    pickup: PickupPoint | None = None
    zone: DeliveryZone | None = None
    fee = 0
    if request.fulfilment == Fulfilment.PICKUP.value:
        pickup = _pickup_point(session, request.pickup_point)
        if pickup is None:
            raise DomainError(
                "choose a pickup point", key="msg.checkout.pickup_point", field="pickup_point"
            )
    elif request.fulfilment == Fulfilment.DELIVERY.value:
        if request.payment_method == "pay_at_pickup":
            raise DomainError(
                "pay at pickup is only for orders collected at a pickup point",
                key="msg.checkout.pay_at_pickup_only",
                field="payment_method",
            )
        zone = _delivery_zone(session, request.delivery_zone)
        if zone is None:
            raise DomainError(
                "choose a delivery destination", key="msg.checkout.zone", field="delivery_zone"
            )
        address = request.delivery_address.strip()
        if not address or len(address) > 300:
            raise DomainError(
                "please give a delivery address",
                key="msg.checkout.address",
                field="delivery_address",
            )
        window = min(
            delivery_window_days(products[ln.sku].freshness_days or 1, zone.transit_days)
            for ln in lines
        )
        fee = zone.fee_fen
    else:
        raise DomainError(
            "choose pickup or delivery", key="msg.checkout.fulfilment", field="fulfilment"
        )

    # A gift recipient's order is paid with its gift order (one payment for all): it takes
    # its stock at once, like pay at pickup.
    online = request.payment_method not in {"pay_at_pickup", "gift"}
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
        notify_channel=request.notify_channel,
        accept_part_delivery=bool(request.accept_part_delivery),
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
    line_rows = order_line_rows(order.id, lines, products)
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
    publish_order_event(session, order, "order.placed", lines=summary)
    if not online:
        publish_order_event(session, order, "order.confirmed", lines=summary)
    return order


def get_order(session: Session, public_id: str) -> Order:
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    if order is None:
        raise OrderNotFound("no such order", key="msg.order.not_found", public_id=public_id)
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
        raise OrderNotFound("no such order", key="msg.order.not_found", public_id=public_id)
    return order


def orders_of_user(session: Session, user_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.user_id == user_id).order_by(Order.created_at.desc())
        )
    )


def cancel_order(
    session: Session, order: Order, *, settings: Settings, now: datetime, reason: str
) -> PaymentAttempt | None:
    """Cancel before the cut-off and free the stock. Returns the paid attempt to refund."""
    check_can_cancel(order.status, order.day, now, settings.order_cutoff)
    was = order.status
    if not guarded_move(
        session, order, [was], OrderStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    ):
        raise OrderStateError(
            "the order changed meanwhile; reload and try again", key="msg.order.changed"
        )
    release(session, order.reservation_ref, reason=f"order cancelled: {reason}"[:200])
    publish_order_event(session, order, "order.cancelled", reason=reason[:200], was=was.value)
    if was is OrderStatus.PENDING_PAYMENT and (order.purchase_id or order.gift_id):
        payment_records.retire_shared_payment(session, order)
    if was is OrderStatus.PAID:
        return session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id,
                PaymentAttempt.status == PaymentAttemptStatus.SUCCEEDED,
            )
        )
    return None


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
        publish_order_event(session, order, "order.expired")
        expired.append(order.public_id)
    return expired


def advance_order(
    session: Session,
    order: Order,
    target: OrderStatus,
    now: datetime,
    *,
    override_reason: str | None = None,
    by: str = "",
) -> None:
    """Staff moves: ready, collected, delivered (with the event the customer is told of).
    Before the order's day only with an override reason, recorded on the event."""
    check_move(order.status, target)
    early = check_not_before_day(order.day, now, override_reason, action=f"mark it {target.value}")
    override = {"override": {"reason": early, "by": by, "at": now.isoformat()}} if early else {}
    if target not in {OrderStatus.READY, OrderStatus.COLLECTED, OrderStatus.DELIVERED}:
        raise OrderStateError(
            f"use the matching action to make an order {target.value}", key="msg.order.use_action"
        )
    if target is OrderStatus.DELIVERED and order.fulfilment is not Fulfilment.DELIVERY:
        raise OrderStateError(
            "a pickup order is collected, not delivered", key="msg.order.pickup_collected"
        )
    if target is OrderStatus.COLLECTED and order.fulfilment is not Fulfilment.PICKUP:
        raise OrderStateError(
            "a delivery order is delivered, not collected", key="msg.order.delivery_delivered"
        )
    if not guarded_move(session, order, [order.status], target, updated_at=now):
        raise OrderStateError(
            "the order changed meanwhile; reload and try again", key="msg.order.changed"
        )
    if target is OrderStatus.READY:
        publish_ready_by_hand(session, order, **override)
    else:
        publish_order_event(session, order, f"order.{target.value}", **override)


# Statuses an order is served from: the stock is allocated and nothing has been handed out.
SERVABLE = (OrderStatus.PAID, OrderStatus.CONFIRMED)
SHORTFALL = "production_shortfall"


def publish_ready_by_hand(session: Session, order: Order, **extra: Any) -> None:
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
            **extra,
        },
        key=order.reservation_ref,
    )


def make_ready(session: Session, order: Order, now: datetime) -> bool:
    """The morning batch covered the order: paid or confirmed -> ready. Guarded and
    idempotent: an order already ready, collected, cancelled (...) is left alone."""
    return guarded_move(session, order, list(SERVABLE), OrderStatus.READY, updated_at=now)


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
    if not guarded_move(
        session, order, [was], OrderStatus.CANCELLED, cancelled_at=now, cancel_reason=SHORTFALL
    ):
        return False
    publish_order_event(
        session, order, "order.cancelled", reason=SHORTFALL, was=was.value, batch_ref=batch_ref
    )
    return True
