"""Destructive buttons (cancel an order, cancel a booking) ask first, without JavaScript.

The form carries a required "confirm" box: the browser will not send it unticked, and the
server refuses a request without it (a form from an old page, a client that skips the
`required` check). No script is involved, so a strict Content-Security-Policy changes nothing.
"""

from __future__ import annotations

from flask import request


def confirmed() -> bool:
    return request.form.get("confirm") == "yes"
