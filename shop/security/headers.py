"""Security headers on every response.

The Content-Security-Policy allows scripts and styles from this origin only, plus inline
`<script>` blocks that carry the per-response nonce (`{{ csp_nonce() }}` in templates); no
inline event handlers, no `javascript:` URLs, no other origins. The one exception is Stripe:
when the shop takes card payments, Stripe.js must load from js.stripe.com and open its
payment frame, so those two origins are added only when PAYMENT_PROVIDER=stripe.
HSTS is sent only in production, where the site is served over HTTPS; sending it from a
developer's http://127.0.0.1 would pin the browser to HTTPS there.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g

from inventory.settings import Settings

STRIPE_JS = "https://js.stripe.com"
STRIPE_FRAMES = "https://js.stripe.com https://hooks.stripe.com"
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.csp_nonce = nonce
    return str(nonce)


def content_security_policy(nonce: str, *, stripe: bool, stripe_base: str = "") -> str:
    # A local Stripe-compatible server (tests) serves Stripe.js itself: allow its origin too.
    extra = f" {stripe_base}" if stripe and stripe_base else ""
    script = f"'self' 'nonce-{nonce}'" + (f" {STRIPE_JS}{extra}" if stripe else "")
    frames = (STRIPE_FRAMES + extra) if stripe else "'none'"
    connect = "'self'" + (f" https://api.stripe.com{extra}" if stripe else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            f"frame-src {frames}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask, settings: Settings) -> None:
    stripe = settings.payment_provider == "stripe"
    parts = urlsplit(settings.stripe_api_base)
    stripe_base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(csp_nonce(), stripe=stripe, stripe_base=stripe_base),
        )
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if settings.production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.jinja_env.globals["csp_nonce"] = csp_nonce
