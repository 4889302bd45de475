"""Payments of an order as the provider reports them: attempts, success and failure (never moving an order backwards), refunds recorded and due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from inventory.errors import ReservationStateError
from inventory.reservations import confirm, release
from shop.orders.lifecycle import guarded_move, publish_order_event
from shop.orders.models import (
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
)
from shop.orders.rules import (
    OrderStateError,
)


def start_payment_attempt(session: Session, order: Order, provider: str, now: datetime) -> int:
    """Record a new attempt and return its number (1, 2, ...) for the idempotency key."""
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderStateError(
            f"an order that is {order.status.value} cannot be paid",
            key="msg.order.cannot_pay",
            order_status=order.status.value,
        )
    if order.hold_expires_at is not None and order.hold_expires_at <= now:
        raise OrderStateError(
            "the hold on this order has expired; please order again", key="msg.order.hold_expired"
        )
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
    if guarded_move(session, order, [OrderStatus.PENDING_PAYMENT], OrderStatus.PAID, paid_at=now):
        try:
            confirm(session, order.reservation_ref, now=now)
        except ReservationStateError:
            # The hold lapsed between the card and the webhook: the stock may be gone.
            order.status = OrderStatus.EXPIRED
            release(session, order.reservation_ref, reason="hold lapsed before payment")
            publish_order_event(session, order, "order.expired")
            return PaymentOutcome("refund_due", order.public_id, provider_ref, amount_fen)
        publish_order_event(session, order, "order.paid", provider_ref=provider_ref)
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
        publish_order_event(session, order, "order.payment_failed", error=error[:200])
    return PaymentOutcome("failed_recorded", order.public_id)


def record_refund(
    session: Session, order: Order, provider_ref: str, refund_ref: str, amount_fen: int
) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.provider_ref == provider_ref)
        .values(status=PaymentAttemptStatus.REFUNDED, refund_ref=refund_ref)
    )
    if guarded_move(
        session, order, [OrderStatus.CANCELLED, OrderStatus.EXPIRED], OrderStatus.REFUNDED
    ):
        publish_order_event(
            session, order, "order.refunded", refund_ref=refund_ref, amount_fen=amount_fen
        )
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
