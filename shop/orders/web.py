"""The orders area's wiring: the storefront pages, accounts, the order API, the Stripe webhook,
order mails, the production consumers and the orders' scheduled jobs."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from scheduling.scheduler.jobs import register_job
from shop import accounts, nav
from shop.orders import (
    address_api,
    address_pages,
    api,
    consumers,
    flows,
    gift_mail,
    gift_pages,
    notifications,
    pages,
    part_delivery,
    payment_return,
    pickup_pages,
    purchase_api,
    purchase_pages,
    reminder_pages,
    reorder,
    season_pages,
    services,
    stripe_webhook,
    waitlist,
    waitlist_pages,
)

EXPIRE_UNPAID_JOB = "orders.expire_unpaid"
ISSUE_REFUNDS_JOB = "orders.issue_refunds"


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    accounts.init_app(app, runtime)
    api.init_app(app, runtime)
    stripe_webhook.init_app(app, runtime)
    notifications.init_app(app, runtime)
    # Issue 14: the season calendar, pickup codes, waitlist, wallet returns, gifts, reorder.
    season_pages.init_app(app, runtime)
    pickup_pages.init_app(app, runtime)
    waitlist_pages.init_app(app, runtime)
    payment_return.init_app(app, runtime)
    gift_pages.init_app(app, runtime)
    reorder.init_app(app, runtime)
    # Issue 14: season reminders (the unsubscribe link, the daily job, the sending consumer).
    reminder_pages.init_app(app, runtime)
    # Issue 14 (after the sale): the address book and checkouts for several days.
    address_pages.init_app(app, runtime)
    address_api.init_app(app, runtime)
    purchase_pages.init_app(app, runtime)
    purchase_api.init_app(app, runtime)
    waitlist.register_subscribers(runtime.settings)
    consumers.register_subscribers()
    gift_mail.register_subscribers()
    part_delivery.register_order_part_policy()
    register_job(
        EXPIRE_UNPAID_JOB,
        lambda ctx: services.expire_unpaid_orders(ctx.session, ctx.now()),
        {"trigger": "cron", "minute": "*"},
        description="expire unpaid orders whose stock hold has lapsed and free the stock",
    )
    register_job(
        ISSUE_REFUNDS_JOB,
        # Works through its own short transactions around each provider call and leaves the
        # run's transaction (ctx.session) untouched, so no lock is held over the network.
        lambda ctx: flows.issue_due_refunds(ctx.sessions, ctx.settings),
        {"trigger": "cron", "minute": "*"},
        description="refund cancelled orders whose payment went through, and the part of a "
        "payment a production shortfall did not serve (shortfall, retries)",
    )
    nav.add_nav(app, "nav.shop", "/", 10)
    nav.add_nav(app, "nav.cart", "/cart", 20)
    nav.add_nav(app, "nav.account", "/account", 90)
