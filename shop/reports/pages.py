"""Report pages under /manager/reports (managers only): each with its CSV and a chart."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from inventory.db import utcnow
from inventory.rules import local_day
from shop.auth import require_role
from shop.i18n import translate
from shop.models import Role
from shop.refusals import Refused
from shop.reports import services
from shop.reports.rules import GROUPS, bar_svg, group_sales, lines_svg, to_csv
from shop.runtime import read

bp = Blueprint("reports", __name__, url_prefix="/manager/reports")


def date_range() -> tuple[date, date]:
    today = local_day(utcnow())
    try:
        start = date.fromisoformat(request.args.get("start") or today.isoformat())
        end = date.fromisoformat(request.args.get("end") or start.isoformat())
    except ValueError as exc:
        raise Refused("rep.err.date", code="bad_date") from exc
    return start, end


def csv_response(name: str, body: str) -> Response:
    return Response(
        "\ufeff" + body,  # a BOM so spreadsheet programs read the Chinese right
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


def sales_table(start: date, end: date, by: str) -> list[tuple[str, int, int, int]]:
    return group_sales(read(services.sale_lines, start, end), by)


@bp.get("/")
@require_role(Role.MANAGER)
def sales() -> ResponseReturnValue:
    start, end = date_range()
    by = request.args.get("by", "day")
    by = by if by in GROUPS else "day"
    rows = sales_table(start, end, by)
    chart = bar_svg(
        [(k, fen // 100) for k, _n, _p, fen in rows], title=translate("rep.revenue"), unit="¥"
    )
    return render_template(
        "reports/sales.html",
        rows=rows,
        by=by,
        groups=GROUPS,
        start=start,
        end=end,
        chart=Markup(chart),
    )


@bp.get("/sales.csv")
@require_role(Role.MANAGER)
def sales_csv() -> ResponseReturnValue:
    start, end = date_range()
    by = request.args.get("by", "day")
    by = by if by in GROUPS else "day"
    body = to_csv([by, "lines", "pieces", "revenue_fen"], sales_table(start, end, by))
    return csv_response(f"sales-by-{by}-{start}-{end}", body)


@bp.get("/waste")
@require_role(Role.MANAGER)
def waste() -> ResponseReturnValue:
    start, end = date_range()
    return render_template(
        "reports/waste.html", rows=read(services.waste, start, end), start=start, end=end
    )


@bp.get("/waste.csv")
@require_role(Role.MANAGER)
def waste_csv() -> ResponseReturnValue:
    start, end = date_range()
    rows = read(services.waste, start, end)
    body = to_csv(
        ["day", "sku", "kind", "lot", "quantity", "unit", "reason"],
        [(r.day, r.sku, r.kind, r.lot, r.quantity, r.unit, r.reason) for r in rows],
    )
    return csv_response(f"waste-{start}-{end}", body)


@bp.get("/distributors")
@require_role(Role.MANAGER)
def distributors() -> ResponseReturnValue:
    start, end = date_range()
    rows = read(services.distributors, start, end)
    chart = bar_svg(
        [(r.code, r.revenue_fen // 100) for r in rows], title=translate("rep.revenue"), unit="¥"
    )
    return render_template(
        "reports/distributors.html", rows=rows, start=start, end=end, chart=Markup(chart)
    )


@bp.get("/distributors.csv")
@require_role(Role.MANAGER)
def distributors_csv() -> ResponseReturnValue:
    start, end = date_range()
    rows = read(services.distributors, start, end)
    body = to_csv(
        ["code", "company", "active", "cases", "revenue_fen", "balance_fen"],
        [(r.code, r.company, r.active, r.cases, r.revenue_fen, r.balance_fen) for r in rows],
    )
    return csv_response(f"distributors-{start}-{end}", body)


def festival_year() -> int:
    raw = request.args.get("year", "")
    if raw:
        if not raw.isdigit() or len(raw) != 4:
            raise Refused("rep.err.season", code="bad_season")
        return int(raw)
    today = local_day(utcnow())
    # The coming festival until a month after it, then the next one.
    from scheduling.planning.calendar import spring_festival

    year = today.year
    return year if today <= spring_festival(year) + timedelta(days=30) else year + 1


@bp.get("/season")
@require_role(Role.MANAGER)
def season() -> ResponseReturnValue:
    year = festival_year()
    rows = read(services.season_vs_last, year)
    chart = lines_svg(
        {
            str(year): {r.offset: r.this_pieces for r in rows},
            str(year - 1): {r.offset: r.last_pieces for r in rows},
        },
        title=translate("rep.season_title", year=year),
    )
    return render_template("reports/season.html", rows=rows, year=year, chart=Markup(chart))


@bp.get("/season.csv")
@require_role(Role.MANAGER)
def season_csv() -> ResponseReturnValue:
    year = festival_year()
    rows = read(services.season_vs_last, year)
    body = to_csv(
        [
            "days_from_chunjie",
            f"day_{year}",
            f"pieces_{year}",
            f"day_{year - 1}",
            f"pieces_{year - 1}",
        ],
        [(r.offset, r.this_day, r.this_pieces, r.last_day, r.last_pieces) for r in rows],
    )
    return csv_response(f"season-{year}-vs-{year - 1}", body)
