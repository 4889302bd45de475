"""One payment for several orders: a checkout for several days (a purchase) and a gift paid
online. As in shop.orders.flows, no transaction is open during a call to the provider: the
orders (and their holds) are committed first, the provider is called, its answer is recorded
in a second transaction; a success is applied by the same guarded service as the webhook's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import transaction, utcnow
from inventory.errors import SoldOut
from inventory.metrics import CHECKOUTS, SOLD_OUT_REFUSALS
from inventory.runtime import Runtime
from shop.orders import flows, payment_records, purchases
from shop.orders.models import Order, OrderStatus, PaymentAttempt, PaymentAttemptStatus
from shop.payments import PaymentError, get_provider

log = logging.getLogger("gaogan.orders")

# Loads the orders one payment is for, inside a transaction the flow opens.
OrdersOf = Callable[[Session], list[Order]]


@dataclass(frozen=True)
class PlacedPurchase:
    public_id: str
    access_token: str
    online: bool
    client_secret: str = ""


def _pending(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o.status is OrderStatus.PENDING_PAYMENT]


def start_group_payment(
    runtime: Runtime, group_ref: str, orders_of: OrdersOf, *, now: datetime | None = None
) -> str:
    """Start (or restart) one payment for the group's orders still waiting to be paid;
    returns the client secret. `group_ref` (the purchase's or gift's public id) names the
    payment at the provider and makes its idempotency key."""
    now = now or utcnow()
    with transaction(runtime.sessions) as session:
        orders = _pending(orders_of(session))
        number = payment_records.start_shared_attempt(
            session, orders, orders[0].payment_method if orders else "", now
        )
        ids = [o.id for o in orders]
        amount = sum(o.total_fen for o in orders)
        email, method = orders[0].contact_email, orders[0].payment_method

    def waiting(session: Session) -> list[Order]:
        return list(session.scalars(select(Order).where(Order.id.in_(ids))))

    provider = get_provider(runtime.settings, method)
    try:
        started = provider.start(
            amount_fen=amount, order_public_id=group_ref, attempt=number, email=email
        )
    except PaymentError as exc:
        with transaction(runtime.sessions) as session:
            payment_records.record_payment_start_failed(
                session, waiting(session), number, exc.message
            )
        raise
    with transaction(runtime.sessions) as session:
        payment_records.record_payment_started(
            session, waiting(session), number, started.provider_ref, started.client_secret
        )
    return started.client_secret


def sync_group_payment(runtime: Runtime, orders_of: OrdersOf, provider_ref: str) -> str:
    """Back from a wallet or the card form: ask the provider about this payment of the group
    and apply a success ("paid", "duplicate", "pending", "refund_due", "ignored")."""
    with runtime.sessions() as session:
        orders = orders_of(session)
        attempt = session.scalar(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.order_id.in_([o.id for o in orders]),
                PaymentAttempt.provider_ref == provider_ref,
            )
            .limit(1)
        )
        if attempt is None:
            return "ignored"  # not this group's payment: a link cannot settle another's
        if attempt.status is not PaymentAttemptStatus.STARTED:
            return "duplicate"
        method = next(o.payment_method for o in orders if o.id == attempt.order_id)
    status, amount = get_provider(runtime.settings, method).lookup(provider_ref=provider_ref)
    if status != "succeeded":
        return "pending"
    with transaction(runtime.sessions) as session:
        outcome = payment_records.apply_payment_succeeded(session, provider_ref, amount, utcnow())
    flows.refund_after_commit(runtime.sessions, runtime.settings, outcome.refunds())
    return outcome.outcome


def latest_group_attempt(session: Session, orders: list[Order]) -> PaymentAttempt | None:
    """The newest payment attempt of any of the group's orders (for the payment form)."""
    if not orders:
        return None
    return session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id.in_([o.id for o in orders]))
        .order_by(PaymentAttempt.number.desc(), PaymentAttempt.id.desc())
        .limit(1)
    )


def purchase_orders(public_id: str) -> OrdersOf:
    def load(session: Session) -> list[Order]:
        return purchases.orders_of(session, purchases.get_purchase(session, public_id))

    return load


def checkout_days(
    runtime: Runtime,
    request: purchases.PlacePurchase,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> PlacedPurchase:
    """Place every day's order (all or nothing), then start one payment for the total."""
    now = now or utcnow()
    try:
        with transaction(runtime.sessions) as session:
            purchase = purchases.place_purchase(
                session, request, settings=runtime.settings, now=now, user_id=user_id
            )
            placed = PlacedPurchase(
                purchase.public_id,
                purchase.access_token,
                any(
                    o.status is OrderStatus.PENDING_PAYMENT
                    for o in purchases.orders_of(session, purchase)
                ),
            )
    except purchases.DayRefused as exc:
        if isinstance(exc.cause, SoldOut):
            SOLD_OUT_REFUSALS.inc()
        raise
    CHECKOUTS.inc()
    if not placed.online:
        return placed
    try:
        secret = start_group_payment(
            runtime, placed.public_id, purchase_orders(placed.public_id), now=now
        )
    except PaymentError:
        # The orders and their holds stay: the purchase page offers another try.
        log.warning("payment start failed for purchase %s", placed.public_id, exc_info=True)
        return placed
    return PlacedPurchase(placed.public_id, placed.access_token, True, secret)
