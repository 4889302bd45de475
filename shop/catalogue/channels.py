"""The channels a product is sold on, enforced where it is sold.

The catalogue keeps them as a comma list on `catalogue_products.channels` ("shop",
"distributor", both, or none); a product without a profile row is sold on both, as it was
before the catalogue existed. The storefront lists and sells only what is sold on the web
shop; the distributor portal books only what is sold to distributors. The manager's own
pages (the desk, reports, price lists) still see every product.

Plain functions over a Session: the refusals are DomainErrors worded in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.models import Item, ItemKind
from shop.catalogue.models import ProductProfile

SHOP = "shop"
DISTRIBUTOR = "distributor"


class NotSoldHere(DomainError):
    """A product the manager does not sell on this channel: listed nowhere on it, refused
    when asked for by name."""

    code = "not_sold_on_channel"
    status = 422


def sold_on(channel: str) -> ColumnElement[bool]:
    """SQL: the profile's channel list names `channel` (a whole name between commas)."""
    return (literal(",") + ProductProfile.channels + literal(",")).like(f"%,{channel},%")


def not_sold_on(session: Session, channel: str, skus: Iterable[str] | None = None) -> set[str]:
    """The SKUs (of `skus`, or of every product) whose profile leaves `channel` out."""
    stmt = (
        select(Item.sku)
        .join(ProductProfile, ProductProfile.item_id == Item.id)
        .where(Item.kind == ItemKind.PRODUCT, ~sold_on(channel))
    )
    if skus is not None:
        wanted = sorted(set(skus))
        if not wanted:
            return set()
        stmt = stmt.where(Item.sku.in_(wanted))
    return set(session.scalars(stmt))


def check_sold_on(
    session: Session, channel: str, skus: Iterable[str], *, status: int = 422
) -> None:
    """Refuse (4xx, both languages) when any of `skus` is not sold on `channel`."""
    off = sorted(not_sold_on(session, channel, skus))
    if not off:
        return
    error = NotSoldHere(
        f"{', '.join(off)} is not sold "
        + ("in the online shop" if channel == SHOP else "to distributors"),
        key=f"chan.err.not_on_{channel}",
        sku=", ".join(off),
    )
    error.status = status
    raise error
