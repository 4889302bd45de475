# One image, three roles:
#   web        (default)  gunicorn serving shop.app:create_app()
#   scheduler             docker run IMAGE gaogan scheduler      (exactly one per deployment;
#                         a second one waits on the leader lock and does nothing)
#   migrations            docker run IMAGE gaogan db upgrade     (before a new release)
# Configuration comes from the environment only: DATABASE_URL, SECRET_KEY, GAOGAN_ENV=production,
# PAYMENT_PROVIDER and STRIPE_* keys, SMTP_*. See the README's configuration table.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GAOGAN_ENV=production \
    GAOGAN_INSTANCE=/var/lib/gaogan \
    TZ=Asia/Shanghai

WORKDIR /app
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin gaogan \
    && mkdir -p /var/lib/gaogan && chown gaogan /var/lib/gaogan

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
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# Workers and threads come from gunicorn.conf.py (GAOGAN_WEB_WORKERS, GAOGAN_WEB_THREADS).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "shop.app:create_app()"]
