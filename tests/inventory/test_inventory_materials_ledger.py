"""Raw materials, the append-only ledger, its verification and the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import InsufficientStock, OldCropRice
from inventory.ledger import adjust_lot
from inventory.materials import consume_material, expire_lots, receive_material, verify_ledger
from inventory.models import AppendOnlyViolation, LedgerEntry, LedgerKind, Lot, OutboxEvent
from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.cli import CliState, cli
from tests.inventory.conftest import Floor

JAN = date(2027, 1, 20)
AT = datetime(2027, 1, 10, 1, 0, tzinfo=UTC)


def _stock(floor: Floor) -> None:
    with transaction(floor.db) as s:
        receive_material(
            s,
            "RICE",
            50_000,
            lot_code="RICE-25",
            received_at=AT,
            crop_year=2025,
            supplier="宝坻米厂",
        )
        receive_material(
            s,
            "RICE",
            30_000,
            lot_code="RICE-26A",
            received_at=AT,
            crop_year=2026,
            supplier="宝坻米厂",
            best_before=date(2027, 6, 30),
        )
        receive_material(
            s,
            "RICE",
            30_000,
            lot_code="RICE-26B",
            received_at=AT,
            crop_year=2026,
            best_before=date(2027, 3, 31),
        )
        receive_material(
            s, "SUGAR", 20_000, lot_code="SUGAR-1", received_at=AT, best_before=date(2027, 1, 15)
        )
        receive_material(
            s, "SUGAR", 20_000, lot_code="SUGAR-2", received_at=AT, best_before=date(2027, 12, 31)
        )


def _on_hand(floor: Floor) -> dict[str, int]:
    with floor.db() as s:
        return dict(s.execute(select(Lot.code, Lot.on_hand)).all())


def test_a_delivery_becomes_a_lot_with_a_receipt_entry(floor: Floor) -> None:
    _stock(floor)
    with floor.db() as s:
        lot = s.scalars(select(Lot).where(Lot.code == "RICE-26A")).one()
        assert (lot.crop_year, lot.supplier, lot.on_hand) == (2026, "宝坻米厂", 30_000)
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.lot_id == lot.id)).one()
        assert (entry.kind, entry.quantity) == (LedgerKind.RECEIPT, 30_000)
        assert (
            s.scalar(select(OutboxEvent.payload).where(OutboxEvent.key == "lot:RICE-26A"))
            is not None
        )


def test_rice_is_consumed_first_expiring_first_from_the_new_crop_only(floor: Floor) -> None:
    _stock(floor)
    with transaction(floor.db) as s:
        entries = consume_material(s, "RICE", 40_000, day=JAN, reference="batch:B1")
        assert [(e.quantity, e.kind) for e in entries] == [
            (-30_000, LedgerKind.CONSUMPTION),
            (-10_000, LedgerKind.CONSUMPTION),
        ]
    assert _on_hand(floor)["RICE-25"] == 50_000
    assert _on_hand(floor)["RICE-26B"] == 0
    assert _on_hand(floor)["RICE-26A"] == 20_000


def test_old_crop_rice_is_refused_with_a_clear_error(floor: Floor) -> None:
    _stock(floor)
    before = _on_hand(floor)
    with transaction(floor.db) as s, pytest.raises(OldCropRice) as caught:
        consume_material(s, "RICE", 70_000, day=JAN, reference="batch:B1")
    assert "RICE-25" in caught.value.message and "2026" in caught.value.message
    assert _on_hand(floor) == before


def test_consuming_more_than_is_on_hand_is_refused(floor: Floor) -> None:
    _stock(floor)
    with transaction(floor.db) as s, pytest.raises(InsufficientStock):
        # SUGAR-1 is past its best-before on the 20th, so only SUGAR-2 counts.
        consume_material(s, "SUGAR", 25_000, day=JAN, reference="batch:B1")
    assert _on_hand(floor)["SUGAR-2"] == 20_000


def test_lots_past_best_before_are_written_off_as_waste(floor: Floor) -> None:
    _stock(floor)
    with transaction(floor.db) as s:
        assert [lot.code for lot in expire_lots(s, JAN)] == ["SUGAR-1"]
        assert expire_lots(s, JAN) == []
    with floor.db() as s:
        waste = s.scalars(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.WASTE)).one()
        assert waste.quantity == -20_000
        assert s.scalars(
            select(OutboxEvent.type).where(OutboxEvent.type == "lot.expired")
        ).all() == ["lot.expired"]
        assert verify_ledger(s) == []


def test_ledger_entries_cannot_be_changed_or_deleted_through_the_orm(floor: Floor) -> None:
    _stock(floor)
    with floor.db() as s:
        entry = s.scalars(select(LedgerEntry)).first()
        assert entry is not None
        entry.quantity = 1
        with pytest.raises(AppendOnlyViolation):
            s.flush()
        s.rollback()
        s.delete(s.scalars(select(LedgerEntry)).first())
        with pytest.raises(AppendOnlyViolation):
            s.flush()
        s.rollback()
        with pytest.raises(AppendOnlyViolation):
            s.execute(update(LedgerEntry).values(reason="rewritten"))
        with pytest.raises(AppendOnlyViolation):
            s.execute(delete(LedgerEntry))


@pytest.mark.postgres
def test_postgresql_itself_refuses_to_rewrite_the_ledger(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    _stock(floor)
    with db() as s, pytest.raises(DBAPIError, match="append-only"):
        s.execute(text("UPDATE stock_ledger SET quantity = 1"))


def test_a_correction_is_an_adjustment_entry_and_the_ledger_still_balances(floor: Floor) -> None:
    _stock(floor)
    with transaction(floor.db) as s:
        adjust_lot(s, "SUGAR-2", -150, reason="spilt at the mixer", reference="stocktake:1")
    assert _on_hand(floor)["SUGAR-2"] == 19_850
    with floor.db() as s:
        assert verify_ledger(s) == []
    with transaction(floor.db) as s, pytest.raises(InsufficientStock):
        adjust_lot(s, "SUGAR-2", -20_000, reason="too much", reference="stocktake:2")


def test_verify_reports_a_lot_whose_cached_balance_drifted(floor: Floor) -> None:
    _stock(floor)
    with transaction(floor.db) as s:
        s.execute(update(Lot).where(Lot.code == "SUGAR-2").values(on_hand=1))
    with floor.db() as s:
        assert verify_ledger(s) == ["lot SUGAR-2: on_hand 1 but the ledger sums to 20000"]


def _runner_state(settings: Settings) -> CliState:
    state = CliState()
    state._runtime = Runtime.from_settings(settings)
    return state


def test_the_verify_command_says_balanced_or_lists_mismatches(
    floor: Floor, settings: Settings
) -> None:
    _stock(floor)
    runner = CliRunner()
    ok = runner.invoke(cli, ["inventory", "verify"], obj=_runner_state(settings))
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == "balanced"
    with transaction(floor.db) as s:
        s.execute(update(Lot).where(Lot.code == "RICE-25").values(on_hand=7))
    bad = runner.invoke(cli, ["inventory", "verify"], obj=_runner_state(settings))
    assert bad.exit_code == 1
    assert "lot RICE-25: on_hand 7 but the ledger sums to 50000" in bad.output


def test_the_adjust_command_appends_an_adjustment(floor: Floor, settings: Settings) -> None:
    _stock(floor)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["inventory", "adjust", "--lot", "SUGAR-2", "--quantity", "-500", "--reason", "stock-take"],
        obj=_runner_state(settings),
    )
    assert result.exit_code == 0, result.output
    assert "now 19500 on hand" in result.output
    refused = runner.invoke(
        cli,
        ["inventory", "adjust", "--lot", "NOPE", "--quantity", "1", "--reason", "x"],
        obj=_runner_state(settings),
    )
    assert refused.exit_code == 1
    assert "no lot 'NOPE'" in refused.output
