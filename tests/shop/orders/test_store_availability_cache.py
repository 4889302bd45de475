"""The availability calendar is served from a worker's memory only while the stock it shows is
unchanged, whichever process changed it; clients revalidate with their ETag."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from flask import Flask

from inventory.db import transaction, utcnow
from inventory.reservations import Line, release, reserve
from inventory.settings import Settings
from shop.app import create_app
from shop.orders.availability import AvailabilityCache
from tests.shop.orders.conftest import Shop


def _url(day: date) -> str:
    return f"/api/v1/availability?product=GG-CLASSIC&from={day}&to={day}"


def _state(app: Flask, day: date) -> tuple[str, int]:
    answer = app.test_client().get(_url(day)).get_json()
    [only] = answer["days"]
    return only["state"], only["available"]


def _cache(app: Flask) -> AvailabilityCache:
    cache: AvailabilityCache = app.extensions["gaogan_availability"]
    return cache


def test_an_unchanged_calendar_is_answered_304_to_a_client_holding_its_etag(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    first = client.get(_url(shop.open_day))
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = client.get(_url(shop.open_day), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    other = client.get(_url(shop.open_day), headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_json() == first.get_json()


@pytest.mark.postgres
def test_a_sale_made_through_another_worker_is_seen_at_once_and_never_shown_open(
    settings: Settings, shop: Shop
) -> None:
    # Two apps are two gunicorn workers: each has its own cache, they share the database.
    settings = settings.with_overrides(availability_cache_seconds=3600)
    worker_a, worker_b = create_app(settings), create_app(settings)
    day = shop.scarce_day  # 3 units

    assert _state(worker_a, day) == ("open", 3)
    assert _state(worker_a, day) == ("open", 3)
    assert _cache(worker_a).hits == 1  # the second answer came from memory

    # Worker B (or the scheduler, or the CLI) sells the last units.
    with transaction(shop.sessions) as s:
        reserve(s, "order:last", [Line("GG-CLASSIC", day, 3)], hold_until=None, now=utcnow())

    assert _state(worker_a, day) == ("sold_out", 0)
    assert _state(worker_b, day) == ("sold_out", 0)

    with transaction(shop.sessions) as s:
        release(s, "order:last", reason="cancelled")
    assert _state(worker_a, day) == ("open", 3)


@pytest.mark.postgres
def test_a_cached_calendar_is_rendered_again_after_its_time_even_if_nothing_was_written(
    shop: Shop,
) -> None:
    clock = [0.0]
    cache = AvailabilityCache(clock=lambda: clock[0])
    renders: list[int] = []

    def render() -> object:
        renders.append(1)
        return {"n": len(renders)}

    with shop.sessions() as s:
        day = shop.open_day
        cache.get(s, "GG-CLASSIC", day, day, max_age=2, render=render)
        cache.get(s, "GG-CLASSIC", day, day, max_age=2, render=render)
        clock[0] = 2.5
        cache.get(s, "GG-CLASSIC", day, day, max_age=2, render=render)
    assert len(renders) == 2


@pytest.mark.postgres
def test_threads_asking_for_a_stale_calendar_at_once_render_it_once(shop: Shop) -> None:
    cache = AvailabilityCache()
    renders: list[int] = []
    started = threading.Barrier(8)

    def render() -> object:
        renders.append(1)
        time.sleep(0.3)  # the others arrive while this one renders
        return {"n": len(renders)}

    def ask() -> bytes:
        started.wait()
        with shop.sessions() as s:
            day = shop.open_day
            return cache.get(s, "GG-CLASSIC", day, day, max_age=2, render=render).body

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: ask(), range(8)))
    assert len(renders) == 1
    assert set(bodies) == {b'{"n":1}'}
