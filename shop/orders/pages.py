"""The customer storefront: catalogue, product pages with an availability calendar, cart,
checkout, the order status page and cancellation.

Everything is server-rendered and works without JavaScript; the only script is the Stripe
Payment Element (when keys are set) and a countdown of the stock hold.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from shop.auth import current_user
from shop.confirm import confirmed
from shop.i18n import catalogue as messages
from shop.i18n import current_language, translate
from shop.messages import localise
from shop.models import Role
from shop.orders import (
    addresses,
    aftercare,
    cart,
    checkout_forms,
    flows,
    group_flows,
    part_delivery,
    payment_records,
    pickup_code,
    queries,
    season,
    services,
)
from shop.orders.models import Fulfilment, Order, OrderStatus
from shop.orders.rules import (
    CALENDAR_DAYS,
    LineRequest,
    OrderNotFound,
    check_lines,
    hold_remaining_seconds,
)
from shop.payments import available_methods
from shop.runtime import current_runtime, read, run

bp = Blueprint("store", __name__)
CART = "cart"


def explain(exc: DomainError) -> str:
    """The refusal in the page's language: the storefront's own wording when it has one."""
    key = f"store.error.{exc.code}"
    if exc.key is None and key in messages():
        try:
            return translate(key, **{k: v for k, v in exc.details.items() if k != "lines"})
        except (KeyError, IndexError):
            return localise(exc)
    return localise(exc)


def _cart() -> cart.Days:
    return cart.days_of(session.get(CART))


def _parse_day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise DomainError("choose a day on the calendar", key="msg.cart.day", field="day") from None


def _parse_quantity(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise DomainError(
            "quantity must be a whole number", key="msg.cart.quantity", field="quantity"
        ) from None


@bp.get("/")
def catalogue() -> ResponseReturnValue:
    products, days = read(
        queries.catalogue_calendars, settings=current_runtime().settings, now=utcnow(), days=14
    )
    return render_template("store/catalogue.html", products=products, calendars=days)


@bp.get("/products/<sku>")
def product(sku: str) -> ResponseReturnValue:
    runtime = current_runtime()
    now = utcnow()
    chosen = request.args.get("day") or next(iter(_cart()), None)
    start = season.requested_start(
        request.args.get("from"), season.parse_day(chosen), now, CALENDAR_DAYS
    )
    page = read(queries.product_days, sku, settings=runtime.settings, now=now, start=start)
    return render_template(
        "store/product.html",
        product=page.product,
        days=page.days,
        cutoff=runtime.settings.order_cutoff.strftime("%H:%M"),
        chosen=chosen,
        extras=season.calendar_extras(page.days, season.parse_day(chosen), start, now),
    )


@bp.post("/cart/add")
def cart_add() -> ResponseReturnValue:
    sku = request.form.get("sku", "")
    try:
        quantity = _parse_quantity(request.form.get("quantity"))
        day = _parse_day(request.form.get("day"))
        check_lines([LineRequest(sku, quantity)])
    except DomainError as exc:
        # Back to the form with the reason, not a bare error page (issue 10: 501 pieces).
        flash(localise(exc), "error")
        return redirect(url_for("store.product", sku=sku) if sku else url_for("store.catalogue"))
    page = read(
        queries.product_days,
        sku,
        settings=current_runtime().settings,
        now=utcnow(),
        start=day,
        days=1,
    )
    states = {s.day: s for s in page.days}
    state = states.get(day)
    if state is None or state.state != "open":
        reason = translate(f"store.day.{state.state}") if state else day.isoformat()
        flash(translate("store.cart.day_gone", reason=reason), "error")
        # A sold-out day: the product page names the next open day and offers it.
        return redirect(url_for("store.product", sku=sku, day=day.isoformat()))
    try:
        # Another day beside the ones already in the cart is welcome: one checkout places an
        # order per day (shop.orders.purchases).
        session[CART] = cart.stored(cart.add(_cart(), day, sku, quantity))
    except DomainError as exc:
        flash(localise(exc), "error")
        return redirect(url_for("store.cart_view"))
    flash(translate("store.cart.added"), "ok")
    return redirect(url_for("store.cart_view"))


def _cart_days() -> tuple[list[dict[str, Any]], int]:
    """The cart by day: [{"day", "rows", "total"}], and the total of all days."""
    groups: list[dict[str, Any]] = []
    products = read(services.shop_products)
    for day, lines in _cart().items():
        rows: list[dict[str, Any]] = []
        for sku, quantity in lines.items():
            item = products.get(sku)
            if item is None:
                continue
            rows.append(
                {"product": item, "quantity": quantity, "total": (item.price_fen or 0) * quantity}
            )
        if rows:
            groups.append(
                {
                    "day": date.fromisoformat(day),
                    "key": day,
                    "rows": rows,
                    "total": sum(r["total"] for r in rows),
                }
            )
    return groups, sum(g["total"] for g in groups)


@bp.get("/cart")
def cart_view() -> ResponseReturnValue:
    days, total = _cart_days()
    return render_template("store/cart.html", days=days, total=total)


@bp.post("/cart/update")
def cart_update() -> ResponseReturnValue:
    days = _cart()
    wanted: dict[tuple[str, str], int] = {}
    try:
        for day, lines in days.items():
            for sku in lines:
                raw = request.form.get(f"qty_{day}_{sku}")
                if raw is not None:
                    wanted[(day, sku)] = _parse_quantity(raw)
        session[CART] = cart.stored(cart.with_quantities(days, wanted))
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("store.cart_view"))


@bp.post("/cart/clear")
def cart_clear() -> ResponseReturnValue:
    session.pop(CART, None)
    return redirect(url_for("store.cart_view"))


def _checkout_context(form: dict[str, str] | None = None) -> dict[str, Any]:
    runtime = current_runtime()
    points, zones = run(services.checkout_locations)
    user = current_user()
    book = read(addresses.addresses_of, user.id) if user else []
    default = next((a for a in book if a.is_default), None)
    defaults = {
        "name": user.name if user else "",
        "mobile": user.mobile if user else "",
        "email": user.email if user else "",
        "fulfilment": "pickup",
        "pickup_point": points[0].code if points else "",
        "delivery_zone": default.zone.code if default else "",
        "delivery_address": default.address if default else "",
        "address_id": str(default.id) if default else "",
        "payment_method": available_methods(runtime.settings)[-1],
        "notify_channel": "mail",
        "season_reminders": "",  # opting in is a box the customer ticks, never a default
        # The account's standing answer, changeable for this order; recorded on the order.
        "accept_part_delivery": "1" if user and user.accept_part_delivery else "",
    }
    defaults.update(form or {})
    days, total = _cart_days()
    return {
        "days": days,
        "total": total,
        "points": points,
        "zones": zones,
        "book": book,
        "methods": available_methods(runtime.settings),
        # Pay at pickup cannot pay for a delivery: without another provider (Stripe today) a
        # delivery could never be completed, so it is not offered at all (issue 10).
        "delivery_possible": any(m != "pay_at_pickup" for m in available_methods(runtime.settings)),
        "form": defaults,
        "hold_minutes": runtime.settings.hold_minutes,
    }


@bp.get("/checkout")
def checkout_form() -> ResponseReturnValue:
    if not _cart():
        return redirect(url_for("store.cart_view"))
    return render_template("store/checkout.html", **_checkout_context())


@bp.post("/checkout")
def checkout_submit() -> ResponseReturnValue:
    days = _cart()
    if not days:
        return redirect(url_for("store.cart_view"))
    form = {k: request.form.get(k, "") for k in checkout_forms.FIELDS}
    user = current_user()
    runtime = current_runtime()
    try:
        # A delivery to an address-book entry takes its zone, address, recipient and phone.
        form = checkout_forms.with_address(form, user.id if user else None)
        if len(days) > 1:
            bought = group_flows.checkout_days(
                runtime,
                checkout_forms.purchase_request(
                    checkout_forms.cart_days(days), form, current_language()
                ),
                user_id=user.id if user else None,
            )
            session.pop(CART, None)
            if not bought.online:
                flash(translate("store.status.thanks"), "ok")
            return redirect(
                url_for(
                    "purchases.purchase_page",
                    public_id=bought.public_id,
                    token=bought.access_token,
                )
            )
        place = checkout_forms.order_request(days, form, current_language())
        placed = flows.checkout(runtime, place, user_id=user.id if user else None)
    except DomainError as exc:
        flash(translate("store.checkout.failed", reason=explain(exc)), "error")
        return render_template("store/checkout.html", **_checkout_context(form)), exc.status
    session.pop(CART, None)
    if placed.status == OrderStatus.CONFIRMED.value:
        flash(translate("store.status.thanks"), "ok")
    return redirect(url_for("store.track", public_id=placed.public_id, token=placed.access_token))


def _render_status(order: Order, *, token: str | None) -> ResponseReturnValue:
    runtime = current_runtime()
    now = utcnow()
    attempt = read(payment_records.latest_attempt, order)
    advice = read(aftercare.order_advice, order, runtime.settings, now)
    arrival = None
    if order.fulfilment is Fulfilment.DELIVERY and order.delivery_zone is not None:
        arrival = order.day + timedelta(days=order.delivery_zone.transit_days)
    cancellable = (
        order.status in {OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.CONFIRMED}
        and now < order.cutoff_at
    )
    if token:
        cancel_url = url_for("store.track_cancel", public_id=order.public_id, token=token)
        pay_url = url_for("store.track_pay", public_id=order.public_id, token=token)
    else:
        cancel_url = url_for("store.order_cancel", public_id=order.public_id)
        pay_url = ""
    return render_template(
        "store/status.html",
        order=order,
        part=read(part_delivery.part_view, order),
        pickup=pickup_code.pickup_card(order, runtime.settings),
        advice=advice,
        attempt=attempt,
        arrival=arrival,
        cancellable=cancellable,
        cancel_url=cancel_url,
        pay_url=pay_url,
        hold_seconds=hold_remaining_seconds(order.hold_expires_at, now)
        if order.status is OrderStatus.PENDING_PAYMENT
        else 0,
        publishable_key=runtime.settings.stripe_publishable_key,
        stripe_js=(runtime.settings.stripe_api_base.rstrip("/") + "/js.stripe.com/v3/")
        if runtime.settings.stripe_api_base
        else "https://js.stripe.com/v3/",
        # Wallets come back here (Alipay's redirect, WeChat Pay after the QR scan): the return
        # page checks the payment with Stripe before showing the status.
        return_url=url_for(
            "payreturn.track_return", public_id=order.public_id, token=token, _external=True
        )
        if token
        else request.url,
    )


def _order_by_link(public_id: str, token: str) -> Order:
    return read(services.get_order_by_link, public_id, token)


def _order_for_user(public_id: str) -> Order:
    """The order if the signed-in user owns it (or is a manager); 404 otherwise, so that
    another customer cannot even learn that the id exists."""
    user = current_user()
    if user is None:
        abort(401)
    try:
        order = read(services.get_order, public_id)
    except OrderNotFound:
        abort(404)
    if order.user_id != user.id and user.role is not Role.MANAGER:
        abort(404)
    return order


@bp.after_request
def _keep_status_links_private(response: Response) -> Response:
    # The status link is a bearer secret: never leak it in a Referer header or a shared cache.
    if request.endpoint and request.endpoint.startswith(("store.track", "store.order")):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/track/<public_id>/<token>")
def track(public_id: str, token: str) -> ResponseReturnValue:
    order = _order_by_link(public_id, token)
    if order.gift_id is not None:
        # A gift recipient's link never shows what the gift cost.
        return redirect(url_for("gifts.recipient_page", public_id=public_id, token=token))
    return _render_status(order, token=token)


@bp.post("/track/<public_id>/<token>/cancel")
def track_cancel(public_id: str, token: str) -> ResponseReturnValue:
    order = _order_by_link(public_id, token)
    if not confirmed():
        flash(translate("confirm.cancel_order_needed"), "error")
        return redirect(url_for("store.track", public_id=public_id, token=token))
    flows.cancel(current_runtime(), order.public_id, reason="cancelled by the customer")
    flash(translate("store.status.cancelled"), "ok")
    return redirect(url_for("store.track", public_id=public_id, token=token))


@bp.post("/track/<public_id>/<token>/pay")
def track_pay(public_id: str, token: str) -> ResponseReturnValue:
    order = _order_by_link(public_id, token)
    try:
        flows.start_payment(current_runtime(), order.public_id)
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("store.track", public_id=public_id, token=token))


@bp.get("/orders/<public_id>")
def order_page(public_id: str) -> ResponseReturnValue:
    if current_user() is None:
        return redirect(url_for("accounts.signin", next=request.full_path))
    return _render_status(_order_for_user(public_id), token=None)


@bp.post("/orders/<public_id>/cancel")
def order_cancel(public_id: str) -> ResponseReturnValue:
    order = _order_for_user(public_id)
    if not confirmed():
        flash(translate("confirm.cancel_order_needed"), "error")
        return redirect(url_for("store.order_page", public_id=public_id))
    flows.cancel(current_runtime(), order.public_id, reason="cancelled by the customer")
    flash(translate("store.status.cancelled"), "ok")
    return redirect(url_for("store.order_page", public_id=public_id))
