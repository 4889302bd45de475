"""The one thin module that talks to Stripe.

PaymentIntents in CNY with the amount in fen (CNY's smallest unit), created with a
deterministic idempotency key per order and attempt so a retried request can never charge
twice. Webhooks are verified on the raw request body.
"""

from __future__ import annotations

from typing import Any

import stripe

from inventory.settings import Settings
from shop.payments.base import PaymentError, PaymentStart, idempotency_key


def make_client(settings: Settings) -> stripe.StripeClient:
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if settings.stripe_api_base:
        kwargs["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(settings.stripe_secret_key, **kwargs)


class StripeProvider:
    name = "stripe"
    online = True

    def __init__(self, settings: Settings, client: stripe.StripeClient | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)

    def start(
        self, *, amount_fen: int, order_public_id: str, attempt: int, email: str
    ) -> PaymentStart:
        # Cards explicitly: the Payment Element then shows the card form, and Stripe-compatible
        # test servers (localstripe) accept it. The SDK's typed params omit this older field.
        params: Any = {
            "amount": amount_fen,
            "currency": "cny",
            "payment_method_types": ["card"],
            "metadata": {"order": order_public_id, "attempt": str(attempt)},
        }
        try:
            intent = self.client.v1.payment_intents.create(
                params=params,
                options={"idempotency_key": idempotency_key(order_public_id, attempt)},
            )
        except stripe.StripeError as exc:
            raise PaymentError(
                "the payment could not be started; please try again", provider=str(exc)[:200]
            ) from exc
        return PaymentStart(provider_ref=intent.id, client_secret=intent.client_secret or "")

    def refund(
        self, *, provider_ref: str, amount_fen: int, order_public_id: str, key: str = ""
    ) -> str:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": provider_ref, "amount": amount_fen},
                # One key per payment, not per order: a customer who paid twice is owed two
                # refunds, and a key reused with another payment_intent would be refused.
                # A desk refund adds its own key: two partial refunds are two refunds.
                options={
                    "idempotency_key": f"refund-{order_public_id}-{provider_ref}"
                    + (f"-{key}" if key else "")
                },
            )
        except stripe.StripeError as exc:
            raise PaymentError(
                "the refund could not be made; it will be retried", provider=str(exc)[:200]
            ) from exc
        return str(refund.id)


def verify_event(settings: Settings, payload: bytes, signature: str) -> dict[str, Any]:
    """The event if the signature over the raw body is valid; ValueError otherwise."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.stripe_webhook_secret)
    except stripe.SignatureVerificationError as exc:
        raise ValueError("invalid signature") from exc
    result: dict[str, Any] = event.to_dict()
    return result
