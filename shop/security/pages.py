"""The manager's security page: the audit log, current sign-in locks (with unlock) and
"sign out everywhere" for any account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from shop.auth import normalise_email, require_role
from shop.i18n import translate
from shop.models import Role
from shop.runtime import read, run
from shop.security import audit, services

bp = Blueprint("security", __name__, url_prefix="/manager/security")


@bp.get("/audit")
@require_role(Role.MANAGER)
def audit_log() -> ResponseReturnValue:
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    page = read(services.audit_page, action)
    return render_template(
        "security/audit.html",
        entries=page.entries,
        locks=page.locks,
        actions=audit.ACTIONS,
        action=action,
    )


@bp.post("/unlock")
@require_role(Role.MANAGER)
def unlock() -> ResponseReturnValue:
    key = request.form.get("key", "")[:300]
    if run(services.unlock, key):
        flash(translate("security.unlocked"), "ok")
    return redirect(url_for("security.audit_log"))


@bp.post("/sign-out-everywhere")
@require_role(Role.MANAGER)
def sign_out_everywhere() -> ResponseReturnValue:
    email = normalise_email(request.form.get("email", ""))[:254]
    if run(services.end_sessions_of_email, email) is None:
        flash(translate("security.no_such_user"), "error")
        return redirect(url_for("security.audit_log")), 303
    flash(translate("security.signed_out_everywhere", email=email), "ok")
    return redirect(url_for("security.audit_log"))
