"""The application's Prometheus metrics, as named objects any package can count with.

Defined in the lowest package so that inventory code (the availability cache) and the shop
both count into the same objects; `shop/metrics.py` serves them on `/metrics` together with
the numbers read from the database at scrape time (outbox backlog, jobs, leader).

Under gunicorn each worker is a process with its own counters. With PROMETHEUS_MULTIPROC_DIR
set (the repository's `gunicorn.conf.py` sets it) prometheus-client keeps every process's
values in files there and `/metrics` sums them, whichever worker answers. That variable must
be in the environment before this module is imported, which is why the gunicorn config, not
the app, sets it.
"""

from __future__ import annotations

import weakref

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine, event

HTTP_REQUESTS = Counter(
    "gaogan_http_requests_total",
    "HTTP requests answered, by route pattern, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "gaogan_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKOUTS = Counter(
    "gaogan_checkouts_total", "Orders placed through a checkout (storefront page or order API)"
)
SOLD_OUT_REFUSALS = Counter(
    "gaogan_sold_out_refusals_total", "Checkouts refused because the day was sold out"
)
ATP_CACHE_LOOKUPS = Counter(
    "gaogan_atp_cache_lookups_total",
    "Available-to-promise lookups answered by the cache (hit) or the database (miss)",
    ["result"],
)
DB_POOL_IN_USE = Gauge(
    "gaogan_db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over live processes",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "gaogan_db_pool_size",
    "Configured pool size (without overflow), summed over live processes",
    multiprocess_mode="livesum",
)


def record_atp_cache(hit: bool) -> None:
    """Count one availability lookup; the availability cache calls this on every read."""
    ATP_CACHE_LOOKUPS.labels(result="hit" if hit else "miss").inc()


_instrumented: weakref.WeakSet[Engine] = weakref.WeakSet()


def instrument_engine(engine: Engine) -> None:
    """Follow the engine's pool: connections in use, and its size. Idempotent per engine."""
    if engine in _instrumented:
        return
    _instrumented.add(engine)
    size = getattr(engine.pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.inc(size())

    @event.listens_for(engine, "checkout")
    def _out(*_args: object) -> None:
        DB_POOL_IN_USE.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_args: object) -> None:
        DB_POOL_IN_USE.dec()
