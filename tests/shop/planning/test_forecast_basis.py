"""The forecast pages say which history the forecast used: per product and past season, the
dates within the window (aligned by days from 春节), the number of days and pieces, and
whether they came from real sales, a CSV import or the seeded demo seasons."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.planning import sales_feed
from scheduling.planning.calendar import days_from_festival, spring_festival
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.forecast_basis import forecast_basis
from scheduling.planning.plans import PlanRequest, create_plan
from shop.history import services as history
from shop.planning.services import default_window
from tests.shop.planning.test_plan_web import _app, _signed_in
from tests.support.planning import make_products


def _last_past_festival() -> int:
    """The latest Spring Festival whose season is over, so its days can be imported."""
    today = local_day(utcnow())
    year = today.year
    return year if spring_festival(year) + timedelta(days=20) < today else year - 1


def _world(db: sessionmaker[Session]) -> tuple[int, date]:
    """Two demo seasons of GG-1 and GG-2, then the last season: GG-1 from a CSV import,
    GG-2 from real sales; GG-3 has no history at all."""
    last = _last_past_festival()
    festival = spring_festival(last)
    with transaction(db) as s:
        make_products(s, 2)
        create_product(s, "GG-3", "新品糕干", "New gaogan", 1500, 250, 2, 7)
        seed_sales_history(s, latest_festival_year=last - 1, seasons=2, skus=["GG-1", "GG-2"])
        rows = "\n".join(
            f"{(festival - timedelta(days=n)).isoformat()},GG-1,{channel},{q}"
            for n, channel, q in ((7, "pickup", 40), (7, "distributor", 200), (6, "pickup", 55))
        )
        imported = history.import_csv(
            s, f"day,sku,channel,quantity\n{rows}\n", today=local_day(utcnow()), user_id=1
        )
        assert imported == 3
        sales_feed.record(
            s,
            [sales_feed.Sale(festival - timedelta(days=5), "GG-2", "pickup", 30)],
            source="sales",
            replace=False,
        )
    return last, festival


def test_the_basis_lists_each_season_with_its_dates_days_and_sources(
    db: sessionmaker[Session],
) -> None:
    last, festival = _world(db)
    start, end = default_window(last + 1)
    with db() as s:
        basis = forecast_basis(s, start, end)
    window = {days_from_festival(start + timedelta(days=i)) for i in range((end - start).days + 1)}
    assert (basis.first_offset, basis.last_offset) == (min(window), max(window))
    assert basis.without_history == ["GG-3"]
    assert basis.products == ["GG-1", "GG-2"]
    gg1 = {b.season: b for b in basis.for_product("GG-1")}
    assert sorted(gg1) == [last - 2, last - 1, last]
    assert gg1[last - 1].source_days == {"seeded": gg1[last - 1].days} and gg1[last - 1].days > 20
    assert days_from_festival(gg1[last - 1].first_day) == min(window)  # type: ignore[arg-type]
    imported = gg1[last]
    assert (imported.first_day, imported.last_day) == (
        festival - timedelta(days=7),
        festival - timedelta(days=6),
    )
    assert (imported.days, imported.pieces) == (2, 295)
    assert imported.source_days == {"import": 2}
    assert imported.channel_pieces == {"pickup": 95, "distributor": 200}
    sold = {b.season: b for b in basis.for_product("GG-2")}[last]
    assert (sold.days, sold.pieces, sold.source_days) == (1, 30, {"sales": 1})

    # A window outside every season on record: the seasons still count (as zero), no days.
    with db() as s:
        summer = forecast_basis(s, date(last, 7, 1), date(last, 7, 7))
    assert {b.days for b in summer.seasons} == {0}
    assert {b.season for b in summer.for_product("GG-1")} == {last - 2, last - 1, last}


def test_the_planner_pages_and_the_api_show_the_basis(
    db: sessionmaker[Session], settings: Settings
) -> None:
    last, festival = _world(db)
    client: FlaskClient = _signed_in(_app(settings), db)
    page = client.get(f"/manager/plan/?year={last + 1}").get_data(as_text=True)
    assert 'id="forecast-basis"' in page and "预测依据" in page
    assert f'data-sku="GG-1" data-season="{last}" data-days="2" data-sources="import"' in page
    assert f'data-sku="GG-2" data-season="{last}" data-days="1" data-sources="sales"' in page
    assert f'data-sku="GG-1" data-season="{last - 1}"' in page and 'data-sources="seeded"' in page
    assert "CSV 导入 2 天" in page and "实际销售 1 天" in page and "演示/初始数据" in page
    assert (
        f"{(festival - timedelta(days=7)).isoformat()} – {(festival - timedelta(days=6)).isoformat()}"
        in page
    )
    # Products by name (the code beside it), not by code alone.
    assert "没有历史、因此没有预测的商品：新品糕干" in page
    assert '<td data-label="商品">糕干1 <small class="muted">GG-1</small></td>' in page
    english = client.get(f"/manager/plan/?year={last + 1}&lang=en").get_data(as_text=True)
    assert "What the forecast is based on" in english and "CSV import 2 days" in english
    assert "New gaogan" in english and "Gaogan 1" in english

    # The plan page shows the basis of its own window.
    start, end = default_window(last + 1)
    with transaction(db) as s:
        plan_id = create_plan(
            s, PlanRequest(start=start, end=end, limit_materials=False, time_limit=10)
        ).id
    plan_page = client.get(f"/manager/plan/plans/{plan_id}?lang=zh").get_data(as_text=True)
    assert f'data-sku="GG-1" data-season="{last}" data-days="2"' in plan_page

    api = client.get(
        f"/api/v1/planning/forecast-basis?start={start.isoformat()}&end={end.isoformat()}"
    )
    assert api.status_code == 200
    body = api.get_json()
    assert body["without_history"] == ["GG-3"]
    row = next(r for r in body["seasons"] if r["sku"] == "GG-1" and r["season"] == last)
    assert (row["name_zh"], row["name_en"]) == ("糕干1", "Gaogan 1")
    assert row["source_days"] == {"import": 2} and row["channel_pieces"]["distributor"] == 200
    backwards = client.get(
        f"/api/v1/planning/forecast-basis?start={end.isoformat()}&end={start.isoformat()}"
    )
    assert (
        backwards.status_code == 422
        and "结束日期不能早于开始日期" in backwards.get_json()["message"]
    )
