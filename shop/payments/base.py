"""The payment-provider port: what every provider offers, and the offline default.

A provider only talks to the outside world; it never touches the database, so the order
services can call it between two short transactions and no lock is held across the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from inventory.errors import DomainError


class PaymentError(DomainError):
    """The provider refused or could not be reached; nothing was charged."""

    code = "payment_failed"
    status = 402


@dataclass(frozen=True)
class PaymentStart:
    provider_ref: str  # e.g. the PaymentIntent id
    client_secret: str  # handed to the page (Stripe.js) to confirm the payment


class PaymentProvider(Protocol):
    name: str
    online: bool  # True: the order waits for the provider's word; False: paid in person

    def start(
        self, *, amount_fen: int, order_public_id: str, attempt: int, email: str
    ) -> PaymentStart: ...

    def refund(
        self, *, provider_ref: str, amount_fen: int, order_public_id: str, key: str = ""
    ) -> str:
        """Send money back; `key` names one refund of several (partial refunds from the
        desk), empty for the one full refund of a payment."""
        ...

    def lookup(self, *, provider_ref: str) -> tuple[str, int]:
        """(status, amount received in fen) as the provider knows it now."""
        ...


class PayAtPickup:
    """The embedded default: nothing is charged online; the shop takes the money at pickup."""

    name = "pay_at_pickup"
    online = False

    def start(
        self, *, amount_fen: int, order_public_id: str, attempt: int, email: str
    ) -> PaymentStart:
        return PaymentStart(provider_ref=f"pickup-{order_public_id}", client_secret="")

    def refund(
        self, *, provider_ref: str, amount_fen: int, order_public_id: str, key: str = ""
    ) -> str:
        # Nothing was taken, so nothing goes back.
        return ""

    def lookup(self, *, provider_ref: str) -> tuple[str, int]:
        return "pay_at_pickup", 0


def idempotency_key(public_id: str, attempt: int) -> str:
    """One key per payment attempt of an order: a retried request cannot charge twice."""
    return f"order-{public_id}-attempt-{attempt}"
