"""The order desk's rules, without a database."""

from __future__ import annotations

from shop.orders.desk_rules import clean_reason, matches, payment_state, refundable_fen


def test_the_payment_column_weighs_what_came_in_against_what_went_back() -> None:
    assert payment_state(online_paid_fen=0, counter_paid_fen=0, refunded_fen=0) == "unpaid"
    assert payment_state(online_paid_fen=2500, counter_paid_fen=0, refunded_fen=0) == "paid"
    assert payment_state(online_paid_fen=0, counter_paid_fen=2500, refunded_fen=0) == "paid"
    assert (
        payment_state(online_paid_fen=2500, counter_paid_fen=0, refunded_fen=500) == "part_refunded"
    )
    assert payment_state(online_paid_fen=2500, counter_paid_fen=0, refunded_fen=2500) == "refunded"
    assert (
        payment_state(online_paid_fen=0, counter_paid_fen=0, refunded_fen=0, on_account=True)
        == "on_account"
    )


def test_never_more_is_refundable_than_was_paid_and_never_less_than_nothing() -> None:
    assert refundable_fen(2500, 500) == 2000
    assert refundable_fen(2500, 3000) == 0


def test_a_reason_is_required_trimmed_and_bounded() -> None:
    assert clean_reason("  顾客  来电取消 ") == "顾客 来电取消"
    assert clean_reason("   ") == ""
    assert clean_reason("x" * 201) == ""


def test_search_finds_a_phone_number_typed_with_spaces_or_dashes() -> None:
    assert matches("138 0013", "G123", "13800138000", "王芳")
    assert matches("138-0013-8000", "G123", "13800138000", "王芳")
    assert matches("王", "G123", "13800138000", "王芳")
    assert matches("g12", "G123", "", "")
    assert not matches("139", "G123", "13800138000", "王芳")
    assert matches("", "G123")
