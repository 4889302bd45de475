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
from shop.payments.stripe_provider import STRIPE_METHODS, StripeProvider

ONLINE_METHODS = tuple(STRIPE_METHODS)  # "stripe" (cards), "alipay", "wechat_pay"

__all__ = [
    "ONLINE_METHODS",
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
        # Cards, and the wallets Chinese customers pay with, all as Stripe PaymentIntents.
        methods[:0] = list(ONLINE_METHODS)
    return methods


def get_provider(settings: Settings, name: str) -> PaymentProvider:
    if name == "pay_at_pickup":
        return PayAtPickup()
    if name in ONLINE_METHODS and settings.stripe_secret_key:
        return StripeProvider(settings, method=name)
    raise DomainError(
        f"payment method {name!r} is not available",
        key="msg.payment.unavailable",
        field="payment_method",
    )
