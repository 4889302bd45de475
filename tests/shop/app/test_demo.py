from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.atp import available_to_promise
from inventory.db import transaction, utcnow
from inventory.errors import OldCropRice
from inventory.ledger import verify_ledger
from inventory.materials import consume_material
from inventory.models import Item, Lot, Supply
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.pickup.models import PickupSlot
from scheduling.planning.calendar import festival_year_for
from scheduling.planning.models import PlanStatus, SalesHistory
from scheduling.planning.plans import PlanRequest, create_plan, publish_plan
from scheduling.planning.recipes import list_recipes
from shop.app import create_app
from shop.auth import authenticate
from shop.cli import cli
from shop.demo import DEMO_PASSWORD, PRODUCTS, latest_past_season
from shop.distributors.models import Booking
from tests.support.distributors import sign_in
from tests.support.web import csrf_from


def _env(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def test_the_demo_fills_an_empty_shop_that_can_sell_and_balances(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(cli, ["demo", "--days", "14"], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "manager@demo.gaogan" in result.output
    today = local_day(utcnow())
    with db() as s:
        skus = [p.sku for p in PRODUCTS]
        atp = available_to_promise(s, skus, today + timedelta(days=1), today + timedelta(days=7))
        assert all(atp[sku][today + timedelta(days=3)] > 0 for sku in skus)
        assert verify_ledger(s) == []
        rice_lots = s.scalars(select(Lot).join(Item).where(Item.sku == "RICE")).all()
        assert {lot.crop_year for lot in rice_lots} == {
            max(lot.crop_year or 0 for lot in rice_lots),
            max(lot.crop_year or 0 for lot in rice_lots) - 1,
        }


def test_loading_the_demo_twice_changes_nothing(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["demo"], env=_env(settings)).exit_code == 0
    with db() as s:
        items = s.scalar(select(func.count()).select_from(Item))
    again = runner.invoke(cli, ["demo"], env=_env(settings))
    assert again.exit_code == 0 and "already has a catalogue" in again.output
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == items


def test_the_demo_old_crop_rice_cannot_go_into_a_batch(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    assert CliRunner().invoke(cli, ["demo"], env=_env(settings)).exit_code == 0
    today = local_day(utcnow())
    # More than the new-crop lot holds: the rest would have to come from last year's rice.
    with pytest.raises(OldCropRice), transaction(db) as s:
        consume_material(s, "RICE", 2_100_000, day=today, reference="batch:test")


def test_the_demo_can_plan_the_next_two_weeks_and_publish_the_plan(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    assert CliRunner().invoke(cli, ["demo"], env=_env(settings)).exit_code == 0
    today = local_day(utcnow())
    start, end = today + timedelta(days=1), today + timedelta(days=14)
    with transaction(db) as s:
        assert len(list_recipes(s)) == len(PRODUCTS)
        seasons = {festival_year_for(d) for d in s.scalars(select(SalesHistory.day).distinct())}
        latest = latest_past_season(today)
        assert seasons == {latest - 2, latest - 1, latest}
        plan = create_plan(s, PlanRequest(start=start, end=end, time_limit=20))
        published = publish_plan(s, plan.id)
        plan_ref = published.ref
        assert published.status is PlanStatus.PUBLISHED and plan.lines
    with db() as s:
        # Every product with a recipe is decided by the plan, also those it makes none of:
        # the demo's flat supply is no longer promised from on any of them.
        rows = s.scalars(select(Supply).where(Supply.production_day == start)).all()
        assert len(rows) == len(PRODUCTS)
        assert {r.plan_ref for r in rows} == {plan_ref}


def test_the_demo_distributor_signs_in_sees_its_standing_bookings_and_books_a_slot(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    assert CliRunner().invoke(cli, ["demo"], env=_env(settings)).exit_code == 0
    today = local_day(utcnow())
    with db() as s:
        user = authenticate(s, "distributor@demo.gaogan", DEMO_PASSWORD)
        assert user is not None and user.distributor_id is not None
        distributor_id, user_id = user.distributor_id, user.id
        standing = s.scalars(select(Booking).where(Booking.distributor_id == distributor_id)).all()
        assert standing and all(b.source == "standing" for b in standing)
        # Two days ahead at the earliest: tomorrow may already be past the 20:00 cut-off.
        slot = s.scalars(
            select(PickupSlot)
            .where(PickupSlot.day >= today + timedelta(days=2))
            .order_by(PickupSlot.day, PickupSlot.starts_at.desc())
        ).first()
        assert slot is not None
        day, slot_id = slot.day, slot.id
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    sign_in(client, db, user_id)
    page = client.get(f"/distributor/?week={day.isoformat()}")
    assert page.status_code == 200
    made = client.post(
        "/distributor/bookings",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "day": day.isoformat(),
            "slot_id": slot_id,
            "cases_YC-CLASSIC-250": "2",
        },
    )
    assert made.status_code == 302
    with db() as s:
        booked = s.scalars(
            select(Booking).where(Booking.slot_id == slot_id, Booking.source != "standing")
        ).one()
        assert booked.distributor_id == distributor_id and booked.day == day


def test_after_the_nightly_re_plan_the_demo_shop_still_has_gaogan_to_sell(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    """The demo history covers ordinary days too, so a re-plan outside the festival season
    plans everyday quantities instead of nothing."""
    from scheduling.planning.jobs import nightly_replan

    assert CliRunner().invoke(cli, ["demo"], env=_env(settings)).exit_code == 0
    today = local_day(utcnow())
    with transaction(db) as s:
        result = nightly_replan(s, today, harvest_month=settings.harvest_month)
        assert result.plan_ref is not None
    with db() as s:
        week = available_to_promise(
            s, ["YC-CLASSIC-250"], today + timedelta(days=2), today + timedelta(days=7)
        )["YC-CLASSIC-250"]
    assert min(week.values()) >= 200, week
