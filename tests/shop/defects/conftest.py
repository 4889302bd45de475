"""Issue 10's defect tests reuse the storefront fixtures (a shop with supply, the app)."""

from tests.shop.orders.conftest import app, shop

__all__ = ["app", "shop"]
