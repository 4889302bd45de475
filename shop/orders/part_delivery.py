"""Part delivery of a storefront order: when the day's last batch falls short and the customer
accepted part delivery at checkout (`orders.accept_part_delivery`), the order keeps the lines
that were made, its short lines are cut to what was made (the ordered quantity stays on the
line as `ordered_quantity`), it is re-priced, and money paid online for what was not made goes
back as a partial refund through the payment provider.

The batch decides and announces (`order.part_served`, docs/events/scheduling.md); this
module applies it in the relay's transaction. The refund is only recorded here (a desk refund
row with no requester: the shop asked for it) and issued after commit by the
`orders.issue_refunds` job (`shop.orders.flows.issue_due_refunds`), never inside a
transaction; its provider key is the refund row's id, so it goes out once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.events import publish
from scheduling.refs import PartPolicy, register_part_policy
from shop.orders.desk import money_of
from shop.orders.desk_models import DeskRefund, RefundStatus
from shop.orders.lifecycle import publish_order_event
from shop.orders.models import Order, OrderLine, OrderStatus

SHORTFALL = "production_shortfall"
# An order can be short only once per batch: the key makes a redelivered event harmless.
REFUND_KEY = "shortfall-{batch_ref}"
# The statuses a part delivery applies to: allocated, not handed out.
REDUCIBLE = (OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.READY)


def order_part_policies(session: Session, refs: Sequence[str]) -> dict[str, PartPolicy]:
    """The choice each order recorded at checkout (pieces: no step)."""
    ids = {int(ref[6:]): ref for ref in refs if ref.startswith("order:") and ref[6:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(
        select(Order.id, Order.accept_part_delivery).where(Order.id.in_(sorted(ids)))
    ).all()
    return {ids[order_id]: PartPolicy(bool(accepts)) for order_id, accepts in rows}


def register_order_part_policy() -> None:
    register_part_policy("order", order_part_policies)


def part_lines(order: Order) -> list[dict[str, Any]]:
    """The reduced lines as events and messages show them: ordered and served, never only one."""
    return [
        {
            "sku": ln.sku,
            "name_zh": ln.name_zh,
            "name_en": ln.name_en,
            "ordered": ln.ordered_quantity,
            "served": ln.quantity,
        }
        for ln in order.lines
        if ln.ordered_quantity is not None
    ]


def _cut_lines(lines: Sequence[OrderLine], served: Mapping[str, int]) -> bool:
    """Set each short line to the pieces served (an order has one line per product). To a
    number, not by a difference: the same event applied twice changes nothing."""
    changed = False
    for line in lines:
        target = served.get(line.sku)
        if target is None or not 0 <= target < line.quantity:
            continue
        if line.ordered_quantity is None:
            line.ordered_quantity = line.quantity  # the first cut keeps what was ordered
        line.quantity = target
        line.line_total_fen = line.quantity * line.unit_price_fen
        changed = True
    return changed


def reduce_order(
    session: Session,
    order: Order,
    *,
    served: Mapping[str, int],
    batch_ref: str,
    now: datetime,
) -> bool:
    """Cut the short lines to the pieces `served`, re-price the order, record the refund due
    and publish `order.reduced` (which tells the customer by mail or text message). False
    when the order is no longer one to serve (cancelled meanwhile, collected ...) or already
    is as served."""
    locked = session.scalar(
        select(Order)
        .where(Order.id == order.id)
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.status not in REDUCIBLE:
        return False
    was_total = locked.total_fen
    if not _cut_lines(locked.lines, served):
        return False
    locked.subtotal_fen = sum(ln.line_total_fen for ln in locked.lines)
    locked.total_fen = locked.subtotal_fen + locked.delivery_fee_fen
    locked.updated_at = now
    session.flush()
    refund_fen = _record_refund_due(session, locked, was_total - locked.total_fen, batch_ref, now)
    publish_order_event(
        session,
        locked,
        "order.reduced",
        reason=SHORTFALL,
        batch_ref=batch_ref,
        was_total_fen=was_total,
        refund_fen=refund_fen,
        part=part_lines(locked),
    )
    return True


def _record_refund_due(
    session: Session, order: Order, difference: int, batch_ref: str, now: datetime
) -> int:
    """Money paid online for what was not made: a refund due through the provider that took
    it. Nothing for pay at pickup (the counter takes the new total)."""
    money = money_of(session, order)
    amount = min(difference, money.refundable_fen)
    if amount <= 0 or money.online_paid_fen <= 0 or not money.provider_ref:
        return 0
    key = REFUND_KEY.format(batch_ref=batch_ref)[:64]
    existing = session.scalar(
        select(DeskRefund.amount_fen).where(
            DeskRefund.order_id == order.id, DeskRefund.request_key == key
        )
    )
    if existing is not None:
        return int(existing)
    session.add(
        DeskRefund(
            order_id=order.id,
            request_key=key,
            amount_fen=amount,
            reason=f"part delivery: production shortfall in batch {batch_ref}"[:200],
            channel="provider",
            provider_ref=money.provider_ref,
            status=RefundStatus.DUE,
            requested_by=None,
            created_at=now,
        )
    )
    session.flush()
    return amount


def set_account_part_delivery(session: Session, user_id: int, accept: bool) -> bool:
    """The customer's standing answer (their account page): what later checkouts start from.
    Orders already placed keep the answer they were placed with."""
    from shop.models import User

    user = session.get(User, user_id)
    if user is None:
        return False
    if user.accept_part_delivery != bool(accept):
        user.accept_part_delivery = bool(accept)
        publish(
            session,
            "customer.settings_changed",
            {"user_id": user.id, "accept_part_delivery": user.accept_part_delivery},
            key=f"user:{user.id}",
        )
    return user.accept_part_delivery


@dataclass(frozen=True)
class PartView:
    """What a status page says about a part delivery: the total before, and the money the
    shop is sending back (due or already issued)."""

    was_total_fen: int
    refund_fen: int


def part_view(session: Session, order: Order) -> PartView | None:
    if not any(ln.ordered_quantity is not None for ln in order.lines):
        return None
    was = sum((ln.ordered_quantity or ln.quantity) * ln.unit_price_fen for ln in order.lines)
    refund = session.scalar(
        select(func.coalesce(func.sum(DeskRefund.amount_fen), 0)).where(
            DeskRefund.order_id == order.id, DeskRefund.requested_by.is_(None)
        )
    )
    return PartView(was + order.delivery_fee_fen, int(refund or 0))
