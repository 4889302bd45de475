"""The shop's tables (customers, orders, distributors) live here as the shop issues add them."""

from __future__ import annotations
