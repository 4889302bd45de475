"""The order desk stamps the rehearsal clock when one is set (GAOGAN_CLOCK_FILE), as
`gaogan orders advance` does: on a rehearsed pickup morning an order is marked ready and
collected on its day, with no "made early" reason; without it the wall clock rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from pathlib import Path

from flask.testing import FlaskClient

from inventory.rules import local_moment
from inventory.settings import Settings
from scheduling.scheduler.clock import FileClock
from shop.app import create_app
from shop.auth import session_fingerprint
from shop.models import User
from tests.shop.conftest import Desk
from tests.support.web import csrf_from

Client = Callable[[str], FlaskClient]


def _staff_on(settings: Settings, desk: Desk) -> FlaskClient:
    app = create_app(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    with desk.sessions() as s:
        user = s.get_one(User, desk.users["staff"])
        fingerprint = session_fingerprint(user)
    with client.session_transaction() as sess:
        sess["uid"], sess["ufp"] = user.id, fingerprint
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_from(client.get("/").get_data(as_text=True))
    return client


def test_on_the_rehearsed_pickup_morning_the_desk_needs_no_early_reason(
    settings: Settings, desk: Desk, client_as: Client, tmp_path: Path
) -> None:
    # The wall clock: the desk's day is three days ahead, so "ready" needs a reason.
    early = client_as("staff").post(
        f"/api/v1/manager/orders/{desk.pickup}/status", json={"status": "ready"}
    )
    assert early.status_code in (409, 422), early.get_json()

    clock = tmp_path / "clock"
    FileClock.write(clock, local_moment(desk.day, time(7, 0)))
    staff = _staff_on(settings.with_overrides(clock_file=clock), desk)
    page = staff.get(f"/manager/orders/?day={desk.day.isoformat()}").get_data(as_text=True)
    assert 'name="override_reason"' not in page  # it is the day: nothing to explain
    for status in ("ready", "collected"):
        marked = staff.post(f"/api/v1/manager/orders/{desk.pickup}/status", json={"status": status})
        assert marked.status_code == 200, marked.get_json()
    order = staff.get(f"/api/v1/manager/orders/{desk.pickup}").get_json()
    assert order["row"]["status"] == "collected"
    kinds = [e["type"] for e in order["timeline"]]
    assert "order.ready" in kinds and "order.collected" in kinds
