from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash

from inventory.settings import Settings
from shop.cli import cli
from shop.models import Role, User


def _env(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def test_a_manager_account_is_created_with_a_hashed_password(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "Boss@Example.com",
            "--name",
            "张杰",
            "--password",
            "correct horse",
        ],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    with db() as s:
        user = s.scalars(select(User)).one()
    assert user.email == "boss@example.com" and user.role is Role.MANAGER
    assert user.password_hash != "correct horse"
    assert check_password_hash(user.password_hash, "correct horse")


def test_a_short_password_or_a_taken_email_is_refused_and_changes_nothing(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    runner = CliRunner()
    args = ["users", "create", "--email", "a@example.com", "--name", "A"]
    short = runner.invoke(cli, [*args, "--password", "short"], env=_env(settings))
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    assert (
        runner.invoke(cli, [*args, "--password", "long enough"], env=_env(settings)).exit_code == 0
    )
    again = runner.invoke(cli, [*args, "--password", "long enough"], env=_env(settings))
    assert again.exit_code == 1 and "already exists" in again.output
    with db() as s:
        assert len(s.scalars(select(User)).all()) == 1
