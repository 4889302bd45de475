"""The availability calendar of one product, rendered once and served many times.

A thousand phones refreshing the calendar on the Spring Festival morning must cost the
database almost nothing, and must never see a day as open after it sold out, whichever
gunicorn worker process answers. So each worker keeps the rendered JSON per (product, range)
in memory together with a *stock version*, and every request first reads the current version
in ONE small indexed statement:

    the product row's xmin, and (id, xmin) of each of its supply rows in the range and of each
    calendar entry in the range.

PostgreSQL gives every row version a new `xmin`, so any committed change that can move the
calendar changes the version: a reservation, change, release or hold sweep (they all update
`supply.promised`), a new plan, a closed day, a calendar entry, an edited product. The worker
that took the order need not tell the others: they see the new version on their next request
and render again. The version is read *before* the calendar is computed, so a body is never
stored under a version older than the data it shows (at worst newer, which only costs an
extra render).

Two things move without a write: a hold passing its expiry (which frees stock: a stale body
shows *less*, never more) and the order cut-off passing (a stale body may show a day open for
a few more seconds; the checkout refuses it). `availability_cache_seconds` bounds both: an
entry older than that is rendered again whatever its version.

Clients get an ETag (a hash of the body) with `Cache-Control: no-cache`: they may keep the
body but must ask again, and a matching `If-None-Match` is answered 304 without a body.

SQLite (the embedded single-process default) has no xmin: there every request is rendered.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from inventory.metrics import record_atp_cache
from inventory.rules import MAX_WINDOW_DAYS

_VERSION = text(
    """
SELECT i.xmin::text
    || '|' || coalesce((
        SELECT string_agg(s.id::text || ':' || s.xmin::text, ',' ORDER BY s.id)
        FROM supply AS s
        WHERE s.item_id = i.id AND s.production_day BETWEEN :first AND :last), '')
    || '|' || coalesce((
        SELECT string_agg(c.id::text || ':' || c.xmin::text, ',' ORDER BY c.id)
        FROM plan_calendar_entries AS c
        WHERE c.day BETWEEN :start AND :last), '')
FROM items AS i
WHERE i.sku = :sku AND i.kind = 'product' AND i.active
"""
)


def stock_version(session: Session, sku: str, start: date, end: date) -> str | None:
    """The version of everything the product's calendar over [start, end] is made of, or
    None when it cannot be known (SQLite, or no such active product)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    params = {
        "sku": sku,
        "start": start,
        "first": start - timedelta(days=MAX_WINDOW_DAYS),
        "last": end,
    }
    if not isinstance(bind, Engine):  # a session bound to one connection (tests): share it
        return session.execute(_VERSION, params).scalar_one_or_none()
    # Outside the session's transaction, in autocommit: one statement needs no BEGIN and no
    # ROLLBACK, two of the four round trips a cached answer cost (the other two: the pool's
    # liveness ping and this statement). A miss then renders in the session as before.
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_VERSION, params).scalar_one_or_none()


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str  # unquoted


@dataclass(frozen=True)
class _Entry:
    version: str
    rendered: Rendered
    at: float


class AvailabilityCache:
    """Rendered calendars of one worker process, checked against the stock version."""

    def __init__(self, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[tuple[str, date, date], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._rendering: dict[tuple[str, date, date], threading.Lock] = {}
        self._max = max_entries
        self._clock = clock
        self.hits = 0
        self.renders = 0

    def get(
        self,
        session: Session,
        sku: str,
        start: date,
        end: date,
        *,
        max_age: float,
        render: Callable[[], object],
    ) -> Rendered:
        version = stock_version(session, sku, start, end) if max_age > 0 else None
        key = (sku, start, end)
        if version is None:
            return self._render(render)
        found = self._fresh(key, version, max_age)
        if found is not None:
            return found
        # One render per key at a time: when an entry goes stale under a thousand phones,
        # the other threads of this worker wait for the one rendering it instead of all
        # rendering the same calendar (a render costs about ten cached answers).
        with self._render_lock(key):
            found = self._fresh(key, version, max_age)
            if found is not None:
                return found
            now = self._clock()
            rendered = self._render(render)
            with self._lock:
                self._entries[key] = _Entry(version, rendered, now)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            return rendered

    def _fresh(self, key: tuple[str, date, date], version: str, max_age: float) -> Rendered | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version and now - entry.at < max_age:
                self._entries.move_to_end(key)
                self.hits += 1
                record_atp_cache(hit=True)
                return entry.rendered
        return None

    def _render(self, render: Callable[[], object]) -> Rendered:
        rendered = _render(render())
        self.renders += 1
        record_atp_cache(hit=False)
        return rendered

    def _render_lock(self, key: tuple[str, date, date]) -> threading.Lock:
        with self._lock:
            lock = self._rendering.get(key)
            if lock is None:
                if len(self._rendering) > self._max:
                    self._rendering.clear()  # bounded: a lock in use stays held by its holder
                lock = self._rendering[key] = threading.Lock()
            return lock


def _render(data: object) -> Rendered:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Rendered(body, hashlib.sha256(body).hexdigest()[:32])
