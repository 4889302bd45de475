"""Back from a wallet: Alipay redirects the customer to our return URL, and Stripe.js does the
same after a WeChat Pay QR code is scanned. The page asks Stripe how the payment stands and
applies a success at once, so the customer sees "paid" even when the webhook is late.

Paid once, whatever the order of arrival: the success is applied by the same guarded service
as the webhook's (`apply_payment_succeeded`), which moves the attempt started -> succeeded
once; a webhook that comes after (or twice) finds it done and is a duplicate, and one that
came before leaves nothing for the return to do.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from inventory.db import transaction, utcnow
from inventory.runtime import Runtime
from shop.i18n import translate
from shop.orders import flows, payment_records, services
from shop.orders.models import PaymentAttempt, PaymentAttemptStatus
from shop.payments import PaymentError, get_provider
from shop.runtime import current_runtime, read

bp = Blueprint("payreturn", __name__)
log = logging.getLogger("gaogan.payments")


def sync_payment(runtime: Runtime, public_id: str, provider_ref: str) -> str:
    """Ask the provider about one attempt of this order and apply a success; returns the
    outcome ("paid", "duplicate", "pending", "refund_due", "ignored")."""
    with runtime.sessions() as session:
        order = services.get_order(session, public_id)
        attempt = session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id, PaymentAttempt.provider_ref == provider_ref
            )
        )
        if attempt is None:
            return "ignored"  # not this order's payment: a link cannot settle another's
        if attempt.status is not PaymentAttemptStatus.STARTED:
            return "duplicate"  # the webhook (or an earlier return) has settled it already
        method = order.payment_method
    # No transaction is open across the call to the provider.
    status, amount = get_provider(runtime.settings, method).lookup(provider_ref=provider_ref)
    if status != "succeeded":
        return "pending"
    with transaction(runtime.sessions) as session:
        outcome = payment_records.apply_payment_succeeded(session, provider_ref, amount, utcnow())
    flows.refund_after_commit(runtime.sessions, runtime.settings, outcome.refunds())
    return outcome.outcome


@bp.get("/track/<public_id>/<token>/return")
def track_return(public_id: str, token: str) -> ResponseReturnValue:
    order = read(services.get_order_by_link, public_id, token)
    ref = request.args.get("payment_intent", "")[:80]
    if ref:
        try:
            outcome = sync_payment(current_runtime(), order.public_id, ref)
        except PaymentError:
            log.warning("payment check failed for %s", order.public_id, exc_info=True)
            outcome = "pending"
        if outcome == "pending" and request.args.get("redirect_status") == "failed":
            flash(translate("wallet.return.failed"), "warning")
        elif outcome == "pending":
            flash(translate("wallet.return.pending"), "ok")
    return redirect(url_for("store.track", public_id=public_id, token=token))


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
