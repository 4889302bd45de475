"""The rule of a shortfall: who is served when the day's last batch made too little.

Pure functions over plain values, no database (`batches.complete_batch` feeds them).

Priority: confirmed orders first, by when they were placed, then distributor bookings by
pickup slot. Two passes in that order:

1. Every reservation that fits whole is served whole; one that does not fit leaves its stock
   to smaller ones behind it (the rule before part delivery existed, unchanged).
2. Those left over whose owner accepts part delivery then take what remains, in the same
   order: each product as much as is left of it, cut down to the product's step (a
   distributor takes whole cases). One that gets nothing at all, and keeps nothing from
   earlier waves or other days, is unserved like the rest.

So a buyer who accepts part delivery never costs another buyer an order that would have
been served whole without that acceptance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scheduling.refs import ref_prefix


@dataclass(frozen=True)
class Demand:
    """What one reservation still needs from one production day's output."""

    ref: str
    needs: Mapping[str, int]  # sku -> pieces not yet on a lot
    priority_at: datetime  # orders: when placed; bookings: the pickup slot
    takes_part: bool = False  # the owner accepts part delivery
    steps: Mapping[str, int] = field(default_factory=dict)  # sku -> cut in multiples of
    # sku -> pieces the reservation keeps whatever happens (already on lots, other days)
    kept: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Allocation:
    served: list[str]  # served whole, in priority order
    reduced: dict[str, dict[str, int]]  # part delivery: ref -> sku -> pieces given
    unserved: list[str]  # nothing for them: released, as before part delivery


_KIND_RANK = {"order": 0, "booking": 1}


def priority_key(demand: Demand) -> tuple[int, datetime, str]:
    return (_KIND_RANK.get(ref_prefix(demand.ref), 2), demand.priority_at, demand.ref)


def part_of(need: int, left: int, step: int = 1, kept: int = 0) -> int:
    """Pieces of one product a part delivery gives: as many as are left, at most the need,
    so that with what the reservation keeps anyway the line is a whole number of steps."""
    cap = max(0, min(need, left))
    if step <= 1:
        return cap
    return max(0, (kept + cap) // step * step - kept)


def allocate(demands: Sequence[Demand], available: Mapping[str, int]) -> Allocation:
    left = dict(available)
    served: list[str] = []
    waiting: list[Demand] = []
    for demand in sorted(demands, key=priority_key):
        if all(left.get(sku, 0) >= quantity for sku, quantity in demand.needs.items()):
            for sku, quantity in demand.needs.items():
                left[sku] = left.get(sku, 0) - quantity
            served.append(demand.ref)
        else:
            waiting.append(demand)
    reduced: dict[str, dict[str, int]] = {}
    unserved: list[str] = []
    for demand in waiting:  # still in priority order
        given = {
            sku: part_of(need, left.get(sku, 0), demand.steps.get(sku, 1), demand.kept.get(sku, 0))
            for sku, need in sorted(demand.needs.items())
        }
        nothing = not any(given.values()) and not any(demand.kept.values())
        if not demand.takes_part or nothing:
            unserved.append(demand.ref)
            continue
        for sku, quantity in given.items():
            left[sku] = left.get(sku, 0) - quantity
        reduced[demand.ref] = given
    return Allocation(served, reduced, unserved)


def allocate_by_priority(
    demands: Sequence[Demand], available: Mapping[str, int]
) -> tuple[list[str], list[str]]:
    """(refs that get goods, whole or in part; refs that get none), in priority order."""
    allocation = allocate(demands, available)
    return allocation.served + list(allocation.reduced), allocation.unserved
