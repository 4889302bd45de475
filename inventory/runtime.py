"""The wired-up runtime one process needs: settings, engine and session factory.

Built once by the app factory, the CLI and the scheduler process from `Settings.from_env()`,
then passed down explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        options: dict[str, Any] = {}
        if not settings.is_sqlite:
            # Sized per process from settings (see Settings.db_pool_size for the arithmetic);
            # short timeouts so an overloaded or absent database answers 503 within seconds.
            options = {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_max_overflow,
                "pool_timeout": settings.db_pool_timeout_seconds,
                "connect_args": {"connect_timeout": settings.db_connect_timeout_seconds},
            }
        engine = make_engine(settings.database_url, **options)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))
