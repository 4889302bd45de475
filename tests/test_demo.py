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
from inventory.models import Item, Lot
from inventory.rules import local_today
from inventory.settings import Settings
from shop.cli import cli
from shop.demo import PRODUCTS


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
    today = local_today(utcnow())
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
    today = local_today(utcnow())
    # More than the new-crop lot holds: the rest would have to come from last year's rice.
    with pytest.raises(OldCropRice), transaction(db) as s:
        consume_material(s, "RICE", 2_100_000, day=today, reference="batch:test")
