"""Gift orders for many recipients: one order, one payment and one invoice (发票 title and tax
number) for the buyer; each recipient gets their gaogan at their own pickup point or address on
their own day, inside the product's freshness window, and a status link without prices.

Recipients come as CSV (a company's staff list). Every row is checked before anything is
taken, and all bad rows are reported together with their row numbers (the header is row 1,
as a spreadsheet shows it), so the buyer fixes the file once. A good file is placed in one
transaction: every recipient's stock or none.
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.events import publish
from inventory.locks import lock_supply
from inventory.settings import Settings
from shop.i18n import translate
from shop.messages import localise
from shop.orders import addresses, placing, purchases, services
from shop.orders.models import DeliveryZone, GiftOrder, Order, PickupPoint
from shop.orders.rules import (
    MAX_LINE_QUANTITY,
    DeliveryRefused,
    LineRequest,
    OrderNotFound,
    check_orderable_day,
    delivery_window_days,
)
from shop.payments import ONLINE_METHODS

COLUMNS = (
    "name",
    "mobile",
    "product",
    "quantity",
    "day",
    "fulfilment",
    "pickup_point",
    "delivery_zone",
    "address",
    # Optional: the name of an entry of the signed-in buyer's address book; a delivery there
    # (zone, address, and the recipient's name and phone when those cells are blank).
    "address_book",
)
BANK_TRANSFER = "bank_transfer"
MAX_RECIPIENTS = 500
MAX_CSV_BYTES = 512 * 1024
# 统一社会信用代码: 18 characters, digits and capitals without I, O, S, V, Z.
TAX_NUMBER = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class GiftRefused(DomainError):
    code = "gift_refused"
    status = 422


@dataclass(frozen=True)
class Recipient:
    row: int
    name: str
    mobile: str
    sku: str
    quantity: int
    day: date
    fulfilment: str
    pickup_point: str
    delivery_zone: str
    address: str


@dataclass(frozen=True)
class GiftRequest:
    buyer: placing.Contact
    invoice_title: str
    tax_number: str
    recipients_csv: str
    language: str = "zh"
    # "bank_transfer" (against the invoice; the recipients' stock is taken at once) or an
    # online method ("stripe", "alipay", "wechat_pay"): held until the one payment arrives.
    payment_method: str = BANK_TRANSFER
    user_id: int | None = None  # the signed-in buyer, whose address book rows may name


@dataclass
class RowErrors:
    """Each row's problems, worded for the buyer (the gift's language: Chinese by default)."""

    language: str = "zh"
    errors: dict[int, list[str]] = field(default_factory=dict)

    def add(self, row: int, key: str, **params: Any) -> None:
        self.errors.setdefault(row, []).append(translate(key, self.language, **params))

    def refusal(self, row: int, exc: DomainError) -> None:
        self.errors.setdefault(row, []).append(localise(exc, self.language))


def parse_recipients(
    text: str,
    *,
    products: dict[str, int],
    points: set[str],
    zones: dict[str, int],
    now: datetime,
    settings: Settings,
    book: Mapping[str, addresses.Delivery] | None = None,
    language: str = "zh",
) -> tuple[list[Recipient], dict[int, list[str]]]:
    """The recipients of a CSV and every row's problems (row numbers as a spreadsheet shows
    them). `products`: sku -> freshness days; `zones`: code -> courier transit days;
    `book`: the buyer's address book by entry name."""
    if len(text.encode()) > MAX_CSV_BYTES:
        raise GiftRefused(
            f"the recipient file is larger than {MAX_CSV_BYTES // 1024} KB",
            key="msg.gift.file_too_large",
            kb=MAX_CSV_BYTES // 1024,
        )
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [
        c
        for c in ("name", "mobile", "product", "quantity", "day")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise GiftRefused(
            f"the recipient file needs the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}",
            key="msg.gift.columns_missing",
            columns=", ".join(COLUMNS),
            missing_columns=", ".join(missing),
        )
    found = RowErrors(language)
    out: list[Recipient] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_RECIPIENTS:
            raise GiftRefused(
                f"at most {MAX_RECIPIENTS} recipients per gift order",
                key="msg.gift.too_many",
                limit=MAX_RECIPIENTS,
            )
        cell = {k: (row.get(k) or "").strip() for k in COLUMNS}
        if not any(cell.values()):
            continue  # a blank line
        if cell["address_book"]:
            entry = (book or {}).get(cell["address_book"])
            if entry is None:
                found.add(number, "gift.row.no_address", name=cell["address_book"])
            elif (cell["fulfilment"] or "delivery") == "delivery":
                cell.update(
                    fulfilment="delivery",
                    delivery_zone=entry.zone,
                    address=entry.address,
                    name=cell["name"] or entry.recipient,
                    mobile=cell["mobile"] or entry.phone,
                )
        if not cell["name"] or len(cell["name"]) > 120:
            found.add(number, "gift.row.name")
        if not placing.MOBILE.match(cell["mobile"]):
            found.add(number, "gift.row.mobile", mobile=cell["mobile"])
        freshness = products.get(cell["product"])
        if freshness is None:
            found.add(number, "gift.row.product", sku=cell["product"])
        quantity = 0
        try:
            quantity = int(cell["quantity"])
            if not 1 <= quantity <= MAX_LINE_QUANTITY:
                raise ValueError
        except ValueError:
            found.add(number, "gift.row.quantity", limit=MAX_LINE_QUANTITY)
        day: date | None = None
        try:
            day = date.fromisoformat(cell["day"])
            check_orderable_day(day, now, settings.order_cutoff)
        except ValueError:
            found.add(number, "gift.row.day", day=cell["day"])
        except DomainError as exc:
            found.refusal(number, exc)
        fulfilment = cell["fulfilment"] or "pickup"
        if fulfilment == "pickup":
            if (cell["pickup_point"] or "factory") not in points:
                found.add(number, "gift.row.pickup_point", point=cell["pickup_point"])
        elif fulfilment == "delivery":
            transit = zones.get(cell["delivery_zone"])
            if transit is None:
                found.add(number, "gift.row.zone", zone=cell["delivery_zone"])
            elif freshness is not None:
                try:
                    delivery_window_days(freshness, transit)
                except DeliveryRefused as exc:
                    found.refusal(number, exc)
            if not cell["address"] or len(cell["address"]) > 300:
                found.add(number, "gift.row.address")
        else:
            found.add(number, "gift.row.fulfilment")
        if number not in found.errors and day is not None:
            out.append(
                Recipient(
                    row=number,
                    name=cell["name"],
                    mobile=cell["mobile"],
                    sku=cell["product"],
                    quantity=quantity,
                    day=day,
                    fulfilment=fulfilment,
                    pickup_point=cell["pickup_point"] or "factory",
                    delivery_zone=cell["delivery_zone"],
                    address=cell["address"],
                )
            )
    if not out and not found.errors:
        raise GiftRefused("the recipient file has no recipients", key="msg.gift.empty")
    return out, found.errors


def _refuse(errors: dict[int, list[str]]) -> GiftRefused:
    rows = sorted(errors)
    return GiftRefused(
        f"{len(rows)} row(s) of the recipient file need fixing: rows "
        + ", ".join(str(r) for r in rows),
        key="msg.gift.rows",
        count=len(rows),
        row_list=", ".join(str(r) for r in rows),
        rows=[{"row": r, "errors": errors[r]} for r in rows],
    )


def _check_payment(method: str, settings: Settings) -> bool:
    """True for an online payment (the orders wait for it), False for a bank transfer."""
    if method == BANK_TRANSFER:
        return False
    if method not in ONLINE_METHODS:
        raise GiftRefused(
            "unknown payment method", key="msg.checkout.unknown_payment", field="payment_method"
        )
    if not settings.stripe_secret_key:
        raise GiftRefused(
            "online payment is not available",
            key="msg.checkout.online_unavailable",
            field="payment_method",
        )
    return True


def place_gift(
    session: Session, request: GiftRequest, *, settings: Settings, now: datetime
) -> GiftOrder:
    """Check every row, then place one order per recipient and the gift over them, all in the
    caller's transaction: every recipient's stock or none.

    Paid by bank transfer, the recipients' stock is allocated at once; paid online, it is
    held (`settings.hold_minutes`) until the one payment for all arrives
    (shop.orders.group_flows), like an ordinary online order."""
    buyer = placing.check_contact(request.buyer)
    online = _check_payment(request.payment_method, settings)
    title = request.invoice_title.strip()
    if not title or len(title) > 200:
        raise GiftRefused(
            "the invoice (发票) needs a title", key="msg.gift.invoice_title", field="invoice_title"
        )
    tax = request.tax_number.strip().upper()
    if not TAX_NUMBER.match(tax):
        raise GiftRefused(
            "the tax number is the 18-character unified social credit code",
            key="msg.gift.tax_number",
            field="tax_number",
        )
    services.ensure_locations(session)
    products = {
        sku: item.freshness_days or 1 for sku, item in services.shop_products(session).items()
    }
    points = {p.code for p in session.scalars(select(PickupPoint).where(PickupPoint.active))}
    zones = {
        z.code: z.transit_days
        for z in session.scalars(select(DeliveryZone).where(DeliveryZone.active))
    }
    book = (
        {
            label: addresses.Delivery(a.zone.code, a.address, a.recipient, a.phone)
            for label, a in addresses.by_label(session, request.user_id).items()
        }
        if request.user_id is not None
        else {}
    )
    recipients, errors = parse_recipients(
        request.recipients_csv,
        products=products,
        points=points,
        zones=zones,
        now=now,
        settings=settings,
        book=book,
        language=request.language,
    )
    if errors:
        raise _refuse(errors)
    # Many recipients are many days and products: every supply row any of them may draw on
    # is locked first, at once and in id order (as a checkout for several days does), so two
    # gifts placed together queue instead of deadlocking.
    lock_supply(
        session,
        purchases.supply_ranges_of(
            [purchases.DayLines(r.day, [LineRequest(r.sku, r.quantity)]) for r in recipients],
            services.products_by_sku(session),
        ),
    )
    gift = GiftOrder(
        public_id="F" + secrets.token_hex(6).upper(),
        access_token=secrets.token_urlsafe(24),
        buyer_name=buyer.name,
        buyer_mobile=buyer.mobile,
        buyer_email=buyer.email,
        invoice_title=title,
        tax_number=tax,
        total_fen=0,
        payment_method=request.payment_method,
        language=request.language if request.language in {"zh", "en"} else "zh",
        created_at=now,
    )
    session.add(gift)
    session.flush()
    total = 0
    for person in recipients:
        try:
            order = services.place_order(
                session,
                placing.PlaceOrder(
                    day=person.day,
                    lines=[LineRequest(person.sku, person.quantity)],
                    contact=placing.Contact(person.name, person.mobile, buyer.email),
                    fulfilment=person.fulfilment,
                    # Online: each recipient's order waits (its stock held) for the gift's
                    # one payment; by bank transfer it is taken at once.
                    payment_method=request.payment_method if online else "gift",
                    pickup_point=person.pickup_point,
                    delivery_zone=person.delivery_zone,
                    delivery_address=person.address,
                    language=gift.language,
                    notify_channel="none",
                ),
                settings=settings,
                now=now,
            )
        except DomainError as exc:
            # Sold out for this row's day (or the like): the whole gift is refused, rolled back
            # by the caller, and the row is named.
            raise _refuse({person.row: [localise(exc, gift.language)]}) from None
        order.gift_id = gift.id
        total += order.total_fen
    gift.total_fen = total
    session.flush()
    # The buyer's confirmation (recipients, days, invoice details) goes out from this event:
    # at once for a bank transfer; paid online, the receipt follows `gift.paid`.
    publish(
        session,
        "gift.placed",
        {
            "gift_id": gift.id,
            "public_id": gift.public_id,
            "payment_method": gift.payment_method,
            "total_fen": gift.total_fen,
            "recipients": len(recipients),
        },
        key=f"gift:{gift.id}",
    )
    return gift


def get_gift_by_link(session: Session, public_id: str, token: str) -> GiftOrder:
    gift = session.scalar(select(GiftOrder).where(GiftOrder.public_id == public_id))
    expected = gift.access_token if gift is not None else "x" * 32
    if not hmac.compare_digest(expected.encode(), token.encode()) or gift is None:
        raise OrderNotFound("no such gift order", public_id=public_id)
    return gift


def recipients_of(session: Session, gift: GiftOrder) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.gift_id == gift.id).order_by(Order.id)))


def gift_view(session: Session, public_id: str, token: str) -> dict[str, Any]:
    gift = get_gift_by_link(session, public_id, token)
    return {"gift": gift, "orders": recipients_of(session, gift)}


def recipient_view(session: Session, public_id: str, token: str) -> Order:
    """A recipient's order by its own link (the order's access token): the page shows no
    prices, so the link can be forwarded to the person receiving the gift."""
    order = services.get_order_by_link(session, public_id, token)
    if order.gift_id is None:
        raise OrderNotFound("no such gift", public_id=public_id)
    return order
