"""Making, storing, comparing and publishing season plans (the services behind the manager
console, the API and `gaogan plan`). Plain functions over a Session; they never commit."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.events import publish
from inventory.models import Item, ItemKind, Lot
from inventory.supply import set_planned_supply
from scheduling.planner import (
    TIERS,
    Materials,
    PlanInput,
    PlanResult,
    ProductSpec,
    SolveOptions,
    greedy_plan,
    lp_bound,
    solve,
)
from scheduling.planner.model import Progress, Watch, day_usage, utilisation
from scheduling.planning.bottleneck import material_bottleneck
from scheduling.planning.calendar import missing_arrangement_warnings
from scheduling.planning.capacity import day_capacities, get_profile, main_profile
from scheduling.planning.demand import base_sku, season_demand
from scheduling.planning.models import CapacityProfile, Plan, PlanDay, PlanLine, PlanStatus
from scheduling.planning.recipes import list_recipes

MAX_HORIZON_DAYS = 120
# The solver gets at least this long, however slow the reading was (a plan needs a start).
MIN_SOLVE_SECONDS = 1.0
STORE_RESERVE_SECONDS = 0.2
STORE_PER_READ = 1.6


class PlanNotFound(DomainError):
    code = "plan_not_found"
    status = 404


class PlanStateError(DomainError):
    code = "plan_state"
    status = 409


@dataclass(frozen=True)
class PlanRequest:
    start: date
    end: date
    profile_id: int | None = None
    growth_pct: int = 100
    limit_materials: bool = True
    time_limit: float = 10.0  # one budget for all solver stages (GAOGAN_PLAN_TIME_LIMIT)
    mip_rel_gap: float = 1e-4
    skus: Sequence[str] | None = None


@dataclass
class Prepared:
    data: PlanInput
    items: dict[str, Item]
    warnings: list[str] = field(default_factory=list)
    rice_stock: dict[int, float] = field(default_factory=dict)
    sugar_stock: float = 0.0


def material_stock(session: Session) -> tuple[dict[int, float], float]:
    """Rice on hand by crop year, and sugar, in grams."""
    rice: dict[int, float] = defaultdict(float)
    for crop_year, on_hand in session.execute(
        select(Lot.crop_year, func.sum(Lot.on_hand))
        .join(Item, Item.id == Lot.item_id)
        .where(Item.kind == ItemKind.RICE, Lot.on_hand > 0)
        .group_by(Lot.crop_year)
    ):
        if crop_year is not None:
            rice[int(crop_year)] += float(on_hand or 0)
    sugar = session.scalar(
        select(func.coalesce(func.sum(Lot.on_hand), 0))
        .join(Item, Item.id == Lot.item_id)
        .where(Item.kind == ItemKind.SUGAR)
    )
    return dict(rice), float(sugar or 0)


def check_request(request: PlanRequest) -> None:
    """Refuse a request no plan can be made of, before any work is started for it."""
    if request.end < request.start:
        raise DomainError(
            "the plan ends before it starts",
            key="msg.plan.ends_before_start",
            start=request.start.isoformat(),
        )
    if (request.end - request.start).days + 1 > MAX_HORIZON_DAYS:
        raise DomainError(f"a plan covers at most {MAX_HORIZON_DAYS} days", key="msg.plan.horizon")
    if not 1 <= request.growth_pct <= 1000:
        raise DomainError(
            "growth is 1-1000 % of past seasons", key="msg.plan.growth", field="growth_pct"
        )


def prepare(
    session: Session, request: PlanRequest, *, harvest_month: int = 10, now: datetime | None = None
) -> Prepared:
    check_request(request)
    profile = (
        get_profile(session, request.profile_id) if request.profile_id else main_profile(session)
    )
    recipes = list_recipes(session)
    items = {
        i.sku: i
        for i in session.scalars(
            select(Item).where(Item.kind == ItemKind.PRODUCT, Item.active.is_(True))
        )
    }
    warnings = missing_arrangement_warnings(session, request.start, request.end)
    skus = sorted(request.skus) if request.skus else sorted(items)
    products = []
    for sku in skus:
        if sku not in items:
            raise DomainError(f"no active product {sku}", key="msg.plan.no_product", sku=sku)
        if sku not in recipes:
            warnings.append(f"{sku}: 没有配方，未排产 / no recipe, not planned")
            continue
        r = recipes[sku]
        products.append(
            ProductSpec(
                sku=sku,
                freshness_days=items[sku].freshness_days or 1,
                units_per_tray=r.units_per_tray,
                rice_g=r.gross_rice_g,
                sugar_g=r.gross_sugar_g,
                labour_minutes=dict(r.labour_minutes),
            )
        )
    planned = [p.sku for p in products]
    demand = season_demand(
        session,
        planned,
        request.start,
        request.end,
        growth_pct=request.growth_pct,
        now=now,
        split_hot=True,
    )
    by_sku = {p.sku: p for p in products}
    for variant in sorted({k[0] for k in demand if k[0] not in by_sku}):
        products.append(replace(by_sku[base_sku(variant)], sku=variant, freshness_days=1))
    rice, sugar = material_stock(session)
    materials = (
        Materials(rice_by_crop_year=rice, sugar_g=sugar) if request.limit_materials else Materials()
    )
    if request.limit_materials:
        from scheduling.planning.crop import current_crop_year

        years = {
            current_crop_year(request.start, harvest_month),
            current_crop_year(request.end, harvest_month),
        }
        if not any(rice.get(y, 0) > 0 for y in years):
            warnings.append(
                "库存中没有当年新米：不限库存排产可得采购量 / no current-crop rice in stock: plan without the stock limit to see what to buy"
            )
        if sugar <= 0:
            warnings.append("库存中没有白糖 / no sugar in stock")
    days = tuple(
        day_capacities(session, profile, request.start, request.end, harvest_month=harvest_month)
    )
    data = PlanInput(products=tuple(products), days=days, demand=demand, materials=materials)
    return Prepared(data=data, items=items, warnings=warnings, rice_stock=rice, sugar_stock=sugar)


def fold_variants(data: PlanInput, result: PlanResult) -> tuple[PlanInput, PlanResult]:
    """Same-day variants (`sku@hot`) back onto their product: one line per real product."""
    if all(base_sku(p.sku) == p.sku for p in data.products):
        return data, result

    def fold(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = defaultdict(int)
        for key, value in mapping.items():
            out[(base_sku(key[0]), *key[1:])] += value
        return dict(out)

    folded_data = PlanInput(
        products=tuple(p for p in data.products if base_sku(p.sku) == p.sku),
        days=data.days,
        demand=fold(data.demand),
        materials=data.materials,
    )
    folded = PlanResult(
        trays=fold(result.trays),
        made=fold(result.made),
        sales=fold(result.sales),
        served=fold(result.served),
        unmet=fold(result.unmet),
        waste=fold(result.waste),
        overtime_hours=dict(result.overtime_hours),
        status=result.status,
        seconds=result.seconds,
        mip_gap=result.mip_gap,
        stage_values=dict(result.stage_values),
        stage_seconds=dict(result.stage_seconds),
        stage_status=dict(result.stage_status),
        stage_gaps=dict(result.stage_gaps),
    )
    return folded_data, folded


def _store(
    session: Session,
    profile: CapacityProfile,
    request: PlanRequest,
    prepared: Prepared,
    result: PlanResult,
    extra: Mapping[str, Any],
) -> Plan:
    data, result = fold_variants(prepared.data, result)
    products = {p.sku: p for p in data.products}
    plan = Plan(
        ref=f"plan-{request.start:%Y%m%d}-{secrets.token_hex(3)}",
        profile_id=profile.id,
        start=request.start,
        end=request.end,
        status=PlanStatus.DRAFT,
        growth_pct=request.growth_pct,
        solver_status=result.status[:40],
        solve_seconds=round(result.seconds, 3),
        demand_total=data.demand_total(),
        unmet_total=result.unmet_total(),
        waste_total=result.waste_total(),
        overtime_hours=round(result.overtime_total(), 2),
        warnings=list(prepared.warnings),
    )
    demand_on: dict[tuple[str, date], int] = defaultdict(int)
    for (sku, day, _k), q in data.demand.items():
        demand_on[sku, day] += q
    served_on: dict[tuple[str, date], int] = defaultdict(int)
    for (sku, day, _k), q in result.served.items():
        served_on[sku, day] += q
    for sku in products:
        for cap in data.days:
            key = (sku, cap.day)
            trays = result.trays.get(key, 0)
            if trays or demand_on.get(key):
                plan.lines.append(
                    PlanLine(
                        item_id=prepared.items[sku].id,
                        day=cap.day,
                        trays=trays,
                        quantity=result.made.get(key, 0),
                        demand=demand_on.get(key, 0),
                        sold=served_on.get(key, 0),
                        waste=result.waste.get(key, 0),
                    )
                )
    steps = data.steps
    rice_total = 0.0
    sugar_total = 0.0
    # Summed by day once: filtering every unmet and demand entry per day made this quadratic.
    unmet_on: dict[date, list[int]] = defaultdict(lambda: [0] * len(TIERS))
    for (_s, d, k), q in result.unmet.items():
        unmet_on[d][k] += q
    demand_by_day: dict[date, int] = defaultdict(int)
    for (_s, d, _k), q in data.demand.items():
        demand_by_day[d] += q
    for cap in data.days:
        made_today = {s: result.made.get((s, cap.day), 0) for s in products}
        trays_today = {s: result.trays.get((s, cap.day), 0) for s in products}
        usage = day_usage(products, made_today, trays_today)
        rice_total += usage.rice_g
        sugar_total += usage.sugar_g
        ot = result.overtime_hours.get(cap.day, 0.0)
        unmet_tiers = list(unmet_on[cap.day])
        plan.days.append(
            PlanDay(
                day=cap.day,
                production=cap.production,
                demand=demand_by_day[cap.day],
                unmet=sum(unmet_tiers),
                unmet_by_tier=unmet_tiers,
                capacity_units=capacity_pieces(data, cap.day),
                utilisation=utilisation(cap, usage, max(ot, cap.extra_hours), steps),
                overtime_hours=round(ot, 2),
                rice_g=round(usage.rice_g),
                sugar_g=round(usage.sugar_g),
            )
        )
    plan.summary = {
        "unmet_by_tier": result.unmet_by_tier(),
        "stage_values": result.stage_values,
        # The solve report the plan page shows: where the time budget went, what it cut.
        "stage_seconds": result.stage_seconds,
        "stage_status": result.stage_status,
        "cut_short": result.cut_short,
        "mip_gap": result.mip_gap,
        # HiGHS's relative gap per stage when it stopped: how close each stage was proven.
        "stage_gaps": result.stage_gaps,
        "rice_needed_g": round(rice_total),
        "rice_stock_g": {str(k): v for k, v in prepared.rice_stock.items()},
        "sugar_stock_g": prepared.sugar_stock,
        "limit_materials": request.limit_materials,
        "bottleneck": material_bottleneck(
            unmet=result.unmet_total(),
            limit_materials=request.limit_materials,
            rice_used_g=rice_total,
            rice_stock_g=prepared.rice_stock,
            crop_years=[cap.crop_year for cap in data.days],
            sugar_used_g=sugar_total,
            sugar_stock_g=prepared.sugar_stock,
            smallest_tray_rice_g=min(
                (p.rice_g * p.units_per_tray for p in data.products), default=0.0
            ),
            smallest_tray_sugar_g=min(
                (p.sugar_g * p.units_per_tray for p in data.products), default=0.0
            ),
        ),
        # Every product the plan decided on, also those it makes none of: publishing writes
        # their zeros, so an older plan's output is not promised on after a re-plan.
        "skus": sorted(products),
        **extra,
    }
    session.add(plan)
    session.flush()
    publish(
        session,
        "plan.created",
        {
            "plan_ref": plan.ref,
            "profile_id": profile.id,
            "start": plan.start.isoformat(),
            "end": plan.end.isoformat(),
            "unmet_total": plan.unmet_total,
        },
        key=f"plan:{plan.ref}",
    )
    return plan


def capacity_pieces(data: PlanInput, day: date) -> int:
    """A rough ceiling for the chart: pieces the day could make of the average product if
    the tightest of mills, cabinets and staff were the only limit (extra shift included)."""
    cap = next(c for c in data.days if c.day == day)
    specs = [p for p in data.products if base_sku(p.sku) == p.sku]
    if not cap.production or not specs:
        return 0
    n = len(specs)
    rice = sum(p.rice_g for p in specs) / n
    per_tray = sum(p.units_per_tray for p in specs) / n
    limits = []
    if rice > 0:
        limits.append((cap.mill_kg + cap.mill_kg_per_extra_hour * cap.extra_hours) * 1000 / rice)
    limits.append((cap.trays + cap.trays_per_extra_hour * cap.extra_hours) * per_tray)
    for subset in data.step_subsets():
        minutes = sum(sum(p.labour_minutes.get(s, 0.0) for s in subset) for p in specs) / n
        if minutes > 0:
            available = sum(
                g.minutes + g.minutes_per_extra_hour * cap.extra_hours
                for g in cap.staff
                if g.skills & subset
            )
            limits.append(available / minutes)
    return int(min(limits))


@dataclass
class Solved:
    """A solved plan not yet stored: the solver's result and the baselines beside it."""

    result: PlanResult
    extra: dict[str, Any] = field(default_factory=dict)


def solve_prepared(
    prepared: Prepared,
    request: PlanRequest,
    *,
    progress: Progress | None = None,
    watch: Watch | None = None,
    with_baselines: bool = True,
    read_seconds: float = 0.0,
) -> Solved:
    """Solve what `prepare` read, touching no database: a background run solves between two
    short transactions, so no lock (SQLite's single writer above all) is held while HiGHS
    works. The whole plan keeps to `request.time_limit`: the solver gets what reading the
    inputs (`read_seconds`, measured by the caller) and the baselines left, less what
    storing will take."""
    started = time.monotonic()
    options = SolveOptions(time_limit=request.time_limit, mip_rel_gap=request.mip_rel_gap)
    extra: dict[str, Any] = {}
    if with_baselines and prepared.data.products:
        # Before the solve, so their time comes out of the same budget (an LP and the
        # day-by-day plan: a fraction of a second each).
        if progress is not None:
            progress("bound", 0.0)
        bound = lp_bound(prepared.data, options)
        greedy = greedy_plan(prepared.data)
        extra = {
            "lp_bound_unmet": round(bound.unmet_total, 3),
            "lp_bound_by_tier": [round(b, 3) for b in bound.unmet_by_tier],
            "greedy_unmet": greedy.unmet_total(),
            "greedy_unmet_by_tier": greedy.unmet_by_tier(),
            "greedy_waste": greedy.waste_total(),
        }
    # Storing (a line per product and day, through the ORM) took 1.3-1.6 times what
    # preparing did for 60 and 120 days x 12 products on PostgreSQL: keep that much back.
    store_reserve = max(STORE_RESERVE_SECONDS, STORE_PER_READ * read_seconds)
    left = request.time_limit - read_seconds - (time.monotonic() - started) - store_reserve
    solve_options = replace(options, time_limit=max(MIN_SOLVE_SECONDS, left))
    result = solve(prepared.data, solve_options, progress=progress, watch=watch)
    return Solved(result, extra)


def store_plan(session: Session, request: PlanRequest, prepared: Prepared, solved: Solved) -> Plan:
    """Store a solved plan as a draft (and announce it: `plan.created`)."""
    profile = (
        get_profile(session, request.profile_id) if request.profile_id else main_profile(session)
    )
    return _store(session, profile, request, prepared, solved.result, solved.extra)


def create_plan(
    session: Session,
    request: PlanRequest,
    *,
    harvest_month: int = 10,
    now: datetime | None = None,
    progress: Progress | None = None,
    with_baselines: bool = True,
) -> Plan:
    """Prepare, solve and store in the caller's session (the CLI, the nightly job, tests),
    within `request.time_limit` seconds in all; the console and the API solve in a background
    run instead (`plan_runs`)."""
    started = time.monotonic()
    prepared = prepare(session, request, harvest_month=harvest_month, now=now)
    solved = solve_prepared(
        prepared,
        request,
        progress=progress,
        with_baselines=with_baselines,
        read_seconds=time.monotonic() - started,
    )
    return store_plan(session, request, prepared, solved)


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(f"no plan {plan_id}", key="msg.plan.not_found", plan_id=plan_id)
    return plan


def list_plans(session: Session, limit: int = 50) -> list[Plan]:
    return list(session.scalars(select(Plan).order_by(Plan.id.desc()).limit(limit)))


def short_days(plan: Plan) -> list[PlanDay]:
    return [d for d in plan.days if d.unmet > 0]


# --- publishing ----------------------------------------------------------------------


def _set_planned_supply(
    session: Session, plan_ref: str, quantities: Mapping[tuple[str, date], int]
) -> list[dict[str, Any]]:
    changes = set_planned_supply(session, plan_ref, quantities)
    return [
        {"sku": c.sku, "day": c.day.isoformat(), "planned": c.planned, "promised": c.promised}
        for c in changes
    ]


def publish_plan(session: Session, plan_id: int, *, now: datetime | None = None) -> Plan:
    """Make the plan the planned supply the storefront and distributor portal promise from."""
    plan = get_plan(session, plan_id)
    if plan.status is PlanStatus.PUBLISHED:
        return plan
    if plan.status is PlanStatus.SUPERSEDED:
        raise PlanStateError(
            "this plan was replaced by a newer published plan",
            key="msg.plan.replaced",
            plan_ref=plan.ref,
        )
    skus = {i.id: i.sku for i in session.scalars(select(Item).where(Item.kind == ItemKind.PRODUCT))}
    considered = plan.summary.get("skus")
    known = set(skus.values())
    planned_skus = {skus[line.item_id] for line in plan.lines} | {
        str(sku) for sku in (considered if isinstance(considered, list) else []) if sku in known
    }
    quantities: dict[tuple[str, date], int] = {}
    day = plan.start
    while day <= plan.end:
        for sku in planned_skus:
            quantities[sku, day] = 0
        day += timedelta(days=1)
    for line in plan.lines:
        quantities[skus[line.item_id], line.day] = line.quantity
    if not quantities:
        raise PlanStateError(
            "this plan makes nothing: there is nothing to publish",
            key="msg.plan.makes_nothing",
            plan_ref=plan.ref,
        )
    conflicts = _set_planned_supply(session, plan.ref, quantities)
    for older in session.scalars(
        select(Plan).where(
            Plan.status == PlanStatus.PUBLISHED,
            Plan.id != plan.id,
            Plan.start <= plan.end,
            Plan.end >= plan.start,
        )
    ):
        older.status = PlanStatus.SUPERSEDED
    plan.status = PlanStatus.PUBLISHED
    plan.published_at = now or utcnow()
    summary = dict(plan.summary)
    summary["publish_conflicts"] = conflicts
    plan.summary = summary
    short = short_days(plan)
    publish(
        session,
        "plan.published",
        {
            "plan_ref": plan.ref,
            "start": plan.start.isoformat(),
            "end": plan.end.isoformat(),
            "rows": len(quantities),
            "short_days": [d.day.isoformat() for d in short],
            "conflicts": conflicts,
        },
        key=f"plan:{plan.ref}",
    )
    for d in short:
        publish(
            session,
            "plan.day_short",
            {
                "plan_ref": plan.ref,
                "day": d.day.isoformat(),
                "demand": d.demand,
                "unmet": d.unmet,
                "unmet_by_tier": list(d.unmet_by_tier),
            },
            key=f"plan:{plan.ref}",
        )
    session.flush()
    return plan


def plan_all_profiles(
    session: Session, request: PlanRequest, profiles: Sequence[CapacityProfile], **kwargs: Any
) -> list[Plan]:
    return [
        create_plan(session, PlanRequest(**{**request.__dict__, "profile_id": p.id}), **kwargs)
        for p in profiles
    ]
