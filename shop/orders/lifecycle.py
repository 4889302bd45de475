"""Moving an order along its statuses: a guarded status change (never backwards, never from a state another transaction left) and the event each move publishes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from inventory.events import publish
from shop.orders.models import (
    Order,
    OrderStatus,
)
from shop.orders.placing import event_payload


def publish_order_event(session: Session, order: Order, event_type: str, **extra: Any) -> None:
    payload = event_payload(order, with_lines="lines" not in extra)
    publish(session, event_type, {**payload, **extra}, key=f"order:{order.id}")


def guarded_move(
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
