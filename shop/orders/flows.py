"""What the web layer calls: short transactions around each call to a payment provider.

The database is never locked across a network call: place the order (hold committed), call
the provider, then record its answer in a second transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.errors import DomainError, SoldOut
from inventory.metrics import CHECKOUTS, SOLD_OUT_REFUSALS
from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.orders import desk_refunds, payment_records, placing, reminders, services
from shop.orders.models import Order, OrderStatus, ProcessedWebhookEvent
from shop.payments import PaymentError, get_provider

log = logging.getLogger("gaogan.orders")


@dataclass(frozen=True)
class Placed:
    public_id: str
    access_token: str
    status: str
    client_secret: str = ""


def start_payment(runtime: Runtime, public_id: str, *, now: datetime | None = None) -> str:
    """Start (or restart) the online payment of a pending order; returns the client secret."""
    now = now or utcnow()
    with transaction(runtime.sessions) as session:
        order = services.get_order(session, public_id)
        number = payment_records.start_payment_attempt(session, order, order.payment_method, now)
        amount, email = order.total_fen, order.contact_email
        method = order.payment_method
    provider = get_provider(runtime.settings, method)
    try:
        started = provider.start(
            amount_fen=amount, order_public_id=public_id, attempt=number, email=email
        )
    except PaymentError as exc:
        with transaction(runtime.sessions) as session:
            order = services.get_order(session, public_id)
            payment_records.record_payment_start_failed(session, order, number, exc.message)
        raise
    with transaction(runtime.sessions) as session:
        order = services.get_order(session, public_id)
        payment_records.record_payment_started(
            session, order, number, started.provider_ref, started.client_secret
        )
    return started.client_secret


def checkout(
    runtime: Runtime,
    request: placing.PlaceOrder,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> Placed:
    now = now or utcnow()
    try:
        with transaction(runtime.sessions) as session:
            order = services.place_order(
                session, request, settings=runtime.settings, now=now, user_id=user_id
            )
            if request.season_reminders:
                # In the order's transaction: the box counts only if the order does.
                reminders.opt_in_from_checkout(session, order, user_id, now)
            placed = Placed(order.public_id, order.access_token, order.status.value)
    except SoldOut:
        SOLD_OUT_REFUSALS.inc()
        raise
    CHECKOUTS.inc()  # after the commit: a rolled-back order was not placed
    if placed.status != OrderStatus.PENDING_PAYMENT.value:
        return placed
    try:
        secret = start_payment(runtime, placed.public_id, now=now)
    except PaymentError:
        # The order and its hold stay: the payment page offers another try until it lapses.
        log.warning("payment start failed for order %s", placed.public_id, exc_info=True)
        return placed
    return Placed(placed.public_id, placed.access_token, placed.status, secret)


def _refund(runtime: Runtime, public_id: str, provider_ref: str, amount_fen: int) -> None:
    refund_order(runtime.sessions, runtime.settings, public_id, provider_ref, amount_fen)


def refund_order(
    sessions: sessionmaker[Session],
    settings: Settings,
    public_id: str,
    provider_ref: str,
    amount_fen: int,
) -> None:
    """Send the money back (no transaction open during the call) and record it.

    The provider's idempotency key is derived from the order, so a refund retried after a
    crash, or issued by the sweep and a cancel at once, goes out once.
    """
    with sessions() as session:
        method = services.get_order(session, public_id).payment_method
    refund_ref = get_provider(settings, method).refund(
        provider_ref=provider_ref, amount_fen=amount_fen, order_public_id=public_id
    )
    with transaction(sessions) as session:
        order = services.get_order(session, public_id)
        payment_records.record_refund(session, order, provider_ref, refund_ref, amount_fen)


def issue_due_refunds(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """Refund every cancelled or expired order whose payment went through (orders cancelled
    by a production shortfall, refunds that failed before), and the part of a payment a
    production shortfall did not serve (part delivery: a desk refund row the shop itself
    asked for, sent with that row's own provider key). Returns the public ids refunded; one
    that fails stays due for the next run."""
    with sessions() as session:
        due = payment_records.refunds_due(session)
        parts = desk_refunds.shop_refunds_due(session)
    done: list[str] = []
    for refund_id, public_id in parts:
        if desk_refunds.issue_refund(sessions, settings, refund_id):
            done.append(public_id)
    for refund in due:
        try:
            refund_order(
                sessions, settings, refund.public_id, refund.provider_ref, refund.amount_fen
            )
        except DomainError:
            log.error("refund failed for order %s", refund.public_id, exc_info=True)
            continue
        done.append(refund.public_id)
    return done


def cancel(runtime: Runtime, public_id: str, *, reason: str, now: datetime | None = None) -> str:
    """Cancel before the cut-off; a paid order is refunded after the stock is freed."""
    now = now or utcnow()
    with transaction(runtime.sessions) as session:
        order = services.get_order(session, public_id)
        attempt = services.cancel_order(
            session, order, settings=runtime.settings, now=now, reason=reason
        )
        to_refund = (attempt.provider_ref, attempt.amount_fen) if attempt else None
        status = order.status.value
    if to_refund and to_refund[0]:
        try:
            _refund(runtime, public_id, to_refund[0], to_refund[1])
            status = OrderStatus.REFUNDED.value
        except PaymentError:
            # Stays cancelled (stock freed); the refund is retried by staff from the console.
            log.error("refund failed for cancelled order %s", public_id, exc_info=True)
    return status


def handle_stripe_event(runtime: Runtime, event: dict[str, Any]) -> str:
    """Apply one verified Stripe event, once. Returns what happened (for logs and tests)."""
    event_id = str(event.get("id", ""))
    event_type = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    now = utcnow()
    refunds: list[payment_records.RefundDue] = []
    try:
        with transaction(runtime.sessions) as session:
            # Inserted first so a concurrent redelivery waits on this row, then conflicts.
            record = ProcessedWebhookEvent(
                provider="stripe", event_id=event_id, type=event_type, payload={"type": event_type}
            )
            session.add(record)
            session.flush()
            if event_type == "payment_intent.succeeded":
                outcome = payment_records.apply_payment_succeeded(
                    session,
                    str(obj.get("id", "")),
                    int(obj.get("amount_received") or obj.get("amount") or 0),
                    now,
                )
                refunds = outcome.refunds()
            elif event_type == "payment_intent.payment_failed":
                error = (obj.get("last_payment_error") or {}).get("message") or "payment failed"
                outcome = payment_records.apply_payment_failed(
                    session, str(obj.get("id", "")), str(error)
                )
            else:
                outcome = payment_records.PaymentOutcome("ignored")
            record.outcome = outcome.outcome
    except IntegrityError:
        return "duplicate"
    refund_after_commit(runtime.sessions, runtime.settings, refunds)
    return outcome.outcome


def refund_after_commit(
    sessions: sessionmaker[Session],
    settings: Settings,
    refunds: list[payment_records.RefundDue],
) -> None:
    """Send back what a payment outcome owes (a late payment, the share of an order that
    expired meanwhile); one that fails is left to the refund job (`refunds_due`)."""
    for refund in refunds:
        try:
            refund_order(
                sessions, settings, refund.public_id, refund.provider_ref, refund.amount_fen
            )
        except PaymentError:
            log.error("refund failed for %s", refund.public_id, exc_info=True)


def already_processed(runtime: Runtime, event_id: str) -> bool:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(ProcessedWebhookEvent.id).where(
                    ProcessedWebhookEvent.provider == "stripe",
                    ProcessedWebhookEvent.event_id == event_id,
                )
            )
            is not None
        )


def order_status(runtime: Runtime, public_id: str) -> str:
    with runtime.sessions() as session:
        return session.scalar(select(Order.status).where(Order.public_id == public_id)) or ""
