"""The customer's address book: named delivery addresses (recipient, phone, zone, address),
one of them the default. Checkout offers them for delivery and gift-recipient rows can name
one by its label.

Every function takes the owner's user id and only ever reads or changes that owner's rows:
someone else's address id is "not found", whether it exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from shop.models import User
from shop.orders import placing, services
from shop.orders.models import Address, DeliveryZone

MAX_ADDRESSES = 20
MAX_LABEL = 20


class AddressNotFound(DomainError):
    code = "address_not_found"
    status = 404


class AddressRefused(DomainError):
    code = "address_refused"
    status = 422


@dataclass(frozen=True)
class AddressInput:
    label: str
    recipient: str
    phone: str
    zone: str  # a delivery zone code
    address: str
    make_default: bool = False


def addresses_of(session: Session, user_id: int) -> list[Address]:
    """The owner's addresses, the default first, then by label."""
    return list(
        session.scalars(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(Address.is_default.desc(), Address.label, Address.id)
        )
    )


def get_address(session: Session, user_id: int, address_id: int) -> Address:
    found = (
        session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user_id))
        if 0 < address_id < 2**31  # an id from a URL never overflows the integer column
        else None
    )
    if found is None:
        raise AddressNotFound(
            "no such address in your address book",
            key="msg.address.not_found",
            field="address_id",
        )
    return found


def by_label(session: Session, user_id: int) -> dict[str, Address]:
    return {a.label: a for a in addresses_of(session, user_id)}


def _checked(session: Session, data: AddressInput) -> tuple[dict[str, object], DeliveryZone]:
    label = data.label.strip()
    recipient = data.recipient.strip()
    phone = data.phone.strip()
    address = data.address.strip()
    if not label or len(label) > MAX_LABEL:
        raise AddressRefused(
            f"give the address a name of at most {MAX_LABEL} characters (家, 公司...)",
            key="msg.address.label",
            field="label",
            max=MAX_LABEL,
        )
    if not recipient or len(recipient) > 120:
        raise AddressRefused(
            "please give the recipient's name (at most 120 characters)",
            key="msg.address.recipient",
            field="recipient",
        )
    if not placing.MOBILE.match(phone):
        raise AddressRefused(
            "please give a phone number the courier can call",
            key="msg.address.phone",
            field="phone",
        )
    services.ensure_locations(session)
    zone = session.scalar(
        select(DeliveryZone).where(DeliveryZone.code == data.zone.strip(), DeliveryZone.active)
    )
    if zone is None:
        raise AddressRefused("choose a delivery destination", key="msg.address.zone", field="zone")
    if not address or len(address) > 300:
        raise AddressRefused(
            "please give the street address (at most 300 characters)",
            key="msg.address.address",
            field="address",
        )
    values: dict[str, object] = {
        "label": label,
        "recipient": recipient,
        "phone": phone,
        "zone_id": zone.id,
        "address": address,
    }
    return values, zone


def _lock_owner(session: Session, user_id: int) -> None:
    """Changes to one customer's book queue on their user row: two requests at once (two
    first addresses, two "make default") then never meet the one-default index half-done."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _flush_or_refuse(session: Session, label: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AddressRefused(
            f"you already have an address named {label!r}",
            key="msg.address.duplicate",
            field="label",
            label=label,
        ) from None


def add_address(session: Session, user_id: int, data: AddressInput, now: datetime) -> Address:
    """A new address; the first one is the default, as is one added with `make_default`."""
    values, _zone = _checked(session, data)
    _lock_owner(session, user_id)
    count = session.scalar(select(func.count()).where(Address.user_id == user_id)) or 0
    if count >= MAX_ADDRESSES:
        raise AddressRefused(
            f"an address book holds at most {MAX_ADDRESSES} addresses",
            key="msg.address.full",
            max=MAX_ADDRESSES,
        )
    entry = Address(user_id=user_id, is_default=False, created_at=now, updated_at=now, **values)
    session.add(entry)
    _flush_or_refuse(session, str(values["label"]))
    if data.make_default or count == 0:
        set_default(session, user_id, entry.id)
    return entry


def edit_address(
    session: Session, user_id: int, address_id: int, data: AddressInput, now: datetime
) -> Address:
    _lock_owner(session, user_id)
    entry = get_address(session, user_id, address_id)
    values, _zone = _checked(session, data)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.updated_at = now
    _flush_or_refuse(session, str(values["label"]))
    if data.make_default and not entry.is_default:
        set_default(session, user_id, entry.id)
    return entry


def set_default(session: Session, user_id: int, address_id: int) -> Address:
    """Make one address the default: two statements (clear, then set) under the partial
    unique index, so two requests at once leave exactly one default."""
    _lock_owner(session, user_id)
    entry = get_address(session, user_id, address_id)
    session.execute(
        update(Address)
        .where(Address.user_id == user_id, Address.is_default, Address.id != address_id)
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Address)
        .where(Address.id == address_id, Address.user_id == user_id)
        .values(is_default=True)
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)
    return entry


def delete_address(session: Session, user_id: int, address_id: int) -> None:
    """Remove an address; if it was the default, the oldest remaining one becomes it.
    Orders keep their own copy of the address, so nothing placed changes."""
    _lock_owner(session, user_id)
    entry = get_address(session, user_id, address_id)
    was_default = entry.is_default
    session.delete(entry)
    session.flush()
    if was_default:
        oldest = session.scalar(
            select(Address.id)
            .where(Address.user_id == user_id)
            .order_by(Address.created_at, Address.id)
            .limit(1)
        )
        if oldest is not None:
            set_default(session, user_id, oldest)


@dataclass(frozen=True)
class Delivery:
    """What an address-book entry puts into a checkout: zone, address, recipient, phone."""

    zone: str
    address: str
    recipient: str
    phone: str


def delivery_of(session: Session, user_id: int, address_id: int) -> Delivery:
    entry = get_address(session, user_id, address_id)
    return Delivery(entry.zone.code, entry.address, entry.recipient, entry.phone)
