"""`gaogan bench`: refuses to wipe a database that is not a scratch one, and reports a plan
run beside its LP bound."""

from __future__ import annotations

from click.testing import CliRunner

from shop.cli import cli


def test_a_benchmark_refuses_the_ci_database_and_sqlite() -> None:
    runner = CliRunner()
    for url in ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "sqlite:///x.db"):
        result = runner.invoke(cli, ["bench", "reserve", "--database-url", url])
        assert result.exit_code == 2, result.output
        assert "scratch" in result.output or "PostgreSQL" in result.output


def test_the_plan_benchmark_prints_its_gap_to_the_lp_bound_and_the_cut_stages() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "plan", "--days", "3", "--products", "2", "--seeds", "1", "--budget", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "gap to LP bound" in result.output
    assert "| 3 |" in result.output
