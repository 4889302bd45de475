"""The relay's rules as plain functions: the backoff schedule and the per-key ordering."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory.relay import RelayStats, backoff_delay, blocked_by_order


def test_the_wait_doubles_with_every_failed_attempt() -> None:
    waits = [backoff_delay(n).total_seconds() for n in range(1, 7)]
    assert waits == [2, 4, 8, 16, 32, 64]


def test_the_wait_never_exceeds_one_hour() -> None:
    assert backoff_delay(11) == timedelta(seconds=2048)
    assert backoff_delay(12) == timedelta(hours=1)
    assert backoff_delay(10_000) == timedelta(hours=1)


def test_jitter_only_shortens_the_wait_and_by_at_most_its_fraction() -> None:
    assert backoff_delay(3, jitter=0.5, rand=lambda: 0.0) == timedelta(seconds=8)
    assert backoff_delay(3, jitter=0.5, rand=lambda: 1.0) == timedelta(seconds=4)
    assert backoff_delay(3, jitter=0.25, rand=lambda: 0.5) == timedelta(seconds=7)


def test_a_backoff_before_any_attempt_or_with_silly_jitter_is_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delay(0)
    with pytest.raises(ValueError):
        backoff_delay(1, jitter=1.5)


def test_events_of_one_key_all_in_the_batch_go_ahead_in_order() -> None:
    claimed = [(1, "order:1"), (2, "order:1"), (3, "order:1")]
    assert blocked_by_order(claimed, pending=claimed) == set()


def test_an_event_waits_while_an_earlier_one_of_its_key_is_pending_outside_the_batch() -> None:
    claimed = [(5, "order:1"), (6, "order:2")]
    pending = [(3, "order:1"), (5, "order:1"), (6, "order:2")]
    assert blocked_by_order(claimed, pending) == {5}


def test_everything_after_the_first_gap_in_a_key_waits() -> None:
    claimed = [(1, "order:1"), (4, "order:1"), (7, "order:1")]
    pending = [(1, "order:1"), (2, "order:1"), (4, "order:1"), (7, "order:1")]
    assert blocked_by_order(claimed, pending) == {4, 7}


def test_an_earlier_event_that_is_not_pending_does_not_hold_anything_back() -> None:
    # Done and dead events are not in `pending`: a dead event releases its key.
    claimed = [(9, "order:1")]
    assert blocked_by_order(claimed, pending=[(9, "order:1")]) == set()


def test_events_without_a_key_are_never_held_back() -> None:
    claimed = [(5, ""), (6, "")]
    assert blocked_by_order(claimed, pending=[(1, ""), (5, ""), (6, "")]) == set()


def test_relay_stats_add_up_field_by_field() -> None:
    total = RelayStats(claimed=3, delivered=2, failed=1) + RelayStats(claimed=1, dead=1)
    assert total == RelayStats(claimed=4, delivered=2, failed=1, dead=1, held_back=0)
    assert total.progressed == 4
