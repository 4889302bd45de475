"""`/metrics` in the Prometheus text format, and the per-request measurements.

Two kinds of numbers:
- counted in the process (requests, checkouts, sold-out refusals, availability-cache hits,
  pool use): the objects in `inventory.metrics`, summed over gunicorn workers in multiprocess
  mode (PROMETHEUS_MULTIPROC_DIR);
- read from the database when scraped (outbox backlog and dead events, relay and broker lag,
  job runs and failures per job, whether a scheduler leads): the same whichever worker or
  host answers, so they need no sharing between processes. The scheduler process serves no
  HTTP; its work is visible here through the rows it writes.

Access: with GAOGAN_METRICS_TOKEN set, only `Authorization: Bearer <token>` gets an answer
(401 otherwise). In production without a token `/metrics` is a 404, so a public site never
publishes its internals by accident; in development it is open.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable, Iterator

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from inventory.db import utcnow
from inventory.metrics import (
    CHECKOUTS,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    SOLD_OUT_REFUSALS,
    instrument_engine,
)
from inventory.outbox_stats import event_stats
from inventory.runtime import Runtime
from scheduling.scheduler.jobs import registry as job_registry
from scheduling.scheduler.leader import probe_leader
from scheduling.scheduler.models import JobRun, JobState
from shop.errors import error_response
from shop.i18n import translate

log = logging.getLogger("gaogan.metrics")

__all__ = ["CHECKOUTS", "SOLD_OUT_REFUSALS", "DatabaseCollector", "init_app"]


class DatabaseCollector(Collector):
    """Numbers read from the database at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("gaogan_metrics_database_up", "Could /metrics read the database")
        try:
            metrics = list(self._read())
        except Exception as exc:  # a scrape reports a broken database, it does not fail
            log.warning("metrics could not read the database: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> Iterator[Metric]:
        runtime = self.runtime
        now = utcnow()
        with runtime.sessions() as session:
            stats = event_stats(session)
            runs = session.execute(
                select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status)
            ).all()
            states = session.execute(
                select(JobState.job, JobState.total_failures, JobState.consecutive_failures)
            ).all()
        outbox = GaugeMetricFamily(
            "gaogan_outbox_events", "Outbox events by delivery status", labels=["status"]
        )
        outbox.add_metric(["pending"], stats.pending)
        outbox.add_metric(["done"], stats.done)
        outbox.add_metric(["dead"], stats.dead)
        yield outbox
        dead = GaugeMetricFamily("gaogan_outbox_dead_events", "Events parked as dead")
        dead.add_metric([], stats.dead)
        yield dead
        lag = GaugeMetricFamily(
            "gaogan_relay_lag_seconds", "Age of the oldest event the relay has not delivered"
        )
        lag.add_metric([], stats.relay_lag_seconds(now))
        yield lag
        if runtime.settings.broker != "none":
            waiting = GaugeMetricFamily(
                "gaogan_broker_backlog_events", "Events the broker has not acknowledged yet"
            )
            waiting.add_metric([], stats.unforwarded)
            yield waiting
            broker_lag = GaugeMetricFamily(
                "gaogan_broker_lag_seconds", "Age of the oldest event not yet on the broker"
            )
            broker_lag.add_metric([], stats.broker_lag_seconds(now))
            yield broker_lag
        run_family = GaugeMetricFamily(
            "gaogan_job_runs",
            "Recorded runs of scheduled (cron) jobs within the retention period",
            labels=["job", "status"],
        )
        for job, status, count in runs:
            run_family.add_metric([job, status.value], count)
        yield run_family
        failures = CounterMetricFamily(
            "gaogan_job_failures", "Failed runs per job since it was first run", labels=["job"]
        )
        streak = GaugeMetricFamily(
            "gaogan_job_consecutive_failures", "Failures since the last success", labels=["job"]
        )
        for job, total, consecutive in states:
            failures.add_metric([job], total)
            streak.add_metric([job], consecutive)
        yield failures
        yield streak
        known = GaugeMetricFamily("gaogan_jobs_registered", "Jobs this application registers")
        known.add_metric([], len(job_registry.all()))
        yield known
        leader = GaugeMetricFamily(
            "gaogan_scheduler_leader", "1 while a scheduler process holds the leader lock"
        )
        leader.add_metric([], 1 if probe_leader(runtime.settings, runtime.engine).held else 0)
        yield leader


def _authorised(token: str, production: bool) -> bool | None:
    """True: answer; False: 401; None: pretend there is nothing here (404)."""
    if not token:
        return None if production else True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def init_app(app: Flask, runtime: Runtime) -> None:
    instrument_engine(runtime.engine)
    settings = runtime.settings
    database = DatabaseCollector(runtime)

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            # The route's pattern, not the path: one series per view, not one per order id.
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            labels = (route, request.method, str(response.status_code))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> ResponseReturnValue:
        allowed = _authorised(settings.metrics_token, settings.production)
        if allowed is None:
            return error_response(404, "not_found", translate("error.metrics_hidden"))
        if not allowed:
            return error_response(401, "unauthorized", translate("error.metrics_unauthorized"))
        if settings.prometheus_multiproc_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=settings.prometheus_multiproc_dir)  # type: ignore[no-untyped-call]
            body = generate_latest(registry)
        else:
            body = generate_latest(REGISTRY)
        scrape = CollectorRegistry()
        scrape.register(database)
        # The classic text format every Prometheus 2 and 3 scrapes; our names are plain ASCII,
        # so the body is the same in either version.
        return Response(body + generate_latest(scrape), content_type=CONTENT_TYPE_PLAIN_0_0_4)
