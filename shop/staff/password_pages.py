"""The "forgot your password" form: a reset link by mail, for every role."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from shop.distributors.onboarding_pages import invitation_url
from shop.i18n import current_language, translate
from shop.messages import localise
from shop.runtime import current_runtime, run
from shop.security import throttle
from shop.staff import password

bp = Blueprint("password", __name__)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    if request.method == "POST":
        try:
            found = run(
                password.request_reset,
                request.form.get("email", ""),
                now=utcnow(),
                settings=current_runtime().settings,
                address=request.remote_addr,
            )
        except throttle.Throttled as exc:
            flash(localise(exc), "error")
            page = render_template("staff/forgot.html"), 429, {"Retry-After": str(exc.retry_after)}
            return page
        if found is not None:
            email, name, token = found
            password.send_reset_mail(
                current_runtime().settings, email, name, invitation_url(token), current_language()
            )
        # The same words whether or not the address has an account.
        flash(translate("pw.sent"), "ok")
        return redirect(url_for("accounts.signin"))
    return render_template("staff/forgot.html")
