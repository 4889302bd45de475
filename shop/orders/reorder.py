"""Reorder from history: an earlier order's lines go back into the cart for the first day on
which every one of them can be had again (the customer can change the day on the product page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from flask import Blueprint, Flask, abort, flash, redirect, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.runtime import Runtime
from shop.auth import current_user
from shop.i18n import translate
from shop.models import Role
from shop.orders import cart, order_calendar, services
from shop.orders.rules import DayState, OrderNotFound
from shop.runtime import current_runtime, read

bp = Blueprint("reorder", __name__)
CART = "cart"  # the storefront's session cart (shop.orders.cart)


def first_day_for(
    wanted: Mapping[str, int], calendars: Mapping[str, Sequence[DayState]]
) -> date | None:
    """The first day open for every SKU with at least the wanted quantity left."""
    if not wanted or any(sku not in calendars for sku in wanted):
        return None
    days = [d.day for d in calendars[next(iter(wanted))]]
    by_sku = {sku: {d.day: d for d in calendars[sku]} for sku in wanted}
    for day in days:
        if all(
            (state := by_sku[sku].get(day)) is not None
            and state.state == "open"
            and state.available >= quantity
            for sku, quantity in wanted.items()
        ):
            return day
    return None


def _plan(
    db: Session, public_id: str, user_id: int, manager: bool
) -> tuple[dict[str, int], date | None]:
    order = services.get_order(db, public_id)
    if order.user_id != user_id and not manager:
        raise OrderNotFound("no such order", public_id=public_id)
    wanted: dict[str, int] = {}
    for line in order.lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    active = services.shop_products(db)
    wanted = {sku: q for sku, q in wanted.items() if sku in active}
    calendars = order_calendar.calendars(
        db, list(wanted), settings=current_runtime().settings, now=utcnow()
    )
    return wanted, first_day_for(wanted, calendars)


@bp.post("/orders/<public_id>/reorder")
def reorder(public_id: str) -> ResponseReturnValue:
    user = current_user()
    if user is None:
        abort(401)
    try:
        wanted, day = read(_plan, public_id, user.id, user.role is Role.MANAGER)
    except OrderNotFound:
        abort(404)
    if day is None:
        flash(translate("reorder.none"), "warning")
        return redirect(url_for("accounts.account"))
    # The reordered lines replace the cart, as one day.
    session[CART] = cart.stored({day.isoformat(): wanted})
    flash(translate("reorder.done", day=day.isoformat()), "ok")
    return redirect(url_for("store.cart_view"))


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
