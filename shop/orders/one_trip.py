"""A checkout in two statements on PostgreSQL (inventory.one_trip does the stock part).

1. One select: the products of the lines, every candidate supply row, a new order id and a
   new reservation id, the calendar entry of the day and the pickup point or delivery zone.
2. One call of `gaogan_take`: the order, its lines, the reservation, its claims and the
   events (`stock.reserved`, `order.placed`, for pay at pickup `order.confirmed`), then the
   guarded supply UPDATE, last.

The checks and the rows are those of `services.place_order`, in the same order, so a refused
request gets the same answer on either path. Whenever this lane cannot decide alone (a pickup
point or zone not found, which the ordinary path may lay out as defaults; stock short on the
snapshot; the race for the last units lost between read and update) it returns None and
`place_order` goes the ordinary locked way, with its own statements.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from inventory.models import Item, OutboxEvent
from inventory.one_trip import (
    _next_id,
    attach,
    demands_on_snapshot,
    event_object,
    finish,
    plan_reservation,
    read_snapshot,
    row_of,
    take_or_refuse_duplicate,
)
from inventory.reservations import Line
from inventory.settings import Settings
from scheduling.cutoff import cutoff_for
from scheduling.planning.calendar import production_given
from scheduling.planning.models import CalendarEntry
from shop.catalogue.channels import SHOP, sold_on
from shop.catalogue.models import ProductProfile
from shop.orders import placing
from shop.orders.models import (
    CustomerDayCap,
    DeliveryZone,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    PickupPoint,
)
from shop.orders.placing import PlaceOrder
from shop.orders.rules import check_lines, check_orderable_day, delivery_window_days


def place_order_in_one_trip(
    session: Session,
    request: PlaceOrder,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
) -> Order | None:
    """`services.place_order` in two statements, or None to take the ordinary path."""
    lines = check_lines(request.lines)
    check_orderable_day(request.day, now, settings.order_cutoff)
    extra: dict[str, Any] = {
        "order_id": _next_id("orders"),
        "cal_official": select(CalendarEntry.official)
        .where(CalendarEntry.day == request.day)
        .scalar_subquery(),
        "cal_production": select(CalendarEntry.production)
        .where(CalendarEntry.day == request.day)
        .scalar_subquery(),
        # A day the manager capped per customer needs the customer's other orders counted:
        # the ordinary path does that.
        "day_cap": select(CustomerDayCap.max_pieces)
        .where(CustomerDayCap.day == request.day)
        .scalar_subquery(),
        # Lines of products the manager does not sell in the online shop: the ordinary path
        # refuses them in words. (An alias: the snapshot's own FROM is `items`.)
        "off_shop": _off_shop({ln.sku for ln in lines}),
    }
    pickup = request.fulfilment == Fulfilment.PICKUP.value
    delivery = request.fulfilment == Fulfilment.DELIVERY.value
    if pickup:
        extra["pickup_id"] = (
            select(PickupPoint.id)
            .where(PickupPoint.code == request.pickup_point, PickupPoint.active)
            .scalar_subquery()
        )
    elif delivery:
        for name, column in (
            ("zone_id", DeliveryZone.id),
            ("zone_fee", DeliveryZone.fee_fen),
            ("zone_transit", DeliveryZone.transit_days),
        ):
            extra[name] = (
                select(column)
                .where(DeliveryZone.code == request.delivery_zone, DeliveryZone.active)
                .scalar_subquery()
            )
    stock_lines = [Line(ln.sku, request.day, ln.quantity) for ln in lines]
    snapshot = read_snapshot(session, stock_lines, window_days=None, extra=extra)
    facts = snapshot.extra

    # Whatever would be refused, or needs more than this snapshot, takes the ordinary path,
    # which refuses with the reader's words (a refusal is not the hot path).
    if facts["day_cap"] is not None or facts["off_shop"]:
        return None
    if not production_given(request.day, facts["cal_official"], facts["cal_production"]):
        return None
    contact = placing.check_contact(request.contact)
    if request.payment_method not in {"pay_at_pickup", "stripe"}:
        return None
    if request.payment_method == "stripe" and not settings.stripe_secret_key:
        return None
    products = snapshot.products
    demands = demands_on_snapshot(snapshot, stock_lines, None)  # raises UnknownItem, as place_order

    window: int | None = None
    fee = 0
    pickup_id: int | None = None
    zone_id: int | None = None
    if pickup:
        pickup_id = facts["pickup_id"]
        if pickup_id is None:
            return None  # the ordinary path lays out default points, or refuses
    elif delivery:
        if request.payment_method == "pay_at_pickup":
            return None
        zone_id = facts["zone_id"]
        if zone_id is None:
            return None
        address = request.delivery_address.strip()
        if not address or len(address) > 300:
            return None
        window = min(
            delivery_window_days(products[ln.sku].freshness_days, facts["zone_transit"])
            for ln in lines
        )
        fee = facts["zone_fee"]
        demands = demands_on_snapshot(snapshot, stock_lines, window)
    else:
        return None

    online = request.payment_method != "pay_at_pickup"
    subtotal = sum(products[ln.sku].price_fen * ln.quantity for ln in lines)
    order = Order(
        id=facts["order_id"],
        public_id="G" + secrets.token_hex(6).upper(),
        access_token=secrets.token_urlsafe(24),
        user_id=user_id,
        status=OrderStatus.PENDING_PAYMENT if online else OrderStatus.CONFIRMED,
        day=request.day,
        fulfilment=Fulfilment(request.fulfilment),
        pickup_point_id=pickup_id,
        delivery_zone_id=zone_id,
        delivery_address=request.delivery_address.strip() if zone_id else "",
        contact_name=contact.name,
        contact_mobile=contact.mobile,
        contact_email=contact.email,
        language=request.language if request.language in {"zh", "en"} else "zh",
        accept_part_delivery=bool(request.accept_part_delivery),
        payment_method=request.payment_method,
        subtotal_fen=subtotal,
        delivery_fee_fen=fee,
        total_fen=subtotal + fee,
        hold_expires_at=now + timedelta(minutes=settings.hold_minutes) if online else None,
        cutoff_at=cutoff_for(request.day, settings.order_cutoff),
        created_at=now,
        updated_at=now,
    )
    planned = plan_reservation(
        snapshot, order.reservation_ref, demands, hold_until=order.hold_expires_at, now=now
    )
    if planned is None:
        return None
    line_rows = [
        row_of(
            OrderLine(
                order_id=order.id,
                line_no=i,
                sku=ln.sku,
                name_zh=products[ln.sku].name_zh,
                name_en=products[ln.sku].name_en,
                quantity=ln.quantity,
                unit_price_fen=products[ln.sku].price_fen,
                line_total_fen=products[ln.sku].price_fen * ln.quantity,
            )
        )
        for i, ln in enumerate(lines, start=1)
    ]
    summary = [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]
    key = f"order:{order.id}"
    payload = placing.event_payload(order, with_lines=False)
    events = [event_object("order.placed", {**payload, "lines": summary}, key=key)]
    if not online:
        events.append(event_object("order.confirmed", {**payload, "lines": summary}, key=key))
    rows = [
        (Order.__table__, [row_of(order)]),
        (OrderLine.__table__, line_rows),
        *planned.rows,  # the reservation, its claims, `stock.reserved` (first for this key)
        (OutboxEvent.__table__, [row_of(event) for event in events]),
    ]
    made = take_or_refuse_duplicate(session, rows, planned.deltas, order.reservation_ref)  # type: ignore[arg-type]
    if made is None:
        return None
    attach(session, order)
    finish(session, planned, made)
    return order


def _off_shop(skus: set[str]) -> Any:
    """How many of `skus` the catalogue keeps out of the online shop (a scalar subquery)."""
    product = aliased(Item)
    return (
        select(func.count())
        .select_from(ProductProfile)
        .join(product, product.id == ProductProfile.item_id)
        .where(product.sku.in_(sorted(skus)), ~sold_on(SHOP))
        .scalar_subquery()
    )
