"""The address book on the account page: add, edit, delete, make default. Signed-in
customers only, and each only ever sees and changes their own entries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.auth import current_user
from shop.confirm import confirmed
from shop.i18n import translate
from shop.messages import localise
from shop.models import User
from shop.orders import addresses, services
from shop.runtime import read, run

bp = Blueprint("addresses", __name__)
FORM_FIELDS = ("label", "recipient", "phone", "zone", "address")


def _signed_in() -> User | None:
    return current_user()


def _sign_in_first() -> ResponseReturnValue:
    return redirect(url_for("accounts.signin", next=url_for("accounts.account")))


def _input() -> addresses.AddressInput:
    return addresses.AddressInput(
        **{k: request.form.get(k, "")[:400] for k in FORM_FIELDS},
        make_default=request.form.get("make_default") == "yes",
    )


def _edit_page(entry_id: int, form: dict[str, Any], status: int = 200) -> ResponseReturnValue:
    _points, zones = run(services.checkout_locations)
    return (
        render_template("accounts/address_edit.html", entry_id=entry_id, form=form, zones=zones),
        status,
    )


@bp.post("/account/addresses")
def add() -> ResponseReturnValue:
    user = _signed_in()
    if user is None:
        return _sign_in_first()
    try:
        run(addresses.add_address, user.id, _input(), utcnow())
    except DomainError as exc:
        flash(localise(exc), "error")
        form = {k: request.form.get(k, "")[:400] for k in FORM_FIELDS}
        return _edit_page(0, form, exc.status)
    flash(translate("address.added"), "ok")
    return redirect(url_for("accounts.account") + "#address-book")


@bp.route("/account/addresses/<int:entry_id>/edit", methods=["GET", "POST"])
def edit(entry_id: int) -> ResponseReturnValue:
    user = _signed_in()
    if user is None:
        return _sign_in_first()
    if request.method == "GET":
        try:
            entry = read(addresses.get_address, user.id, entry_id)
        except addresses.AddressNotFound as exc:
            flash(localise(exc), "error")
            return redirect(url_for("accounts.account") + "#address-book"), 303
        form = {
            "label": entry.label,
            "recipient": entry.recipient,
            "phone": entry.phone,
            "zone": entry.zone.code,
            "address": entry.address,
            "is_default": entry.is_default,
        }
        return _edit_page(entry_id, form)
    try:
        run(addresses.edit_address, user.id, entry_id, _input(), utcnow())
    except DomainError as exc:
        flash(localise(exc), "error")
        form = {k: request.form.get(k, "")[:400] for k in FORM_FIELDS}
        return _edit_page(entry_id, form, exc.status)
    flash(translate("address.saved"), "ok")
    return redirect(url_for("accounts.account") + "#address-book")


@bp.post("/account/addresses/<int:entry_id>/default")
def make_default(entry_id: int) -> ResponseReturnValue:
    user = _signed_in()
    if user is None:
        return _sign_in_first()
    try:
        run(addresses.set_default, user.id, entry_id)
        flash(translate("address.default_set"), "ok")
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("accounts.account") + "#address-book")


@bp.post("/account/addresses/<int:entry_id>/delete")
def delete(entry_id: int) -> ResponseReturnValue:
    user = _signed_in()
    if user is None:
        return _sign_in_first()
    if not confirmed():
        flash(translate("address.confirm_needed"), "error")
        return redirect(url_for("accounts.account") + "#address-book")
    try:
        run(addresses.delete_address, user.id, entry_id)
        flash(translate("address.deleted"), "ok")
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("accounts.account") + "#address-book")


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
