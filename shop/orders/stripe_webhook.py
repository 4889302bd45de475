"""POST /webhooks/stripe: Stripe's word about payments.

The signature is checked on the raw body before anything is parsed; a forged or stale
request gets 400 and changes nothing. Each event is applied once (its id is recorded in the
same transaction as its effect) and the order state machine refuses backward moves, so
redelivered or out-of-order events are harmless.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, request
from flask.typing import ResponseReturnValue

from inventory.runtime import Runtime
from shop.csrf import csrf_exempt
from shop.errors import error_response
from shop.orders import flows
from shop.runtime import current_runtime

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger("gaogan.webhooks")


@bp.post("/stripe")
@csrf_exempt
def stripe_webhook() -> ResponseReturnValue:
    runtime = current_runtime()
    secret = runtime.settings.stripe_webhook_secret
    if not secret:
        return error_response(404, "not_found", "Stripe is not configured")
    from shop.payments.stripe_provider import verify_event

    payload = request.get_data(cache=False)
    try:
        event = verify_event(runtime.settings, payload, request.headers.get("Stripe-Signature", ""))
    except ValueError as exc:
        log.warning("refused a Stripe webhook: %s", exc)
        return error_response(400, "invalid_signature", "the webhook signature is not valid")
    outcome = flows.handle_stripe_event(runtime, event)
    log.info("stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return jsonify(received=True, outcome=outcome)


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
