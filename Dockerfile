# One image, three roles (compose.yaml runs all three):
#   web        (default)  gunicorn -c gunicorn.conf.py 'shop.app:create_app()'
#   scheduler             gaogan scheduler      (exactly one leader per deployment; a second
#                         one waits on the leader lock and does nothing)
#   migrations            gaogan db upgrade     (one-shot, before a new release)
# Configuration comes from the environment only: DATABASE_URL, SECRET_KEY, GAOGAN_ENV=production,
# PAYMENT_PROVIDER and STRIPE_* keys, SMTP_*, GAOGAN_BROKER/GAOGAN_NATS_URL. See the README's
# configuration table. The commands here are the README's (tests/ops/test_ops_deployment.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GAOGAN_ENV=production \
    GAOGAN_INSTANCE=/var/lib/gaogan \
    PROMETHEUS_MULTIPROC_DIR=/tmp/gaogan-prometheus \
    TZ=Asia/Shanghai

WORKDIR /app
# The mail folder exists in the image, owned by the app user, so a volume mounted there
# starts with the right owner.
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin gaogan \
    && mkdir -p /var/lib/gaogan/mail && chown -R gaogan /var/lib/gaogan

# Dependencies first so a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY inventory/__init__.py inventory/__init__.py
COPY scheduling/__init__.py scheduling/__init__.py
COPY shop/__init__.py shop/__init__.py
RUN pip install --upgrade pip && pip install -e .

COPY alembic.ini gunicorn.conf.py ./
COPY migrations migrations
COPY inventory inventory
COPY scheduling scheduling
COPY shop shop

USER gaogan
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# SIGTERM (docker stop) lets gunicorn finish in-flight requests within graceful_timeout.
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py", "shop.app:create_app()"]
