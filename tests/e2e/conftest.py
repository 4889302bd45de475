"""End-to-end tests (real browsers, processes, servers) use the storefront's fixtures: a shop
with products on sale and the whole app serving it."""

from tests.shop.orders.conftest import app, live_server, shop

__all__ = ["app", "live_server", "shop"]
