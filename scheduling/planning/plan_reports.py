"""Reports on season plans: the per-day table and its CSV, the API's plan document, plans side
by side, and the demand-against-capacity outlook before any plan is made. Read-only functions
over a Session (they never write)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item
from scheduling.planning.models import Plan
from scheduling.planning.plans import PlanRequest, capacity_pieces, prepare, short_days


def plan_table(session: Session, plan: Plan) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows per day: trays and pieces per product, demand, unmet: the console table and CSV."""
    skus = {i.id: i.sku for i in session.scalars(select(Item))}
    products = sorted({skus[line.item_id] for line in plan.lines})
    by_day: dict[date, dict[str, Any]] = {}
    for d in plan.days:
        by_day[d.day] = {
            "day": d.day,
            "production": d.production,
            "demand": d.demand,
            "unmet": d.unmet,
            "overtime_hours": d.overtime_hours,
            "rice_g": d.rice_g,
            "sugar_g": d.sugar_g,
            "utilisation": dict(d.utilisation),
            "made": {},
            "trays": {},
        }
    for line in plan.lines:
        row = by_day[line.day]
        row["made"][skus[line.item_id]] = line.quantity
        row["trays"][skus[line.item_id]] = line.trays
    return products, [by_day[k] for k in sorted(by_day)]


def plan_csv(session: Session, plan: Plan) -> str:
    products, rows = plan_table(session, plan)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "day",
            "production",
            *[f"{p} pieces" for p in products],
            *[f"{p} trays" for p in products],
            "demand",
            "unmet",
            "overtime_hours",
            "rice_g",
            "sugar_g",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r["day"].isoformat(),
                int(r["production"]),
                *[r["made"].get(p, 0) for p in products],
                *[r["trays"].get(p, 0) for p in products],
                r["demand"],
                r["unmet"],
                r["overtime_hours"],
                r["rice_g"],
                r["sugar_g"],
            ]
        )
    return out.getvalue()


def plan_dict(session: Session, plan: Plan) -> dict[str, Any]:
    products, rows = plan_table(session, plan)
    return {
        "id": plan.id,
        "ref": plan.ref,
        "profile_id": plan.profile_id,
        "profile": plan.profile.name,
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "status": plan.status.value,
        "growth_pct": plan.growth_pct,
        "solver_status": plan.solver_status,
        "solve_seconds": plan.solve_seconds,
        "demand_total": plan.demand_total,
        "served_total": plan.demand_total - plan.unmet_total,
        "unmet_total": plan.unmet_total,
        "waste_total": plan.waste_total,
        "overtime_hours": plan.overtime_hours,
        "summary": plan.summary,
        "warnings": plan.warnings,
        "products": products,
        "days": [
            {
                "day": r["day"].isoformat(),
                "production": r["production"],
                "demand": r["demand"],
                "unmet": r["unmet"],
                "overtime_hours": r["overtime_hours"],
                "rice_g": r["rice_g"],
                "sugar_g": r["sugar_g"],
                "utilisation": r["utilisation"],
                "made": r["made"],
                "trays": r["trays"],
            }
            for r in rows
        ],
        "close_days": [d.day.isoformat() for d in short_days(plan)],
    }


def compare(plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """Side by side: served, unmet, waste, overtime and peak utilisation per resource."""
    out = []
    for plan in plans:
        peak: dict[str, float] = {}
        mean: dict[str, float] = defaultdict(float)
        production_days = [d for d in plan.days if d.production]
        for d in production_days:
            for k, v in d.utilisation.items():
                peak[k] = max(peak.get(k, 0.0), v)
                mean[k] += v / max(1, len(production_days))
        out.append(
            {
                "plan_id": plan.id,
                "ref": plan.ref,
                "profile": plan.profile.name,
                "demand": plan.demand_total,
                "served": plan.demand_total - plan.unmet_total,
                "unmet": plan.unmet_total,
                "unmet_by_tier": plan.summary.get("unmet_by_tier", []),
                "waste": plan.waste_total,
                "overtime_hours": plan.overtime_hours,
                "short_days": len(short_days(plan)),
                "peak_utilisation": {k: round(v, 3) for k, v in sorted(peak.items())},
                "mean_utilisation": {k: round(v, 3) for k, v in sorted(mean.items())},
            }
        )
    return out


def season_outlook(
    session: Session, request: PlanRequest, *, harvest_month: int = 10, now: datetime | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Demand against capacity per day before any plan is made (the chart's first view)."""
    prepared = prepare(session, request, harvest_month=harvest_month, now=now)
    data = prepared.data
    out = []
    for cap in data.days:
        out.append(
            {
                "day": cap.day,
                "production": cap.production,
                "demand": sum(q for (_s, d, _k), q in data.demand.items() if d == cap.day),
                "capacity": capacity_pieces(data, cap.day),
            }
        )
    return out, prepared.warnings
