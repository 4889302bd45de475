"""From the checkout form and the cart to what the order services take: one day's order
(`placing.PlaceOrder`) or a checkout for several days (`purchases.PlacePurchase`); and an
address-book entry chosen for a delivery, filled in from the customer's own book."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from inventory.errors import DomainError
from shop.orders import addresses, cart, placing, purchases
from shop.runtime import read

FIELDS = (
    "name",
    "mobile",
    "email",
    "fulfilment",
    "pickup_point",
    "delivery_zone",
    "delivery_address",
    "address_id",
    "payment_method",
    "notify_channel",
    "season_reminders",
    "accept_part_delivery",
)


def with_address(form: Mapping[str, str], user_id: int | None) -> dict[str, str]:
    """The form with the chosen address-book entry's zone, address, recipient (as the
    contact name) and phone, for a delivery by a signed-in customer; unchanged otherwise.
    Only the customer's own entries: another id is refused as not found."""
    out = dict(form)
    raw = (form.get("address_id") or "").strip()
    if user_id is None or not raw or form.get("fulfilment") != "delivery":
        return out
    if not raw.isdigit() or len(raw) > 12:
        raise addresses.AddressNotFound(
            "no such address in your address book",
            key="msg.address.not_found",
            field="address_id",
        )
    chosen = read(addresses.delivery_of, user_id, int(raw))
    out.update(
        delivery_zone=chosen.zone,
        delivery_address=chosen.address,
        name=chosen.recipient,
        mobile=chosen.phone,
    )
    return out


def _common(form: Mapping[str, str], language: str) -> dict[str, object]:
    return {
        "contact": placing.Contact(form["name"], form["mobile"], form["email"]),
        "fulfilment": form["fulfilment"],
        "payment_method": form["payment_method"],
        "pickup_point": form["pickup_point"],
        "delivery_zone": form["delivery_zone"],
        "delivery_address": form["delivery_address"],
        "language": language,
        "notify_channel": form["notify_channel"] or "mail",
        "season_reminders": form.get("season_reminders") == "1",
        "accept_part_delivery": form.get("accept_part_delivery") == "1",
    }


def order_request(days: cart.Days, form: Mapping[str, str], language: str) -> placing.PlaceOrder:
    """The one day of the cart as one order."""
    if len(days) != 1:
        raise DomainError("choose a day on the calendar", key="msg.cart.day", field="day")
    ((day, lines),) = days.items()
    return placing.PlaceOrder(
        day=date.fromisoformat(day),
        lines=cart.line_requests(lines),
        **_common(form, language),  # type: ignore[arg-type]
    )


def purchase_request(
    days: Sequence[purchases.DayLines], form: Mapping[str, str], language: str
) -> purchases.PlacePurchase:
    """Every day, one order each, placed together."""
    return purchases.PlacePurchase(days=list(days), **_common(form, language))  # type: ignore[arg-type]


def cart_days(days: cart.Days) -> list[purchases.DayLines]:
    return [
        purchases.DayLines(date.fromisoformat(day), cart.line_requests(lines))
        for day, lines in days.items()
    ]
