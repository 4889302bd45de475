"""gunicorn's configuration, read by default from the working directory.

    gunicorn 'shop.app:create_app()'            # workers and threads from the environment

Worker processes, about two per core, with few threads each (GAOGAN_WEB_WORKERS,
GAOGAN_WEB_THREADS): the work of a request is mostly Python, and threads of one process share
one interpreter lock, so processes scale where threads queue (docs/BENCHMARKS.md, "Serving
layout"). Each worker builds its own app, engine and connection pool after the fork
(GAOGAN_DB_POOL_SIZE connections per process): `preload_app` stays off so no database
connection is ever inherited across a fork. Values come from inventory.settings, the one place
that reads the environment.
"""

from inventory.settings import serving_from_env

_serving = serving_from_env()

workers = _serving.workers
threads = _serving.threads
timeout = _serving.timeout
worker_class = "gthread"
preload_app = False
# The checkout's hold is committed before any call out, so a worker recycled now and then
# (a slow leak in a library) loses nothing; the jitter keeps them from restarting together.
max_requests = 5000
max_requests_jitter = 500
