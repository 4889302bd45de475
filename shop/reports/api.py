"""Reports in the manager JSON API: /api/v1/manager/reports (managers only). Each answers
JSON, or CSV with `format=csv`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.rules import local_day
from shop.auth import require_role
from shop.models import Role
from shop.refusals import bilingual_validation_errors
from shop.reports import services
from shop.reports.rules import GROUPS, group_sales, to_csv
from shop.runtime import read

blp = Blueprint(
    "manager_reports",
    __name__,
    url_prefix="/api/v1/manager/reports",
    description="Sales, waste, distributor revenue and balances, season against season",
)
bilingual_validation_errors(blp)
FORMAT = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class RangeSchema(Schema):
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)
    format = FORMAT


class SalesQuerySchema(RangeSchema):
    by = fields.String(load_default="day", validate=validate.OneOf(GROUPS))


class SeasonQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=1903, max=2099))
    format = FORMAT


def _range(query: dict[str, Any]) -> tuple[date, date]:
    start = query["start"] or local_day(utcnow())
    return start, query["end"] or start


def _csv(body: str) -> Response:
    return Response(body, mimetype="text/csv")


@blp.route("/sales", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(SalesQuerySchema, location="query")
def sales(query: dict[str, Any]) -> Any:
    """Lines, pieces and revenue by day, product, channel or pickup point."""
    rows = group_sales(read(services.sale_lines, *_range(query)), query["by"])
    if query["format"] == "csv":
        return _csv(to_csv([query["by"], "lines", "pieces", "revenue_fen"], rows))
    return [{"key": k, "lines": n, "pieces": p, "revenue_fen": f} for k, n, p, f in rows]


@blp.route("/waste", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(RangeSchema, location="query")
def waste(query: dict[str, Any]) -> Any:
    """Write-offs and expiries, with their reasons."""
    rows = read(services.waste, *_range(query))
    if query["format"] == "csv":
        return _csv(
            to_csv(
                ["day", "sku", "kind", "lot", "quantity", "unit", "reason"],
                [(r.day, r.sku, r.kind, r.lot, r.quantity, r.unit, r.reason) for r in rows],
            )
        )
    return [asdict(r) for r in rows]


@blp.route("/distributors", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(RangeSchema, location="query")
def distributors(query: dict[str, Any]) -> Any:
    """Revenue of collected goods per distributor, and the balance each owes."""
    rows = read(services.distributors, *_range(query))
    if query["format"] == "csv":
        return _csv(
            to_csv(
                ["code", "company", "active", "cases", "revenue_fen", "balance_fen"],
                [
                    (r.code, r.company, r.active, r.cases, r.revenue_fen, r.balance_fen)
                    for r in rows
                ],
            )
        )
    return [asdict(r) for r in rows]


@blp.route("/season", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(SeasonQuerySchema, location="query")
def season(query: dict[str, Any]) -> Any:
    """Pieces per day by days from 春节, this season against the last."""
    rows = read(services.season_vs_last, query["year"])
    if query["format"] == "csv":
        return _csv(
            to_csv(
                ["days_from_chunjie", "day", "pieces", "last_day", "last_pieces"],
                [(r.offset, r.this_day, r.this_pieces, r.last_day, r.last_pieces) for r in rows],
            )
        )
    return [asdict(r) for r in rows]
