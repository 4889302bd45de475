"""Case packs, each distributor's price list, and the monthly statement priced as booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory import catalog
from inventory.errors import DomainError, InvalidQuantity
from inventory.models import Item
from shop.catalogue.channels import DISTRIBUTOR, not_sold_on
from shop.distributors.accounts import get_distributor
from shop.distributors.models import (
    Booking,
    BookingLine,
    BookingStatus,
    CasePack,
    Distributor,
    DistributorPrice,
)


def set_case_pack(session: Session, sku: str, pieces: int) -> CasePack:
    catalog.get_product(session, sku)
    if pieces <= 0:
        raise InvalidQuantity(
            "a case holds at least one piece", key="msg.dist.case_pieces", sku=sku
        )
    pack = session.scalar(select(CasePack).where(CasePack.sku == sku))
    if pack is None:
        pack = CasePack(sku=sku, pieces=pieces)
        session.add(pack)
    else:
        pack.pieces = pieces
    session.flush()
    return pack


def set_price(
    session: Session, distributor_id: int, sku: str, case_price_fen: int
) -> DistributorPrice:
    get_distributor(session, distributor_id)
    catalog.get_product(session, sku)
    if case_price_fen < 0:
        raise DomainError(
            "a price cannot be negative", key="msg.dist.price_negative", field="case_price_fen"
        )
    price = session.scalar(
        select(DistributorPrice).where(
            DistributorPrice.distributor_id == distributor_id, DistributorPrice.sku == sku
        )
    )
    before = price.case_price_fen if price is not None else None
    if price is None:
        price = DistributorPrice(
            distributor_id=distributor_id, sku=sku, case_price_fen=case_price_fen
        )
        session.add(price)
    else:
        price.case_price_fen = case_price_fen
    session.flush()
    if before != case_price_fen:
        from shop.security import audit

        audit.record(
            session,
            "price.changed",
            f"distributor:{distributor_id}",
            sku=sku,
            before_fen=before,
            after_fen=case_price_fen,
        )
    return price


@dataclass(frozen=True)
class PriceListEntry:
    sku: str
    name_zh: str
    name_en: str
    case_pieces: int
    case_price_fen: int


def price_list(
    session: Session, distributor_id: int, *, bookable_only: bool = False
) -> list[PriceListEntry]:
    """The distributor's price list. `bookable_only`: without the products the catalogue
    does not sell to distributors (what the portal offers); the manager sees them all."""
    hidden = not_sold_on(session, DISTRIBUTOR) if bookable_only else set()
    rows = session.execute(
        select(DistributorPrice, CasePack, Item)
        .join(CasePack, CasePack.sku == DistributorPrice.sku)
        .join(Item, Item.sku == DistributorPrice.sku)
        .where(DistributorPrice.distributor_id == distributor_id, Item.active.is_(True))
        .order_by(DistributorPrice.sku)
    ).all()
    return [
        PriceListEntry(p.sku, item.name_zh, item.name_en, pack.pieces, p.case_price_fen)
        for p, pack, item in rows
        if p.sku not in hidden
    ]


@dataclass(frozen=True)
class StatementLine:
    day: date
    booking_id: int
    sku: str
    cases: int
    case_price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.cases * self.case_price_fen


def monthly_statement(
    session: Session, distributor_id: int, year: int, month: int
) -> list[StatementLine]:
    """Collected goods of a month, priced as booked: the basis of payment on account."""
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    rows = session.execute(
        select(
            Booking.day, Booking.id, BookingLine.sku, BookingLine.cases, BookingLine.case_price_fen
        )
        .join(BookingLine, BookingLine.booking_id == Booking.id)
        .where(
            Booking.distributor_id == distributor_id,
            Booking.status == BookingStatus.COLLECTED,
            Booking.day >= first,
            Booking.day < after,
        )
        .order_by(Booking.day, Booking.id, BookingLine.sku)
    ).all()
    return [StatementLine(*row) for row in rows]


def price_skus(session: Session, distributor_id: int) -> list[str]:
    """The products a distributor can book: the form fields the portal reads cases from."""
    return [entry.sku for entry in price_list(session, distributor_id, bookable_only=True)]


@dataclass(frozen=True)
class Statement:
    distributor: Distributor
    lines: list[StatementLine]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def statement_for(session: Session, distributor_id: int, year: int, month: int) -> Statement:
    """The statement page of a month: the distributor and its collected lines."""
    return Statement(
        get_distributor(session, distributor_id),
        monthly_statement(session, distributor_id, year, month),
    )


@dataclass(frozen=True)
class PriceLists:
    distributors: list[Distributor]
    by_distributor: dict[int, list[PriceListEntry]]


def price_lists(session: Session) -> PriceLists:
    """Every distributor (contacts loaded) with its price list: the manager's accounts page."""
    rows = list(session.scalars(select(Distributor).order_by(Distributor.code)))
    return PriceLists(rows, {d.id: price_list(session, d.id) for d in rows})
