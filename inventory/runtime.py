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
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))
