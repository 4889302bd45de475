"""The wired-up runtime one process needs: settings, engine and session factory.

Built once by the app factory, the CLI and the scheduler process from `Settings.from_env()`,
then passed down explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import make_engine, make_session_factory
from inventory.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        pool: dict[str, int] = {}
        if not settings.is_sqlite:
            # One pool per process: gunicorn workers are forked before the app is built
            # (no preload), so no connection is ever shared across processes.
            pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
        engine = make_engine(settings.database_url, **pool)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))
