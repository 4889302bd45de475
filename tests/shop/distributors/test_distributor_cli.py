"""`gaogan distributors ...` through Click's runner."""

from __future__ import annotations

from datetime import date, time, timedelta

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from shop.cli import cli
from shop.distributors import standing
from shop.distributors.models import Booking, Distributor, DistributorPrice
from shop.models import Role, User
from tests.support.distributors import CLASSIC, setup_products

DAY = date(2027, 1, 20)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def test_a_distributor_is_set_up_from_the_command_line(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    setup_products(db, [DAY], cases_per_day=20)
    runner = CliRunner()
    env = _env(settings)
    added = runner.invoke(
        cli,
        ["distributors", "add", "hb02", "保定副食批发", "--region", "河北", "--contact", "王经理"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "HB02" in added.output and "webhook secret" in added.output
    priced = runner.invoke(cli, ["distributors", "price", "HB02", CLASSIC, "86.50"], env=env)
    assert priced.exit_code == 0, priced.output
    bad = runner.invoke(cli, ["distributors", "price", "HB02", CLASSIC, "86.505"], env=env)
    assert bad.exit_code != 0
    user = runner.invoke(
        cli,
        [
            "distributors",
            "user",
            "HB02",
            "wang@hb02.example",
            "王经理",
            "--password",
            "long enough pw",
        ],
        env=env,
    )
    assert user.exit_code == 0, user.output
    slots = runner.invoke(cli, ["distributors", "slots", DAY.isoformat()], env=env)
    assert slots.exit_code == 0 and "06:00-06:15  0/4" in slots.output
    narrowed = runner.invoke(
        cli, ["distributors", "slot-capacity", DAY.isoformat(), "06:00", "2"], env=env
    )
    assert narrowed.exit_code == 0, narrowed.output
    slots = runner.invoke(cli, ["distributors", "slots", DAY.isoformat()], env=env)
    assert "06:00-06:15  0/2" in slots.output
    closed = runner.invoke(cli, ["distributors", "slots", "2027-10-01"], env=env)
    assert "closed" in closed.output
    with db() as s:
        d = s.scalars(select(Distributor)).one()
        assert d.region == "河北" and d.contacts[0].name == "王经理"
        assert s.scalars(select(DistributorPrice)).one().case_price_fen == 8650
        account = s.scalars(select(User)).one()
        assert account.role is Role.DISTRIBUTOR and account.distributor_id == d.id


def test_the_pickup_jobs_run_from_the_command_line(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    setup_products(db, [DAY, DAY + timedelta(days=1)], cases_per_day=20)
    runner = CliRunner()
    env = _env(settings)
    assert runner.invoke(cli, ["distributors", "add", "TJ09", "河西副食店"], env=env).exit_code == 0
    assert (
        runner.invoke(cli, ["distributors", "price", "TJ09", CLASSIC, "96"], env=env).exit_code == 0
    )
    with transaction(db) as s:
        d_id = s.scalars(select(Distributor.id)).one()
        standing.save_standing_order(
            s,
            distributor_id=d_id,
            slot_time=time(6, 0),
            weekday_lines={DAY.weekday(): {CLASSIC: 2}},
            starts_on=DAY,
        )
    made = runner.invoke(
        cli,
        [
            "distributors",
            "generate-standing",
            "--today",
            (DAY - timedelta(days=1)).isoformat(),
            "--days",
            "2",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "1 bookings made" in made.output
    swept = runner.invoke(cli, ["distributors", "no-shows"], env=env)
    assert swept.exit_code == 0 and "0 no-shows" in swept.output
    delivered = runner.invoke(cli, ["distributors", "deliver-webhooks"], env=env)
    assert delivered.exit_code == 0 and "sent 0" in delivered.output
    with db() as s:
        assert s.scalars(select(Booking.day)).all() == [DAY]
