"""The pickup code: six characters the customer shows at the counter (also as a QR code), and
the lookup the order desk and the pickup board use to find the order behind it.

The code is the order id put through a keyed permutation of the 30-bit numbers (a four-round
Feistel network with HMAC-SHA256 as round function) and written in Crockford base32. So:
- every order has a different code, by construction: no retry loop, no unique index, and no
  extra statement in the checkout;
- the code reveals neither the order id nor its neighbours' codes (the key is secret);
- the lookup inverts the permutation to the id: one primary-key read.
The key is derived from SECRET_KEY: rotating SECRET_KEY changes every code, so codes already
sent would stop working (they are read at the counter within a day or two of the order).
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime

import segno
from markupsafe import Markup
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.settings import Settings, public_url
from shop.i18n import translate
from shop.orders.models import Fulfilment, Order, OrderStatus
from shop.orders.rules import OrderNotFound
from shop.orders.services import advance_order

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread
LENGTH = 6
_HALF_BITS = 15
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 4
MAX_ORDER_ID = (1 << (2 * _HALF_BITS)) - 1
# What a customer may type for a character that is not in the alphabet.
_READS_AS = {"O": "0", "I": "1", "L": "1", "U": "V"}
# Orders whose code means something at the counter: paid or confirmed, ready, or collected
# (so staff scanning twice see that it was handed out).
SHOWN = frozenset(
    {OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.COLLECTED}
)


class BadPickupCode(DomainError):
    code = "bad_pickup_code"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"gaogan pickup code v1", hashlib.sha256).digest()


def _round(key: bytes, number: int, half: int) -> int:
    digest = hmac.new(key, bytes([number]) + half.to_bytes(2, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:2], "big") & _HALF_MASK


def encode(order_id: int, secret: str) -> str:
    """The six-character code of order `order_id`."""
    if not 0 < order_id <= MAX_ORDER_ID:
        raise ValueError(f"order id {order_id} outside the code space")
    key = _key(secret)
    left, right = order_id >> _HALF_BITS, order_id & _HALF_MASK
    for number in range(_ROUNDS):
        left, right = right, left ^ _round(key, number, right)
    value = (left << _HALF_BITS) | right
    chars = []
    for _ in range(LENGTH):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def normalise(raw: str) -> str:
    """Upper case, without spaces and dashes, with look-alike letters read as meant."""
    cleaned = "".join(ch for ch in raw.strip().upper() if ch not in " -")
    return "".join(_READS_AS.get(ch, ch) for ch in cleaned)


def decode(raw: str, secret: str) -> int:
    """The order id behind a code; BadPickupCode when it is not a code at all."""
    code = normalise(raw)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        raise BadPickupCode(
            f"a pickup code is {LENGTH} letters and digits, like 7KQ-M2X", field="code"
        )
    value = 0
    for ch in code:
        value = value * 32 + ALPHABET.index(ch)
    key = _key(secret)
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for number in reversed(range(_ROUNDS)):
        left, right = right ^ _round(key, number, left), left
    return (left << _HALF_BITS) | right


def display(code: str) -> str:
    """Grouped for reading aloud: 7KQM2X -> 7KQ-M2X."""
    return f"{code[:3]}-{code[3:]}"


def code_of(order: Order, settings: Settings) -> str:
    return encode(order.id, settings.secret_key)


def find_order_by_pickup_code(session: Session, code: str, settings: Settings) -> Order:
    """The order behind a pickup code, for the order desk and the pickup board.

    BadPickupCode (422) for something that is not a code; OrderNotFound (404) when no pickup
    order has it (a made-up code decodes to an id that does not exist, or to a delivery
    order, which has no code)."""
    order_id = decode(code, settings.secret_key)
    order = session.get(Order, order_id) if order_id else None
    if order is None or order.fulfilment is not Fulfilment.PICKUP:
        raise OrderNotFound("no order has this pickup code", pickup_code=normalise(code))
    return order


def qr_svg(text: str, *, title: str) -> Markup:
    """`text` as an inline SVG QR code (medium error correction survives a scratched screen)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out,
        kind="svg",
        scale=5,
        border=2,
        xmldecl=False,
        svgclass="qr",
        title=title,
        nl=False,
    )
    return Markup(out.getvalue().decode())


def lookup_url(settings: Settings, code: str) -> str:
    """What the QR code holds: the staff lookup page, so scanning it opens the order."""
    return f"{public_url(settings).rstrip('/')}/pickup/{code}"


@dataclass(frozen=True)
class PickupCard:
    code: str  # displayed form, 7KQ-M2X
    qr: Markup
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    hours_zh: str
    hours_en: str


def pickup_card(order: Order, settings: Settings) -> PickupCard | None:
    """What the status page shows a customer collecting in person; None for a delivery, or an
    order not (yet, or no longer) to be collected."""
    point = order.pickup_point
    if point is None or order.status not in SHOWN:
        return None
    code = code_of(order, settings)
    return PickupCard(
        code=display(code),
        qr=qr_svg(lookup_url(settings, code), title=display(code)),
        name_zh=point.name_zh,
        name_en=point.name_en,
        address_zh=point.address_zh,
        address_en=point.address_en,
        hours_zh=point.hours_zh,
        hours_en=point.hours_en,
    )


def hand_out_by_code(
    session: Session,
    code: str,
    settings: Settings,
    now: datetime,
    override_reason: str | None = None,
) -> Order:
    """Staff hand a ready order over at the counter: ready -> collected, once. Before the
    order's day only with a reason, which is recorded (issue 10: nothing before its day)."""
    order = find_order_by_pickup_code(session, code, settings)
    advance_order(session, order, OrderStatus.COLLECTED, now, override_reason=override_reason)
    return order


def mail_lines(card: PickupCard, lang: str) -> str:
    """The pickup paragraph of the "ready" message."""
    zh = lang == "zh"
    return translate(
        "mail.pickup.lines",
        lang,
        code=card.code,
        point=card.name_zh if zh else card.name_en,
        address=card.address_zh if zh else card.address_en,
        hours=card.hours_zh if zh else card.hours_en,
    )
