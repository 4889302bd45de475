"""A real relay process for the crash test (tests/e2e/test_relay_crash.py).

It registers one consumer whose effect is a row in `test_crash_effects`, written in the
relay's transaction, then relays until SIGTERM. The handler also appends the event id to a
journal file *outside* the transaction and sleeps a little, so the test can see a batch in
flight (journal ahead of committed effects) and kill the process right then.

Configured by the environment (DATABASE_URL, GAOGAN_RELAY_BATCH, ...) like any gaogan process,
plus CRASH_JOURNAL (path) and CRASH_SLEEP (seconds per event).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.orm import Session

from inventory.db import make_engine, make_session_factory
from inventory.events import Event, Registry
from inventory.relay import run_relay
from inventory.settings import Settings

EVENT_TYPE = "test.crash"
CONSUMER = "tests.crash-counter"

metadata = MetaData()
effects = Table(
    "test_crash_effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # A second application of one event's effect would violate this.
    Column("event_id", String(36), nullable=False, unique=True),
    Column("pid", Integer, nullable=False),
)


def main() -> None:
    journal = os.environ["CRASH_JOURNAL"]
    pause = float(os.environ.get("CRASH_SLEEP", "0.02"))
    settings = Settings.from_env()
    sessions = make_session_factory(make_engine(settings.database_url))

    def count_once(session: Session, event: Event) -> None:
        session.execute(insert(effects).values(event_id=event.event_id, pid=os.getpid()))
        with open(journal, "a", encoding="utf-8") as handle:
            handle.write(event.event_id + "\n")
        time.sleep(pause)

    registry = Registry()
    registry.subscribe(EVENT_TYPE, CONSUMER, count_once)

    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    total = run_relay(sessions, settings, stop, registry=registry)
    print(f"stopped: delivered {total.delivered}, failed {total.failed}", flush=True)


if __name__ == "__main__":
    main()
