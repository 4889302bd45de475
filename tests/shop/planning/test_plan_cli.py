from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.runtime import Runtime
from inventory.settings import Settings
from scheduling.planning.demo_history import seed_sales_history
from scheduling.planning.models import Plan, PlanStatus
from shop.cli import CliState, cli


def _state(settings: Settings) -> CliState:
    state = CliState()
    state._runtime = Runtime.from_settings(settings)
    return state


def test_gaogan_plan_shows_progress_plans_the_season_and_publishes_it(
    settings: Settings, db: sessionmaker[Session], products: list[str], tmp_path: Path
) -> None:
    with db() as s:
        seed_sales_history(s, latest_festival_year=2026)
        s.commit()
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "--start",
            "2027-01-28",
            "--end",
            "2027-02-08",
            "--ignore-stock",
            "--time-limit",
            "10",
            "--csv",
            str(out),
            "--publish",
        ],
        obj=_state(settings),
    )
    assert result.exit_code == 0, result.output
    assert "solving" in result.output
    assert "days to close to new orders" in result.output
    assert out.read_text().startswith("day,production")
    with db() as s:
        plan = s.scalar(select(Plan))
        assert plan is not None and plan.status is PlanStatus.PUBLISHED


def test_gaogan_plan_calendar_prints_the_markers_and_warns_for_a_missing_year(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(cli, ["plan", "calendar", "--year", "2028"], obj=_state(settings))
    assert result.exit_code == 0, result.output
    assert "春节 Spring Festival: 2028-01-26" in result.output
    assert "除夕 New Year's Eve: 2028-01-25" in result.output
    assert "2028" in result.output and "warning" in result.output


def test_gaogan_plan_speaks_chinese_by_default(
    settings: Settings, db: sessionmaker[Session], products: list[str]
) -> None:
    """Without GAOGAN_LANG and with a locale naming no language, the shop's Chinese."""
    chinese = {"GAOGAN_LANG": None, "LANG": "C.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
    with db() as s:
        seed_sales_history(s, latest_festival_year=2026)
        s.commit()
    calendar = CliRunner().invoke(
        cli, ["plan", "calendar", "--year", "2028"], obj=_state(settings), env=chinese
    )
    assert calendar.exit_code == 0, calendar.output
    assert "注意：2028年国务院放假调休安排尚未录入" in calendar.output
    assert "不生产的日期：" in calendar.output and "warning" not in calendar.output
    planned = CliRunner().invoke(
        cli,
        ["plan", "--start", "2027-02-01", "--end", "2027-02-05", "--ignore-stock"],
        obj=_state(settings),
        env=chinese,
    )
    assert planned.exit_code == 0, planned.output
    assert "正在为 2027-02-01 至 2027-02-05 排产" in planned.output
    assert "需停止接单的日期：" in planned.output and "计划 plan-20270201" in planned.output
    missing = CliRunner().invoke(
        cli, ["plan", "--profile", "没有这个"], obj=_state(settings), env=chinese
    )
    assert missing.exit_code == 1 and "错误：没有名为“没有这个”的产能方案" in missing.output
