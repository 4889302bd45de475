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


# Our payment method name -> the PaymentIntent's payment_method_types and method options.
# WeChat Pay on a web page shows a QR code the customer scans in WeChat ("client": "web");
# Alipay redirects to Alipay and back to the return URL.
STRIPE_METHODS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "stripe": (["card"], {}),
    "alipay": (["alipay"], {}),
    "wechat_pay": (["wechat_pay"], {"wechat_pay": {"client": "web"}}),
}


class StripeProvider:
    name = "stripe"
    online = True

    def __init__(
        self,
        settings: Settings,
        client: stripe.StripeClient | None = None,
        method: str = "stripe",
    ) -> None:
        if method not in STRIPE_METHODS:
            raise ValueError(f"not a Stripe payment method: {method!r}")
        self.settings = settings
        self.client = client or make_client(settings)
        self.name = method

    def start(
        self, *, amount_fen: int, order_public_id: str, attempt: int, email: str
    ) -> PaymentStart:
        # Cards explicitly: the Payment Element then shows the card form, and Stripe-compatible
        # test servers (localstripe) accept it. The SDK's typed params omit this older field.
        types, options = STRIPE_METHODS[self.name]
        params: Any = {
            "amount": amount_fen,
            "currency": "cny",
            "payment_method_types": types,
            "metadata": {"order": order_public_id, "attempt": str(attempt)},
        }
        if options:
            params["payment_method_options"] = options
        try:
            intent = self.client.v1.payment_intents.create(
                params=params,
                options={"idempotency_key": idempotency_key(order_public_id, attempt)},
            )
        except stripe.StripeError as exc:
            raise PaymentError(
                "the payment could not be started; please try again",
                key="msg.payment.start_failed",
                provider=str(exc)[:200],
            ) from exc
        return PaymentStart(provider_ref=intent.id, client_secret=intent.client_secret or "")

    def lookup(self, *, provider_ref: str) -> tuple[str, int]:
        """The intent's status and amount received, asked of Stripe (after a redirect)."""
        try:
            intent = self.client.v1.payment_intents.retrieve(provider_ref)
        except stripe.StripeError as exc:
            raise PaymentError(
                "the payment could not be checked; it will be confirmed shortly",
                provider=str(exc)[:200],
            ) from exc
        # As the webhook handler reads it: amount_received, else the amount (a test server
        # may leave the former out).
        received = getattr(intent, "amount_received", None) or getattr(intent, "amount", 0)
        return str(intent.status), int(received or 0)

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
                "the refund could not be made; it will be retried",
                key="msg.payment.refund_failed",
                provider=str(exc)[:200],
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
