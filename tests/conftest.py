"""Shared fixtures.

The suite runs on SQLite by default and on PostgreSQL when GAOGAN_TEST_DATABASE_URL names one
(.ci/run does both). Tests that prove concurrency are marked `postgres` and need the latter;
with CI=true an unreachable PostgreSQL is a failure, never a silent skip.
"""

from __future__ import annotations

import os

from shop.schema import import_all_models

POSTGRES_URL = os.environ.get("GAOGAN_TEST_DATABASE_URL", "")


def _import_all_models() -> None:
    import_all_models()
