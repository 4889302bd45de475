"""Items: products and raw materials."""

from __future__ import annotations

import pytest

from inventory.catalog import create_product, create_raw_material, get_product, list_products
from inventory.db import transaction
from inventory.errors import InvalidInput, InvalidQuantity, UnknownItem
from inventory.models import ItemKind
from tests.inventory.conftest import CLASSIC, OSMANTHUS, Floor


def test_a_product_carries_names_price_pack_size_and_freshness(floor: Floor) -> None:
    with floor.db() as s:
        item = get_product(s, CLASSIC)
    assert (item.name_zh, item.name_en, item.price_fen, item.pack_size_g) == (
        "杨村糕干",
        "Yangcun gaogan",
        1250,
        250,
    )
    assert (item.freshness_days, item.best_before_days, item.unit) == (2, 7, "piece")


def test_only_active_products_are_listed_and_found_by_sku(floor: Floor) -> None:
    with transaction(floor.db) as s:
        create_product(s, "GG-OLD", "旧款", "Old style", 900, 250, 1, 3, active=False)
    with floor.db() as s:
        assert [p.sku for p in list_products(s)] == [CLASSIC, OSMANTHUS]
        for sku in ("GG-OLD", "RICE", "nothing"):
            with pytest.raises(UnknownItem):
                get_product(s, sku)


def test_raw_materials_are_weighed_in_grams_and_packaging_counted(floor: Floor) -> None:
    with transaction(floor.db) as s:
        flour = create_raw_material(s, "RICE-2", "rice", "粳米", "Round rice")
        ribbon = create_raw_material(s, "RIBBON", ItemKind.PACKAGING, "丝带", "Ribbon")
        assert (flour.kind, flour.unit) == (ItemKind.RICE, "g")
        assert (ribbon.kind, ribbon.unit) == (ItemKind.PACKAGING, "piece")
    with transaction(floor.db) as s, pytest.raises(InvalidInput):
        create_raw_material(s, "GG-2", ItemKind.PRODUCT, "糕干", "Gaogan")


def test_a_product_without_a_sane_price_or_window_is_refused(floor: Floor) -> None:
    with transaction(floor.db) as s:
        with pytest.raises(InvalidQuantity):
            create_product(s, "GG-Y", "糕干", "Gaogan", -1, 250, 2, 7)
        with pytest.raises(InvalidQuantity):
            create_product(s, "GG-Y", "糕干", "Gaogan", 100, 250, 0, 7)
        with pytest.raises(InvalidInput):
            create_product(s, "GG-Y", "", "Gaogan", 100, 250, 2, 7)
