"""Sign-in with throttling and an audit trail (used by the sign-in form)."""

from __future__ import annotations

import logging
import math

from flask import request

from inventory.db import transaction
from shop.auth import authenticate
from shop.i18n import translate
from shop.models import User
from shop.runtime import current_runtime
from shop.security import audit, throttle

log = logging.getLogger("gaogan.security")


def sign_in(email: str, password: str) -> User | None:
    """The user for these credentials, None for wrong ones; Throttled while locked."""
    runtime = current_runtime()
    settings = runtime.settings
    account = throttle.account_key(email)
    address = throttle.address_key(request.remote_addr)
    with transaction(runtime.sessions) as db:
        wait = throttle.seconds_locked(db, [account, address])
        if wait:
            audit.record(db, "signin.refused_locked", email[:254], retry_after=wait)
    if wait:
        log.warning("sign-in refused while locked: %s from %s", account, address)
        raise throttle.Throttled(
            translate("security.signin_locked", minutes=math.ceil(wait / 60)), wait
        )
    with transaction(runtime.sessions) as db:
        user = authenticate(db, email, password)
        if user is not None:
            throttle.record_success(db, account)
            return user
        locked = throttle.record_failure(db, account, settings.signin_max_failures, settings)
        locked = (
            throttle.record_failure(db, address, settings.signin_address_max_failures, settings)
            or locked
        )
        audit.record(db, "signin.failed", email[:254])
        if locked:
            audit.record(db, "signin.locked", email[:254], address=request.remote_addr)
    log.info("sign-in failed for %s from %s", account, address)
    return None
