"""The accounts page: a manager lists, creates and disables manager and staff accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.errors import DomainError
from shop.auth import current_user, require_role
from shop.i18n import translate
from shop.models import Role
from shop.runtime import read, run
from shop.staff import services

bp = Blueprint("staff", __name__, url_prefix="/manager/staff")


@bp.get("/")
@require_role(Role.MANAGER)
def accounts() -> ResponseReturnValue:
    return render_template("staff/accounts.html", accounts=read(services.list_accounts), form={})


@bp.post("/")
@require_role(Role.MANAGER)
def create() -> ResponseReturnValue:
    form = {k: request.form.get(k, "") for k in ("email", "name", "mobile", "role")}
    try:
        account = run(
            services.create_account,
            email=form["email"],
            name=form["name"],
            mobile=form["mobile"],
            role=form["role"],
            password=request.form.get("password", ""),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        page = render_template(
            "staff/accounts.html", accounts=read(services.list_accounts), form=form
        )
        return page, exc.status
    flash(translate("staff.created", name=account.name), "ok")
    return redirect(url_for("staff.accounts"))


@bp.post("/<int:user_id>/active")
@require_role(Role.MANAGER)
def set_active(user_id: int) -> ResponseReturnValue:
    me = current_user()
    assert me is not None  # require_role saw to it
    try:
        account = run(
            services.set_active,
            user_id,
            request.form.get("active") == "1",
            acting_user_id=me.id,
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("staff.accounts"))
    flash(translate("staff.updated", name=account.name), "ok")
    return redirect(url_for("staff.accounts"))
