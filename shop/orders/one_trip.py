"""A checkout in two statements on PostgreSQL (inventory.one_trip does the stock part).

1. One select: the products of the lines, every candidate supply row, a new order id and a
   new reservation id, the calendar entry of the day and the pickup point or delivery zone.
2. One call of `gaogan_take`: the order, its lines, the reservation and the events
   (`stock.reserved`, `order.placed`, for pay at pickup `order.confirmed`), then the guarded
   supply UPDATE, then the claims (inventory.take_function says why in that order).

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

from sqlalchemy.orm import Session

from inventory.models import OutboxEvent
from inventory.one_trip import (
    attach,
    demands_on_snapshot,
    event_row,
    finish,
    new_row,
    plan_reservation,
    read_snapshot,
    row_of,
    take_or_refuse_duplicate,
)
from inventory.reservations import Line
from inventory.settings import Settings
from scheduling.cutoff import cutoff_for
from scheduling.planning.calendar import production_given
from shop.catalogue.channels import SHOP
from shop.orders import placing
from shop.orders.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
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
    extra = dict(_EXTRA)
    params: dict[str, Any] = {
        "order_day": request.day,
        "shop_channel": f"%,{SHOP},%",
        "order_skus": sorted({ln.sku for ln in lines}),
    }
    pickup = request.fulfilment == Fulfilment.PICKUP.value
    delivery = request.fulfilment == Fulfilment.DELIVERY.value
    if pickup:
        extra.update(_PICKUP)
        params["pickup_code"] = request.pickup_point
    elif delivery:
        extra.update(_DELIVERY)
        params["zone_code"] = request.delivery_zone
    stock_lines = [Line(ln.sku, request.day, ln.quantity) for ln in lines]
    snapshot = read_snapshot(session, stock_lines, window_days=None, extra=extra, params=params)
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
    line_rows = placing.order_line_rows(order.id, lines, products)
    summary = [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]
    key = f"order:{order.id}"
    payload = placing.event_payload(order, with_lines=False)
    events = [event_row("order.placed", {**payload, "lines": summary}, key=key)]
    if not online:
        events.append(event_row("order.confirmed", {**payload, "lines": summary}, key=key))
    rows = [
        (Order.__table__, [row_of(order)]),
        (OrderLine.__table__, [new_row(OrderLine.__table__, r) for r in line_rows]),  # type: ignore[arg-type]
        *planned.rows,  # the reservation, its claims, `stock.reserved` (first for this key)
        (OutboxEvent.__table__, events),
    ]
    made = take_or_refuse_duplicate(session, rows, planned.deltas, order.reservation_ref)  # type: ignore[arg-type]
    if made is None:
        return None
    attach(session, order)
    finish(session, planned, made)
    return order


# The snapshot's extra columns (inventory.one_trip.read_snapshot), SQL with named parameters,
# written once: the same text on every checkout is prepared once per connection.
_EXTRA = {
    "order_id": "SELECT nextval('orders_id_seq')",
    "cal_official": "SELECT c.official FROM plan_calendar_entries AS c WHERE c.day = %(order_day)s",
    "cal_production": (
        "SELECT c.production FROM plan_calendar_entries AS c WHERE c.day = %(order_day)s"
    ),
    # A day the manager capped per customer needs the customer's other orders counted:
    # the ordinary path does that.
    "day_cap": "SELECT m.max_pieces FROM customer_day_caps AS m WHERE m.day = %(order_day)s",
    # Lines of products the manager does not sell in the online shop (channels.sold_on): the
    # ordinary path refuses them in words.
    "off_shop": (
        "SELECT count(*) FROM catalogue_products AS cp JOIN items AS ci ON ci.id = cp.item_id "
        "WHERE ci.sku = ANY (CAST(%(order_skus)s AS text[])) "
        "AND NOT (',' || cp.channels || ',' LIKE %(shop_channel)s)"
    ),
}
_PICKUP = {
    "pickup_id": (
        "SELECT p.id FROM pickup_points AS p WHERE p.code = %(pickup_code)s AND p.active"
    ),
}
_DELIVERY = {
    f"zone_{name}": f"SELECT z.{column} FROM delivery_zones AS z "
    "WHERE z.code = %(zone_code)s AND z.active"
    for name, column in (("id", "id"), ("fee", "fee_fen"), ("transit", "transit_days"))
}
