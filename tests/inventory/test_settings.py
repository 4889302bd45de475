from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from inventory.settings import (
    DEFAULT_MAX_REQUESTS,
    Settings,
    SettingsError,
    serving_from_env,
)


def test_the_embedded_default_is_a_sqlite_file_under_instance(tmp_path: Path) -> None:
    settings = Settings.from_env({"GAOGAN_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'gaogan.db'}"
    assert settings.payment_provider == "pay_at_pickup"
    assert settings.hold_minutes == 15
    assert settings.order_cutoff == time(20, 0)


def test_a_generated_secret_key_is_kept_across_restarts(tmp_path: Path) -> None:
    first = Settings.from_env({"GAOGAN_INSTANCE": str(tmp_path)}).secret_key
    second = Settings.from_env({"GAOGAN_INSTANCE": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"GAOGAN_ENV": "production", "DATABASE_URL": "postgresql://x/y"},
            "SECRET_KEY is required",
        ),
        ({"GAOGAN_ENV": "production", "SECRET_KEY": "k" * 40}, "DATABASE_URL is required"),
        (
            {"GAOGAN_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "postgresql://x/y"},
            "at least 32",
        ),
        ({"GAOGAN_ENV": "staging"}, "GAOGAN_ENV must be"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be"),
        ({"PAYMENT_PROVIDER": "stripe"}, "needs STRIPE_SECRET_KEY"),
        ({"PAYMENT_PROVIDER": "paypal"}, "PAYMENT_PROVIDER must be"),
        ({"GAOGAN_HOLD_MINUTES": "fifteen"}, "GAOGAN_HOLD_MINUTES must be a whole number"),
        ({"GAOGAN_HOLD_MINUTES": "0"}, "at least 1"),
        ({"GAOGAN_ORDER_CUTOFF": "8pm"}, "GAOGAN_ORDER_CUTOFF must be HH:MM"),
        ({"GAOGAN_HARVEST_MONTH": "13"}, "GAOGAN_HARVEST_MONTH must be 1-12"),
    ],
)
def test_a_bad_or_missing_setting_fails_at_start_up_with_a_clear_message(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"GAOGAN_INSTANCE": str(tmp_path), **env})


def test_a_plain_postgresql_url_is_given_the_psycopg3_driver(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"GAOGAN_INSTANCE": str(tmp_path), "DATABASE_URL": "postgresql://u@h/db"}
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_gunicorn_replaces_a_worker_rarely_and_as_configured() -> None:
    # A worker's boot costs seconds of CPU: at peak, replacing each every few thousand
    # requests spent a quarter of the machine on boots.
    assert serving_from_env({}).max_requests == DEFAULT_MAX_REQUESTS >= 100_000
    assert serving_from_env({"GAOGAN_WEB_MAX_REQUESTS": "0"}).max_requests == 0
    assert serving_from_env({"GAOGAN_WEB_MAX_REQUESTS": "50000"}).max_requests == 50_000
    with pytest.raises(SettingsError):
        serving_from_env({"GAOGAN_WEB_MAX_REQUESTS": "-1"})
    with pytest.raises(SettingsError):
        serving_from_env({"GAOGAN_WEB_MAX_REQUESTS": "many"})
