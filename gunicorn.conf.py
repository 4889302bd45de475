"""gunicorn's configuration for the web process, read by default from the working directory:

    gunicorn 'shop.app:create_app()'

Worker processes, about two per core, with few threads each (GAOGAN_WEB_WORKERS,
GAOGAN_WEB_THREADS; the README's capacity guide): the work of a request is mostly Python, and
threads of one process share one interpreter lock, so processes scale where threads queue
(docs/BENCHMARKS.md, "Serving layout"). Each worker builds its own app, engine and connection
pool after the fork (GAOGAN_DB_POOL_SIZE connections per process): `preload_app` stays off so
no database connection is ever inherited across a fork. Values come from inventory.settings,
the one place that reads the environment.

Graceful shutdown: on SIGTERM (to the master, or to one worker) a worker stops accepting,
finishes the requests it has in flight, a checkout included, for up to `graceful_timeout`
seconds, then exits. A checkout commits its hold before any call out, so even one cut off
after that loses nothing: the hold lapses and the stock returns.

Metrics: every worker counts in its own process. prometheus-client's multiprocess mode keeps
the values in files under PROMETHEUS_MULTIPROC_DIR, which must be set before the app (and
prometheus_client) is imported in the workers; hence here, in the master. The folder is
emptied when the master starts and a dead worker's live gauges are dropped when it exits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from inventory.settings import serving_from_env

_serving = serving_from_env()
bind = os.environ.get("GAOGAN_WEB_BIND", "0.0.0.0:8000")
workers = _serving.workers
threads = _serving.threads
timeout = _serving.timeout
worker_class = "gthread"
preload_app = False
# The checkout's hold is committed before any call out, so a worker recycled now and then
# (a slow leak in a library) loses nothing; the jitter keeps them from restarting together.
# Rare (inventory.settings.DEFAULT_MAX_REQUESTS says why); 0 never replaces a worker. The
# jitter spreads the replacements of workers that share the load evenly.
max_requests = _serving.max_requests
max_requests_jitter = _serving.max_requests // 10
# Longer than any checkout takes (a payment start waits at most the provider's timeout).
graceful_timeout = 30
# Behind a load balancer that keeps connections open: longer than gunicorn's 2 s default.
keepalive = 5

_multiproc = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(tempfile.gettempdir()) / f"gaogan-prometheus-{os.getpid()}"),
)


def on_starting(server: Any) -> None:
    # Counters of a previous run would otherwise be added to this one's.
    shutil.rmtree(_multiproc, ignore_errors=True)
    Path(_multiproc).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
