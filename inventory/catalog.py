"""Items: the products customers order and the raw materials the plant buys."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DuplicateReference, InvalidInput, UnknownItem
from inventory.models import Item, ItemKind
from inventory.rules import MAX_QUANTITY, MAX_WINDOW_DAYS, check_quantity

RAW_MATERIAL_KINDS = (ItemKind.RICE, ItemKind.SUGAR, ItemKind.PACKAGING)


def get_product(session: Session, sku: str) -> Item:
    """The active product with this SKU; UnknownItem for raw materials and inactive items too."""
    item = session.scalars(select(Item).where(Item.sku == sku)).one_or_none()
    if item is None or not item.is_product or not item.active:
        raise UnknownItem(f"no product with SKU {sku!r}", sku=sku)
    return item


def get_products(session: Session, skus: Iterable[str]) -> dict[str, Item]:
    """Several active products in one query, by SKU; UnknownItem names the first missing one."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    found = {
        item.sku: item
        for item in session.scalars(
            select(Item).where(
                Item.sku.in_(wanted), Item.kind == ItemKind.PRODUCT, Item.active.is_(True)
            )
        )
    }
    for sku in wanted:
        if sku not in found:
            raise UnknownItem(f"no product with SKU {sku!r}", sku=sku)
    return found


def list_products(session: Session) -> list[Item]:
    """Active products, by SKU."""
    return list(
        session.scalars(
            select(Item)
            .where(Item.kind == ItemKind.PRODUCT, Item.active.is_(True))
            .order_by(Item.sku)
        )
    )


def get_raw_material(session: Session, sku: str) -> Item:
    item = session.scalars(select(Item).where(Item.sku == sku)).one_or_none()
    if item is None or item.is_product or not item.active:
        raise UnknownItem(f"no raw material with SKU {sku!r}", sku=sku)
    return item


def _check_names(sku: str, name_zh: str, name_en: str) -> None:
    if not isinstance(sku, str) or not sku.strip() or len(sku) > 40:
        raise InvalidInput(f"SKU must be 1-40 characters, got {sku!r}")
    if not name_zh.strip() or not name_en.strip():
        raise InvalidInput("an item needs both a Chinese and an English name")


def _refuse_existing(session: Session, sku: str) -> None:
    if session.scalar(select(Item.id).where(Item.sku == sku)) is not None:
        raise DuplicateReference(f"an item with SKU {sku!r} already exists", sku=sku)


def create_product(
    session: Session,
    sku: str,
    name_zh: str,
    name_en: str,
    price_fen: int,
    pack_size_g: int,
    freshness_days: int,
    best_before_days: int,
    *,
    description_zh: str = "",
    description_en: str = "",
    active: bool = True,
) -> Item:
    """A product sold by the piece; `freshness_days` is the customer-pickup window L."""
    _check_names(sku, name_zh, name_en)
    check_quantity(price_fen, what="price_fen", allow_zero=True, maximum=MAX_QUANTITY * 100)
    check_quantity(pack_size_g, what="pack_size_g", maximum=MAX_QUANTITY)
    check_quantity(freshness_days, what="freshness_days", maximum=MAX_WINDOW_DAYS)
    check_quantity(best_before_days, what="best_before_days", maximum=366)
    if best_before_days < freshness_days:
        raise InvalidInput(
            f"best_before_days ({best_before_days}) cannot be shorter than the freshness "
            f"window ({freshness_days})"
        )
    _refuse_existing(session, sku)
    item = Item(
        sku=sku,
        kind=ItemKind.PRODUCT,
        name_zh=name_zh,
        name_en=name_en,
        unit="piece",
        pack_size_g=pack_size_g,
        price_fen=price_fen,
        freshness_days=freshness_days,
        best_before_days=best_before_days,
        description_zh=description_zh,
        description_en=description_en,
        active=active,
    )
    session.add(item)
    session.flush()
    return item


def create_raw_material(
    session: Session,
    sku: str,
    kind: ItemKind | str,
    name_zh: str,
    name_en: str,
    *,
    unit: str | None = None,
    active: bool = True,
) -> Item:
    """Rice or sugar (weighed in grams) or packaging (counted in pieces)."""
    _check_names(sku, name_zh, name_en)
    try:
        item_kind = ItemKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"unknown raw material kind {kind!r}") from exc
    if item_kind not in RAW_MATERIAL_KINDS:
        raise InvalidInput(f"{item_kind.value!r} is not a raw material kind; use create_product")
    default_unit = "piece" if item_kind is ItemKind.PACKAGING else "g"
    if unit is not None and unit not in {"g", "piece"}:
        raise InvalidInput(f"unit must be 'g' or 'piece', got {unit!r}")
    _refuse_existing(session, sku)
    item = Item(
        sku=sku,
        kind=item_kind,
        name_zh=name_zh,
        name_en=name_en,
        unit=unit or default_unit,
        active=active,
    )
    session.add(item)
    session.flush()
    return item
