"""What a checkout hands in (contact, lines, fulfilment, payment), its checks, and the payload every order event carries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from inventory.errors import DomainError
from shop.orders.models import (
    Order,
)
from shop.orders.rules import (
    LineRequest,
)

MOBILE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")


@dataclass(frozen=True)
class Contact:
    name: str
    mobile: str
    email: str


@dataclass(frozen=True)
class PlaceOrder:
    day: date
    lines: Sequence[LineRequest]
    contact: Contact
    fulfilment: str  # "pickup" | "delivery"
    payment_method: str  # "pay_at_pickup" | "stripe"
    pickup_point: str = ""
    delivery_zone: str = ""
    delivery_address: str = ""
    language: str = "zh"
    notify_channel: str = "mail"  # "mail" | "sms"
    # The box at checkout: remind me before 小年 and 除夕 (shop.orders.reminders).
    season_reminders: bool = False
    # After a production shortfall: serve what was made (True) or cancel (False, the default).
    accept_part_delivery: bool = False


def check_contact(contact: Contact) -> Contact:
    name = contact.name.strip()
    mobile = contact.mobile.strip()
    email = contact.email.strip().lower()
    if not name or len(name) > 120:
        raise DomainError(
            "please give a name (at most 120 characters)", key="msg.checkout.name", field="name"
        )
    if not MOBILE.match(mobile):
        raise DomainError(
            "please give a mobile number we can call", key="msg.checkout.mobile", field="mobile"
        )
    if not EMAIL.match(email):
        raise DomainError(
            "please give a valid email address", key="msg.checkout.email", field="email"
        )
    return Contact(name, mobile, email)


def event_payload(order: Order, *, with_lines: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": order.id,
        "public_id": order.public_id,
        "status": order.status.value,
        "day": order.day.isoformat(),
        "fulfilment": order.fulfilment.value,
        "total_fen": order.total_fen,
        "email": order.contact_email,
        "name": order.contact_name,
        "language": order.language,
        "user_id": order.user_id,
    }
    if with_lines:
        payload["lines"] = [{"sku": ln.sku, "quantity": ln.quantity} for ln in order.lines]
    return payload


class PricedProduct(Protocol):
    """What an order line copies from its product (an `Item`, or the one-trip snapshot's facts)."""

    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def price_fen(self) -> int | None: ...


def order_line_rows(
    order_id: int, lines: Sequence[LineRequest], products: Mapping[str, PricedProduct]
) -> list[dict[str, Any]]:
    """The order's lines as rows to insert, numbered from 1, at the products' prices now."""
    rows = []
    for number, line in enumerate(lines, start=1):
        product = products[line.sku]
        price = product.price_fen or 0
        rows.append(
            {
                "order_id": order_id,
                "line_no": number,
                "sku": line.sku,
                "name_zh": product.name_zh,
                "name_en": product.name_en,
                "quantity": line.quantity,
                "unit_price_fen": price,
                "line_total_fen": price * line.quantity,
            }
        )
    return rows
