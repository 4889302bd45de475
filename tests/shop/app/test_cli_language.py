"""Issue 10 item 7: the `gaogan` commands managers run speak Chinese by default and English
when GAOGAN_LANG or the terminal's locale asks for it, with the web's catalogue: the same
refusal reads the same on the page and in the terminal."""

from __future__ import annotations

import ast
import re
from datetime import datetime, time
from pathlib import Path

import pytest
from click.testing import CliRunner

from inventory.db import transaction, utcnow
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings, SettingsError, cli_language
from scheduling.scheduler.clock import FileClock
from shop.cli import cli
from shop.i18n import catalogue
from shop.orders import placing, services
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, shop

__all__ = ["shop"]

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "zh"),  # no locale at all: the shop's language
        ({"LANG": "C.UTF-8"}, "zh"),  # a container's locale names no language
        ({"LANG": "POSIX"}, "zh"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),  # LC_ALL wins over LANG
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8", "GAOGAN_LANG": "zh"}, "zh"),  # GAOGAN_LANG decides
        ({"LANG": "zh_CN.UTF-8", "GAOGAN_LANG": "EN"}, "en"),
    ],
)
def test_the_command_language_follows_gaogan_lang_then_the_locale(
    env: dict[str, str], expected: str
) -> None:
    assert cli_language(env) == expected


def test_an_unknown_gaogan_lang_is_named_not_guessed() -> None:
    with pytest.raises(SettingsError, match="GAOGAN_LANG"):
        cli_language({"GAOGAN_LANG": "fr"})
    result = CliRunner().invoke(cli, ["orders", "mails"], env={"GAOGAN_LANG": "fr"})
    assert result.exit_code == 2 and "GAOGAN_LANG" in result.output


def test_every_message_key_the_commands_use_has_chinese_and_english() -> None:
    keys: set[str] = set()
    prefixes: set[str] = set()
    for path in (ROOT / "shop" / "commands").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("cli.")
            ):
                (prefixes if node.value.endswith(".") else keys).add(node.value)
    assert len(keys) > 40
    known = catalogue()
    missing = sorted(k for k in keys if not (known.get(k, {}).get("zh") and known[k].get("en")))
    assert missing == []
    for prefix in prefixes:  # keys built at run time (f"cli.run.{status}") exist for each
        assert any(k.startswith(prefix) for k in known), prefix


def _env(settings: Settings, **extra: str | None) -> dict[str, str | None]:
    return {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "GAOGAN_LANG": None,  # unset: the locale decides
        "LC_ALL": None,
        "LC_MESSAGES": None,
        **extra,
    }


def test_a_manager_moves_an_order_and_reads_the_outbox_in_chinese_by_default_or_english(
    shop: Shop, settings: Settings
) -> None:
    with transaction(shop.sessions) as s:
        public_id = services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 2)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,
            now=utcnow(),
        ).public_id
    clock = settings.instance_path / "clock"
    clock.parent.mkdir(parents=True, exist_ok=True)
    FileClock.write(clock, datetime.combine(shop.open_day, time(6, 30), tzinfo=LOCAL_ZONE))
    zh = _env(settings, LANG="C.UTF-8", GAOGAN_CLOCK_FILE=str(clock))
    en = _env(settings, LANG="en_US.UTF-8", GAOGAN_CLOCK_FILE=str(clock))
    runner = CliRunner()

    # A refusal: the catalogue's wording, as the order desk page shows it.
    wrong = runner.invoke(cli, ["orders", "advance", public_id, "delivered"], env=zh)
    assert wrong.exit_code == 1 and CJK.search(wrong.output), wrong.output
    assert "cannot become" not in wrong.output
    wrong_en = runner.invoke(cli, ["orders", "advance", public_id, "delivered"], env=en)
    assert wrong_en.exit_code == 1 and "cannot become delivered" in wrong_en.output

    moved = runner.invoke(cli, ["orders", "advance", public_id, "ready"], env=zh)
    assert moved.exit_code == 0, moved.output
    assert moved.output.strip() == f"订单 {public_id} 现在是：可取货"
    shown = runner.invoke(cli, ["orders", "show", public_id], env=en)
    assert f"{public_id}  ready  day {shop.open_day.isoformat()}  pickup" in shown.output
    shown_zh = runner.invoke(cli, ["orders", "show", public_id], env=zh)
    assert "可取货" in shown_zh.output and "合计 ¥" in shown_zh.output

    stats = runner.invoke(cli, ["events", "stats"], env=zh)
    assert stats.exit_code == 0, stats.output
    assert "待投递" in stats.output and "保留期" in stats.output and "pending" not in stats.output
    stats_en = runner.invoke(cli, ["events", "stats"], env=en)
    assert stats_en.output.startswith("pending ") and "retention" in stats_en.output
    # GAOGAN_LANG overrides the locale both ways.
    forced = runner.invoke(
        cli, ["events", "stats"], env=_env(settings, LANG="zh_CN.UTF-8", GAOGAN_LANG="en")
    )
    assert forced.output.startswith("pending ")

    status = runner.invoke(cli, ["scheduler", "status"], env=zh)
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert lines[0] == "主调度器：无（没有调度器在运行）"
    assert lines[1].split() == ["任务", "触发时间", "上次运行", "状态", "下次运行", "失败次数"]
    status_en = runner.invoke(cli, ["scheduler", "status"], env=en)
    assert status_en.output.splitlines()[0] == "leader: none (no scheduler is running)"


def test_the_stock_commands_speak_the_operators_language(shop: Shop, settings: Settings) -> None:
    runner = CliRunner()
    verify = runner.invoke(cli, ["inventory", "verify"], env=_env(settings, LANG="zh_CN.UTF-8"))
    assert verify.exit_code == 0 and verify.output.strip() == "账实相符"
    adjust = ["inventory", "adjust", "--lot", "NOPE", "--quantity", "5", "--reason", "stock-take"]
    missing = runner.invoke(cli, adjust, env=_env(settings, LANG="C.UTF-8"))
    assert missing.exit_code == 1 and CJK.search(missing.output), missing.output
    missing_en = runner.invoke(cli, adjust, env=_env(settings, LANG="en_US.UTF-8"))
    assert missing_en.exit_code == 1 and not CJK.search(missing_en.output)
    assert "NOPE" in missing_en.output
