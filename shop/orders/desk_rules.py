"""The order desk's rules as plain functions over plain values (no database)."""

from __future__ import annotations

from shop.orders.models import OrderStatus

CHANNELS = ("pickup", "delivery", "distributor")
# What the status filter offers: an order's statuses (an expired checkout never reached the
# desk) and a booking's own.
STATUSES = (
    *(s.value for s in OrderStatus if s is not OrderStatus.EXPIRED),
    "checked_in",
    "no_show",
)
PAYMENT_STATES = ("paid", "unpaid", "on_account", "refunded", "part_refunded")
COUNTER_METHODS = ("cash", "card", "wechat", "alipay", "transfer")
# The desk may cancel later than a customer may: after the cut-off the stock is planned, but a
# customer who calls at 07:00 still must not be charged for what they will never collect.
DESK_CANCELLABLE = frozenset(
    {OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.READY}
)
MAX_REASON = 200
MAX_QUERY = 60


def payment_state(
    *, online_paid_fen: int, counter_paid_fen: int, refunded_fen: int, on_account: bool = False
) -> str:
    """One word for the payment column: what came in against what went back."""
    if on_account:
        return "on_account"
    paid = online_paid_fen + counter_paid_fen
    if paid == 0:
        return "unpaid"
    if refunded_fen >= paid:
        return "refunded"
    if refunded_fen > 0:
        return "part_refunded"
    return "paid"


def refundable_fen(paid_fen: int, refunded_fen: int) -> int:
    return max(paid_fen - refunded_fen, 0)


def clean_reason(reason: str) -> str:
    """A reason is required, trimmed, at most MAX_REASON characters; '' when it is unusable."""
    text = " ".join((reason or "").split())
    return text if 0 < len(text) <= MAX_REASON else ""


def matches(query: str, *texts: str) -> bool:
    """Case-insensitive substring search over an order's number, phone and name; spaces and
    dashes in phone numbers are ignored so '138 0000' finds '13800001111'."""
    q = "".join(query.lower().split()).replace("-", "")
    if not q:
        return True
    return any(q in "".join(t.lower().split()).replace("-", "") for t in texts if t)
