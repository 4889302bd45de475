"""Errors a user (or a calling service) can cause. Each carries a stable code, a message a
person can act on, and details; the HTTP edge turns them into 4xx JSON bodies."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal. `status` is the HTTP status the edge should answer with."""

    code = "invalid"
    status = 422

    def __init__(self, message: str, *, key: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        # The message key of this refusal when `code` alone is too coarse to word it (a generic
        # "invalid" from many places): the edge words it in the reader's language from the
        # catalogue, `message` stays the English text for logs, the CLI and English pages.
        self.key = key
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class InvalidQuantity(DomainError):
    code = "invalid_quantity"


class UnknownItem(DomainError):
    code = "unknown_item"
    status = 404


class OutsideFreshnessWindow(DomainError):
    code = "outside_freshness_window"


class SoldOut(DomainError):
    code = "sold_out"
    status = 409


class DayClosed(DomainError):
    code = "day_closed"
    status = 409


class OldCropRice(DomainError):
    code = "old_crop_rice"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    status = 409


class ReservationNotFound(DomainError):
    code = "reservation_not_found"
    status = 404


class ReservationStateError(DomainError):
    """The reservation is not in a state that allows this move (e.g. confirming an expired hold)."""

    code = "reservation_state"
    status = 409


class DuplicateReference(DomainError):
    code = "duplicate_reference"
    status = 409


class InvalidInput(DomainError):
    """A malformed argument that is not a quantity (a date range backwards, a blank reference)."""

    code = "invalid_input"


class UnknownLot(DomainError):
    code = "unknown_lot"
    status = 404


class EventNotFound(DomainError):
    code = "event_not_found"
    status = 404


class EventStateError(DomainError):
    """The outbox event is not in a state that allows this (e.g. retrying one that is done)."""

    code = "event_state"
    status = 409
