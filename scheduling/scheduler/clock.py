"""The scheduler's sense of time, injectable so a whole production day can be rehearsed.

`SystemClock` in production. `ManualClock` lets a test (or a drill) move time by hand inside
one process; `FileClock` reads the simulated time from a file so that several scheduler
processes can share one simulated day driven by whoever writes the file.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from inventory.db import utcnow
from inventory.settings import Settings


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            self._now = when

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class FileClock:
    """The time written (ISO 8601 with offset) in a file; rewritten atomically by the driver."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        value = datetime.fromisoformat(self.path.read_text().strip())
        if value.tzinfo is None:
            raise ValueError(f"{self.path} must hold an aware ISO datetime, got {value}")
        return value

    @staticmethod
    def write(path: Path, when: datetime) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(when.isoformat())
        tmp.replace(path)


def clock_for(settings: Settings) -> Clock:
    """The clock of this deployment: the rehearsal file when GAOGAN_CLOCK_FILE names one, so the
    CLI stamps the same simulated time as the scheduler reading that file; else the wall."""
    return FileClock(settings.clock_file) if settings.clock_file else SystemClock()
