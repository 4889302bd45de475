"""Wires the security modules into the app (called from the app factory)."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.security import availability, headers, input_guard


def init_input_boundary(app: Flask) -> None:
    input_guard.init_app(app)


def init_app(app: Flask, runtime: Runtime) -> None:
    availability.init_app(app)
    headers.init_app(app, runtime.settings)
