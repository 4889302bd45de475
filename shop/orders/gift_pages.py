"""Gift order pages (/gifts/new, the buyer's page with the invoice and every recipient's link,
the recipient's page without prices) and POST /api/v1/gifts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.api import get_api
from shop.csrf import csrf_exempt_without_session
from shop.i18n import current_language
from shop.orders import gifts, pickup_code, placing
from shop.orders.models import GiftOrder
from shop.runtime import current_runtime, read, run

bp = Blueprint("gifts", __name__)
blp = ApiBlueprint(
    "gifts_api",
    __name__,
    url_prefix="/api/v1",
    description="Gift orders: one payment and one invoice for many recipients.",
)


def _place(session: Any, request_: gifts.GiftRequest) -> tuple[str, str]:
    gift = gifts.place_gift(session, request_, settings=current_runtime().settings, now=utcnow())
    return gift.public_id, gift.access_token


def _form_request() -> gifts.GiftRequest:
    upload = request.files.get("recipients")
    text = request.form.get("recipients_text", "")
    if upload is not None and upload.filename:
        raw = upload.read(gifts.MAX_CSV_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise gifts.GiftRefused("save the recipient file as CSV in UTF-8") from None
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
    )


@bp.route("/gifts/new", methods=["GET", "POST"])
def new_gift() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("store/gift_new.html", form={}, problem=None, columns=gifts.COLUMNS)
    try:
        public_id, token = run(_place, _form_request())
    except DomainError as exc:
        form = {
            k: request.form.get(k, "")
            for k in ("name", "mobile", "email", "invoice_title", "tax_number")
        }
        return (
            render_template("store/gift_new.html", form=form, problem=exc, columns=gifts.COLUMNS),
            exc.status,
        )
    return redirect(url_for("gifts.gift_page", public_id=public_id, token=token))


@bp.get("/gift/<public_id>/<token>")
def gift_page(public_id: str, token: str) -> ResponseReturnValue:
    view = read(gifts.gift_view, public_id, token)
    return render_template("store/gift.html", token=token, **view)


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
    url = fields.String()
    recipients = fields.List(fields.Nested(RecipientOut))


def _gift_out(gift: GiftOrder, token: str) -> dict[str, Any]:
    view = read(gifts.gift_view, gift.public_id, token)
    return {
        "id": gift.public_id,
        "total_fen": gift.total_fen,
        "invoice_title": gift.invoice_title,
        "tax_number": gift.tax_number,
        "payment_method": gift.payment_method,
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
        public_id, token = run(
            _place,
            gifts.GiftRequest(
                buyer=placing.Contact(**data["buyer"]),
                invoice_title=data["invoice_title"],
                tax_number=data["tax_number"],
                recipients_csv=data["recipients_csv"],
                language=data["language"],
            ),
        )
        gift = read(gifts.gift_view, public_id, token)["gift"]
        return _gift_out(gift, token)


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    get_api(app).register_blueprint(blp)
