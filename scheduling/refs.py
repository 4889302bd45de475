"""What the scheduling package may know about a reservation's owner, without importing shop.

Reservations are named by refs ("order:42", "booking:7") whose owners live in the shop's
tables. The shop's areas register a provider per prefix in their init_app; the trace and the
shortfall priority then ask for owners and pickup slot times through it, and the shortfall
asks whether the owner takes part of a reservation (`PartPolicy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RefInfo:
    owner_kind: str  # "customer" or "distributor"
    owner_id: int | None
    owner_name: str
    slot_at: datetime | None = None  # bookings: the pickup slot; orders: None


RefProvider = Callable[[Session, Sequence[str]], Mapping[str, RefInfo]]

_providers: dict[str, RefProvider] = {}


def register_ref_provider(prefix: str, provider: RefProvider) -> None:
    """`prefix` without the colon: "order", "booking"."""
    _providers[prefix] = provider


def has_ref_provider(prefix: str) -> bool:
    return prefix in _providers


def ref_prefix(ref: str) -> str:
    return ref.split(":", 1)[0]


def ref_infos(session: Session, refs: Sequence[str]) -> dict[str, RefInfo]:
    by_prefix: dict[str, list[str]] = {}
    for ref in refs:
        by_prefix.setdefault(ref_prefix(ref), []).append(ref)
    found: dict[str, RefInfo] = {}
    for prefix, some in by_prefix.items():
        provider = _providers.get(prefix)
        if provider is not None:
            found.update(provider(session, sorted(some)))
    return found


def unregister_ref_provider(prefix: str) -> None:
    _providers.pop(prefix, None)


# -- part delivery: does the owner take what was made? ---------------------------------------


@dataclass(frozen=True)
class PartPolicy:
    """Whether a reservation's owner takes part of it when the day's last batch falls short,
    and the step each product can be cut in (pieces; a distributor takes whole cases)."""

    accepts: bool
    steps: Mapping[str, int] = field(default_factory=dict)  # sku -> pieces; absent: 1


PartPolicyProvider = Callable[[Session, Sequence[str]], Mapping[str, PartPolicy]]

_part_policies: dict[str, PartPolicyProvider] = {}


def register_part_policy(prefix: str, provider: PartPolicyProvider) -> None:
    """`prefix` without the colon. A ref without a provider is served whole or not at all."""
    _part_policies[prefix] = provider


def unregister_part_policy(prefix: str) -> None:
    _part_policies.pop(prefix, None)


def part_policies(session: Session, refs: Sequence[str]) -> dict[str, PartPolicy]:
    by_prefix: dict[str, list[str]] = {}
    for ref in refs:
        by_prefix.setdefault(ref_prefix(ref), []).append(ref)
    found: dict[str, PartPolicy] = {}
    for prefix, some in by_prefix.items():
        provider = _part_policies.get(prefix)
        if provider is not None:
            found.update(provider(session, sorted(some)))
    return found
