"""Shared fixtures.

The suite runs on SQLite by default and on PostgreSQL when GAOGAN_TEST_DATABASE_URL names one
(.ci/run does both). Tests that prove concurrency are marked `postgres` and need the latter;
with CI=true an unreachable PostgreSQL is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import Base, make_engine, make_session_factory
from inventory.settings import Settings
from scheduling.planning.plan_runs import wait_for_background
from shop.app import create_app
from shop.schema import import_all_models, upgrade
from tests.support.browser import browser, desktop

POSTGRES_URL = os.environ.get("GAOGAN_TEST_DATABASE_URL", "")

# The `gaogan` command speaks the operator's language, Chinese unless the locale says English
# (inventory.settings.cli_language). The suite's command tests read its English; the tests of
# the language choice itself set GAOGAN_LANG and LANG per invocation.
os.environ["GAOGAN_LANG"] = "en"

__all__ = ["browser", "desktop"]  # the browser fixtures, for every test


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    import_all_models()  # every package's tables on Base.metadata before create_all
    eng = make_engine(database_url)
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment problem
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"test database unreachable: {database_url}: {exc}") from exc
        pytest.skip(f"test database unreachable: {exc}")
    _drop_everything(eng)
    # The schema under test is the one the migrations build. create_all afterwards only adds
    # tables a branch has not migrated yet (test_migrations proves main has none of those).
    upgrade(eng)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _drop_everything(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        return
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on a clean database; committed data is wiped after the test.

    Wiping rather than rolling back lets a test commit and then watch other connections
    (threads, processes) see the result, which is what concurrency tests need.
    """
    _wipe(engine)
    yield make_session_factory(engine)
    # A plan started through the console or the API solves in a background thread: let it
    # end before the wipe, or it would store its plan into the next test's database.
    wait_for_background()
    _wipe(engine)


@pytest.fixture
def session(db: sessionmaker[Session]) -> Iterator[Session]:
    with db() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    env = {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-which-is-long-enough-for-tests",
    }
    return Settings.from_env(env)


@pytest.fixture
def app(settings: Settings, db: sessionmaker[Session]) -> Flask:
    """The whole app on the test database, in testing mode."""
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that touches a database (directly or through a fixture, a server or a
    process), and every test marked slow, as `db`, so `pytest -m "not db"` is the fast layer
    of pure rules; skip the PostgreSQL-only tests when no PostgreSQL is configured."""
    skip = pytest.mark.skip(reason="needs PostgreSQL: set GAOGAN_TEST_DATABASE_URL (CI does)")
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        needs_db = bool(fixtures & {"engine", "empty_engine", "database_url", "settings"})
        heavy = item.get_closest_marker("postgres") or item.get_closest_marker("slow")
        if needs_db or "/e2e/" in item.nodeid or heavy:
            item.add_marker(pytest.mark.db)
        if not POSTGRES_URL and "postgres" in item.keywords:
            item.add_marker(skip)
