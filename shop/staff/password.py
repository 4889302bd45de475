"""Password reset by an emailed link, for every role: the same one-time, hashed, expiring
link a distributor's invitation uses (`shop.distributors.onboarding`), valid for an hour.

The mail goes out after the commit (SMTP is a network call), and the answer to "send me a
link" is the same whether the address exists or not, so the form cannot be used to find out
who has an account.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.settings import Settings
from shop.auth import normalise_email
from shop.distributors.onboarding import hash_token
from shop.distributors.onboarding_models import PortalInvitation
from shop.i18n import translate
from shop.models import User
from shop.orders.notifications import deliver
from shop.security import throttle

RESET_HOURS = 1
log = logging.getLogger("gaogan.security")


def request_reset(
    session: Session,
    email: str,
    *,
    now: datetime,
    settings: Settings | None = None,
    address: str | None = None,
) -> tuple[str, str, str] | None:
    """(email, name, token) for an active account with this address; None otherwise.

    With settings, requests are throttled like sign-ins, per address asked for and per client
    address, whether or not the account exists (so the answer still says nothing): a flood of
    reset mails to one inbox, or a scan of addresses from one client, is stopped with 429."""
    wanted = normalise_email(email[:254])
    if settings is not None:
        _throttle(session, wanted, address, settings, now)
    user = session.scalar(select(User).where(User.email == wanted))
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    session.add(
        PortalInvitation(
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=now + timedelta(hours=RESET_HOURS),
            created_at=now,
        )
    )
    session.flush()
    return user.email, user.name, token


def send_reset_mail(settings: Settings, to: str, name: str, url: str, lang: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = translate("pw.mail.subject", lang)
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(
        "\n\n".join(
            [
                translate("mail.greeting", lang, name=name),
                translate("pw.mail.body", lang, hours=RESET_HOURS, url=url),
                translate("mail.signature", lang),
            ]
        ),
        charset="utf-8",
    )
    deliver(settings, msg, f"password-{uuid.uuid4()}")


def _throttle(
    session: Session, email: str, address: str | None, settings: Settings, now: datetime
) -> None:
    keys = [f"reset:{throttle.account_key(email)}", f"reset:{throttle.address_key(address)}"]
    wait = throttle.seconds_locked(session, keys, now)
    if wait:
        log.warning("password reset throttled: %s from %s", keys[0], keys[1])
        raise throttle.Throttled("too many password reset requests; try again later", wait)
    throttle.record_failure(session, keys[0], settings.signin_max_failures, settings, now)
    throttle.record_failure(session, keys[1], settings.signin_address_max_failures, settings, now)
