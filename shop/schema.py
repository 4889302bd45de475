"""Database schema management: every package's models, and Alembic run from Python.

`gaogan db upgrade` and `gaogan serve` call `upgrade()`; tests use it to prove that the
migrations produce exactly the models' schema on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def import_all_models() -> None:
    """Importing the model modules puts every table on Base.metadata."""
    import inventory.models  # noqa: F401
    import scheduling.models  # noqa: F401
    import shop.models  # noqa: F401


def migrations_dir() -> Path:
    """The repository's migrations/ (editable install, Docker image) or ./migrations."""
    for candidate in (
        Path(__file__).resolve().parents[1] / "migrations",
        Path.cwd() / "migrations",
    ):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations/ not found: run from the project directory")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        rev: str | None = MigrationContext.configure(connection).get_current_revision()
        return rev
