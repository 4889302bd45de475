"""Payment providers behind one interface (`shop.payments.base`), chosen by settings.

A provider only talks to the outside world; it never touches the database, so the order
services can call it between two short transactions and no lock is held across the network.
"""

from __future__ import annotations

from inventory.errors import DomainError
from inventory.settings import Settings
from shop.payments.base import (
    PayAtPickup,
    PaymentError,
    PaymentProvider,
    PaymentStart,
    idempotency_key,
)
from shop.payments.stripe_provider import StripeProvider

__all__ = [
    "PayAtPickup",
    "PaymentError",
    "PaymentProvider",
    "PaymentStart",
    "available_methods",
    "get_provider",
    "idempotency_key",
]


def available_methods(settings: Settings) -> list[str]:
    methods = ["pay_at_pickup"]
    if settings.stripe_secret_key:
        methods.insert(0, "stripe")
    return methods


def get_provider(settings: Settings, name: str) -> PaymentProvider:
    if name == "pay_at_pickup":
        return PayAtPickup()
    if name == "stripe" and settings.stripe_secret_key:
        return StripeProvider(settings)
    raise DomainError(
        f"payment method {name!r} is not available",
        key="msg.payment.unavailable",
        field="payment_method",
    )
