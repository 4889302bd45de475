"""One scheduler per deployment: the leader lock.

APScheduler 3 cannot share a job store between processes, so exactly one process schedules.
On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection for as
long as it lives: when the process dies, PostgreSQL ends the session and frees the lock, and a
standby's next check takes it. On SQLite (the embedded default, one machine) it is an OS file
lock next to the database file, freed by the kernel when the process dies.

Leadership is only the first guard. Every scheduled run also needs its unique run record, so
two processes that both believe they lead (a partition, a paused VM) still cannot run the
04:00 batch twice.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from inventory.settings import Settings

log = logging.getLogger("gaogan.scheduler.leader")

# "gaogan_1" as a big-endian 64-bit integer: one constant for every deployment's database.
LOCK_KEY = int.from_bytes(b"gaogan_1", "big")
_LOCK_HI, _LOCK_LO = LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leader(Protocol):
    @property
    def held(self) -> bool: ...

    def check(self) -> bool:
        """Take the lock if free, confirm it if held; True while this process leads."""
        ...

    def release(self) -> None: ...


class PostgresLeader:
    def __init__(self, url: str, *, name: str | None = None, key: int = LOCK_KEY) -> None:
        # NullPool: closing this connection must end the database session (and so free the
        # lock), never hand a lock-holding connection back to a pool.
        self._engine: Engine = create_engine(make_url(url), poolclass=NullPool)
        self._name = (name or f"gaogan-scheduler {instance_name()}")[:63]
        self._key = key
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def check(self) -> bool:
        if self._conn is not None:
            try:
                still = bool(
                    self._conn.scalar(
                        text(
                            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                            " AND pid = pg_backend_pid() AND granted"
                            " AND classid::bigint = :hi AND objid::bigint = :lo)"
                        ),
                        {"hi": self._key >> 32, "lo": self._key & 0xFFFFFFFF},
                    )
                )
                self._conn.rollback()
            except Exception as exc:  # the connection died: the session and its lock are gone
                log.warning("leader connection lost: %s", exc)
                still = False
            if still:
                return True
            log.warning("leadership lost")
            self._close()
        return self._try_acquire()

    def _try_acquire(self) -> bool:
        try:
            conn = self._engine.connect()
        except Exception as exc:
            log.warning("cannot reach the database to take the leader lock: %s", exc)
            return False
        try:
            conn.execute(
                text("SELECT set_config('application_name', :name, false)"), {"name": self._name}
            )
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}))
            # The lock belongs to the session, not the transaction: end the transaction so
            # the connection does not sit "idle in transaction" for the process lifetime.
            conn.commit()
        except Exception as exc:
            log.warning("leader lock attempt failed: %s", exc)
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("leadership acquired", extra={"lock": "postgres-advisory", "key": self._key})
        return True

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing left to free
                log.debug("closing a broken leader connection", exc_info=True)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                self._conn.commit()
            except Exception:
                log.debug("unlock on a broken connection", exc_info=True)
        self._close()
        self._engine.dispose()


class FileLeader:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False: the lock is taken by the scheduler's check thread and released
        # by the main thread at shutdown; it belongs to the process, not to a thread.
        self._lock = FileLock(str(path), thread_local=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def check(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        # Beside the lock, not in it: filelock owns the lock file's content.
        holder_path(self.path).write_text(f"gaogan-scheduler {instance_name()}")
        log.info("leadership acquired", extra={"lock": "file", "path": str(self.path)})
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


def holder_path(lock: Path) -> Path:
    return lock.with_name(lock.name + ".holder")


def sqlite_lock_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if database and database != ":memory:":
        return Path(database + ".scheduler.lock")
    return settings.instance_path / "scheduler.lock"


def make_leader(settings: Settings) -> Leader:
    if settings.is_sqlite:
        return FileLeader(sqlite_lock_path(settings))
    return PostgresLeader(settings.database_url)


@dataclass(frozen=True)
class LeaderInfo:
    held: bool
    holder: str  # who holds it, when the database can tell


def probe_leader(settings: Settings, engine: Engine) -> LeaderInfo:
    """Is some process leading right now? Answers without taking the lock for long."""
    if settings.is_sqlite:
        path = sqlite_lock_path(settings)
        probe = FileLock(str(path), thread_local=False)
        try:
            probe.acquire(timeout=0)
        except Timeout:
            holder = holder_path(path)
            return LeaderInfo(True, holder.read_text().strip() if holder.exists() else "")
        probe.release(force=True)
        return LeaderInfo(False, "")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
                " AND l.granted AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
                # Advisory locks are per database: a scheduler of another database on the
                # same server holds the same key and is not our leader.
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": _LOCK_HI, "lo": _LOCK_LO},
        ).first()
    if row is None:
        return LeaderInfo(False, "")
    return LeaderInfo(True, str(row[0] or ""))
