"""Refusals of the scheduling package (pickup slots, cut-offs); the HTTP edge turns them into
4xx JSON like every DomainError."""

from __future__ import annotations

from inventory.errors import DomainError


class SlotFull(DomainError):
    """Every loading bay of the pickup slot is taken."""

    code = "slot_full"
    status = 409


class SlotUnavailable(DomainError):
    """The slot does not exist for that day, is closed, or starts before the goods are ready."""

    code = "slot_unavailable"
    status = 409


class CutoffPassed(DomainError):
    """The order for that pickup day can no longer change: the soak has been set."""

    code = "cutoff_passed"
    status = 409


class BeforeTheDay(DomainError):
    """Goods marked ready, handed out or a batch started before its production day: the goods
    do not exist yet. Allowed only with an override reason, which is recorded."""

    code = "before_the_day"
    status = 409
