"""Stock and purchasing in the manager JSON API: /api/v1/manager/stock (managers only).
Quantities are in the ledger's units: grams for rice and sugar, pieces for packaging."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.models import Role
from shop.refusals import bilingual_validation_errors
from shop.runtime import current_runtime, read, run
from shop.stock import services
from shop.stock.models import PurchaseOrder
from shop.stock.rules import MAX_MOISTURE_TENTHS

blp = Blueprint(
    "manager_stock",
    __name__,
    url_prefix="/api/v1/manager/stock",
    description="Raw-material stock, material requirements and purchase orders (managers)",
)
bilingual_validation_errors(blp)

QUANTITY = validate.Range(min=1, max=1_000_000_000)
SKU = validate.Length(min=1, max=40)
REASON = validate.Length(min=1, max=200)


class ReceiptSchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(required=True, validate=QUANTITY)
    supplier = fields.String(load_default="", validate=validate.Length(max=120))
    lot_code = fields.String(load_default="", validate=validate.Length(max=60))
    crop_year = fields.Integer(load_default=None, validate=validate.Range(min=1990, max=2100))
    moisture_tenths = fields.Integer(
        load_default=None, validate=validate.Range(min=0, max=MAX_MOISTURE_TENTHS)
    )
    best_before = fields.Date(load_default=None)


class AdjustSchema(Schema):
    quantity = fields.Integer(
        required=True, validate=validate.Range(min=-1_000_000_000, max=1_000_000_000)
    )
    reason = fields.String(required=True, validate=REASON)


class WriteOffSchema(Schema):
    quantity = fields.Integer(required=True, validate=QUANTITY)
    reason = fields.String(required=True, validate=REASON)


class LeadSchema(Schema):
    lead_days = fields.Integer(required=True, validate=validate.Range(min=0, max=120))
    supplier = fields.String(load_default="", validate=validate.Length(max=120))


class PurchaseLineSchema(Schema):
    sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(required=True, validate=QUANTITY)
    unit_price_fen = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class PurchaseSchema(Schema):
    supplier = fields.String(required=True, validate=validate.Length(min=1, max=120))
    expected_on = fields.Date(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=200))
    lines = fields.List(
        fields.Nested(PurchaseLineSchema), required=True, validate=validate.Length(min=1, max=20)
    )


class LineReceiptSchema(Schema):
    line_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.Integer(required=True, validate=QUANTITY)
    crop_year = fields.Integer(load_default=None, validate=validate.Range(min=1990, max=2100))
    moisture_tenths = fields.Integer(
        load_default=None, validate=validate.Range(min=0, max=MAX_MOISTURE_TENTHS)
    )
    best_before = fields.Date(load_default=None)


class PurchaseReceiptSchema(Schema):
    lines = fields.List(
        fields.Nested(LineReceiptSchema), required=True, validate=validate.Length(min=1, max=20)
    )


def _uid() -> int:
    user = current_user()
    assert user is not None  # require_role saw to it
    return user.id


def _today_and_harvest() -> dict[str, Any]:
    return {"today": local_day(utcnow()), "harvest_month": current_runtime().settings.harvest_month}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _lot_json(lot: Any) -> dict[str, Any]:
    return {"lot": lot.code, "sku": lot.item.sku, "on_hand": lot.on_hand}


def _purchase_json(order: PurchaseOrder) -> dict[str, Any]:
    body: dict[str, Any] = _jsonable(
        {
            "id": order.id,
            "supplier": order.supplier,
            "status": order.status.value,
            "expected_on": order.expected_on,
            "note": order.note,
            "created_at": order.created_at,
            "sent_at": order.sent_at,
            "received_at": order.received_at,
            "lines": [
                {
                    "id": line.id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price_fen": line.unit_price_fen,
                    "lot_code": line.lot_code,
                }
                for line in order.lines
            ],
        }
    )
    return body


@blp.route("/lots", methods=["GET"])
@require_role(Role.MANAGER)
def lots() -> Any:
    """Raw-material lots with stock: best-before, crop year, moisture, old-crop flags."""
    return [_jsonable(asdict(r)) for r in read(services.lots_on_hand, **_today_and_harvest())]


@blp.route("/receipts", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(ReceiptSchema)
def receive(body: dict[str, Any]) -> Any:
    """Receive rice (crop year, moisture), sugar or packaging into a new lot."""
    lot = run(services.receive, received_at=utcnow(), user_id=_uid(), **body)
    return _lot_json(lot), 201


@blp.route("/lots/<string:code>/adjust", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(AdjustSchema)
def adjust(body: dict[str, Any], code: str) -> Any:
    """A counted correction (positive or negative) with its reason."""
    return _lot_json(
        run(services.adjust, code[:60], body["quantity"], reason=body["reason"], user_id=_uid())
    )


@blp.route("/lots/<string:code>/write-off", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(WriteOffSchema)
def write_off(body: dict[str, Any], code: str) -> Any:
    """Write off spoiled or lost material with its reason."""
    return _lot_json(
        run(services.write_off, code[:60], body["quantity"], reason=body["reason"], user_id=_uid())
    )


@blp.route("/requirements", methods=["GET"])
@require_role(Role.MANAGER)
def requirements() -> Any:
    """What the published plan needs per day against stock and open purchases, with the
    date each material must be ordered by."""
    req = read(services.requirements, **_today_and_harvest())
    return _jsonable(
        {
            "plan_ref": req.plan_ref,
            "start": req.start,
            "end": req.end,
            "materials": [
                {"kind": kind, "name_zh": zh, "name_en": en, "lead_days": lead, **asdict(r)}
                for kind, zh, en, lead, r in req.items
            ],
        }
    )


@blp.route("/terms/<string:sku>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(LeadSchema)
def set_terms(body: dict[str, Any], sku: str) -> Any:
    """The supplier's lead time for a material (days to order ahead)."""
    terms = run(services.set_lead_days, sku[:40], body["lead_days"], body["supplier"])
    return {"sku": terms.sku, "lead_days": terms.lead_days, "supplier": terms.supplier}


@blp.route("/purchase-orders", methods=["GET"])
@require_role(Role.MANAGER)
def purchases() -> Any:
    """Purchase orders, newest first."""
    return [_purchase_json(o) for o in read(services.list_purchases)]


@blp.route("/purchase-orders", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(PurchaseSchema)
def create_purchase(body: dict[str, Any]) -> Any:
    """A draft purchase order to a supplier."""
    order = run(
        services.create_purchase,
        supplier=body["supplier"],
        expected_on=body["expected_on"],
        note=body["note"],
        lines=[services.NewLine(**line) for line in body["lines"]],
        user_id=_uid(),
        today=local_day(utcnow()),
    )
    return _purchase_json(order), 201


@blp.route("/purchase-orders/<int:purchase_id>/send", methods=["POST"])
@require_role(Role.MANAGER)
def send_purchase(purchase_id: int) -> Any:
    """Mark the order sent: its lines now count as on order."""
    return _purchase_json(run(services.send_purchase, purchase_id, now=utcnow()))


@blp.route("/purchase-orders/<int:purchase_id>/cancel", methods=["POST"])
@require_role(Role.MANAGER)
def cancel_purchase(purchase_id: int) -> Any:
    """Cancel a draft or sent order."""
    return _purchase_json(run(services.cancel_purchase, purchase_id))


@blp.route("/purchase-orders/<int:purchase_id>/receive", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(PurchaseReceiptSchema)
def receive_purchase(body: dict[str, Any], purchase_id: int) -> Any:
    """The delivery arrived: every line becomes a lot."""
    order = run(
        services.receive_purchase,
        purchase_id,
        [services.LineReceipt(**r) for r in body["lines"]],
        user_id=_uid(),
        now=utcnow(),
    )
    return _purchase_json(order)
