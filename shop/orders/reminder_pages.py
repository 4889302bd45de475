"""The link in every season reminder (/reminders/<id>/<token>), which stops (or resumes) them
without signing in, and the reminders' wiring: the daily job and the consumer that sends.
(The account page's opt-in form is in shop.accounts, beside the page it is on.)"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.runtime import Runtime
from shop.i18n import translate
from shop.orders import reminders
from shop.runtime import read, run

bp = Blueprint("reminders", __name__)


@bp.get("/reminders/<int:subscription_id>/<token>")
def link_page(subscription_id: int, token: str) -> ResponseReturnValue:
    row = read(reminders.get_by_link, subscription_id, token[:64])
    return render_template("store/reminders.html", sub=row, token=token)


@bp.post("/reminders/<int:subscription_id>/<token>")
def link_set(subscription_id: int, token: str) -> ResponseReturnValue:
    opted_in = request.form.get("opted_in") == "1"
    run(reminders.set_by_link, subscription_id, token[:64], opted_in, utcnow())
    flash(
        translate("reminder.account.saved_on" if opted_in else "reminder.account.saved_off"), "ok"
    )
    return redirect(url_for("reminders.link_page", subscription_id=subscription_id, token=token))


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    reminders.register_subscribers(runtime.settings)
    reminders.register_jobs()
