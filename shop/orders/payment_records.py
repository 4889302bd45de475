"""Payments of an order as the provider reports them: attempts, success and failure (never moving an order backwards), refunds recorded and due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from inventory.errors import ReservationStateError
from inventory.events import publish
from inventory.reservations import confirm, release
from shop.orders.lifecycle import guarded_move, publish_order_event
from shop.orders.models import (
    GiftOrder,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
)
from shop.orders.rules import (
    OrderStateError,
)


def _check_payable(order: Order, now: datetime) -> None:
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


def start_payment_attempt(session: Session, order: Order, provider: str, now: datetime) -> int:
    """Record a new attempt and return its number (1, 2, ...) for the idempotency key."""
    _check_payable(order, now)
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


def start_shared_attempt(
    session: Session, orders: Sequence[Order], provider: str, now: datetime
) -> int:
    """One payment for several orders (a checkout for several days, a gift paid online): an
    attempt per order for its share, all with one number (above every number any of them
    used, so the idempotency key of the shared payment is new). Every order must be payable."""
    if not orders:
        raise OrderStateError("nothing to pay", key="msg.order.cannot_pay", order_status="")
    for order in orders:
        _check_payable(order, now)
    number = (
        session.scalar(
            select(func.coalesce(func.max(PaymentAttempt.number), 0)).where(
                PaymentAttempt.order_id.in_([o.id for o in orders])
            )
        )
        or 0
    ) + 1
    session.add_all(
        PaymentAttempt(
            order_id=order.id,
            number=number,
            provider=provider,
            amount_fen=order.total_fen,
            status=PaymentAttemptStatus.STARTED,
        )
        for order in orders
    )
    session.flush()
    return number


def record_payment_started(
    session: Session,
    order: Order | Sequence[Order],
    number: int,
    provider_ref: str,
    client_secret: str,
) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.order_id.in_(_ids(order)), PaymentAttempt.number == number)
        .values(provider_ref=provider_ref, client_secret=client_secret)
    )


def record_payment_start_failed(
    session: Session, order: Order | Sequence[Order], number: int, error: str
) -> None:
    session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.order_id.in_(_ids(order)),
            PaymentAttempt.number == number,
            PaymentAttempt.status == PaymentAttemptStatus.STARTED,
        )
        .values(status=PaymentAttemptStatus.FAILED, error=error[:500])
    )


def _ids(order: Order | Sequence[Order]) -> list[int]:
    return [order.id] if isinstance(order, Order) else [o.id for o in order]


def latest_attempt(session: Session, order: Order) -> PaymentAttempt | None:
    return session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class RefundDue:
    public_id: str
    provider_ref: str
    amount_fen: int


@dataclass(frozen=True)
class PaymentOutcome:
    outcome: str  # "paid", "duplicate", "refund_due", "ignored", "failed_recorded"
    order_public_id: str | None = None
    provider_ref: str | None = None
    amount_fen: int = 0
    # A shared payment: the shares to send back after commit (orders that expired or were
    # cancelled while the customer paid), each refunded on its own order.
    shares: tuple[RefundDue, ...] = ()

    def refunds(self) -> list[RefundDue]:
        """What the caller refunds after commit (no transaction open during the call)."""
        if self.shares:
            return list(self.shares)
        if self.outcome == "refund_due" and self.order_public_id and self.provider_ref:
            return [RefundDue(self.order_public_id, self.provider_ref, self.amount_fen)]
        return []


def apply_payment_succeeded(
    session: Session, provider_ref: str, amount_fen: int, now: datetime
) -> PaymentOutcome:
    """The provider says the money arrived: confirm the hold into an allocation, once.

    If the order is no longer waiting (expired or cancelled while the customer paid) the
    money must go back: the caller refunds after commit.
    """
    attempts = list(
        session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.provider_ref == provider_ref)
            .order_by(PaymentAttempt.order_id)
        )
    )
    if not attempts:
        return PaymentOutcome("ignored")
    if len(attempts) > 1:
        return shared_payment_succeeded(session, attempts, provider_ref, amount_fen, now)
    attempt = attempts[0]
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
        _gift_paid_with(session, [order], provider_ref, now)
        return PaymentOutcome("paid", order.public_id)
    # Expired or cancelled meanwhile, or already paid through another attempt (the customer
    # retried while the first payment was still going through): this money goes back.
    return PaymentOutcome("refund_due", order.public_id, provider_ref, amount_fen)


def shared_payment_succeeded(
    session: Session,
    attempts: Sequence[PaymentAttempt],
    provider_ref: str,
    amount_fen: int,
    now: datetime,
) -> PaymentOutcome:
    """One payment for several orders arrived: every order still waiting is paid (its hold
    confirmed), once; the share of an order that expired or was cancelled meanwhile goes back.

    The orders' holds were taken together and lapse together, so in practice all are paid or
    all are refunded. The attempts move started -> succeeded in one guarded UPDATE: a webhook
    redelivered, or racing the customer's return, finds nothing to move and is a duplicate.
    """
    moved = session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.provider_ref == provider_ref,
            PaymentAttempt.status.in_([PaymentAttemptStatus.STARTED, PaymentAttemptStatus.FAILED]),
        )
        .values(status=PaymentAttemptStatus.SUCCEEDED, error=None)
        .returning(PaymentAttempt.order_id)
        .execution_options(synchronize_session=False)
    ).all()
    for attempt in attempts:
        session.refresh(attempt)
    first = session.get_one(Order, attempts[0].order_id)
    if not moved:
        return PaymentOutcome("duplicate", first.public_id)
    if amount_fen != sum(a.amount_fen for a in attempts):
        # Never settle orders on a different amount than they cost: the shares did not pay
        # them (they stay waiting, the customer may pay again) and the money goes back whole.
        session.execute(
            update(PaymentAttempt)
            .where(PaymentAttempt.provider_ref == provider_ref)
            .values(status=PaymentAttemptStatus.FAILED, error="amount differs from the orders")
            .execution_options(synchronize_session=False)
        )
        return PaymentOutcome("refund_due", first.public_id, provider_ref, amount_fen)
    # The orders in id order, locked: the expiry sweep skips locked rows, a cancel waits.
    ids = sorted(a.order_id for a in attempts)
    orders = list(
        session.scalars(
            # `of`: the pickup point is outer-joined, and FOR UPDATE cannot lock that side.
            select(Order).where(Order.id.in_(ids)).order_by(Order.id).with_for_update(of=Order)
        )
    )
    share = {a.order_id: a.amount_fen for a in attempts}
    paid: list[Order] = []
    back: list[RefundDue] = []
    for order in orders:
        session.refresh(order)
        if not guarded_move(
            session, order, [OrderStatus.PENDING_PAYMENT], OrderStatus.PAID, paid_at=now
        ):
            back.append(RefundDue(order.public_id, provider_ref, share[order.id]))
            continue
        try:
            confirm(session, order.reservation_ref, now=now)
        except ReservationStateError:
            order.status = OrderStatus.EXPIRED
            release(session, order.reservation_ref, reason="hold lapsed before payment")
            publish_order_event(session, order, "order.expired")
            back.append(RefundDue(order.public_id, provider_ref, share[order.id]))
            continue
        publish_order_event(session, order, "order.paid", provider_ref=provider_ref)
        paid.append(order)
    _gift_paid_with(session, paid, provider_ref, now)
    return PaymentOutcome(
        "paid" if paid else "refund_due",
        first.public_id,
        provider_ref,
        sum(o.total_fen for o in paid),
        shares=tuple(back),
    )


def _gift_paid_with(
    session: Session, paid: Sequence[Order], provider_ref: str, now: datetime
) -> None:
    """A gift paid online: stamp it paid once and tell the buyer (`gift.paid`: the receipt)."""
    gift_ids = {o.gift_id for o in paid}
    if len(gift_ids) != 1 or None in gift_ids:
        return
    gift_id = next(iter(gift_ids))
    stamped = session.execute(
        update(GiftOrder)
        .where(GiftOrder.id == gift_id, GiftOrder.paid_at.is_(None))
        .values(paid_at=now)
        .returning(GiftOrder.public_id)
        .execution_options(synchronize_session=False)
    ).first()
    if stamped is None:
        return
    publish(
        session,
        "gift.paid",
        {
            "gift_id": gift_id,
            "public_id": stamped[0],
            "provider_ref": provider_ref,
            "paid_fen": sum(o.total_fen for o in paid),
            "orders": [o.public_id for o in paid],
        },
        key=f"gift:{gift_id}",
    )


def retire_shared_payment(session: Session, order: Order) -> None:
    """A waiting order of a payment shared with other orders was cancelled: that payment's
    amount is now wrong for what is left, so its started attempts are retired and the page
    offers to pay again for the rest. (Money that arrives on it all the same still pays the
    orders left and sends the cancelled order's share back.)"""
    refs = select(PaymentAttempt.provider_ref).where(
        PaymentAttempt.order_id == order.id,
        PaymentAttempt.status == PaymentAttemptStatus.STARTED,
        PaymentAttempt.provider_ref.is_not(None),
    )
    session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.provider_ref.in_(refs.scalar_subquery()),
            PaymentAttempt.status == PaymentAttemptStatus.STARTED,
        )
        .values(status=PaymentAttemptStatus.FAILED, error="an order of this payment was cancelled")
        .execution_options(synchronize_session=False)
    )


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
    ).all()
    if not result:
        return PaymentOutcome("ignored")
    # A shared payment failed for all its orders at once.
    orders = [session.get_one(Order, order_id) for (order_id,) in sorted(result)]
    for order in orders:
        if order.status is OrderStatus.PENDING_PAYMENT:
            publish_order_event(session, order, "order.payment_failed", error=error[:200])
    return PaymentOutcome("failed_recorded", orders[0].public_id)


def record_refund(
    session: Session, order: Order, provider_ref: str, refund_ref: str, amount_fen: int
) -> None:
    # This order's attempt only: a payment shared by several orders is refunded share by share.
    session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.provider_ref == provider_ref, PaymentAttempt.order_id == order.id)
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


def refunds_due(session: Session, limit: int = 100) -> list[RefundDue]:
    """Money to send back: a cancelled or expired order whose payment attempt succeeded (for
    an order paid with others in one payment, its share)."""
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
