"""The manager's security page: the audit log, current sign-in locks (with unlock) and
"sign out everywhere" for any account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from inventory.db import transaction
from shop.auth import normalise_email, require_role
from shop.i18n import translate
from shop.models import Role, User
from shop.runtime import current_runtime
from shop.security import audit, sessions, throttle

bp = Blueprint("security", __name__, url_prefix="/manager/security")


@bp.get("/audit")
@require_role(Role.MANAGER)
def audit_log() -> ResponseReturnValue:
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    with current_runtime().sessions() as db:
        entries = audit.recent(db, action=action)
        locks = throttle.active_locks(db)
    return render_template(
        "security/audit.html", entries=entries, locks=locks, actions=audit.ACTIONS, action=action
    )


@bp.post("/unlock")
@require_role(Role.MANAGER)
def unlock() -> ResponseReturnValue:
    key = request.form.get("key", "")[:300]
    with transaction(current_runtime().sessions) as db:
        if throttle.unlock(db, key):
            audit.record(db, "throttle.unlocked", key)
            flash(translate("security.unlocked"), "ok")
    return redirect(url_for("security.audit_log"))


@bp.post("/sign-out-everywhere")
@require_role(Role.MANAGER)
def sign_out_everywhere() -> ResponseReturnValue:
    email = normalise_email(request.form.get("email", ""))[:254]
    with transaction(current_runtime().sessions) as db:
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            flash(translate("security.no_such_user"), "error")
            return redirect(url_for("security.audit_log")), 303
        sessions.end_everywhere(db, user.id)
        audit.record(db, "session.ended_everywhere", user.email)
    flash(translate("security.signed_out_everywhere", email=email), "ok")
    return redirect(url_for("security.audit_log"))
