"""Refusals specific to the distributor area (the HTTP edge turns them into 4xx JSON)."""

from __future__ import annotations

from inventory.errors import DomainError


class DistributorNotFound(DomainError):
    code = "distributor_not_found"
    status = 404


class BookingNotFound(DomainError):
    """Also raised for another distributor's booking: its existence is not disclosed."""

    code = "booking_not_found"
    status = 404


class BookingStateError(DomainError):
    code = "booking_state"
    status = 409


class NotOnPriceList(DomainError):
    code = "not_on_price_list"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = 409


class InvalidToken(DomainError):
    code = "invalid_token"
    status = 401


class StandingOrderNotFound(DomainError):
    code = "standing_order_not_found"
    status = 404
