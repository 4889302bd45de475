"""The purchase page of a checkout for several days: every day's order with its link and
status, and the one payment for all of them (Stripe's Payment Element for cards, Alipay and
WeChat Pay; nothing to pay for pay at pickup). Reached by its own link (a bearer secret, like
an order's status link) or, signed in, from the account page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.auth import current_user
from shop.i18n import translate
from shop.messages import localise
from shop.models import Role
from shop.orders import group_flows, purchases
from shop.orders.models import Order, OrderStatus
from shop.orders.rules import OrderNotFound, hold_remaining_seconds
from shop.payments import PaymentError
from shop.runtime import current_runtime, read

bp = Blueprint("purchases", __name__)
log = logging.getLogger("gaogan.payments")


def payment_context(
    settings: Settings, orders: list[Order], attempt: Any, *, pay_url: str, return_url: str
) -> dict[str, Any]:
    """What the shared payment box (`store/_group_payment.html`) shows for a group's orders
    still waiting to be paid."""
    pending = [o for o in orders if o.status is OrderStatus.PENDING_PAYMENT]
    now = utcnow()
    return {
        "pending_total": sum(o.total_fen for o in pending),
        "hold_seconds": min(
            (hold_remaining_seconds(o.hold_expires_at, now) for o in pending), default=0
        ),
        "attempt": attempt,
        "publishable_key": settings.stripe_publishable_key,
        "stripe_js": (settings.stripe_api_base.rstrip("/") + "/js.stripe.com/v3/")
        if settings.stripe_api_base
        else "https://js.stripe.com/v3/",
        "pay_url": pay_url,
        "return_url": return_url,
    }


def _latest(session: Session, orders: list[Order]) -> Any:
    return group_flows.latest_group_attempt(
        session, [o for o in orders if o.status is OrderStatus.PENDING_PAYMENT]
    )


@bp.get("/purchase/<public_id>/<token>")
def purchase_page(public_id: str, token: str) -> ResponseReturnValue:
    view = read(purchases.purchase_view, public_id, token)
    attempt = read(_latest, view.orders)
    return render_template(
        "store/purchase.html",
        purchase=view.purchase,
        orders=view.orders,
        **payment_context(
            current_runtime().settings,
            view.orders,
            attempt,
            pay_url=url_for("purchases.purchase_pay", public_id=public_id, token=token),
            return_url=url_for(
                "purchases.purchase_return", public_id=public_id, token=token, _external=True
            ),
        ),
    )


@bp.post("/purchase/<public_id>/<token>/pay")
def purchase_pay(public_id: str, token: str) -> ResponseReturnValue:
    view = read(purchases.purchase_view, public_id, token)
    try:
        group_flows.start_group_payment(
            current_runtime(),
            view.purchase.public_id,
            group_flows.purchase_orders(view.purchase.public_id),
        )
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("purchases.purchase_page", public_id=public_id, token=token))


@bp.get("/purchase/<public_id>/<token>/return")
def purchase_return(public_id: str, token: str) -> ResponseReturnValue:
    """Back from Alipay, WeChat Pay or the card form: settle it now if Stripe says paid."""
    view = read(purchases.purchase_view, public_id, token)
    ref = request.args.get("payment_intent", "")[:80]
    if ref:
        try:
            outcome = group_flows.sync_group_payment(
                current_runtime(), group_flows.purchase_orders(view.purchase.public_id), ref
            )
        except PaymentError:
            log.warning("payment check failed for %s", public_id, exc_info=True)
            outcome = "pending"
        if outcome == "pending" and request.args.get("redirect_status") == "failed":
            flash(translate("wallet.return.failed"), "warning")
        elif outcome == "pending":
            flash(translate("wallet.return.pending"), "ok")
    return redirect(url_for("purchases.purchase_page", public_id=public_id, token=token))


@bp.get("/purchases/<public_id>")
def owned_purchase(public_id: str) -> ResponseReturnValue:
    """From the account page: the owner (or a manager) is sent on to the purchase's link."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.signin", next=request.full_path))
    try:
        view = read(purchases.owned_purchase_view, public_id, user.id, user.role is Role.MANAGER)
    except OrderNotFound:
        abort(404)
    return redirect(
        url_for(
            "purchases.purchase_page",
            public_id=view.purchase.public_id,
            token=view.purchase.access_token,
        )
    )


@bp.after_request
def _keep_links_private(response: Any) -> Any:
    # The purchase link is a bearer secret, as the order status link.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
