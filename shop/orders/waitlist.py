"""Waitlist and back-in-stock for customers.

On a sold-out day a customer joins the waitlist for it. Stock that comes back (an order
cancelled, a payment hold expired, a distributor who did not show up) is announced by
inventory as `stock.released` / `stock.expired`; the consumer here offers it to the waiting
customers of that product in the order they joined, each with a hold of its own
(`waitlist:<id>`, lapsing after `settings.waitlist_hold_minutes`) and one message, by mail or
text message as the customer chose when joining. Inventory never imports the shop: the link is
the event type name.

"Once": an entry moves waiting -> offered by one guarded UPDATE, so a redelivered event finds
nobody left to offer to (and the relay's inbox record skips it anyway); the message is its own
event (`waitlist.offered`), whose consumer sends one message per event id (the mail file and the
SMS port are both keyed by it, and the relay's inbox skips a redelivery).

Order of service: the waiting entries are tried in join order; one that wants more than came
back is passed over (it keeps its place) so the stock does not sit idle while a smaller
request behind it fits.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inventory.catalog import get_product
from inventory.db import utcnow
from inventory.errors import (
    DayClosed,
    DomainError,
    InsufficientStock,
    OutsideFreshnessWindow,
    SoldOut,
)
from inventory.events import Event, Registry, publish, registry
from inventory.reservations import Line, release, reserve
from inventory.rules import local_day
from inventory.settings import Settings, public_url
from scheduling.cutoff import CutoffPassed
from shop.i18n import local_datetime, translate
from shop.orders import notifications, order_calendar, placing, services, sms
from shop.orders.models import Order, WaitlistEntry, WaitlistStatus
from shop.orders.rules import LineRequest, OrderNotFound, OrderStateError, check_lines

log = logging.getLogger("gaogan.waitlist")

# Consumer names are inbox keys: never rename.
RELEASED_CONSUMER = "waitlist.on_stock_released"
EXPIRED_CONSUMER = "waitlist.on_stock_expired"
MESSAGE_CONSUMER = "mail.waitlist_offered"
CLAIMED_REASON = "waitlist offer claimed"
REF_PREFIX = "waitlist:"
CHANNELS = ("mail", "sms")


class WaitlistRefused(DomainError):
    code = "waitlist_refused"
    status = 409


@dataclass(frozen=True)
class JoinWaitlist:
    sku: str
    day: date
    quantity: int
    contact: placing.Contact
    language: str = "zh"
    notify_channel: str = "mail"  # how the offer is told: "mail" | "sms"


def join(
    session: Session,
    request: JoinWaitlist,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
) -> WaitlistEntry:
    """Put the customer on the list of a sold-out day (only a sold-out one: an open day is
    ordered, a closed or past day will not come back)."""
    (line,) = check_lines([LineRequest(request.sku, request.quantity)])
    product = services.shop_product(session, request.sku)
    contact = placing.check_contact(request.contact)
    if request.notify_channel not in CHANNELS:
        raise DomainError(
            "choose mail or sms for notices",
            key="msg.checkout.notify_channel",
            field="notify_channel",
        )
    (state,) = order_calendar.calendar(
        session, product.sku, settings=settings, now=now, start=request.day, days=1
    )
    if state.state != "sold_out":
        raise WaitlistRefused(
            f"{request.day.isoformat()} is {state.state.replace('_', ' ')}, not sold out: "
            "only a sold-out day has a waitlist",
            day=request.day.isoformat(),
            state=state.state,
        )
    services.check_day_cap(session, request.day, contact.mobile, line.quantity)
    already = session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.sku == product.sku,
            WaitlistEntry.day == request.day,
            WaitlistEntry.contact_mobile == contact.mobile,
            WaitlistEntry.status.in_([WaitlistStatus.WAITING, WaitlistStatus.OFFERED]),
        )
    )
    if already is not None:
        raise WaitlistRefused("you are already on the waitlist for this day", entry=already)
    entry = WaitlistEntry(
        token=secrets.token_urlsafe(24),
        sku=product.sku,
        day=request.day,
        quantity=line.quantity,
        status=WaitlistStatus.WAITING,
        user_id=user_id,
        contact_name=contact.name,
        contact_mobile=contact.mobile,
        contact_email=contact.email,
        language=request.language if request.language in {"zh", "en"} else "zh",
        notify_channel=request.notify_channel,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def get_entry_by_link(session: Session, entry_id: int, token: str) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    expected = entry.token if entry is not None else "x" * 32
    if not hmac.compare_digest(expected.encode(), token.encode()) or entry is None:
        raise OrderNotFound("no such waitlist entry", entry=entry_id)
    return entry


def _entry_of_ref(session: Session, ref: str) -> WaitlistEntry | None:
    raw = ref.removeprefix(REF_PREFIX)
    if not ref.startswith(REF_PREFIX) or not raw.isdigit():
        return None
    return session.get(WaitlistEntry, int(raw))


def _try_offer(
    session: Session, entry: WaitlistEntry, *, settings: Settings, now: datetime
) -> bool:
    """Hold the entry's pieces for it and announce the offer; False (nothing changed) if the
    stock is not there or someone else offered it meanwhile.

    No savepoint (the relay refuses any commit inside a handler, a savepoint's included):
    the entry row is locked first, so two relays cannot both offer it, and `reserve` refuses
    a shortage before it writes anything."""
    locked = session.scalar(
        select(WaitlistEntry.id)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .with_for_update()
    )
    if locked is None:
        return False
    expires = now + timedelta(minutes=settings.waitlist_hold_minutes)
    try:
        reserve(
            session,
            entry.hold_ref,
            [Line(entry.sku, entry.day, entry.quantity)],
            hold_until=expires,
            now=now,
        )
    except (SoldOut, InsufficientStock, DayClosed, OutsideFreshnessWindow, CutoffPassed):
        return False  # not enough came back for this one (or its day is over): it waits on
    session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id)
        .values(status=WaitlistStatus.OFFERED, offered_at=now, offer_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    session.refresh(entry)
    publish(
        session,
        "waitlist.offered",
        {
            "entry_id": entry.id,
            "sku": entry.sku,
            "day": entry.day.isoformat(),
            "quantity": entry.quantity,
            "expires_at": expires.isoformat(),
        },
        key=entry.hold_ref,
    )
    return True


def offer_released(
    session: Session, lines: list[dict[str, Any]], *, settings: Settings, now: datetime
) -> list[int]:
    """Offer stock that came back for these (sku, day) lines to the waiting customers, in the
    order they joined. A unit made for day d stays fresh for L days, so waiting customers of
    d..d+L-1 may be served by it. Returns the entry ids offered to."""
    today = local_day(now)
    spans: dict[str, set[date]] = {}
    for line in lines:
        try:
            sku, day = str(line["sku"]), date.fromisoformat(str(line["day"]))
        except (KeyError, ValueError):
            continue
        try:
            freshness = get_product(session, sku).freshness_days or 1
        except DomainError:
            continue  # a product no longer sold: nobody can be offered it
        spans.setdefault(sku, set()).update(
            d for d in (day + timedelta(days=n) for n in range(freshness)) if d >= today
        )
    offered: list[int] = []
    for sku, days in sorted(spans.items()):
        if not days:
            continue
        waiting = session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.sku == sku,
                WaitlistEntry.day.in_(sorted(days)),
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        ).all()
        for entry in waiting:
            if _try_offer(session, entry, settings=settings, now=now):
                offered.append(entry.id)
    return offered


def lapse(session: Session, entry: WaitlistEntry, now: datetime) -> bool:
    """The offer ran out unclaimed: the entry leaves the queue (its stock goes to the next)."""
    moved = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.OFFERED)
        .values(status=WaitlistStatus.LAPSED)
        .returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)
    ).first()
    return moved is not None


def claim_offer(
    session: Session,
    entry_id: int,
    token: str,
    *,
    pickup_point: str,
    settings: Settings,
    now: datetime,
) -> Order:
    """Turn a standing offer into an order (collected at a pickup point, paid there): the
    hold is released and the order takes the same pieces in the same transaction, so nobody
    can take them in between."""
    entry = get_entry_by_link(session, entry_id, token)
    if entry.status is not WaitlistStatus.OFFERED or (
        entry.offer_expires_at is not None and entry.offer_expires_at <= now
    ):
        raise OrderStateError("this offer is no longer open", waitlist_status=entry.status.value)
    moved = session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.OFFERED)
        .values(status=WaitlistStatus.CLAIMED)
        .returning(WaitlistEntry.id)
        .execution_options(synchronize_session=False)
    ).first()
    if moved is None:
        raise OrderStateError("this offer changed meanwhile; reload the page")
    release(session, entry.hold_ref, reason=CLAIMED_REASON)
    order = services.place_order(
        session,
        placing.PlaceOrder(
            day=entry.day,
            lines=[LineRequest(entry.sku, entry.quantity)],
            contact=placing.Contact(entry.contact_name, entry.contact_mobile, entry.contact_email),
            fulfilment="pickup",
            payment_method="pay_at_pickup",
            pickup_point=pickup_point,
            language=entry.language,
            # The order's notices go the way the offer did.
            notify_channel=entry.notify_channel,
        ),
        settings=settings,
        now=now,
        user_id=entry.user_id,
        from_waitlist=True,
    )
    session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry.id).values(order_id=order.id)
    )
    session.refresh(entry)
    return order


def leave(session: Session, entry_id: int, token: str) -> WaitlistEntry:
    """The customer leaves the list; a standing offer's hold is let go for the next one."""
    entry = get_entry_by_link(session, entry_id, token)
    if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        raise OrderStateError(f"this entry is {entry.status.value}")
    was = entry.status
    entry.status = WaitlistStatus.LEFT
    if was is WaitlistStatus.OFFERED:
        release(session, entry.hold_ref, reason="left the waitlist")
    session.flush()
    return entry


# --------------------------------------------------------------------- the consumers

_current: dict[str, Settings] = {}


def on_stock_released(session: Session, event: Event) -> None:
    if str(event.payload.get("reason") or "") == CLAIMED_REASON:
        return  # the claimer's own order took these pieces in the same transaction
    lines = list(event.payload.get("lines") or [])
    offer_released(session, lines, settings=_current["settings"], now=utcnow())


def on_stock_expired(session: Session, event: Event) -> None:
    now = utcnow()
    entry = _entry_of_ref(session, str(event.payload.get("ref") or ""))
    if entry is not None:
        lapse(session, entry, now)
    lines = list(event.payload.get("lines") or [])
    offer_released(session, lines, settings=_current["settings"], now=now)


def offer_message(
    settings: Settings, entry: WaitlistEntry, product_name: str, event: Event
) -> EmailMessage:
    lang = entry.language or "zh"
    product = product_name
    link = f"{public_url(settings).rstrip('/')}/waitlist/{entry.id}/{entry.token}"
    expires = entry.offer_expires_at
    msg = EmailMessage()
    msg["Subject"] = translate("waitlist.mail.subject", lang, day=entry.day.isoformat())
    msg["From"] = settings.mail_from
    msg["To"] = entry.contact_email
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    body = [
        translate("mail.greeting", lang, name=entry.contact_name),
        translate(
            "waitlist.mail.body",
            lang,
            product=product,
            quantity=entry.quantity,
            day=entry.day.isoformat(),
            until=local_datetime(expires),
        ),
        translate("mail.link", lang, url=link),
        translate("mail.signature", lang),
    ]
    msg.set_content("\n\n".join(body), charset="utf-8")
    return msg


def offer_text(settings: Settings, entry: WaitlistEntry, product_name: str) -> str:
    """The offer as a text message: short (SMS gateways charge by 70 characters), the link
    carries the rest."""
    return translate(
        "sms.waitlist_offered",
        entry.language or "zh",
        product=product_name,
        quantity=entry.quantity,
        day=entry.day.isoformat(),
        until=local_datetime(entry.offer_expires_at, "%m-%d %H:%M"),
        url=f"{public_url(settings).rstrip('/')}/waitlist/{entry.id}/{entry.token}",
    )


def on_waitlist_offered(session: Session, event: Event) -> None:
    """One message about the offer, by the channel the customer chose; both the mail file and
    the SMS port are keyed by the event id, so a redelivery sends nothing."""
    entry_id = event.payload.get("entry_id")
    entry = session.get(WaitlistEntry, entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        return
    settings = _current["settings"]
    item = get_product(session, entry.sku)
    name = item.name_zh if entry.language == "zh" else item.name_en
    if entry.notify_channel == "sms":
        text = offer_text(settings, entry, name)
        sent = sms.sender_for(settings).send(entry.contact_mobile, text, event.event_id)
    else:
        message = offer_message(settings, entry, name, event)
        sent = notifications.deliver(settings, message, event.event_id)
    if sent:
        log.info("waitlist offer %s for entry %s", entry.notify_channel, entry.id)


def register_subscribers(settings: Settings, target: Registry = registry) -> None:
    _current["settings"] = settings
    target.subscribe("stock.released", RELEASED_CONSUMER, on_stock_released)
    target.subscribe("stock.expired", EXPIRED_CONSUMER, on_stock_expired)
    target.subscribe("waitlist.offered", MESSAGE_CONSUMER, on_waitlist_offered)
