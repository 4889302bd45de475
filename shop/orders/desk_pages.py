"""The order desk pages under /manager/orders: managers and counter staff.

Every write runs one use case of `shop.orders.desk` in its own transaction; a refund through
the payment provider is then issued after that commit (`desk_refunds.issue_refund`), never inside it.
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.errors import DomainError
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.i18n import current_language, translate, yuan
from shop.orders import aftercare, desk, desk_refunds
from shop.orders.desk_rules import CHANNELS, COUNTER_METHODS, MAX_QUERY, PAYMENT_STATES, STATUSES
from shop.refusals import Refused
from shop.runtime import clock_now, current_runtime, read, run
from shop.staff.rules import DESK_ROLES

bp = Blueprint("desk", __name__, url_prefix="/manager/orders")


def _user_id() -> int:
    user = current_user()
    if user is None:  # pragma: no cover - require_role ran first
        abort(401)
    return user.id


def _day(raw: str | None) -> date:
    if not raw:
        return local_day(clock_now())
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Refused("desk.err.bad_day", code="bad_day") from exc


def _fen(raw: str) -> int:
    """'12.5' yuan -> 1250 fen; refuses anything else."""
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise Refused("desk.err.bad_amount", code="bad_amount") from exc
    if not value.is_finite() or value <= 0 or value > 10_000_000 or value != round(value, 2):
        raise Refused("desk.err.bad_amount", code="bad_amount")
    return int(value * 100)


def _filter() -> desk.DeskFilter:
    args = request.args
    slot = args.get("slot", "")
    return desk.DeskFilter(
        day=_day(args.get("day")),
        pickup_point=args.get("pickup_point", "")[:40],
        slot_id=int(slot) if slot.isdigit() and len(slot) < 10 else None,
        channel=args.get("channel", "") if args.get("channel", "") in CHANNELS else "",
        status=args.get("status", "") if args.get("status", "") in STATUSES else "",
        payment=args.get("payment", "") if args.get("payment", "") in PAYMENT_STATES else "",
        q=args.get("q", "")[:MAX_QUERY],
    )


@bp.get("/")
@require_role(*DESK_ROLES)
def day_list() -> ResponseReturnValue:
    flt = _filter()
    return render_template(
        "desk/day.html",
        flt=flt,
        rows=read(desk.day_rows, flt),
        points=read(desk.pickup_point_choices),
        slots=read(desk.day_slots, flt.day),
        channels=CHANNELS,
        statuses=STATUSES,
        payments=PAYMENT_STATES,
        methods=COUNTER_METHODS,
        # Before the day the goods are not made: marking needs a reason (issue 10, item 5).
        day_is_future=flt.day > local_day(clock_now()),
    )


def _back(public_id: str) -> ResponseReturnValue:
    target = request.form.get("back", "")
    if target.startswith("/manager/orders") and "//" not in target:
        return redirect(target)
    return redirect(url_for("desk.order", public_id=public_id))


@bp.get("/<public_id>")
@require_role(*DESK_ROLES)
def order(public_id: str) -> ResponseReturnValue:
    view = read(desk.order_view, public_id[:40])
    return render_template(
        "desk/order.html",
        view=view,
        methods=COUNTER_METHODS,
        request_key=secrets.token_hex(12),
        # Before its day the goods are not made: marking it ready needs a reason (issue 10).
        order_is_future=view.day > local_day(clock_now()),
    )


@bp.post("/<public_id>/mark")
@require_role(*DESK_ROLES)
def mark(public_id: str) -> ResponseReturnValue:
    try:
        status = run(
            desk.mark_order,
            public_id[:40],
            request.form.get("target", ""),
            user_id=_user_id(),
            now=clock_now(),
            override_reason=request.form.get("override_reason", "").strip()[:200] or None,
        )
        flash(
            translate("desk.done.marked", number=public_id, status=translate(f"desk.st.{status}")),
            "ok",
        )
    except DomainError as exc:
        flash(exc.message, "error")
    return _back(public_id)


@bp.post("/<public_id>/paid")
@require_role(*DESK_ROLES)
def paid(public_id: str) -> ResponseReturnValue:
    try:
        payment = run(
            desk.take_payment,
            public_id[:40],
            method=request.form.get("method", ""),
            user_id=_user_id(),
            now=clock_now(),
        )
        flash(translate("desk.done.paid", amount=yuan(payment.amount_fen)), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return _back(public_id)


def _issue(refund_id: int | None) -> None:
    if refund_id is None:
        return
    runtime = current_runtime()
    desk_refunds.issue_refund(runtime.sessions, runtime.settings, refund_id)


@bp.post("/<public_id>/cancel")
@require_role(*DESK_ROLES)
def cancel(public_id: str) -> ResponseReturnValue:
    try:
        refund_id = run(
            desk_refunds.desk_cancel,
            public_id[:40],
            reason=request.form.get("reason", ""),
            user_id=_user_id(),
            now=clock_now(),
        )
        _issue(refund_id)
        flash(translate("desk.done.cancelled", number=public_id), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return _back(public_id)


@bp.post("/<public_id>/refund")
@require_role(*DESK_ROLES)
def refund(public_id: str) -> ResponseReturnValue:
    try:
        amount = _fen(request.form.get("amount", ""))
        refund = run(
            desk_refunds.request_refund,
            public_id[:40],
            amount_fen=amount,
            reason=request.form.get("reason", ""),
            request_key=request.form.get("request_key", ""),
            user_id=_user_id(),
            now=clock_now(),
        )
        _issue(refund.id)
        state = read(desk_refunds.refund_state, refund.id)
        flash(
            translate(
                "desk.done.refund", amount=yuan(amount), status=translate(f"desk.refund.{state}")
            ),
            "ok",
        )
    except DomainError as exc:
        flash(exc.message, "error")
    return _back(public_id)


@bp.post("/bookings/<int:booking_id>/mark")
@require_role(*DESK_ROLES)
def mark_booking(booking_id: int) -> ResponseReturnValue:
    try:
        status = run(desk.mark_booking, booking_id, request.form.get("action", ""), now=clock_now())
        flash(
            translate(
                "desk.done.marked", number=f"B{booking_id}", status=translate(f"desk.st.{status}")
            ),
            "ok",
        )
    except DomainError as exc:
        flash(exc.message, "error")
    target = request.form.get("back", "")
    if target.startswith("/manager/orders") and "//" not in target:
        return redirect(target)
    return redirect(url_for("desk.day_list"))


@bp.get("/<public_id>/ticket")
@require_role(*DESK_ROLES)
def ticket(public_id: str) -> ResponseReturnValue:
    view = read(desk.order_view, public_id[:40])
    # The label's keeping advice, dated from the order's steaming day (not from today).
    label = read(aftercare.order_label, view.row.number, current_runtime().settings)
    lang = current_language()
    return render_template(
        "desk/ticket.html",
        view=view,
        label_title=translate(
            "aftercare.label.title", lang, day=aftercare.label_day(label[0], lang)
        )
        if label
        else "",
        label_lines=aftercare.label_lines(label[1], lang) if label else [],
    )


@bp.get("/packing-list")
@require_role(*DESK_ROLES)
def packing() -> ResponseReturnValue:
    day = _day(request.args.get("day"))
    point = request.args.get("pickup_point", "")[:40]
    return render_template("desk/packing.html", packing=read(desk.packing_list, day, point))
