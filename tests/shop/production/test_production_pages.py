from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from scheduling.production.batches import get_batch, start_batch
from scheduling.production.models import BatchStatus, SoakOverride, SoakRecord
from scheduling.refs import register_ref_provider, unregister_ref_provider
from shop.app import create_app
from shop.auth import create_user, session_fingerprint
from shop.models import Role
from tests.support.production_floor import CLASSIC, DAY, OSMANTHUS, Plant, build_plant, local


@pytest.fixture
def plant(db: sessionmaker[Session]) -> Iterator[Plant]:
    built = build_plant(db)
    register_ref_provider("booking", built.provider)
    yield built
    unregister_ref_provider("booking")


def client_as(settings: Settings, db: sessionmaker[Session], role: Role) -> FlaskClient:
    app = create_app(settings)
    app.config["TESTING"] = True
    with transaction(db) as session:
        user = create_user(
            session,
            email=f"{role.value}@gaogan.local",
            name="x",
            password="long-password",
            role=role,
        )
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["uid"] = user.id
        flask_session["ufp"] = session_fingerprint(user)
    return client


def token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def test_the_manager_records_a_short_output_and_sees_who_is_served_on_the_trace_page(
    plant: Plant, db: sessionmaker[Session], settings: Settings
) -> None:
    plant.order("order:1", {CLASSIC: 60})
    plant.booking("booking:7", {CLASSIC: 40, OSMANTHUS: 10}, local(DAY, 6, 15))
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4))
    client = client_as(settings, db, Role.MANAGER)
    path = f"/manager/batches/{batch.ref}"
    assert "记录产量并完成批次" in client.get(path).get_data(as_text=True)
    done = client.post(
        f"{path}/complete",
        data={"csrf_token": token(client, path), f"out-{CLASSIC}": "90", f"out-{OSMANTHUS}": "40"},
    )
    assert (
        done.status_code == 302 and f"/manager/trace?batch={batch.ref}" in done.headers["Location"]
    )
    trace = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "order:1" in trace and "booking:7" not in trace and "R2026-A" in trace
    assert "1 个无法满足" in trace  # the flash: the booking could not be served
    english = client.get("/manager/trace?lot=R2026-A&lang=en").get_data(as_text=True)
    assert "Material lots used" in english and batch.ref in english
    assert client.get("/manager/trace?batch=nope").status_code == 404
    batch_page = client.get(f"{path}?lang=zh").get_data(as_text=True)
    assert "记录今天的泡米" in batch_page and f'name="batch_ref" value="{batch.ref}"' in batch_page
    listing = client.get(f"/manager/batches?day={DAY.isoformat()}&lang=zh").get_data(as_text=True)
    assert batch.ref in listing and "已完成" in listing


def test_recording_output_without_the_form_token_is_refused_and_changes_nothing(
    plant: Plant, db: sessionmaker[Session], settings: Settings
) -> None:
    batch = plant.batch({CLASSIC: 100})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4))
    client = client_as(settings, db, Role.MANAGER)
    refused = client.post(f"/manager/batches/{batch.ref}/complete", data={f"out-{CLASSIC}": "100"})
    assert refused.status_code == 400
    with db() as session:
        assert get_batch(session, batch.ref).status is BatchStatus.STARTED


def test_a_non_number_output_is_refused_with_a_message(
    plant: Plant, db: sessionmaker[Session], settings: Settings
) -> None:
    batch = plant.batch({CLASSIC: 100})
    client = client_as(settings, db, Role.MANAGER)
    path = f"/manager/batches/{batch.ref}"
    client.post(f"{path}/start", data={"csrf_token": token(client, path)})
    sent = client.post(
        f"{path}/complete",
        data={"csrf_token": token(client, path), f"out-{CLASSIC}": "lots"},
        follow_redirects=True,
    )
    assert "GG-CLASSIC 的产量必须是整数" in sent.get_data(as_text=True)
    with db() as session:
        assert get_batch(session, batch.ref).status is BatchStatus.STARTED


def test_the_soak_page_records_soaks_recommends_and_takes_the_managers_override(
    db: sessionmaker[Session], settings: Settings
) -> None:
    client = client_as(settings, db, Role.MANAGER)
    page = client.get("/manager/soak?day=2027-01-20&air_temp_c=-5&rice_moisture_pct=14")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "默认标准" in html and "240 分钟" in html
    assert "2027-01-20 00:00" in html  # 240 minutes before 04:00
    csrf = token(client, "/manager/soak")
    client.post(
        "/manager/soak/records",
        data={
            "csrf_token": csrf,
            "production_day": "2027-01-10",
            "soak_minutes": "300",
            "water_temp_c": "45",
            "air_temp_c": "-3",
            "rice_moisture_pct": "14.2",
            "result": "good",
        },
    )
    bad = client.post(
        "/manager/soak/records",
        data={"csrf_token": csrf, "production_day": "2027-01-11", "soak_minutes": "x"},
        follow_redirects=True,
    )
    assert "必须是数字" in bad.get_data(as_text=True)
    client.post(
        "/manager/soak/override",
        data={"csrf_token": csrf, "season": "winter", "soak_minutes": "330", "reason": "cold snap"},
    )
    with db() as session:
        assert len(session.scalars(select(SoakRecord)).all()) == 1
        assert session.scalar(select(SoakOverride.soak_minutes)) == 330
    html = client.get("/manager/soak?day=2027-01-20&lang=en").get_data(as_text=True)
    assert "Manager&#39;s setting" in html and "330 minutes" in html and "cold snap" in html
    assert client.get("/manager/soak?air_temp_c=warm").status_code == 422


def test_production_pages_are_for_managers_only(
    db: sessionmaker[Session], settings: Settings
) -> None:
    client = client_as(settings, db, Role.DISTRIBUTOR)
    for path in ("/manager/batches", "/manager/trace", "/manager/soak"):
        assert client.get(path).status_code == 403
