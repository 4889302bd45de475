"""`gaogan orders ...` through Click's runner."""

from __future__ import annotations

from datetime import datetime, time

from click.testing import CliRunner

from inventory.db import transaction, utcnow
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.scheduler.clock import FileClock
from shop.cli import cli
from shop.orders import placing, services
from shop.orders.models import OrderStatus
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop


def env(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def test_staff_mark_an_order_ready_then_collected_and_see_it(
    shop: Shop, settings: Settings
) -> None:
    with transaction(shop.sessions) as s:
        public_id = services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 2)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,
            now=utcnow(),
        ).public_id
    runner = CliRunner()
    # Staff act on the pickup morning (issue 10 item 5: not before the day): a rehearsal clock.
    clock = settings.instance_path / "clock"
    clock.parent.mkdir(parents=True, exist_ok=True)
    FileClock.write(clock, datetime.combine(shop.open_day, time(6, 30), tzinfo=LOCAL_ZONE))
    early = runner.invoke(cli, ["orders", "advance", public_id, "ready"], env=env(settings))
    assert early.exit_code != 0 and "before" in early.output
    on_the_day = env(settings) | {"GAOGAN_CLOCK_FILE": str(clock)}
    shown = runner.invoke(cli, ["orders", "show", public_id], env=env(settings))
    assert shown.exit_code == 0, shown.output
    assert "confirmed" in shown.output and "GG-CLASSIC" in shown.output
    assert (
        runner.invoke(cli, ["orders", "advance", public_id, "ready"], env=on_the_day).exit_code == 0
    )
    wrong = runner.invoke(cli, ["orders", "advance", public_id, "delivered"], env=on_the_day)
    assert wrong.exit_code != 0 and "collected, not delivered" in wrong.output
    assert (
        runner.invoke(cli, ["orders", "advance", public_id, "collected"], env=on_the_day).exit_code
        == 0
    )
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.COLLECTED


def test_the_expiry_sweep_reports_what_it_expired(shop: Shop, settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["orders", "expire"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "expired 0 unpaid order(s)" in result.output


def test_default_locations_are_listed(shop: Shop, settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["orders", "setup-locations"], env=env(settings))
    assert result.exit_code == 0, result.output
    assert "factory" in result.output and "changde" in result.output and "tianjin" in result.output


def test_the_expiry_sweep_is_registered_as_a_scheduler_job_that_expires_lapsed_orders(
    app: object, shop: Shop, settings: Settings
) -> None:
    from datetime import timedelta

    from scheduling.scheduler.clock import SystemClock
    from scheduling.scheduler.jobs import JobContext, registry
    from shop.orders.web import EXPIRE_UNPAID_JOB

    online = settings.with_overrides(stripe_secret_key="sk_test_x", stripe_webhook_secret="w")
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 1)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="stripe",
                pickup_point="factory",
            ),
            settings=online,
            now=utcnow() - timedelta(minutes=settings.hold_minutes + 1),
        )
        public_id = order.public_id
    spec = registry.get(EXPIRE_UNPAID_JOB)
    with transaction(shop.sessions) as s:
        context = JobContext(
            name=spec.name,
            sessions=shop.sessions,
            settings=settings,
            scheduled_for=utcnow(),
            clock=SystemClock(),
            session=s,
        )
        assert spec.func(context) == [public_id]
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.EXPIRED
