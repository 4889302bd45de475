"""Issue 10 item 13: before any plan the chart shows the real gap; a plan bound by the rice
in stock says that rice is the bottleneck."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import Item, ItemKind, Lot
from inventory.settings import Settings
from scheduling.planning.bottleneck import material_bottleneck
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.plans import PlanRequest, create_plan
from tests.scheduling.planning.test_plan_services import END, NOW, START
from tests.shop.planning.test_plan_web import _app, _signed_in
from tests.support.planning import products

__all__ = ["products"]


def test_rice_used_up_with_demand_unmet_is_the_bottleneck_and_nothing_is_without_a_gap() -> None:
    args = {
        "limit_materials": True,
        "rice_used_g": 49_000.0,
        "rice_stock_g": {2026: 50_000.0, 2025: 9_000_000.0},
        "crop_years": [2026],
        "sugar_used_g": 1_000.0,
        "sugar_stock_g": 900_000.0,
    }
    assert material_bottleneck(unmet=500, **args) == "rice"  # type: ignore[arg-type]
    assert material_bottleneck(unmet=0, **args) is None  # type: ignore[arg-type]
    plenty = args | {"rice_stock_g": {2026: 9_000_000.0}}
    assert material_bottleneck(unmet=500, **plenty) is None  # type: ignore[arg-type]


def test_a_plan_short_of_new_rice_says_rice_is_the_bottleneck_on_its_page(
    db: sessionmaker[Session], products: list[str], settings: Settings
) -> None:
    with transaction(db) as s:
        seed_sales_history(s, latest_festival_year=2026)
        rice = Item(sku="RICE", kind=ItemKind.RICE, name_zh="米", name_en="rice", unit="g")
        sugar = Item(sku="SUGAR", kind=ItemKind.SUGAR, name_zh="糖", name_en="sugar", unit="g")
        s.add_all([rice, sugar])
        s.flush()
        # 20 kg of new rice against a festival fortnight: the mills could do far more.
        s.add(Lot(code="R-2026", item_id=rice.id, received_at=NOW, crop_year=2026, on_hand=20_000))
        s.add(Lot(code="S-1", item_id=sugar.id, received_at=NOW, on_hand=100_000_000))
    with transaction(db) as s:
        plan = create_plan(s, PlanRequest(start=START, end=END, time_limit=10), now=NOW)
        assert plan.unmet_total > 0
        assert plan.summary["bottleneck"] == "rice"
        plan_id = plan.id
    client = _signed_in(_app(settings), db)
    page = client.get(f"/manager/plan/plans/{plan_id}").get_data(as_text=True)
    assert "瓶颈是大米库存" in page


def test_before_any_plan_the_chart_shows_demand_beyond_capacity_as_the_gap(
    db: sessionmaker[Session], products: list[str], settings: Settings
) -> None:
    with transaction(db) as s:
        seed_sales_history(s, latest_festival_year=2026)
    client = _signed_in(_app(settings), db)
    page = client.get("/manager/plan/?year=2027").get_data(as_text=True)
    gaps = [(int(demand), int(gap)) for demand, gap in re.findall(r"需求 (\d+), 缺口 (\d+)", page)]
    assert gaps, "the chart has a tooltip per day"
    assert any(gap > 0 for _demand, gap in gaps), "a peak day's demand beyond capacity is a gap"
