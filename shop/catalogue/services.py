"""Catalogue use cases: plain functions over a Session; they never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory import catalog
from inventory.errors import DomainError
from inventory.events import publish
from inventory.models import Item, ItemKind
from inventory.rules import MAX_WINDOW_DAYS
from shop.catalogue.models import PriceChange, ProductProfile
from shop.catalogue.rules import SKU, clean_channels
from shop.distributors import prices as distributors
from shop.distributors.models import CasePack, Distributor, DistributorPrice
from shop.refusals import Refused

MAX_PRICE_FEN = 10_000_000  # ¥100,000: a typo, not a gaogan


@dataclass(frozen=True)
class ProductView:
    sku: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    pack_size_g: int
    freshness_days: int
    best_before_days: int
    price_fen: int
    active: bool
    gift_box: bool
    contents_zh: str
    contents_en: str
    channels: list[str]
    image_file: str
    case_pieces: int | None


def _item(session: Session, sku: str) -> Item:
    item = session.scalar(select(Item).where(Item.sku == sku, Item.kind == ItemKind.PRODUCT))
    if item is None:
        raise Refused("cat.err.unknown", status=404, code="unknown_product", sku=sku)
    return item


def _profile(session: Session, item: Item) -> ProductProfile:
    profile = session.scalar(select(ProductProfile).where(ProductProfile.item_id == item.id))
    if profile is None:
        profile = ProductProfile(item_id=item.id)
        session.add(profile)
        session.flush()
    return profile


def _view(item: Item, profile: ProductProfile | None, case: int | None) -> ProductView:
    return ProductView(
        sku=item.sku,
        name_zh=item.name_zh,
        name_en=item.name_en,
        description_zh=item.description_zh,
        description_en=item.description_en,
        pack_size_g=item.pack_size_g or 0,
        freshness_days=item.freshness_days or 1,
        best_before_days=item.best_before_days or 1,
        price_fen=item.price_fen or 0,
        active=item.active,
        gift_box=profile.gift_box if profile else False,
        contents_zh=profile.contents_zh if profile else "",
        contents_en=profile.contents_en if profile else "",
        channels=(profile.channels if profile else "shop,distributor").split(","),
        image_file=profile.image_file if profile else "",
        case_pieces=case,
    )


def list_products(session: Session) -> list[ProductView]:
    profiles = {p.item_id: p for p in session.scalars(select(ProductProfile))}
    cases = {c.sku: c.pieces for c in session.scalars(select(CasePack))}
    items = session.scalars(
        select(Item).where(Item.kind == ItemKind.PRODUCT).order_by(Item.active.desc(), Item.sku)
    )
    return [_view(i, profiles.get(i.id), cases.get(i.sku)) for i in items]


def get_product(session: Session, sku: str) -> ProductView:
    item = _item(session, sku)
    profile = session.scalar(select(ProductProfile).where(ProductProfile.item_id == item.id))
    case = session.scalar(select(CasePack.pieces).where(CasePack.sku == sku))
    return _view(item, profile, case)


def _check(fields: dict[str, Any]) -> None:
    for name in ("name_zh", "name_en"):
        if name in fields and not (1 <= len(fields[name].strip()) <= 120):
            raise Refused("cat.err.name", code="bad_name")
    price = fields.get("price_fen")
    if price is not None and not (0 < price <= MAX_PRICE_FEN):
        raise Refused("cat.err.price", code="bad_price")
    for name in ("freshness_days", "best_before_days"):
        if name in fields and not (1 <= fields[name] <= MAX_WINDOW_DAYS):
            raise Refused("cat.err.days", code="bad_days", most=MAX_WINDOW_DAYS)
    if (
        "freshness_days" in fields
        and "best_before_days" in fields
        and fields["freshness_days"] > fields["best_before_days"]
    ):
        raise Refused("cat.err.fresh_after_best", code="bad_days")
    if "pack_size_g" in fields and not (1 <= fields["pack_size_g"] <= 100_000):
        raise Refused("cat.err.pack", code="bad_pack")


def _record_price(
    session: Session,
    sku: str,
    price_list: str,
    old: int | None,
    new: int,
    user_id: int,
    now: datetime,
    distributor_id: int | None = None,
) -> None:
    if old == new:
        return
    session.add(
        PriceChange(
            sku=sku,
            price_list=price_list,
            distributor_id=distributor_id,
            old_fen=old,
            new_fen=new,
            changed_by=user_id,
            changed_at=now,
        )
    )
    publish(
        session,
        "price.changed",
        {
            "sku": sku,
            "price_list": price_list,
            "distributor_id": distributor_id,
            "old_fen": old,
            "new_fen": new,
            "by": user_id,
        },
        key=f"product:{sku}",
    )


def create_product(
    session: Session,
    *,
    sku: str,
    name_zh: str,
    name_en: str,
    price_fen: int,
    pack_size_g: int,
    freshness_days: int,
    best_before_days: int,
    user_id: int,
    now: datetime,
    description_zh: str = "",
    description_en: str = "",
    gift_box: bool = False,
    contents_zh: str = "",
    contents_en: str = "",
    channels: list[str] | None = None,
    active: bool = True,
) -> ProductView:
    sku = sku.strip().upper()
    if not SKU.match(sku):
        raise Refused("cat.err.sku", code="bad_sku")
    fields = {
        "name_zh": name_zh,
        "name_en": name_en,
        "price_fen": price_fen,
        "pack_size_g": pack_size_g,
        "freshness_days": freshness_days,
        "best_before_days": best_before_days,
    }
    _check(fields)
    if session.scalar(select(Item.id).where(Item.sku == sku)) is not None:
        raise Refused("cat.err.sku_taken", status=409, code="sku_taken", sku=sku)
    try:
        item = catalog.create_product(
            session,
            sku,
            name_zh.strip(),
            name_en.strip(),
            price_fen,
            pack_size_g,
            freshness_days,
            best_before_days,
            description_zh=description_zh.strip()[:2000],
            description_en=description_en.strip()[:2000],
            active=active,
        )
    except DomainError as exc:
        raise Refused("cat.err.inventory", code=exc.code, detail=exc.message) from exc
    session.add(
        ProductProfile(
            item_id=item.id,
            gift_box=gift_box,
            contents_zh=contents_zh.strip()[:300],
            contents_en=contents_en.strip()[:300],
            channels=clean_channels(channels if channels is not None else ["shop", "distributor"]),
        )
    )
    session.flush()
    _record_price(session, sku, "retail", None, price_fen, user_id, now)
    publish(session, "product.created", {"sku": sku, "by": user_id}, key=f"product:{sku}")
    return get_product(session, sku)


EDITABLE = (
    "name_zh",
    "name_en",
    "description_zh",
    "description_en",
    "pack_size_g",
    "freshness_days",
    "best_before_days",
    "price_fen",
    "active",
)
PROFILE_FIELDS = ("gift_box", "contents_zh", "contents_en", "channels")


def update_product(
    session: Session, sku: str, changes: dict[str, Any], *, user_id: int, now: datetime
) -> ProductView:
    """Change what is given; a new retail price is recorded in the history. Orders already
    placed keep the price on their lines."""
    item = _item(session, sku)
    merged = {
        "freshness_days": item.freshness_days or 1,
        "best_before_days": item.best_before_days or 1,
        **{k: v for k, v in changes.items() if k in EDITABLE and v is not None},
    }
    _check(merged)
    old_price = item.price_fen
    for key in EDITABLE:
        value = changes.get(key)
        if value is None:
            continue
        setattr(item, key, value.strip() if isinstance(value, str) else value)
    profile = _profile(session, item)
    for key in PROFILE_FIELDS:
        value = changes.get(key)
        if value is None:
            continue
        if key == "channels":
            profile.channels = clean_channels(list(value))
        else:
            setattr(profile, key, value.strip()[:300] if isinstance(value, str) else value)
    session.flush()
    if changes.get("price_fen") is not None:
        _record_price(session, sku, "retail", old_price, int(changes["price_fen"]), user_id, now)
    return get_product(session, sku)


def set_image(session: Session, sku: str, filename: str) -> ProductView:
    item = _item(session, sku)
    _profile(session, item).image_file = filename
    session.flush()
    return get_product(session, sku)


def image_of(session: Session, sku: str) -> str:
    item = session.scalar(select(Item).where(Item.sku == sku))
    if item is None:
        return ""
    return (
        session.scalar(select(ProductProfile.image_file).where(ProductProfile.item_id == item.id))
        or ""
    )


def set_case_pack(session: Session, sku: str, pieces: int) -> int:
    _item(session, sku)
    if not 1 <= pieces <= 1000:
        raise Refused("cat.err.case", code="bad_case")
    return distributors.set_case_pack(session, sku, pieces).pieces


def set_distributor_price(
    session: Session,
    distributor_id: int,
    sku: str,
    case_price_fen: int,
    *,
    user_id: int,
    now: datetime,
) -> int:
    _item(session, sku)
    if session.get(Distributor, distributor_id) is None:
        raise Refused("cat.err.distributor", status=404, code="unknown_distributor")
    if not 0 < case_price_fen <= MAX_PRICE_FEN:
        raise Refused("cat.err.price", code="bad_price")
    old = session.scalar(
        select(DistributorPrice.case_price_fen).where(
            DistributorPrice.distributor_id == distributor_id, DistributorPrice.sku == sku
        )
    )
    distributors.set_price(session, distributor_id, sku, case_price_fen)
    _record_price(session, sku, "distributor", old, case_price_fen, user_id, now, distributor_id)
    return case_price_fen


@dataclass(frozen=True)
class PriceChangeView:
    sku: str
    price_list: str
    distributor: str
    old_fen: int | None
    new_fen: int
    changed_by: str
    changed_at: datetime


def price_history(session: Session, sku: str | None = None) -> list[PriceChangeView]:
    from shop.models import User

    stmt = (
        select(PriceChange, User.name, Distributor.company)
        .join(User, User.id == PriceChange.changed_by)
        .outerjoin(Distributor, Distributor.id == PriceChange.distributor_id)
        .order_by(PriceChange.id.desc())
        .limit(500)
    )
    if sku:
        _item(session, sku)  # an unknown product is a 404, not an empty history
        stmt = stmt.where(PriceChange.sku == sku)
    return [
        PriceChangeView(
            c.sku, c.price_list, company or "", c.old_fen, c.new_fen, name, c.changed_at
        )
        for c, name, company in session.execute(stmt)
    ]


def distributor_prices(session: Session, sku: str) -> list[tuple[int, str, str, int | None]]:
    """(distributor id, code, company, case price or None) for every active distributor."""
    prices = {
        p.distributor_id: p.case_price_fen
        for p in session.scalars(select(DistributorPrice).where(DistributorPrice.sku == sku))
    }
    return [
        (d.id, d.code, d.company, prices.get(d.id))
        for d in session.scalars(select(Distributor).order_by(Distributor.code))
    ]
