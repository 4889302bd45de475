"""Stock and purchasing pages under /manager/stock (managers only).

People weigh rice and sugar in kilograms; the ledger counts grams. Packaging is counted in
pieces on both sides.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.i18n import translate
from shop.models import Role
from shop.refusals import Refused
from shop.runtime import current_runtime, read, run
from shop.stock import services
from shop.stock.rules import parse_moisture

bp = Blueprint("stock", __name__, url_prefix="/manager/stock")


def _uid() -> int:
    user = current_user()
    if user is None:  # pragma: no cover - require_role ran first
        abort(401)
    return user.id


def _today() -> date:
    return local_day(utcnow())


def _harvest() -> int:
    return current_runtime().settings.harvest_month


def base_units(text: str, unit: str) -> int:
    """'500' kg -> 500000 g; '2000' pieces -> 2000. Refuses anything else (Refused)."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation as exc:
        raise Refused("stock.err.number", code="bad_number") from exc
    if not value.is_finite() or abs(value) > 10_000_000:
        raise Refused("stock.err.number", code="bad_number")
    amount = value * 1000 if unit == "g" else value
    if amount != amount.to_integral_value():
        raise Refused("stock.err.number", code="bad_number")
    return int(amount)


def _fen(text: str) -> int:
    """'3.85' yuan -> 385 fen."""
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation as exc:
        raise Refused("stock.err.number", code="bad_number") from exc
    if not value.is_finite() or value < 0 or value > 10**9 or value != value.to_integral_value():
        raise Refused("stock.err.number", code="bad_number")
    return int(value)


def _optional_int(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 4:
        raise Refused("stock.err.number", code="bad_number")
    return int(text)


def _optional_date(text: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Refused("stock.err.date", code="bad_date") from exc


def _moisture(text: str) -> int | None:
    try:
        return parse_moisture(text or "")
    except ValueError as exc:
        raise Refused("stock.err.number", code="bad_number") from exc


def _unit_of(sku: str) -> str:
    for m_sku, _kind, _zh, _en, unit in read(services.materials):
        if m_sku == sku:
            return unit
    raise Refused("stock.err.unknown_material", status=404, code="unknown_material", sku=sku)


@bp.get("/")
@require_role(Role.MANAGER)
def lots() -> ResponseReturnValue:
    return render_template(
        "stock/lots.html",
        lots=read(services.lots_on_hand, today=_today(), harvest_month=_harvest()),
        materials=read(services.materials),
        today=_today(),
    )


@bp.post("/receipts")
@require_role(Role.MANAGER)
def receive() -> ResponseReturnValue:
    form = request.form
    try:
        sku = form.get("sku", "")[:40]
        lot = run(
            services.receive,
            sku=sku,
            quantity=base_units(form.get("quantity", ""), _unit_of(sku)),
            received_at=utcnow(),
            user_id=_uid(),
            supplier=form.get("supplier", "")[:120],
            lot_code=form.get("lot_code", "")[:60],
            crop_year=_optional_int(form.get("crop_year", "")),
            moisture_tenths=_moisture(form.get("moisture", "")),
            best_before=_optional_date(form.get("best_before", "")),
        )
        flash(translate("stock.done.received", lot=lot.code), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("stock.lots"))


def _lot_action(code: str, action: str) -> ResponseReturnValue:
    form = request.form
    try:
        unit = "piece" if form.get("unit") == "piece" else "g"
        quantity = base_units(form.get("quantity", ""), unit)
        if action == "adjust":
            run(services.adjust, code[:60], quantity, reason=form.get("reason", ""), user_id=_uid())
            flash(translate("stock.done.adjusted", lot=code), "ok")
        else:
            run(
                services.write_off,
                code[:60],
                quantity,
                reason=form.get("reason", ""),
                user_id=_uid(),
            )
            flash(
                translate("stock.done.written_off", lot=code, quantity=form.get("quantity")), "ok"
            )
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("stock.lots"))


@bp.post("/lots/<code>/adjust")
@require_role(Role.MANAGER)
def adjust(code: str) -> ResponseReturnValue:
    return _lot_action(code, "adjust")


@bp.post("/lots/<code>/write-off")
@require_role(Role.MANAGER)
def write_off(code: str) -> ResponseReturnValue:
    return _lot_action(code, "write_off")


@bp.get("/requirements")
@require_role(Role.MANAGER)
def requirements() -> ResponseReturnValue:
    return render_template(
        "stock/requirements.html",
        req=read(services.requirements, today=_today(), harvest_month=_harvest()),
    )


@bp.post("/requirements/lead-days")
@require_role(Role.MANAGER)
def lead_days() -> ResponseReturnValue:
    try:
        days = _optional_int(request.form.get("lead_days", ""))
        run(services.set_lead_days, request.form.get("sku", "")[:40], -1 if days is None else days)
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("stock.requirements"))


@bp.post("/requirements/draft")
@require_role(Role.MANAGER)
def draft_from_requirement() -> ResponseReturnValue:
    """A draft purchase order for one material's shortfall, to check and send."""
    form = request.form
    try:
        quantity = int(form.get("quantity", "0") or 0) if form.get("quantity", "").isdigit() else 0
        order = run(
            services.create_purchase,
            supplier=form.get("supplier", "")[:120] or translate("stock.supplier"),
            expected_on=_optional_date(form.get("expected_on", "")) or _today(),
            lines=[services.NewLine(form.get("sku", "")[:40], quantity)],
            user_id=_uid(),
            today=_today(),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("stock.requirements"))
    return redirect(url_for("stock.purchases", _anchor=f"po-{order.id}"))


@bp.get("/purchases")
@require_role(Role.MANAGER)
def purchases() -> ResponseReturnValue:
    materials = read(services.materials)
    return render_template(
        "stock/purchases.html",
        orders=read(services.list_purchases),
        materials=materials,
        units={sku: unit for sku, _kind, _zh, _en, unit in materials},
        today=_today(),
        default_expected=_today() + timedelta(days=3),
    )


@bp.post("/purchases")
@require_role(Role.MANAGER)
def create_purchase() -> ResponseReturnValue:
    form = request.form
    try:
        lines = []
        for i in range(5):
            sku = form.get(f"sku_{i}", "")[:40]
            if not sku or not form.get(f"quantity_{i}", "").strip():
                continue
            unit = _unit_of(sku)
            price = form.get(f"price_{i}", "").strip() or "0"
            lines.append(
                services.NewLine(
                    sku,
                    base_units(form.get(f"quantity_{i}", ""), unit),
                    _fen(price),
                )
            )
        order = run(
            services.create_purchase,
            supplier=form.get("supplier", ""),
            expected_on=_optional_date(form.get("expected_on", "")) or _today(),
            lines=lines,
            user_id=_uid(),
            today=_today(),
            note=form.get("note", ""),
        )
        flash(translate("stock.po.done", id=order.id, status=translate("stock.po.st.draft")), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("stock.purchases"))


@bp.post("/purchases/<int:purchase_id>/<action>")
@require_role(Role.MANAGER)
def purchase_action(purchase_id: int, action: str) -> ResponseReturnValue:
    form = request.form
    try:
        if action == "send":
            order = run(services.send_purchase, purchase_id, now=utcnow())
        elif action == "cancel":
            order = run(services.cancel_purchase, purchase_id)
        elif action == "receive":
            current = read(services.get_purchase, purchase_id)
            receipts = [
                services.LineReceipt(
                    line_id=line.id,
                    quantity=base_units(form.get(f"arrived_{line.id}", ""), _unit_of(line.sku)),
                    crop_year=_optional_int(form.get(f"crop_year_{line.id}", "")),
                    moisture_tenths=_moisture(form.get(f"moisture_{line.id}", "")),
                    best_before=_optional_date(form.get(f"best_before_{line.id}", "")),
                )
                for line in current.lines
            ]
            order = run(
                services.receive_purchase, purchase_id, receipts, user_id=_uid(), now=utcnow()
            )
        else:
            abort(404)
        status = translate(f"stock.po.st.{order.status.value}")
        flash(translate("stock.po.done", id=order.id, status=status), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("stock.purchases"))
