from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shop.cli import cli

pytestmark = pytest.mark.db  # builds a SQLite database through the CLI


def test_gaogan_db_upgrade_creates_the_schema_and_reports_the_revision(tmp_path: Path) -> None:
    env = {"GAOGAN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    current = runner.invoke(cli, ["db", "current"], env=env)
    assert current.output.strip() in result.output
