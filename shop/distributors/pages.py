"""Distributor portal pages (week view, standing orders, tokens, statement, pickup sheet) and
the manager's pickup board and peak page. Chinese by default, English with ?lang=en."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError, SoldOut
from inventory.rules import LOCAL_ZONE
from scheduling.cutoff import cutoff_for, is_past_cutoff
from scheduling.errors import SlotFull
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.slots import SlotRules
from shop.auth import current_user, require_role
from shop.confirm import confirmed
from shop.distributors import accounts, bookings, pickup, prices, quotas, tokens
from shop.distributors import standing as standing_orders
from shop.distributors.models import BookingStatus
from shop.distributors.week import week_view
from shop.i18n import translate
from shop.messages import localise
from shop.models import Role
from shop.runtime import current_runtime, read, run

portal = Blueprint("distributors", __name__, url_prefix="/distributor")
board = Blueprint("pickups", __name__, url_prefix="/manager/pickups")


def _rules() -> SlotRules:
    return SlotRules.from_settings(current_runtime().settings)


def _today() -> date:
    return utcnow().astimezone(LOCAL_ZONE).date()


def _distributor_id() -> int:
    user = current_user()
    if user is None or user.distributor_id is None:
        abort(403, description="this account is not linked to a distributor")
    return int(user.distributor_id)


def _day_arg(name: str = "day", default: date | None = None) -> date:
    raw = request.args.get(name) or request.form.get(name)
    if not raw:
        return default or _today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{name} must be a date YYYY-MM-DD")


def _cases_from_form(skus: list[str]) -> dict[str, int]:
    lines: dict[str, int] = {}
    for sku in skus:
        raw = request.form.get(f"cases_{sku}", "").strip()
        if not raw:
            continue
        try:
            lines[sku] = int(raw)
        except ValueError:
            raise DomainError(
                "cases must be a whole number", key="dist.error.cases_number", sku=sku
            ) from None
    return lines


def _flash_error(exc: DomainError) -> None:
    flash(localise(exc), "error")


# --- distributor portal ----------------------------------------------------------------------


@portal.get("/")
@require_role(Role.DISTRIBUTOR)
def week() -> ResponseReturnValue:
    distributor_id = _distributor_id()
    requested = _day_arg("week", _today())
    monday = requested - timedelta(days=requested.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    rules = _rules()
    now = utcnow()
    view = run(week_view, distributor_id, days, rules, today=_today())
    open_for_change = {day: not is_past_cutoff(day, now, rules.cutoff) for day in days}
    cutoffs = {day: cutoff_for(day, rules.cutoff) for day in days}
    return render_template(
        "distributors/week.html",
        distributor=view.distributor,
        prices=view.prices,
        days=days,
        by_day=view.by_day,
        slot_rows=view.slot_rows,
        all_slots=view.all_slots,
        closed=view.closed,
        closed_by_factory=view.closed_by_factory,
        open_for_change=open_for_change,
        cutoffs=cutoffs,
        standing=view.standing,
        upcoming=view.upcoming,
        skipped=view.skipped,
        prev_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        today=_today(),
        this_week=monday <= _today() < monday + timedelta(days=7),
        status=BookingStatus,
    )


def _back_to_week(day: date) -> ResponseReturnValue:
    return redirect(url_for("distributors.week", week=day.isoformat()))


@portal.post("/bookings")
@require_role(Role.DISTRIBUTOR)
def book() -> ResponseReturnValue:
    distributor_id = _distributor_id()
    day = _day_arg()
    try:
        lines = _cases_from_form(read(prices.price_skus, distributor_id))
        run(
            bookings.create_booking,
            _rules(),
            distributor_id=distributor_id,
            day=day,
            slot_id=int(request.form.get("slot_id", "0") or 0),
            lines=lines,
            now=utcnow(),
        )
        flash(translate("dist.flash.booked"), "ok")
    except (SlotFull, SoldOut) as exc:
        _flash_error(exc)
        if request.form.get("waitlist"):
            _join_waitlist(distributor_id, day, exc.code)
    except DomainError as exc:
        _flash_error(exc)
    return _back_to_week(day)


def _join_waitlist(distributor_id: int, day: date, reason: str) -> None:
    try:
        lines = _cases_from_form(read(prices.price_skus, distributor_id))
        slot_id = request.form.get("slot_id")
        run(
            bookings.join_waitlist,
            distributor_id=distributor_id,
            day=day,
            slot_id=int(slot_id) if slot_id else None,
            lines=lines,
            reason=reason,
        )
        flash(translate("dist.flash.waitlisted"), "warning")
    except DomainError as exc:
        _flash_error(exc)


@portal.post("/bookings/<int:booking_id>/change")
@require_role(Role.DISTRIBUTOR)
def change(booking_id: int) -> ResponseReturnValue:
    distributor_id = _distributor_id()
    day = _today()
    try:
        day = read(bookings.get_booking, distributor_id, booking_id).day
        lines = _cases_from_form(read(prices.price_skus, distributor_id))
        slot_id = request.form.get("slot_id")
        run(
            bookings.change_booking,
            _rules(),
            distributor_id=distributor_id,
            booking_id=booking_id,
            now=utcnow(),
            slot_id=int(slot_id) if slot_id else None,
            lines=lines or None,
        )
        flash(translate("dist.flash.changed"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return _back_to_week(day)


@portal.post("/bookings/<int:booking_id>/cancel")
@require_role(Role.DISTRIBUTOR)
def cancel(booking_id: int) -> ResponseReturnValue:
    distributor_id = _distributor_id()
    day = _day_arg("day", _today())
    if not confirmed():
        flash(translate("confirm.cancel_booking_needed"), "error")
        return _back_to_week(day)
    try:
        booking = run(
            bookings.cancel_booking,
            _rules(),
            distributor_id=distributor_id,
            booking_id=booking_id,
            now=utcnow(),
        )
        day = booking.day
        flash(translate("dist.flash.cancelled"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return _back_to_week(day)


@portal.get("/bookings/<int:booking_id>/sheet")
@require_role(Role.DISTRIBUTOR, Role.MANAGER)
def sheet(booking_id: int) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    scope = None if user.role is Role.MANAGER else _distributor_id()
    view = read(pickup.booking_sheet, scope, booking_id)
    return render_template(
        "distributors/sheet.html",
        booking=view.booking,
        distributor=view.distributor,
        slot=view.slot,
        names=view.names,
        total=view.total_fen,
    )


@portal.route("/standing", methods=["GET", "POST"])
@require_role(Role.DISTRIBUTOR)
def standing() -> ResponseReturnValue:
    distributor_id = _distributor_id()
    rules = _rules()
    if request.method == "POST":
        try:
            skus = read(prices.price_skus, distributor_id)
            weekday_lines: dict[int, dict[str, int]] = {}
            for weekday in range(7):
                for sku in skus:
                    raw = request.form.get(f"cases_{weekday}_{sku}", "").strip()
                    if raw:
                        weekday_lines.setdefault(weekday, {})[sku] = int(raw)
            order_id = request.form.get("order_id")
            run(
                standing_orders.save_standing_order,
                distributor_id=distributor_id,
                slot_time=datetime.strptime(request.form.get("slot_time", "06:00"), "%H:%M").time(),
                weekday_lines=weekday_lines,
                starts_on=_day_arg("starts_on", _today() + timedelta(days=1)),
                ends_on=date.fromisoformat(request.form["ends_on"])
                if request.form.get("ends_on")
                else None,
                standing_order_id=int(order_id) if order_id else None,
            )
            flash(translate("dist.flash.standing_saved"), "ok")
        except ValueError:
            flash(translate("dist.error.cases_number"), "error")
        except DomainError as exc:
            _flash_error(exc)
        return redirect(url_for("distributors.standing"))
    price_rows, orders = read(standing_orders.standing_overview, distributor_id)
    grids = {o.id: {(ln.weekday, ln.sku): ln.cases for ln in o.lines} for o in orders}
    slot_choices = [
        slot_rules.local_slot_label(a, b)[:5] for a, b in slot_rules.slot_times(_today(), rules)
    ]
    return render_template(
        "distributors/standing.html",
        prices=price_rows,
        orders=orders,
        grids=grids,
        slot_choices=slot_choices,
        tomorrow=_today() + timedelta(days=1),
    )


@portal.post("/standing/<int:order_id>/end")
@require_role(Role.DISTRIBUTOR)
def end_standing(order_id: int) -> ResponseReturnValue:
    try:
        run(standing_orders.end_standing_order, _distributor_id(), order_id)
        flash(translate("dist.flash.standing_ended"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("distributors.standing"))


@portal.post("/standing/<int:order_id>/skip")
@require_role(Role.DISTRIBUTOR)
def skip_standing(order_id: int) -> ResponseReturnValue:
    day = _day_arg()
    try:
        run(
            standing_orders.skip_occurrence,
            _rules(),
            distributor_id=_distributor_id(),
            order_id=order_id,
            day=day,
            now=utcnow(),
        )
        flash(translate("dist.flash.skipped"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return _back_to_week(day)


@portal.route("/tokens", methods=["GET", "POST"])
@require_role(Role.DISTRIBUTOR)
def api_tokens() -> ResponseReturnValue:
    distributor_id = _distributor_id()
    issued = None
    if request.method == "POST":
        try:
            issued = run(
                tokens.create_token,
                distributor_id,
                request.form.get("name", ""),
                max_per_hour=current_runtime().settings.token_creations_per_hour,
            )
        except DomainError as exc:
            _flash_error(exc)
    return render_template(
        "distributors/tokens.html",
        tokens=read(tokens.list_tokens, distributor_id),
        issued=issued,
        distributor=read(accounts.get_distributor, distributor_id),
    )


@portal.post("/tokens/<int:token_id>/revoke")
@require_role(Role.DISTRIBUTOR)
def revoke(token_id: int) -> ResponseReturnValue:
    try:
        run(tokens.revoke_token, _distributor_id(), token_id)
        flash(translate("dist.flash.revoked"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("distributors.api_tokens"))


@portal.route("/settings", methods=["GET", "POST"])
@require_role(Role.DISTRIBUTOR)
def settings() -> ResponseReturnValue:
    """The distributor's own settings: whether a short morning serves what was made."""
    distributor_id = _distributor_id()
    if request.method == "POST":
        run(
            accounts.set_part_delivery,
            distributor_id,
            request.form.get("accept_part_delivery") == "1",
            by=_signed_in_email(),
        )
        flash(translate("part.setting.saved"), "ok")
        return redirect(url_for("distributors.settings"))
    return render_template(
        "distributors/settings.html", distributor=read(accounts.get_distributor, distributor_id)
    )


@portal.get("/statement")
@require_role(Role.DISTRIBUTOR)
def statement() -> ResponseReturnValue:
    distributor_id = _distributor_id()
    raw = request.args.get("month") or _today().strftime("%Y-%m")
    try:
        year, month = (int(x) for x in raw.split("-"))
        date(year, month, 1)
    except ValueError:
        abort(400, description="month must be YYYY-MM")
    view = read(prices.statement_for, distributor_id, year, month)
    return render_template(
        "distributors/statement.html",
        distributor=view.distributor,
        lines=view.lines,
        month=f"{year:04d}-{month:02d}",
        total=view.total_fen,
    )


# --- manager: the pickup board ---------------------------------------------------------------


def _board_context(day: date) -> dict[str, Any]:
    grace = current_runtime().settings.no_show_grace_minutes
    view = read(pickup.board_view, day, now=utcnow(), grace_minutes=grace)
    return {
        "day": day,
        "rows": view.rows,
        "counts": view.counts,
        "waiting": view.waiting,
        "companies": view.companies,
        "status": BookingStatus,
        # Before the pickup day a hand-out needs a reason (issue 10): ask for it there.
        "early": day > _today(),
    }


@board.get("/")
@require_role(Role.MANAGER, Role.STAFF)
def pickup_board() -> ResponseReturnValue:
    day = _day_arg()
    return render_template(
        "distributors/board.html",
        prev_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
        **_board_context(day),
    )


@board.get("/rows")
@require_role(Role.MANAGER, Role.STAFF)
def board_rows() -> ResponseReturnValue:
    """The board's table alone: the page fetches it every 15 seconds."""
    return render_template("distributors/board_rows.html", **_board_context(_day_arg()))


def _signed_in_email() -> str:
    user = current_user()
    return user.email if user is not None else ""


def _board_action(booking_id: int, action: str) -> ResponseReturnValue:
    day = _day_arg()
    try:
        if action == "check_in":
            day = run(pickup.check_in, booking_id, now=utcnow()).day
        else:
            day = run(
                pickup.hand_out,
                booking_id,
                now=utcnow(),
                override_reason=request.form.get("override_reason"),
                by=_signed_in_email(),
            ).day
        flash(translate(f"dist.flash.{action}"), "ok")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("pickups.pickup_board", day=day.isoformat()))


@board.post("/<int:booking_id>/check-in")
@require_role(Role.MANAGER, Role.STAFF)
def board_check_in(booking_id: int) -> ResponseReturnValue:
    return _board_action(booking_id, "check_in")


@board.post("/<int:booking_id>/hand-out")
@require_role(Role.MANAGER, Role.STAFF)
def board_hand_out(booking_id: int) -> ResponseReturnValue:
    return _board_action(booking_id, "hand_out")


@board.post("/sweep")
@require_role(Role.MANAGER, Role.STAFF)
def board_sweep() -> ResponseReturnValue:
    grace = current_runtime().settings.no_show_grace_minutes
    refs = run(pickup.sweep_no_shows, utcnow(), grace_minutes=grace, rules=_rules())
    flash(translate("dist.flash.swept", count=len(refs)), "ok")
    return redirect(url_for("pickups.pickup_board", day=_day_arg().isoformat()))


@board.route("/peak", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def peak() -> ResponseReturnValue:
    day = _day_arg()
    if request.method == "POST":
        try:
            if request.form.get("distributor_id"):
                run(
                    quotas.set_quota,
                    day,
                    int(request.form["distributor_id"]),
                    request.form.get("sku", ""),
                    int(request.form.get("cases", "0") or 0),
                )
                count = 1
            else:
                count = len(run(quotas.apply_quotas, day))
            flash(translate("dist.flash.quotas", count=count), "ok")
        except ValueError:
            flash(translate("dist.error.cases_number"), "error")
        except DomainError as exc:
            _flash_error(exc)
        return redirect(url_for("pickups.peak", day=day.isoformat()))
    view = read(quotas.peak_view, day)
    return render_template(
        "distributors/peak.html",
        day=day,
        demand=view.demand,
        quotas=view.quotas,
        distributors=view.distributors,
        waiting=view.waiting,
        companies=view.companies,
    )


@board.route("/distributors", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def distributor_accounts() -> ResponseReturnValue:
    """Accounts at a glance: contacts, price list, no-shows, webhook URL (editable here)."""
    if request.method == "POST":
        try:
            run(
                accounts.set_webhook,
                int(request.form.get("distributor_id", "0") or 0),
                request.form.get("webhook_url", ""),
            )
            flash(translate("dist.flash.webhook_saved"), "ok")
        except DomainError as exc:
            _flash_error(exc)
        return redirect(url_for("pickups.distributor_accounts"))
    view = read(prices.price_lists)
    return render_template(
        "distributors/accounts.html", distributors=view.distributors, prices=view.by_distributor
    )


def init_pages(app: Flask) -> None:
    app.register_blueprint(portal)
    app.register_blueprint(board)
