"""The Spring Festival order calendar page (/season) and its JSON twin (/api/v1/season)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.api import get_api
from shop.orders import season, services
from shop.orders.season import SeasonView
from shop.runtime import current_runtime, read

bp = Blueprint("season", __name__)
blp = ApiBlueprint(
    "season_api",
    __name__,
    url_prefix="/api/v1",
    description="The Spring Festival season: lunar markers, per-zone deadlines, open days.",
)
FIRST_YEAR, LAST_YEAR = 1901, 2099  # what the lunar library covers


def _view(session: Any, year: int, sku: str | None) -> SeasonView:
    if sku is None:
        products = list(services.shop_products(session).values())
        if not products:
            raise DomainError("there is nothing to order yet", field="product")
        sku = products[0].sku
    runtime = current_runtime()
    return season.season_view(session, year, sku, settings=runtime.settings, now=utcnow())


def _year(raw: str | None) -> int:
    if not raw:
        return season.festival_year_ahead(utcnow())
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise DomainError(
            f"year must be between {FIRST_YEAR} and {LAST_YEAR}",
            key="msg.season.year",
            field="year",
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )
    return int(raw)


def _weeks(view: SeasonView) -> list[list[Any]]:
    """The days as calendar rows Monday..Sunday, padded with None before the first day."""
    cells: list[Any] = [None] * view.days[0].day.weekday() if view.days else []
    cells += view.days
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


@bp.get("/season")
def season_page() -> ResponseReturnValue:
    year = _year(request.args.get("year"))
    sku = request.args.get("product") or None
    if sku is not None and len(sku) > 40:
        raise DomainError("no such product", field="product")
    view = read(_view, year, sku)
    products = list(read(services.shop_products).values())
    return render_template(
        "store/season.html",
        view=view,
        weeks=_weeks(view),
        products=products,
        product=next(p for p in products if p.sku == view.sku),
        chuxi=next(m.day for m in view.markers if m.key == "chuxi"),
    )


class SeasonQuery(Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR))
    product = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class MarkerOut(Schema):
    key = fields.String(metadata={"description": "laba, xiaonian, chuxi or chunjie"})
    date = fields.Date(attribute="day")
    name_zh = fields.String()
    name_en = fields.String()


class DeadlineOut(Schema):
    zone = fields.String(attribute="code", metadata={"description": "'pickup' or a zone code"})
    name_zh = fields.String()
    name_en = fields.String()
    transit_days = fields.Integer()
    last_day = fields.Date(
        allow_none=True,
        metadata={"description": "last collection/dispatch day that arrives fresh by 除夕"},
    )
    arrives = fields.Date(allow_none=True)


class SeasonDayOut(Schema):
    date = fields.Date()
    state = fields.String(metadata={"description": "open, sold_out, closed or cutoff"})
    available = fields.Integer()
    markers = fields.List(fields.String())
    next_open = fields.Date(allow_none=True, metadata={"description": "for a sold-out day"})


class SeasonOut(Schema):
    year = fields.Integer()
    product = fields.String()
    freshness_days = fields.Integer()
    markers = fields.List(fields.Nested(MarkerOut))
    deadlines = fields.List(fields.Nested(DeadlineOut))
    days = fields.List(fields.Nested(SeasonDayOut))


@blp.route("/season")
class Season(MethodView):
    @blp.arguments(SeasonQuery, location="query")
    @blp.response(200, SeasonOut)
    def get(self, args: dict[str, Any]) -> Any:
        """The season whose 春节 falls in `year` (default: the coming one) for one product:
        腊八, 小年, 除夕, 春节; per delivery zone the last day that still arrives fresh by
        除夕; every day from 腊八 to a week after 春节 with the next open day after a
        sold-out one."""
        year = args["year"] or season.festival_year_ahead(utcnow())
        view = read(_view, year, args["product"])
        return {
            "year": view.year,
            "product": view.sku,
            "freshness_days": view.freshness_days,
            "markers": view.markers,
            "deadlines": view.deadlines,
            "days": [
                {
                    "date": d.day,
                    "state": d.state,
                    "available": d.available,
                    "markers": [m.key for m in view.marks.get(d.day, [])],
                    "next_open": view.next_open.get(d.day),
                }
                for d in view.days
            ],
        }


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    get_api(app).register_blueprint(blp)
