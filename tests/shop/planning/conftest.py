"""Fixtures shared with tests/shop/planning: products and rice for a plan."""

from tests.support.planning import products

__all__ = ["products"]
