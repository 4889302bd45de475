"""Gift order pages (/gifts/new, the buyer's page with the invoice and every recipient's link,
the recipient's page without prices) and POST /api/v1/gifts."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import current_user
from shop.csrf import csrf_exempt_without_session
from shop.i18n import current_language, translate
from shop.messages import localise
from shop.orders import addresses, gifts, group_flows, pickup_code, placing, purchase_pages
from shop.orders.models import GiftOrder, Order, OrderStatus
from shop.payments import ONLINE_METHODS, PaymentError, available_methods
from shop.runtime import current_runtime, read, run

bp = Blueprint("gifts", __name__)
log = logging.getLogger("gaogan.payments")
blp = ApiBlueprint(
    "gifts_api",
    __name__,
    url_prefix="/api/v1",
    description="Gift orders: one payment and one invoice for many recipients.",
)


def _place(session: Any, request_: gifts.GiftRequest) -> tuple[str, str]:
    gift = gifts.place_gift(session, request_, settings=current_runtime().settings, now=utcnow())
    return gift.public_id, gift.access_token


def gift_orders(public_id: str) -> group_flows.OrdersOf:
    def load(session: Session) -> list[Order]:
        gift = session.scalar(select(GiftOrder).where(GiftOrder.public_id == public_id))
        return gifts.recipients_of(session, gift) if gift is not None else []

    return load


def _place_and_start(request_: gifts.GiftRequest) -> tuple[str, str, str]:
    """Place the gift (committed), then, paid online, start its one payment; a provider that
    cannot be reached leaves the gift waiting with a retry on its page."""
    public_id, token = run(_place, request_)
    secret = ""
    if request_.payment_method != gifts.BANK_TRANSFER:
        try:
            secret = group_flows.start_group_payment(
                current_runtime(), public_id, gift_orders(public_id)
            )
        except PaymentError:
            log.warning("payment start failed for gift %s", public_id, exc_info=True)
    return public_id, token, secret


def _methods() -> list[str]:
    return [
        gifts.BANK_TRANSFER,
        *[m for m in available_methods(current_runtime().settings) if m != "pay_at_pickup"],
    ]


def _new_page(
    form: dict[str, str], problem: DomainError | None, status: int = 200
) -> ResponseReturnValue:
    user = current_user()
    return (
        render_template(
            "store/gift_new.html",
            form=form,
            problem=problem,
            columns=gifts.COLUMNS,
            methods=_methods(),
            book=read(addresses.addresses_of, user.id) if user else [],
            hold_minutes=current_runtime().settings.hold_minutes,
        ),
        status,
    )


def _form_request() -> gifts.GiftRequest:
    upload = request.files.get("recipients")
    text = request.form.get("recipients_text", "")
    if upload is not None and upload.filename:
        raw = upload.read(gifts.MAX_CSV_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise gifts.GiftRefused(
                "save the recipient file as CSV in UTF-8", key="msg.gift.not_utf8"
            ) from None
    return gifts.GiftRequest(
        buyer=placing.Contact(
            request.form.get("name", ""),
            request.form.get("mobile", ""),
            request.form.get("email", ""),
        ),
        invoice_title=request.form.get("invoice_title", ""),
        tax_number=request.form.get("tax_number", ""),
        recipients_csv=text,
        language=current_language(),
        payment_method=request.form.get("payment_method", "") or gifts.BANK_TRANSFER,
        user_id=user.id if (user := current_user()) else None,
    )


@bp.route("/gifts/new", methods=["GET", "POST"])
def new_gift() -> ResponseReturnValue:
    if request.method == "GET":
        return _new_page({"payment_method": gifts.BANK_TRANSFER}, None)
    try:
        public_id, token, _secret = _place_and_start(_form_request())
    except DomainError as exc:
        form = {
            k: request.form.get(k, "")[:20000]
            for k in (
                "name",
                "mobile",
                "email",
                "invoice_title",
                "tax_number",
                "payment_method",
                "recipients_text",
            )
        }
        return _new_page(form, exc, exc.status)
    return redirect(url_for("gifts.gift_page", public_id=public_id, token=token))


@bp.get("/gift/<public_id>/<token>")
def gift_page(public_id: str, token: str) -> ResponseReturnValue:
    view = read(gifts.gift_view, public_id, token)
    pending = [o for o in view["orders"] if o.status is OrderStatus.PENDING_PAYMENT]
    attempt = read(group_flows.latest_group_attempt, pending)
    return render_template(
        "store/gift.html",
        token=token,
        **view,
        **purchase_pages.payment_context(
            current_runtime().settings,
            view["orders"],
            attempt,
            pay_url=url_for("gifts.gift_pay", public_id=public_id, token=token),
            return_url=url_for(
                "gifts.gift_return", public_id=public_id, token=token, _external=True
            ),
        ),
    )


@bp.post("/gift/<public_id>/<token>/pay")
def gift_pay(public_id: str, token: str) -> ResponseReturnValue:
    gift = read(gifts.gift_view, public_id, token)["gift"]
    try:
        group_flows.start_group_payment(
            current_runtime(), gift.public_id, gift_orders(gift.public_id)
        )
    except DomainError as exc:
        flash(localise(exc), "error")
    return redirect(url_for("gifts.gift_page", public_id=public_id, token=token))


@bp.get("/gift/<public_id>/<token>/return")
def gift_return(public_id: str, token: str) -> ResponseReturnValue:
    """Back from Alipay, WeChat Pay or the card form: settle it now if Stripe says paid."""
    gift = read(gifts.gift_view, public_id, token)["gift"]
    ref = request.args.get("payment_intent", "")[:80]
    if ref:
        try:
            outcome = group_flows.sync_group_payment(
                current_runtime(), gift_orders(gift.public_id), ref
            )
        except PaymentError:
            log.warning("payment check failed for gift %s", public_id, exc_info=True)
            outcome = "pending"
        if outcome == "pending" and request.args.get("redirect_status") == "failed":
            flash(translate("wallet.return.failed"), "warning")
        elif outcome == "pending":
            flash(translate("wallet.return.pending"), "ok")
    return redirect(url_for("gifts.gift_page", public_id=public_id, token=token))


@bp.get("/gift/r/<public_id>/<token>")
def recipient_page(public_id: str, token: str) -> ResponseReturnValue:
    order = read(gifts.recipient_view, public_id, token)
    return render_template(
        "store/gift_recipient.html",
        order=order,
        pickup=pickup_code.pickup_card(order, current_runtime().settings),
    )


class BuyerIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    mobile = fields.String(required=True, validate=validate.Length(min=5, max=32))
    email = fields.Email(required=True)


class GiftIn(Schema):
    buyer = fields.Nested(BuyerIn, required=True)
    invoice_title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax_number = fields.String(required=True, validate=validate.Length(min=18, max=18))
    recipients_csv = fields.String(
        required=True,
        validate=validate.Length(min=1, max=gifts.MAX_CSV_BYTES),
        metadata={"description": "CSV with the columns " + ", ".join(gifts.COLUMNS)},
    )
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
    payment_method = fields.String(
        load_default=gifts.BANK_TRANSFER,
        validate=validate.OneOf([gifts.BANK_TRANSFER, *ONLINE_METHODS]),
        metadata={
            "description": "bank_transfer (against the invoice; stock taken at once) or one "
            "online payment for all recipients: stripe (card), alipay, wechat_pay"
        },
    )


class RecipientOut(Schema):
    id = fields.String()
    name = fields.String()
    day = fields.String()
    status_url = fields.String(metadata={"description": "the recipient's page, without prices"})


class GiftOut(Schema):
    id = fields.String()
    total_fen = fields.Integer()
    invoice_title = fields.String()
    tax_number = fields.String()
    payment_method = fields.String()
    paid = fields.Boolean(
        metadata={"description": "paid online (a bank transfer is never marked here)"}
    )
    url = fields.String()
    client_secret = fields.String(
        metadata={"description": "paid online: the Stripe Payment Element secret"}
    )
    recipients = fields.List(fields.Nested(RecipientOut))


def _gift_out(gift: GiftOrder, token: str) -> dict[str, Any]:
    view = read(gifts.gift_view, gift.public_id, token)
    return {
        "id": gift.public_id,
        "total_fen": gift.total_fen,
        "invoice_title": gift.invoice_title,
        "tax_number": gift.tax_number,
        "payment_method": gift.payment_method,
        "paid": gift.paid_at is not None,
        "url": url_for("gifts.gift_page", public_id=gift.public_id, token=token, _external=True),
        "recipients": [
            {
                "id": o.public_id,
                "name": o.contact_name,
                "day": o.day.isoformat(),
                "status_url": url_for(
                    "gifts.recipient_page",
                    public_id=o.public_id,
                    token=o.access_token,
                    _external=True,
                ),
            }
            for o in view["orders"]
        ],
    }


@blp.route("/gifts")
@csrf_exempt_without_session
class Gifts(MethodView):
    @blp.arguments(GiftIn)
    @blp.response(201, GiftOut)
    @blp.alt_response(422, description="bad rows, each named with its row number")
    def post(self, data: dict[str, Any]) -> Any:
        """Place a gift order: one invoice and one payment, one order per recipient row."""
        user = current_user()
        public_id, token, secret = _place_and_start(
            gifts.GiftRequest(
                buyer=placing.Contact(**data["buyer"]),
                invoice_title=data["invoice_title"],
                tax_number=data["tax_number"],
                recipients_csv=data["recipients_csv"],
                language=data["language"],
                payment_method=data["payment_method"],
                user_id=user.id if user else None,
            )
        )
        gift = read(gifts.gift_view, public_id, token)["gift"]
        return {**_gift_out(gift, token), "client_secret": secret}


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    get_api(app).register_blueprint(blp)
