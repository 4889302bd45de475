"""Fixture data for planning tests: products with recipes and a season of history."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from inventory.models import Item, ItemKind
from scheduling.planning.recipes import set_recipe


def make_products(session: Session, count: int = 2) -> list[str]:
    skus = []
    for i in range(count):
        sku = f"GG-{i + 1}"
        session.add(
            Item(
                sku=sku,
                kind=ItemKind.PRODUCT,
                name_zh=f"糕干{i + 1}",
                name_en=f"Gaogan {i + 1}",
                unit="piece",
                pack_size_g=250,
                price_fen=1250,
                freshness_days=2,
                best_before_days=7,
            )
        )
        session.flush()
        set_recipe(
            session,
            sku,
            rice_g=180,
            sugar_g=50,
            units_per_tray=24,
            loss_fraction=0.04,
            labour_minutes={"mould": 0.35, "stack": 0.15},
        )
        skus.append(sku)
    return skus


def make_rice(session: Session) -> Item:
    rice = Item(sku="RICE", kind=ItemKind.RICE, name_zh="新米", name_en="New rice", unit="g")
    session.add(rice)
    session.flush()
    return rice


import pytest  # noqa: E402


@pytest.fixture
def products(session: Session) -> list[str]:
    skus = make_products(session)
    session.commit()
    return skus


def follow_run(client: object, status_url: str, timeout: float = 90.0) -> list[dict[str, Any]]:
    """Poll a plan run's status as the progress page does, until it is done or failed; every
    document seen, in order."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(status_url)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.get_json()
        seen.append(response.get_json())
        if seen[-1]["status"] in {"done", "failed"}:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"the run did not finish in {timeout} s: {seen[-1:]}")
