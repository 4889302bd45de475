"""The waitlist pages (join from a sold-out day, the offer link, leave), the manager's
per-customer caps on peak days, and their JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inventory.catalog import get_product
from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import current_user, require_role
from shop.csrf import csrf_exempt_without_session
from shop.i18n import current_language, translate
from shop.models import Role
from shop.orders import placing, services, waitlist
from shop.orders.models import CustomerDayCap, WaitlistEntry, WaitlistStatus
from shop.orders.rules import MAX_LINE_QUANTITY
from shop.runtime import current_runtime, read, run

bp = Blueprint("waitlist", __name__)
blp = ApiBlueprint(
    "waitlist_api",
    __name__,
    url_prefix="/api/v1",
    description="Customer waitlists for sold-out days and the manager's peak-day caps.",
)


def _form_int(raw: str | None, field: str) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise DomainError(f"{field} must be a whole number", field=field) from None


def _form_day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise DomainError("day must be a date like 2027-02-01", field="day") from None


def _join(session: Session, request_: waitlist.JoinWaitlist, user_id: int | None) -> Any:
    entry = waitlist.join(
        session, request_, settings=current_runtime().settings, now=utcnow(), user_id=user_id
    )
    return entry.id, entry.token


@bp.post("/waitlist/join")
def join_form() -> ResponseReturnValue:
    user = current_user()
    sku = request.form.get("sku", "")[:40]
    day = _form_day(request.form.get("day"))
    joined = run(
        _join,
        waitlist.JoinWaitlist(
            sku=sku,
            day=day,
            quantity=_form_int(request.form.get("quantity"), "quantity"),
            contact=placing.Contact(
                request.form.get("name", ""),
                request.form.get("mobile", ""),
                request.form.get("email", ""),
            ),
            language=current_language(),
            notify_channel=request.form.get("notify_channel", "") or "mail",
        ),
        user.id if user else None,
    )
    flash(translate("waitlist.joined"), "ok")
    return redirect(url_for("waitlist.entry_page", entry_id=joined[0], token=joined[1]))


def _entry_view(session: Session, entry_id: int, token: str) -> dict[str, Any]:
    entry = waitlist.get_entry_by_link(session, entry_id, token)
    ahead = 0
    if entry.status is WaitlistStatus.WAITING:
        ahead = len(
            session.scalars(
                select(WaitlistEntry.id).where(
                    WaitlistEntry.sku == entry.sku,
                    WaitlistEntry.day == entry.day,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                    WaitlistEntry.id < entry.id,
                )
            ).all()
        )
    services.ensure_locations(session)
    return {
        "entry": entry,
        "product": get_product(session, entry.sku),
        "ahead": ahead,
        "points": services.pickup_points(session),
    }


@bp.get("/waitlist/<int:entry_id>/<token>")
def entry_page(entry_id: int, token: str) -> ResponseReturnValue:
    view = run(_entry_view, entry_id, token)
    return render_template("store/waitlist.html", token=token, now=utcnow(), **view)


@bp.post("/waitlist/<int:entry_id>/<token>/claim")
def claim(entry_id: int, token: str) -> ResponseReturnValue:
    order = run(
        waitlist.claim_offer,
        entry_id,
        token,
        pickup_point=request.form.get("pickup_point", "")[:40],
        settings=current_runtime().settings,
        now=utcnow(),
    )
    flash(translate("store.status.thanks"), "ok")
    return redirect(url_for("store.track", public_id=order.public_id, token=order.access_token))


@bp.post("/waitlist/<int:entry_id>/<token>/leave")
def leave(entry_id: int, token: str) -> ResponseReturnValue:
    run(waitlist.leave, entry_id, token)
    return redirect(url_for("waitlist.entry_page", entry_id=entry_id, token=token))


def set_cap(session: Session, day: date, max_pieces: int | None) -> None:
    """The manager's cap for a day; None removes it."""
    if max_pieces is not None and not 1 <= max_pieces <= MAX_LINE_QUANTITY * 20:
        raise DomainError("the cap must be a positive number of pieces", field="max_pieces")
    row = session.scalar(select(CustomerDayCap).where(CustomerDayCap.day == day))
    if max_pieces is None:
        session.execute(delete(CustomerDayCap).where(CustomerDayCap.day == day))
    elif row is None:
        session.add(CustomerDayCap(day=day, max_pieces=max_pieces, updated_at=utcnow()))
    else:
        row.max_pieces = max_pieces
    session.flush()


def list_caps(session: Session) -> list[CustomerDayCap]:
    return list(session.scalars(select(CustomerDayCap).order_by(CustomerDayCap.day)))


@bp.route("/manage/customer-caps", methods=["GET", "POST"])
@require_role(Role.MANAGER)
def caps_page() -> ResponseReturnValue:
    if request.method == "POST":
        raw = request.form.get("max_pieces", "").strip()
        run(
            set_cap,
            _form_day(request.form.get("day")),
            _form_int(raw, "max_pieces") if raw else None,
        )
        flash(translate("waitlist.caps.saved"), "ok")
        return redirect(url_for("waitlist.caps_page"))
    return render_template("store/caps.html", caps=read(list_caps))


class JoinIn(Schema):
    product = fields.String(required=True, validate=validate.Length(min=1, max=40))
    day = fields.Date(required=True)
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_LINE_QUANTITY)
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    mobile = fields.String(required=True, validate=validate.Length(min=5, max=32))
    email = fields.Email(required=True)
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
    notify_channel = fields.String(
        load_default="mail",
        validate=validate.OneOf(list(waitlist.CHANNELS)),
        metadata={"description": "how the offer is told: mail or sms"},
    )


class JoinedOut(Schema):
    id = fields.Integer()
    token = fields.String(metadata={"description": "the secret of the waitlist link"})
    status = fields.String()
    url = fields.String()


class CapIn(Schema):
    max_pieces = fields.Integer(
        required=True,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_LINE_QUANTITY * 20),
    )


@blp.route("/waitlist")
@csrf_exempt_without_session
class WaitlistJoin(MethodView):
    @blp.arguments(JoinIn)
    @blp.response(201, JoinedOut)
    @blp.alt_response(409, description="the day is not sold out, or already on its waitlist")
    def post(self, data: dict[str, Any]) -> Any:
        """Join the waitlist of a sold-out day."""
        user = current_user()
        entry_id, token = run(
            _join,
            waitlist.JoinWaitlist(
                sku=data["product"],
                day=data["day"],
                quantity=data["quantity"],
                contact=placing.Contact(data["name"], data["mobile"], data["email"]),
                language=data["language"],
                notify_channel=data["notify_channel"],
            ),
            user.id if user else None,
        )
        return {
            "id": entry_id,
            "token": token,
            "status": WaitlistStatus.WAITING.value,
            "url": url_for("waitlist.entry_page", entry_id=entry_id, token=token, _external=True),
        }


@blp.route("/customer-caps/<day>")
@csrf_exempt_without_session
class CapOne(MethodView):
    @require_role(Role.MANAGER)
    @blp.arguments(CapIn)
    @blp.response(200, CapIn)
    def put(self, data: dict[str, Any], day: str) -> Any:
        """Set (or with null remove) the most pieces one customer may order on a day."""
        run(set_cap, _form_day(day), data["max_pieces"])
        return data


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    get_api(app).register_blueprint(blp)
