"""Distributor onboarding pages under /manager/distributors (managers only), the monthly
statement (print-styled HTML and CSV), and the public invitation page that sets a portal
user's password."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.rules import local_day
from inventory.settings import public_url
from shop.auth import current_user, login, require_role
from shop.catalogue import services as catalogue
from shop.distributors import onboarding
from shop.i18n import translate
from shop.models import Role
from shop.refusals import Refused
from shop.runtime import current_runtime, read, run

bp = Blueprint("onboarding", __name__, url_prefix="/manager/distributors")
invite = Blueprint("invitations", __name__)


def _uid() -> int:
    user = current_user()
    if user is None:  # pragma: no cover - require_role ran first
        abort(401)
    return user.id


def _fen(text: str) -> int:
    try:
        value = Decimal((text or "0").strip() or "0") * 100
    except InvalidOperation as exc:
        raise Refused("onb.err.number", code="bad_number") from exc
    if not value.is_finite() or value != value.to_integral_value() or abs(value) > 10**10:
        raise Refused("onb.err.number", code="bad_number")
    return int(value)


def _int(text: str, default: int = 0) -> int:
    text = (text or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 6:
        raise Refused("onb.err.number", code="bad_number")
    return int(text)


def _contacts() -> list[onboarding.ContactIn]:
    f = request.form
    return [
        onboarding.ContactIn(
            f.get(f"contact_name_{i}", "")[:120],
            f.get(f"contact_phone_{i}", "")[:32],
            f.get(f"contact_email_{i}", "")[:254],
            f.get(f"contact_role_{i}", "")[:60],
        )
        for i in range(3)
    ]


def _account_fields() -> dict[str, object]:
    f = request.form
    return {
        "company": f.get("company", "")[:160],
        "region": f.get("region", "")[:40],
        "address": f.get("address", "")[:240],
        "contacts": _contacts(),
        "credit_limit_fen": _fen(f.get("credit_limit", "")),
        "payment_days": _int(f.get("payment_days", ""), 30),
        "preference": f.get("preference", "pickup"),
        "preferred_slot": f.get("preferred_slot", "").strip()[:5],
        "note": f.get("note", "")[:300],
        # A checkbox: absent from the form means unchecked (whole orders only).
        "accept_part_delivery": f.get("accept_part_delivery") == "1",
    }


@bp.get("/")
@require_role(Role.MANAGER)
def accounts() -> ResponseReturnValue:
    return render_template("onboarding/list.html", accounts=read(onboarding.list_accounts))


@bp.post("/")
@require_role(Role.MANAGER)
def create() -> ResponseReturnValue:
    try:
        view = run(
            onboarding.create_account,
            code=request.form.get("code", "")[:20],
            user_id=_uid(),
            **_account_fields(),  # type: ignore[arg-type]
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("onboarding.accounts"))
    flash(translate("onb.done.created", code=view.code), "ok")
    return redirect(url_for("onboarding.account", distributor_id=view.id))


@bp.get("/<int:distributor_id>")
@require_role(Role.MANAGER)
def account(distributor_id: int) -> ResponseReturnValue:
    view = read(onboarding.account_view, distributor_id)
    prices = {p.sku: p.case_price_fen for p in read(onboarding.price_list, distributor_id)}
    today = local_day(utcnow())
    return render_template(
        "onboarding/account.html",
        a=view,
        products=read(catalogue.list_products),
        prices=prices,
        today=today,
        month=f"{today.year}-{today.month:02d}",
        methods=onboarding.PAYMENT_METHODS,
    )


@bp.post("/<int:distributor_id>")
@require_role(Role.MANAGER)
def save(distributor_id: int) -> ResponseReturnValue:
    try:
        user = current_user()
        run(
            onboarding.update_account,
            distributor_id,
            by=user.email if user else "",
            **_account_fields(),  # type: ignore[arg-type]
        )
        flash(translate("onb.done.saved"), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("onboarding.account", distributor_id=distributor_id))


@bp.post("/<int:distributor_id>/active")
@require_role(Role.MANAGER)
def set_active(distributor_id: int) -> ResponseReturnValue:
    run(
        onboarding.set_active,
        distributor_id,
        request.form.get("active") == "1",
        user_id=_uid(),
    )
    flash(translate("onb.done.saved"), "ok")
    return redirect(url_for("onboarding.account", distributor_id=distributor_id))


@bp.post("/<int:distributor_id>/prices")
@require_role(Role.MANAGER)
def prices(distributor_id: int) -> ResponseReturnValue:
    try:
        wanted = {
            key[6:]: _fen(value)
            for key, value in request.form.items()
            if key.startswith("price_") and value.strip()
        }
        run(onboarding.set_prices, distributor_id, wanted, user_id=_uid(), now=utcnow())
        flash(translate("onb.done.saved"), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("onboarding.account", distributor_id=distributor_id))


def invitation_url(token: str) -> str:
    return f"{public_url(current_runtime().settings).rstrip('/')}/invite/{token}"


@bp.post("/<int:distributor_id>/users")
@require_role(Role.MANAGER)
def invite_user(distributor_id: int) -> ResponseReturnValue:
    try:
        _user_id, token = run(
            onboarding.invite_user,
            distributor_id,
            email=request.form.get("email", "")[:254],
            name=request.form.get("name", "")[:120],
            now=utcnow(),
        )
        flash(
            translate("onb.invite_link", days=onboarding.INVITATION_DAYS)
            + " "
            + invitation_url(token),
            "ok",
        )
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("onboarding.account", distributor_id=distributor_id))


@bp.post("/<int:distributor_id>/payments")
@require_role(Role.MANAGER)
def payment(distributor_id: int) -> ResponseReturnValue:
    try:
        try:
            received = date.fromisoformat(request.form.get("received_on", ""))
        except ValueError as exc:
            raise Refused("onb.err.month", code="bad_date") from exc
        run(
            onboarding.record_payment,
            distributor_id,
            amount_fen=_fen(request.form.get("amount", "")),
            received_on=received,
            method=request.form.get("method", ""),
            reference=request.form.get("reference", ""),
            user_id=_uid(),
            today=local_day(utcnow()),
        )
        flash(translate("onb.done.saved"), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("onboarding.account", distributor_id=distributor_id))


def month_arg() -> tuple[int, int]:
    raw = request.args.get("month", "")
    if not raw:
        today = local_day(utcnow())
        return today.year, today.month
    parts = raw.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 4 for p in parts):
        raise Refused("onb.err.month", code="bad_month")
    return int(parts[0]), int(parts[1])


@bp.get("/<int:distributor_id>/statement")
@require_role(Role.MANAGER)
def statement(distributor_id: int) -> ResponseReturnValue:
    year, month = month_arg()
    return render_template(
        "onboarding/statement.html", st=read(onboarding.statement, distributor_id, year, month)
    )


@bp.get("/<int:distributor_id>/statement.csv")
@require_role(Role.MANAGER)
def statement_csv(distributor_id: int) -> ResponseReturnValue:
    year, month = month_arg()
    st = read(onboarding.statement, distributor_id, year, month)
    name = f"statement-{st.distributor.code}-{year}-{month:02d}.csv"
    return Response(
        "\ufeff" + onboarding.statement_csv(st),  # a BOM so Excel reads the Chinese right
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@invite.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str) -> ResponseReturnValue:
    """The link in the invitation: set a password, then straight into the portal."""
    email = read(onboarding.invitation_user, token[:80], now=utcnow())
    if request.method == "POST":
        try:
            user = run(
                onboarding.accept_invitation,
                token[:80],
                request.form.get("password", ""),
                now=utcnow(),
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("onboarding/accept.html", email=email), exc.status
        login(user)
        # An invitation is a distributor's; a reset link may be anyone's.
        home = {
            Role.DISTRIBUTOR: "/distributor/",
            Role.MANAGER: "/manager/orders/",
            Role.STAFF: "/manager/orders/",
        }
        return redirect(home.get(user.role, "/account"))
    return render_template("onboarding/accept.html", email=email)
