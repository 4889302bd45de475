"""Refunds from the order desk: full or partial, idempotent per request key, audited, and issued through the payment provider after commit (never inside a transaction)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.errors import DomainError, ReservationStateError
from inventory.reservations import release
from inventory.settings import Settings
from shop.orders.desk import (
    DESK_REFUND_PREFIX,
    Money,
    audit_order_event,
    desk_order,
    money_of,
)
from shop.orders.desk_models import DeskRefund, RefundStatus
from shop.orders.desk_rules import (
    DESK_CANCELLABLE,
    clean_reason,
)
from shop.orders.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
)
from shop.payments import get_provider
from shop.refusals import Refused

log = logging.getLogger("gaogan.desk")


def new_refund(
    session: Session,
    order: Order,
    money: Money,
    amount_fen: int,
    reason: str,
    request_key: str,
    user_id: int,
    now: datetime,
) -> DeskRefund:
    online = money.online_paid_fen > 0 and bool(money.provider_ref)
    refund = DeskRefund(
        order_id=order.id,
        request_key=request_key,
        amount_fen=amount_fen,
        reason=reason,
        channel="provider" if online else "counter",
        provider_ref=money.provider_ref if online else "",
        # Cash goes back across the counter now; the provider's refund waits for the commit.
        status=RefundStatus.DUE if online else RefundStatus.ISSUED,
        issued_at=None if online else now,
        requested_by=user_id,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    audit_order_event(
        session,
        order,
        "order.refund_requested",
        refund_id=refund.id,
        amount_fen=amount_fen,
        reason=reason,
        channel=refund.channel,
        by=user_id,
    )
    return refund


def request_refund(
    session: Session,
    public_id: str,
    *,
    amount_fen: int,
    reason: str,
    request_key: str,
    user_id: int,
    now: datetime,
) -> DeskRefund:
    """Record a full or partial refund. The same request_key again returns the same refund
    (a double click, a retried API call), never a second one."""
    text = clean_reason(reason)
    if not text:
        raise Refused("desk.err.reason_required", code="reason_required")
    key = (request_key or "").strip()
    if not (8 <= len(key) <= 64):
        raise Refused("desk.err.bad_request_key", code="bad_request_key")
    order = desk_order(session, public_id, lock=True)
    existing = session.scalar(
        select(DeskRefund).where(DeskRefund.order_id == order.id, DeskRefund.request_key == key)
    )
    if existing is not None:
        if existing.amount_fen != amount_fen:
            raise Refused("desk.err.key_reused", status=409, code="key_reused")
        return existing
    money = money_of(session, order)
    if amount_fen < 1 or amount_fen > money.refundable_fen:
        raise Refused(
            "desk.err.refund_amount",
            code="refund_amount",
            most=money.refundable_fen,
            given=amount_fen,
        )
    return new_refund(session, order, money, amount_fen, text, key, user_id, now)


def refund_state(session: Session, refund_id: int) -> str:
    refund = session.get(DeskRefund, refund_id)
    return refund.status.value if refund else ""


def issue_refund(sessions: sessionmaker[Session], settings: Settings, refund_id: int) -> bool:
    """Send one due refund through the provider, outside any transaction, then record it.
    The provider key is the refund's id, so a retry after a crash never pays twice."""
    with sessions() as session:
        refund = session.get(DeskRefund, refund_id)
        if refund is None or refund.status is not RefundStatus.DUE:
            return False
        order = session.get_one(Order, refund.order_id)
        public_id, method = order.public_id, order.payment_method
        provider_ref, amount = refund.provider_ref, refund.amount_fen
    try:
        # A provider that is not configured (DomainError) leaves the refund due, like a
        # provider that is down: the job retries it.
        refund_ref = get_provider(settings, method).refund(
            provider_ref=provider_ref,
            amount_fen=amount,
            order_public_id=public_id,
            key=f"desk-{refund_id}",
        )
    except DomainError as exc:
        with transaction(sessions) as session:
            session.execute(
                update(DeskRefund).where(DeskRefund.id == refund_id).values(error=exc.message[:300])
            )
        log.error("desk refund %s for order %s failed", refund_id, public_id, exc_info=True)
        return False
    with transaction(sessions) as session:
        done = session.execute(
            update(DeskRefund)
            .where(DeskRefund.id == refund_id, DeskRefund.status == RefundStatus.DUE)
            .values(status=RefundStatus.ISSUED, refund_ref=refund_ref, issued_at=utcnow(), error="")
            .returning(DeskRefund.id)
        ).first()
        if done is None:
            return False
        order = session.get_one(Order, refund.order_id)
        audit_order_event(
            session, order, "order.refund_issued", refund_id=refund_id, amount_fen=amount
        )
        money = money_of(session, order)
        if order.status is OrderStatus.CANCELLED and money.refundable_fen == 0:
            order.status = OrderStatus.REFUNDED
            audit_order_event(
                session, order, "order.refunded", refund_ref=refund_ref, amount_fen=amount
            )
    return True


def issue_due_refunds(sessions: sessionmaker[Session], settings: Settings) -> list[int]:
    """The job behind `orders.issue_desk_refunds`: every refund staff asked for that is still
    due (the provider was down when it was asked for). One that fails again stays due. The
    refunds the shop asked for itself (part delivery) are `orders.issue_refunds`' work."""
    with sessions() as session:
        due = list(
            session.scalars(
                select(DeskRefund.id)
                .where(DeskRefund.status == RefundStatus.DUE, DeskRefund.requested_by.is_not(None))
                .order_by(DeskRefund.id)
                .limit(100)
            )
        )
    return [rid for rid in due if issue_refund(sessions, settings, rid)]


def shop_refunds_due(session: Session, limit: int = 100) -> list[tuple[int, str]]:
    """(refund id, order public id) of refunds the shop asked for itself and has not sent:
    the unserved part of a paid order after a production shortfall."""
    rows = session.execute(
        select(DeskRefund.id, Order.public_id)
        .join(Order, Order.id == DeskRefund.order_id)
        .where(DeskRefund.status == RefundStatus.DUE, DeskRefund.requested_by.is_(None))
        .order_by(DeskRefund.id)
        .limit(limit)
    ).all()
    return [(refund_id, public_id) for refund_id, public_id in rows]


def desk_cancel(
    session: Session, public_id: str, *, reason: str, user_id: int, now: datetime
) -> int | None:
    """Cancel with a reason, whatever the cut-off; free the stock. Money already taken goes
    back as one desk refund of what has not been refunded yet, issued after commit; returns
    its id (None when nothing was paid)."""
    text = clean_reason(reason)
    if not text:
        raise Refused("desk.err.reason_required", code="reason_required")
    order = desk_order(session, public_id, lock=True)
    if order.status not in DESK_CANCELLABLE:
        raise Refused(
            "desk.err.cannot_cancel", status=409, code="order_state", current=order.status.value
        )
    was = order.status
    money = money_of(session, order)
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = text
    try:
        release(session, order.reservation_ref, reason=f"cancelled at the desk: {text}"[:200])
    except ReservationStateError:
        # Already on lots (handed to the order by the batch): nothing left to free.
        log.info("order %s cancelled after its goods were allocated to lots", public_id)
    audit_order_event(
        session,
        order,
        "order.cancelled",
        reason=text,
        was=was.value,
        by=user_id,
        status=OrderStatus.CANCELLED.value,
        day=order.day.isoformat(),
        email=order.contact_email,
        name=order.contact_name,
        language=order.language,
        total_fen=order.total_fen,
        user_id=order.user_id,
        fulfilment=order.fulfilment.value,
        lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines],
    )
    if money.refundable_fen <= 0:
        return None
    refund = new_refund(
        session, order, money, money.refundable_fen, text, f"cancel-{order.id}", user_id, now
    )
    # The desk refund replaces the storefront's full-refund sweep for this payment.
    session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.order_id == order.id,
            PaymentAttempt.status == PaymentAttemptStatus.SUCCEEDED,
        )
        .values(status=PaymentAttemptStatus.REFUNDED, refund_ref=f"{DESK_REFUND_PREFIX}{refund.id}")
    )
    return refund.id
