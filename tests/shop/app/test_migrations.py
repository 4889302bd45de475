"""The migrations must build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from inventory.db import Base, make_engine
from shop.schema import current_revision, import_all_models, upgrade

POSTGRES_URL = os.environ.get("GAOGAN_TEST_DATABASE_URL", "")


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """A brand-new empty database of the engine under test."""
    if not POSTGRES_URL:
        engine = make_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield engine
        engine.dispose()
        return
    name = f"gaogan_migrations_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migrations_produce_exactly_the_models_schema(empty_engine: Engine) -> None:
    import_all_models()
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations differ: {differences}"
    tables = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_upgrading_twice_is_harmless_and_records_the_head_revision(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    first = current_revision(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == first is not None


def test_on_postgresql_the_migrated_ledger_refuses_updates_and_deletes(
    empty_engine: Engine,
) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip(
            "the database-level ledger guard is PostgreSQL-only; the ORM guard covers SQLite"
        )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        triggers = (
            conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'stock_ledger'::regclass")
            )
            .scalars()
            .all()
        )
    assert "stock_ledger_append_only" in triggers
