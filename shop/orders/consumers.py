"""The storefront's reactions to production: the morning batch makes an order ready, or (in a
shortfall) leaves it unserved or, when the customer accepted part delivery, cuts it to what
was made. The events come from `scheduling.production.batches.complete_batch` in
one shape for orders and bookings (docs/events/scheduling.md); this module takes the
`order:<id>` refs and leaves `booking:<id>` to the distributor area.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.events import Event, Registry, registry
from scheduling.production.part_delivery import served_of
from shop.orders import notifications, part_delivery, services
from shop.orders.models import OrderStatus

# Consumer names are inbox keys: never rename.
READY_CONSUMER = "orders.ready"
UNSERVED_CONSUMER = "orders.unserved"
PART_SERVED_CONSUMER = "orders.part_served"


def on_order_ready(session: Session, event: Event) -> None:
    """Move the order to ready (if it is still paid or confirmed) and tell the customer once,
    whether the batch or staff (`advance_order`) made it ready first."""
    order = services.order_for_ref(session, str(event.payload.get("ref") or ""))
    if order is None:
        return
    now = utcnow()
    services.make_ready(session, order, now)
    if order.status is OrderStatus.READY and services.first_mail(
        session, order, "order_ready", event.event_id, now
    ):
        notifications.send_order_mail(session, order, event, "order_ready")


def on_order_unserved(session: Session, event: Event) -> None:
    """Cancel the order the batch could not make; `order.cancelled` then mails the customer
    (saying why) and a paid order becomes a refund due, issued after commit."""
    order = services.order_for_ref(session, str(event.payload.get("ref") or ""))
    if order is None:
        return
    services.cancel_unserved(
        session, order, now=utcnow(), batch_ref=str(event.payload.get("batch_ref") or "")
    )


def on_order_part_served(session: Session, event: Event) -> None:
    """The customer accepted part delivery: cut the order to what was made and re-price it;
    `order.reduced` then tells the customer, and money paid online for the rest is a refund
    due, issued after commit."""
    order = services.order_for_ref(session, str(event.payload.get("ref") or ""))
    if order is None:
        return
    part_delivery.reduce_order(
        session,
        order,
        served=served_of(event.payload),
        batch_ref=str(event.payload.get("batch_ref") or ""),
        now=utcnow(),
    )


def register_subscribers(target: Registry = registry) -> None:
    target.subscribe("order.ready", READY_CONSUMER, on_order_ready)
    target.subscribe("order.unserved", UNSERVED_CONSUMER, on_order_unserved)
    target.subscribe("order.part_served", PART_SERVED_CONSUMER, on_order_part_served)
