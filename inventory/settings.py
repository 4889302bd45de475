"""Settings: the one place that reads the environment.

Nothing reads configuration at import time: `Settings.from_env()` is called by the app factory,
the CLI and the scheduler process, and the resulting object is passed down explicitly.
Every business number the domain marks as an *assumption* is here as a default, never buried
in code.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path

TIMEZONE = "Asia/Shanghai"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable and what is wrong."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _time(env: Mapping[str, str], name: str, default: time) -> time:
    raw = env.get(name)
    if not raw:
        return default
    try:
        hours, minutes = raw.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise SettingsError(f"{name} must be HH:MM (24 h, Asia/Shanghai), got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _secret_key(env: Mapping[str, str], instance: Path, production: bool) -> str:
    """SECRET_KEY from the environment; in development a generated key kept under instance/.

    Kept rather than regenerated on each start so that sessions survive a restart of
    `gaogan serve`.
    """
    key = env.get("SECRET_KEY", "")
    if key:
        if production and len(key) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters in production")
        return key
    if production:
        raise SettingsError("SECRET_KEY is required when GAOGAN_ENV=production")
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    secret_key: str = ""
    # Payments: "pay_at_pickup" is the embedded default; "stripe" needs the keys below.
    payment_provider: str = "pay_at_pickup"
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""  # a local Stripe-compatible server in tests
    # Mail: SMTP when a host is set, otherwise files in mail_dir a developer can open.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "noreply@gaogan.local"
    # Absolute links in mails (order status page). Empty means "not configured": the serving
    # address is used instead (see `with_serving_address`), never a port the server is not on.
    public_url: str = ""
    mail_dir: Path = field(default_factory=lambda: Path("instance/mail").resolve())
    # Rehearsal only: the simulated time the scheduler (`--clock-file`) and the CLI's
    # production commands share, so a batch completed by hand is stamped with that day.
    clock_file: Path | None = None
    # Text messages: "file" writes each one to sms_dir (the default, like mail without SMTP);
    # a provider adapter registers under its own name (shop.orders.sms).
    sms_backend: str = "file"
    sms_dir: Path = field(default_factory=lambda: Path("instance/sms").resolve())
    # Business defaults the domain marks as assumptions.
    hold_minutes: int = 15
    # How long stock offered to a waitlisted customer stays held for them (assumption).
    waitlist_hold_minutes: int = 30
    # Season reminders ("order before 小年") go this many days before 小年 and before the last
    # fresh day before 除夕, to customers who opted in (assumption).
    reminder_days_before: int = 3
    order_cutoff: time = time(20, 0)  # the day before production, before the soak starts
    production_start: time = time(4, 0)
    harvest_month: int = 10  # rice from this month on belongs to the new crop year
    default_best_before_days: int = 7
    # Distributor pickups: the morning window cut into slots, each with as many seats as
    # loading bays; the first batch wave is out of the steamers at first_wave_ready.
    pickup_window_start: time = time(6, 0)
    pickup_window_end: time = time(9, 0)
    pickup_slot_minutes: int = 15
    pickup_slot_capacity: int = 4
    first_wave_ready: time = time(6, 0)
    booking_cutoff: time = time(20, 0)  # the day before pickup: the soak starts after it
    no_show_grace_minutes: int = 30
    standing_days_ahead: int = 7
    webhook_timeout_seconds: int = 5
    webhook_max_attempts: int = 10
    # Process standard until enough soak records exist to fit one (the article gives ~45 °C).
    soak_default_minutes: int = 240
    soak_water_temp_c: int = 45
    # Outbox relay. A batch is one transaction: bigger ones amortise its four statements and
    # commit (50: 2,900 events/s, 200: 5,800/s with an inbox-recording subscriber, see
    # docs/BENCHMARKS.md) but hold their handlers' row locks longer and redo more after a
    # crash.
    relay_batch_size: int = 200
    relay_max_attempts: int = 8
    relay_interval_seconds: int = 2
    # Events to a broker besides the in-process subscribers: "none" (embedded default) or
    # "nats" (JetStream). Subjects are "<prefix>.<type>", streams "<prefix>_<family>s".
    broker: str = "none"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_prefix: str = "gaogan"
    # Housekeeping: done outbox/inbox rows and finished job runs older than this are pruned,
    # `prune_batch_size` rows per short transaction.
    retention_days: int = 14
    prune_batch_size: int = 1000
    # /metrics needs "Authorization: Bearer <token>" when set; in production it is 404
    # without one, so a public site never shows its internals by accident.
    metrics_token: str = ""
    # prometheus-client's own variable: where gunicorn workers keep their metric files.
    prometheus_multiproc_dir: str = ""
    log_json: bool = True
    # Database pool, per process. Every gunicorn worker (and the scheduler) has its own pool:
    # a worker needs one connection per thread (the default pool is threads + 1); the overflow
    # covers bursts (in-process tools, many threads). workers x (db_pool_size + db_max_overflow)
    # + scheduler must stay below PostgreSQL's max_connections (100 by default), or PostgreSQL
    # refuses connections ("too many clients"; answered 503). db_pool_timeout bounds how long a
    # request waits for a free connection. Few threads per process, more processes: the work
    # per request is Python, and threads of one process share one interpreter lock
    # (docs/BENCHMARKS.md, serving layout).
    db_pool_size: int = 5
    db_max_overflow: int = 20
    db_pool_timeout_seconds: int = 10
    db_connect_timeout_seconds: int = 5
    # Availability: how long a rendered calendar may be served from a worker's memory
    # without asking the database whether the product changed (0: always ask).
    availability_cache_seconds: int = 2
    # The season planner: one budget, in seconds, for all its stages together.
    plan_time_limit_seconds: int = 10
    # Security (issue 15): sign-in throttling, token creation, sessions.
    signin_max_failures: int = 5  # per account, then a lock
    signin_address_max_failures: int = 50  # per client address, then a lock
    signin_lock_seconds: int = 300  # the first lock; each further lock doubles, up to a day
    token_creations_per_hour: int = 10  # per distributor
    session_lifetime_minutes: int = 7 * 24 * 60  # absolute, from sign-in
    session_idle_minutes: int = 120  # without a request

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mode = env.get("GAOGAN_ENV", "development")
        if mode not in {"development", "production", "test"}:
            raise SettingsError(f"GAOGAN_ENV must be development, production or test, got {mode!r}")
        production = mode == "production"
        instance = Path(env.get("GAOGAN_INSTANCE", "instance")).resolve()

        database_url = env.get("DATABASE_URL", "")
        if not database_url:
            if production:
                raise SettingsError("DATABASE_URL is required when GAOGAN_ENV=production")
            instance.mkdir(parents=True, exist_ok=True)
            database_url = f"sqlite:///{instance / 'gaogan.db'}"
        if not database_url.startswith(("sqlite", "postgresql")):
            raise SettingsError(
                "DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, "
                f"got {database_url.split(':', 1)[0]!r}"
            )
        if database_url.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

        provider = env.get("PAYMENT_PROVIDER", "pay_at_pickup")
        if provider not in {"pay_at_pickup", "stripe"}:
            raise SettingsError(
                f"PAYMENT_PROVIDER must be pay_at_pickup or stripe, got {provider!r}"
            )
        stripe_secret = env.get("STRIPE_SECRET_KEY", "")
        stripe_webhook = env.get("STRIPE_WEBHOOK_SECRET", "")
        if provider == "stripe" and not (stripe_secret and stripe_webhook):
            raise SettingsError(
                "PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
            )

        broker = env.get("GAOGAN_BROKER", "none") or "none"
        if broker not in {"none", "nats"}:
            raise SettingsError(f"GAOGAN_BROKER must be none or nats, got {broker!r}")
        nats_url = env.get("GAOGAN_NATS_URL", "") or "nats://127.0.0.1:4222"
        if not nats_url.startswith(("nats://", "tls://")):
            raise SettingsError(
                f"GAOGAN_NATS_URL must be a nats:// or tls:// URL, got {nats_url!r}"
            )
        nats_prefix = env.get("GAOGAN_NATS_PREFIX", "") or "gaogan"
        if not nats_prefix.replace("_", "").replace("-", "").isalnum():
            raise SettingsError(
                f"GAOGAN_NATS_PREFIX may hold letters, digits, - and _ only, got {nats_prefix!r}"
            )

        harvest_month = _int(env, "GAOGAN_HARVEST_MONTH", 10, minimum=1)
        if harvest_month > 12:
            raise SettingsError(f"GAOGAN_HARVEST_MONTH must be 1-12, got {harvest_month}")

        return cls(
            env=mode,
            instance_path=instance,
            database_url=database_url,
            secret_key=_secret_key(env, instance, production),
            payment_provider=provider,
            stripe_secret_key=stripe_secret,
            stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", ""),
            stripe_webhook_secret=stripe_webhook,
            stripe_api_base=env.get("STRIPE_API_BASE", ""),
            smtp_host=env.get("SMTP_HOST", ""),
            smtp_port=_int(env, "SMTP_PORT", 25, minimum=1),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            mail_from=env.get("MAIL_FROM", "noreply@gaogan.local"),
            public_url=env.get("GAOGAN_PUBLIC_URL", "").strip().rstrip("/"),
            mail_dir=Path(env.get("GAOGAN_MAIL_DIR", str(instance / "mail"))).resolve(),
            clock_file=Path(env["GAOGAN_CLOCK_FILE"]) if env.get("GAOGAN_CLOCK_FILE") else None,
            sms_backend=env.get("GAOGAN_SMS_BACKEND", "file"),
            sms_dir=Path(env.get("GAOGAN_SMS_DIR", str(instance / "sms"))).resolve(),
            hold_minutes=_int(env, "GAOGAN_HOLD_MINUTES", 15, minimum=1),
            waitlist_hold_minutes=_int(env, "GAOGAN_WAITLIST_HOLD_MINUTES", 30, minimum=1),
            reminder_days_before=_int(env, "GAOGAN_REMINDER_DAYS_BEFORE", 3, minimum=1),
            order_cutoff=_time(env, "GAOGAN_ORDER_CUTOFF", time(20, 0)),
            production_start=_time(env, "GAOGAN_PRODUCTION_START", time(4, 0)),
            harvest_month=harvest_month,
            default_best_before_days=_int(env, "GAOGAN_BEST_BEFORE_DAYS", 7, minimum=1),
            pickup_window_start=_time(env, "GAOGAN_PICKUP_WINDOW_START", time(6, 0)),
            pickup_window_end=_time(env, "GAOGAN_PICKUP_WINDOW_END", time(9, 0)),
            pickup_slot_minutes=_int(env, "GAOGAN_PICKUP_SLOT_MINUTES", 15, minimum=5),
            pickup_slot_capacity=_int(env, "GAOGAN_PICKUP_SLOT_CAPACITY", 4, minimum=1),
            first_wave_ready=_time(env, "GAOGAN_FIRST_WAVE_READY", time(6, 0)),
            booking_cutoff=_time(env, "GAOGAN_BOOKING_CUTOFF", time(20, 0)),
            no_show_grace_minutes=_int(env, "GAOGAN_NO_SHOW_GRACE_MINUTES", 30),
            standing_days_ahead=_int(env, "GAOGAN_STANDING_DAYS_AHEAD", 7, minimum=1),
            webhook_timeout_seconds=_int(env, "GAOGAN_WEBHOOK_TIMEOUT", 5, minimum=1),
            webhook_max_attempts=_int(env, "GAOGAN_WEBHOOK_MAX_ATTEMPTS", 10, minimum=1),
            soak_default_minutes=_int(env, "GAOGAN_SOAK_MINUTES", 240, minimum=1),
            soak_water_temp_c=_int(env, "GAOGAN_SOAK_WATER_C", 45, minimum=1),
            relay_batch_size=_int(env, "GAOGAN_RELAY_BATCH", 200, minimum=1),
            relay_max_attempts=_int(env, "GAOGAN_RELAY_MAX_ATTEMPTS", 8, minimum=1),
            relay_interval_seconds=_int(env, "GAOGAN_RELAY_INTERVAL", 2, minimum=1),
            broker=broker,
            nats_url=nats_url,
            nats_prefix=nats_prefix,
            retention_days=_int(env, "GAOGAN_RETENTION_DAYS", 14, minimum=1),
            prune_batch_size=_int(env, "GAOGAN_PRUNE_BATCH", 1000, minimum=1),
            metrics_token=env.get("GAOGAN_METRICS_TOKEN", ""),
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
            log_json=_bool(env, "GAOGAN_LOG_JSON", production),
            db_pool_size=_int(
                env, "GAOGAN_DB_POOL_SIZE", serving_from_env(env).threads + 1, minimum=1
            ),
            db_max_overflow=_int(env, "GAOGAN_DB_MAX_OVERFLOW", 20),
            db_pool_timeout_seconds=_int(env, "GAOGAN_DB_POOL_TIMEOUT", 10, minimum=1),
            db_connect_timeout_seconds=_int(env, "GAOGAN_DB_CONNECT_TIMEOUT", 5, minimum=1),
            availability_cache_seconds=_int(env, "GAOGAN_AVAILABILITY_CACHE_SECONDS", 2),
            plan_time_limit_seconds=_int(env, "GAOGAN_PLAN_TIME_LIMIT", 10, minimum=1),
            signin_max_failures=_int(env, "GAOGAN_SIGNIN_MAX_FAILURES", 5, minimum=1),
            signin_address_max_failures=_int(
                env, "GAOGAN_SIGNIN_ADDRESS_MAX_FAILURES", 50, minimum=1
            ),
            signin_lock_seconds=_int(env, "GAOGAN_SIGNIN_LOCK_SECONDS", 300, minimum=1),
            token_creations_per_hour=_int(env, "GAOGAN_TOKEN_CREATE_PER_HOUR", 10, minimum=1),
            session_lifetime_minutes=_int(
                env, "GAOGAN_SESSION_LIFETIME_MINUTES", 7 * 24 * 60, minimum=1
            ),
            session_idle_minutes=_int(env, "GAOGAN_SESSION_IDLE_MINUTES", 120, minimum=1),
        )


@dataclass(frozen=True)
class Serving:
    """How gunicorn runs the web process (read by `gunicorn.conf.py`)."""

    workers: int
    threads: int
    timeout: int
    max_requests: int


# A worker is replaced after this many requests (gunicorn's `max_requests`, give or take a
# tenth): a guard against slow leaks, not a routine. Booting a worker costs about 2.7 s of CPU
# (imports, the app); at the 5,000 shipped before, the Spring Festival morning's ~250 requests
# a second per worker replaced every worker every 20 s, a quarter of two cores spent on boots,
# and the benchmarks saw whole 10-second rounds at a third of their rate (docs/BENCHMARKS.md).
DEFAULT_MAX_REQUESTS = 200_000


def serving_from_env(env: Mapping[str, str] | None = None) -> Serving:
    """The web server's layout: processes, not threads, carry the load.

    Default: two worker processes per core, four threads each. A request's cost is mostly
    Python (SQLAlchemy, templates), and threads of one process take turns on one interpreter
    lock, so 64 threads in one process served fewer checkouts than 2 processes x 8 threads
    (docs/BENCHMARKS.md). Read apart from `Settings.from_env()` so the gunicorn master needs
    no database URL or secret key to start its workers.
    """
    env = os.environ if env is None else env
    cores = os.cpu_count() or 1
    return Serving(
        workers=_int(env, "GAOGAN_WEB_WORKERS", 2 * cores, minimum=1),
        threads=_int(env, "GAOGAN_WEB_THREADS", 4, minimum=1),
        timeout=_int(env, "GAOGAN_WEB_TIMEOUT", 30, minimum=1),
        max_requests=_int(env, "GAOGAN_WEB_MAX_REQUESTS", DEFAULT_MAX_REQUESTS, minimum=0),
    )


CLI_LANGUAGES = ("zh", "en")


def cli_language(env: Mapping[str, str] | None = None) -> str:
    """The language of the `gaogan` command's messages: "zh" or "en".

    GAOGAN_LANG (zh or en) decides; otherwise the terminal's locale, the first of LC_ALL,
    LC_MESSAGES and LANG that is set: English when it names English (en_US.UTF-8), Chinese
    when it names Chinese. A locale that names no language (unset, C, POSIX, C.UTF-8, the
    usual in containers and on servers) or another one gets the shop's own default, Chinese,
    as the web pages do. Read apart from `Settings.from_env()` so `gaogan --help` and a
    refusal before any database is configured are worded too.
    """
    env = os.environ if env is None else env
    chosen = env.get("GAOGAN_LANG", "").strip().lower()
    if chosen:
        if chosen not in CLI_LANGUAGES:
            raise SettingsError(f"GAOGAN_LANG must be zh or en, not {chosen!r}")
        return chosen
    locale = next(
        (env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name, "").strip()),
        "",
    )
    return "en" if locale.lower().startswith("en") else "zh"


FALLBACK_PUBLIC_URL = "http://127.0.0.1:5000"


def with_serving_address(settings: Settings, host: str, port: int) -> Settings:
    """The settings with `public_url` taken from the address the server listens on, unless
    GAOGAN_PUBLIC_URL set it: a mail must link to where the shop really answers. A wildcard
    bind (0.0.0.0, ::) names no reachable host, so the loopback address stands in for it."""
    if settings.public_url:
        return settings
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"  # a bare IPv6 address needs brackets in a URL
    return replace(settings, public_url=f"http://{reachable}:{port}")


def public_url(settings: Settings) -> str:
    """Where links in mails point: the configured or serving address, else the default port."""
    return settings.public_url or FALLBACK_PUBLIC_URL
