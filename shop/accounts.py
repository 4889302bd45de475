"""Sign up, sign in, sign out and the account page, for every role.

`next` sends a person back to the page that asked them to sign in (a distributor or manager
page as well as a customer's order), but only to a path on this site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.auth import create_user, current_user, login, logout
from shop.i18n import current_language, translate
from shop.messages import localise
from shop.models import Role, User
from shop.orders import addresses, part_delivery, purchases, reminders, services
from shop.runtime import current_runtime, read, run
from shop.security.signin import sign_in as guarded_sign_in
from shop.security.throttle import Throttled

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None) -> str:
    """Only local paths: an open redirect would turn our sign-in page into a phishing aid."""
    if not target:
        return url_for("accounts.account")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("accounts.account")
    if "\\" in target:
        return url_for("accounts.account")
    return target


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> ResponseReturnValue:
    next_url = request.values.get("next", "")
    if request.method == "POST":
        try:
            user = guarded_sign_in(request.form.get("email", ""), request.form.get("password", ""))
        except Throttled as exc:
            flash(exc.message, "error")
            response = make_response(render_template("accounts/signin.html", next=next_url), 429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if user is None:
            flash(translate("accounts.bad_login"), "error")
            return render_template("accounts/signin.html", next=next_url), 401
        login(user)
        flash(translate("accounts.welcome", name=user.name), "ok")
        return redirect(landing_after_sign_in(user.role, next_url))
    return render_template("accounts/signin.html", next=next_url)


# Where each role works: a distributor books pickups, a manager runs the plant. Neither has
# anything to do on the customer's /account page, so a sign-in that names no particular page
# (the form's default "/", or /account itself) lands them at their own start page.
ROLE_HOME = {Role.DISTRIBUTOR: "distributors.week", Role.MANAGER: "plan.overview"}


def landing_after_sign_in(role: Role, next_url: str) -> str:
    target = safe_next(next_url)
    home = ROLE_HOME.get(role)
    if home and target in ("/", url_for("accounts.account")):
        return url_for(home)
    return target


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    next_url = request.values.get("next", "")
    form = {k: request.form.get(k, "") for k in ("email", "name", "mobile")}
    if request.method == "POST":
        try:
            if not form["name"].strip():
                raise DomainError("please give your name", key="msg.signup.name", field="name")
            user = run(
                create_user,
                email=form["email"],
                name=form["name"],
                mobile=form["mobile"],
                password=request.form.get("password", ""),
                role=Role.CUSTOMER,
            )
        except DomainError as exc:
            flash(localise(exc), "error")
            return render_template("accounts/signup.html", next=next_url, form=form), exc.status
        login(user)
        flash(translate("accounts.welcome", name=user.name), "ok")
        return redirect(safe_next(next_url))
    return render_template("accounts/signup.html", next=next_url, form=form)


@bp.post("/signout")
def signout() -> ResponseReturnValue:
    logout()
    flash(translate("accounts.signed_out"), "ok")
    return redirect(url_for("store.catalogue"))


def _account_page(user: User) -> str:
    orders = read(services.orders_of_user, user.id)
    # Each day's order of a checkout for several days is shown linked to its purchase.
    bought = read(
        purchases.purchases_by_id, sorted({o.purchase_id for o in orders if o.purchase_id})
    )
    _points, zones = run(services.checkout_locations)
    return render_template(
        "accounts/account.html",
        user=user,
        orders=orders,
        purchases=bought,
        book=read(addresses.addresses_of, user.id),
        zones=zones,
        reminder=read(reminders.subscription_of_user, user.id),
        reminder_days=current_runtime().settings.reminder_days_before,
    )


@bp.get("/account")
def account() -> ResponseReturnValue:
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.signin", next=request.full_path.rstrip("?")))
    return _account_page(user)


@bp.post("/account/reminders")
def account_reminders() -> ResponseReturnValue:
    """Opt in to the season reminders (by mail or SMS) or out of them."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.signin", next=url_for("accounts.account")))
    opted_in = request.form.get("opted_in") == "1"
    try:
        run(
            reminders.set_preference,
            user_id=user.id,
            name=user.name,
            mobile=request.form.get("mobile", "")[:32],
            email=user.email,
            channel=request.form.get("channel", "mail")[:8],
            language=current_language(),
            opted_in=opted_in,
            now=utcnow(),
        )
    except DomainError as exc:
        flash(localise(exc), "error")
        return _account_page(user), exc.status
    flash(
        translate("reminder.account.saved_on" if opted_in else "reminder.account.saved_off"), "ok"
    )
    return redirect(url_for("accounts.account") + "#reminders")


@bp.post("/account/settings")
def account_settings() -> ResponseReturnValue:
    """The customer's "accept part delivery" answer: the default of their next checkouts."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.signin", next=url_for("accounts.account")))
    run(
        part_delivery.set_account_part_delivery,
        user.id,
        request.form.get("accept_part_delivery") == "1",
    )
    flash(translate("part.setting.saved"), "ok")
    return redirect(url_for("accounts.account"))


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
