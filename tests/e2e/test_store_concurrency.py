"""300 customers press "pay" at once for the last 50 units of a morning: gunicorn on
PostgreSQL must accept exactly 50 and give the other 250 a clear sold-out answer."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from inventory.atp import available_to_promise
from inventory.db import transaction, utcnow
from inventory.models import Supply
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from shop.orders import placing, services
from shop.orders.models import Order
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, order_json

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
BUYERS = 300
LEFT = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leave_only(shop: Shop, settings: Settings, day: date, left: int) -> None:
    """Plan 80 for the day and sell 30 of them, so the last `left` units remain."""
    with transaction(shop.sessions) as s:
        set_planned_supply(s, "peak", {("GG-CLASSIC", day): 30 + left})
        services.place_order(
            s,
            placing.PlaceOrder(
                day=day,
                lines=[LineRequest("GG-CLASSIC", 30)],
                contact=placing.Contact("经销商", "13800000000", "bulk@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,
            now=utcnow(),
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_three_hundred_concurrent_checkouts_for_the_last_fifty_units_sell_exactly_fifty(
    shop: Shop, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    day = shop.open_day
    leave_only(shop, settings, day, LEFT)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "concurrency-test-secret-key-long-enough",
        "GAOGAN_LOG_JSON": "false",
        "PYTHONPATH": os.pathsep.join(
            p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p
        ),
    }
    server = subprocess.Popen(
        [
            GUNICORN,
            "-w",
            "4",
            "--threads",
            "8",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "shop.app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "wb"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass  # workers still booting
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)

        def buy(n: int) -> tuple[int, dict[str, object]]:
            body = order_json(day, ("GG-CLASSIC", 1))
            body["contact"] = {
                "name": f"顾客{n}",
                "mobile": "13800138000",
                "email": f"c{n}@example.com",
            }
            response = requests.post(f"{base}/api/v1/orders", json=body, timeout=60)
            return response.status_code, response.json()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=BUYERS) as pool:
            results = list(pool.map(buy, range(BUYERS)))
        elapsed = time.monotonic() - started
        statuses = Counter(code for code, _ in results)
        assert statuses == {201: LEFT, 409: BUYERS - LEFT}, (
            statuses,
            (tmp_path / "gunicorn.log").read_text()[-3000:],
        )
        refusals = [body for code, body in results if code == 409]
        assert all(
            b["error"] == "sold_out" and "库存不足" in str(b["message"]) for b in refusals
        ), refusals[0]

        answer = requests.get(
            f"{base}/api/v1/availability?product=GG-CLASSIC&from={day}&to={day}", timeout=10
        ).json()
        assert answer["days"][0]["available"] == 0
        assert answer["days"][0]["state"] == "sold_out"
        print(f"\n{BUYERS} concurrent checkouts in {elapsed:.1f}s ({BUYERS / elapsed:.0f}/s)")
    finally:
        server.terminate()
        server.wait(timeout=20)

    with shop.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 1 + LEFT
        supply = s.scalars(
            select(Supply).where(Supply.production_day == day, Supply.item.has(sku="GG-CLASSIC"))
        ).one()
        assert supply.promised == supply.planned == 30 + LEFT
        assert available_to_promise(s, ["GG-CLASSIC"], day, day)["GG-CLASSIC"][day] == 0
