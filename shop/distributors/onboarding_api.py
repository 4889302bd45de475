"""Distributor onboarding in the manager JSON API: /api/v1/manager/distributors."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.distributors import onboarding
from shop.distributors.onboarding_pages import invitation_url
from shop.models import Role
from shop.refusals import bilingual_validation_errors
from shop.runtime import read, run

blp = Blueprint(
    "manager_distributors",
    __name__,
    url_prefix="/api/v1/manager/distributors",
    description="Distributor accounts, terms, price lists, portal users, payments (managers)",
)
bilingual_validation_errors(blp)


class DistributorContactInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(load_default="", validate=validate.Length(max=32))
    email = fields.String(load_default="", validate=validate.Length(max=254))
    role = fields.String(load_default="", validate=validate.Length(max=60))


class DistributorAccountChangeSchema(Schema):
    company = fields.String(required=True, validate=validate.Length(min=1, max=160))
    region = fields.String(load_default="", validate=validate.Length(max=40))
    address = fields.String(load_default="", validate=validate.Length(max=240))
    contacts = fields.List(
        fields.Nested(DistributorContactInSchema),
        load_default=list,
        validate=validate.Length(max=10),
    )
    credit_limit_fen = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=onboarding.MAX_FEN)
    )
    payment_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=180))
    preference = fields.String(
        load_default="pickup", validate=validate.OneOf(onboarding.PREFERENCES)
    )
    preferred_slot = fields.String(
        load_default="", validate=validate.Regexp(r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$")
    )
    note = fields.String(load_default="", validate=validate.Length(max=300))
    accept_part_delivery = fields.Boolean(
        load_default=None,
        metadata={
            "description": "after a production shortfall, serve the whole cases made and "
            "re-price the booking (true) or cancel it (false, the default); omitted on a "
            "change: left as it is"
        },
    )


class DistributorAccountSchema(DistributorAccountChangeSchema):
    code = fields.String(required=True, validate=validate.Length(min=2, max=20))


class DistributorActiveSchema(Schema):
    active = fields.Boolean(required=True)


class DistributorPricesSchema(Schema):
    prices = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.Integer(validate=validate.Range(min=1, max=10_000_000)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class PortalInviteSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


class DistributorPaymentSchema(Schema):
    amount_fen = fields.Integer(
        required=True, validate=validate.Range(min=1, max=onboarding.MAX_FEN)
    )
    received_on = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(onboarding.PAYMENT_METHODS))
    reference = fields.String(load_default="", validate=validate.Length(max=80))


class StatementMonthSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    month = fields.Integer(required=True, validate=validate.Range(min=1, max=12))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


def _uid() -> int:
    user = current_user()
    assert user is not None  # require_role saw to it
    return user.id


def _contacts(body: dict[str, Any]) -> list[onboarding.ContactIn]:
    return [onboarding.ContactIn(**c) for c in body.pop("contacts", [])]


@blp.route("", methods=["GET"])
@require_role(Role.MANAGER)
def accounts() -> Any:
    """Every distributor with terms, contacts, portal users and balance owed."""
    return [asdict(a) for a in read(onboarding.list_accounts)]


@blp.route("", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorAccountSchema)
def create(body: dict[str, Any]) -> Any:
    """Open a distributor account."""
    contacts = _contacts(body)
    view = run(onboarding.create_account, contacts=contacts, user_id=_uid(), **body)
    return asdict(view), 201


@blp.route("/<int:distributor_id>", methods=["GET"])
@require_role(Role.MANAGER)
def get(distributor_id: int) -> Any:
    return asdict(read(onboarding.account_view, distributor_id))


@blp.route("/<int:distributor_id>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorAccountChangeSchema)
def update(body: dict[str, Any], distributor_id: int) -> Any:
    """Company, contacts, pickup or delivery preference, payment terms, credit limit."""
    contacts = _contacts(body)
    user = current_user()
    by = user.email if user else ""
    return asdict(run(onboarding.update_account, distributor_id, contacts=contacts, by=by, **body))


@blp.route("/<int:distributor_id>/active", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorActiveSchema)
def set_active(body: dict[str, Any], distributor_id: int) -> Any:
    """Suspend (no new bookings) or reinstate the account."""
    return asdict(run(onboarding.set_active, distributor_id, body["active"], user_id=_uid()))


@blp.route("/<int:distributor_id>/prices", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorPricesSchema)
def set_prices(body: dict[str, Any], distributor_id: int) -> Any:
    """Case prices by SKU; each change goes into the price history."""
    run(onboarding.set_prices, distributor_id, body["prices"], user_id=_uid(), now=utcnow())
    return [asdict(p) for p in read(onboarding.price_list, distributor_id)]


@blp.route("/<int:distributor_id>/users", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(PortalInviteSchema)
def invite(body: dict[str, Any], distributor_id: int) -> Any:
    """A portal user and a one-time link (7 days) to set their password."""
    user_id, token = run(onboarding.invite_user, distributor_id, now=utcnow(), **body)
    return {"user_id": user_id, "invitation_url": invitation_url(token)}, 201


@blp.route("/<int:distributor_id>/payments", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorPaymentSchema)
def payment(body: dict[str, Any], distributor_id: int) -> Any:
    """Money received on account against the statement."""
    view = run(
        onboarding.record_payment,
        distributor_id,
        user_id=_uid(),
        today=local_day(utcnow()),
        **body,
    )
    return asdict(view), 201


@blp.route("/<int:distributor_id>/statement", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(StatementMonthSchema, location="query")
def statement(query: dict[str, Any], distributor_id: int) -> Any:
    """The month's statement: opening balance, collected goods, payments, closing balance."""
    st = read(onboarding.statement, distributor_id, query["year"], query["month"])
    if query["format"] == "csv":
        return Response(onboarding.statement_csv(st), mimetype="text/csv")
    body = asdict(st)
    body["due_on"] = st.due_on.isoformat()
    body["lines"] = [{**asdict(x), "day": x.day.isoformat()} for x in st.lines]
    body["payments"] = [
        {"day": d.isoformat(), "amount_fen": a, "method": m, "reference": r}
        for d, a, m, r in st.payments
    ]
    return body
