"""Registration of the order desk: pages, API, nav and the job that retries desk refunds."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from scheduling.scheduler.jobs import register_job
from shop.api import get_api
from shop.nav import add_nav
from shop.orders import desk_api, desk_pages, desk_refunds
from shop.staff.rules import DESK_ROLES

ISSUE_DESK_REFUNDS_JOB = "orders.issue_desk_refunds"


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(desk_pages.bp)
    get_api(app).register_blueprint(desk_api.blp)
    add_nav(app, "desk.nav", "/manager/orders/", 55, roles=DESK_ROLES)
    register_job(
        ISSUE_DESK_REFUNDS_JOB,
        # Its own short transactions around each provider call, like orders.issue_refunds.
        lambda ctx: desk_refunds.issue_due_refunds(ctx.sessions, ctx.settings),
        {"trigger": "cron", "minute": "*"},
        description="issue refunds asked for at the order desk that the provider has not confirmed",
    )
