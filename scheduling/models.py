"""The scheduling package's tables (capacity, calendar, plans, job runs)."""

from __future__ import annotations
