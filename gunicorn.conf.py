"""gunicorn's configuration for the web process, read by default from the working directory:

    gunicorn 'shop.app:create_app()'

Workers and threads from GAOGAN_WEB_WORKERS / GAOGAN_WEB_THREADS (see the README's capacity
guide); each worker builds its own app, engine and pool after the fork (`preload_app` off, so
no database connection is ever shared across a fork).

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

bind = os.environ.get("GAOGAN_WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GAOGAN_WEB_WORKERS", "4"))
threads = int(os.environ.get("GAOGAN_WEB_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = 30
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
