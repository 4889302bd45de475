"""The NATS JetStream adapter of the broker port (`inventory.broker`).

`forward_once` is what the scheduler's forwarder job calls every few seconds: connect, forward
what is waiting, disconnect. A connection per run (about a millisecond on a LAN) keeps no state
between runs that an outage could leave half-broken, and needs no thread of its own; a run
that finds the server down ends within the connect timeout and the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy.orm import Session, sessionmaker

from inventory.broker import (
    DUPLICATE_WINDOW_SECONDS,
    PUBLISH_TIMEOUT_SECONDS,
    STREAM_MAX_AGE_SECONDS,
    ForwardStats,
    StreamSpec,
    forward_pending,
)
from inventory.settings import Settings

log = logging.getLogger("inventory.broker")

CONNECT_TIMEOUT_SECONDS = 2
# JetStream's error code for "a stream with this name exists with a different configuration".
STREAM_NAME_IN_USE = 10058


class JetStreamPublisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def ensure_stream(self, stream: StreamSpec) -> None:
        config = StreamConfig(
            name=stream.name,
            subjects=list(stream.subjects),
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            max_age=STREAM_MAX_AGE_SECONDS,
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != STREAM_NAME_IN_USE:
                raise
            # Created by an older release (or by hand) with other limits: bring it in line.
            await self.js.update_stream(config)

    async def publish(
        self, subject: str, body: bytes, *, msg_id: str, headers: dict[str, str]
    ) -> bool:
        ack = await self.js.publish(
            subject,
            body,
            timeout=PUBLISH_TIMEOUT_SECONDS,
            headers={"Nats-Msg-Id": msg_id, **headers},
        )
        return bool(ack.duplicate)


async def _quiet(exc: Exception) -> None:
    # The client's default callback logs a traceback per refused connection; the forwarder
    # already logs one warning per failed run, which is all an outage needs.
    log.debug("nats client error: %s", exc)


async def _forward(
    sessions: sessionmaker[Session], settings: Settings, max_batches: int
) -> ForwardStats:
    try:
        # max_reconnect_attempts=1: nats-py treats 0 as "no limit" while connecting and
        # would retry a refused server forever; the outer timeout is a second guard.
        nc = await asyncio.wait_for(
            nats.connect(
                settings.nats_url,
                name="gaogan-forwarder",
                error_cb=_quiet,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
            ),
            timeout=3 * CONNECT_TIMEOUT_SECONDS,
        )
    except Exception as exc:  # refused, unresolvable, timed out: all mean "not now"
        log.warning("cannot reach NATS at %s: %s", settings.nats_url, exc)
        return ForwardStats(error=f"cannot connect: {type(exc).__name__}: {exc}")
    try:
        return await forward_pending(
            sessions,
            JetStreamPublisher(nc.jetstream(timeout=PUBLISH_TIMEOUT_SECONDS)),
            prefix=settings.nats_prefix,
            batch_size=settings.relay_batch_size,
            max_batches=max_batches,
        )
    finally:
        try:
            await nc.close()
        except Exception:  # the server vanished mid-run; nothing left to close cleanly
            log.debug("closing a broken NATS connection", exc_info=True)


def forward_once(
    sessions: sessionmaker[Session], settings: Settings, *, max_batches: int = 20
) -> ForwardStats:
    """Forward waiting events to NATS JetStream; broker errors end up in `.error`."""
    return asyncio.run(_forward(sessions, settings, max_batches))
