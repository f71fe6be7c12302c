"""Settings for Ordinal, read from the environment (and an optional .env file)."""

from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.metrics_dir import metrics_dir_use

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Where the embedded default keeps its SQLite files (and the test copies of them).
VAR_DIR = Path(env.str("ORDINAL_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core ---------------------------------------------------------------------
# DEV ONLY: these defaults make the embedded mode work out of the box.
# Production must set SECRET_KEY, DEBUG=False and ALLOWED_HOSTS. With DEBUG off a weak
# key (this one included) fails `manage.py check` and stops web, worker and beat at start
# (config/secret_key.py).
DEV_SECRET_KEY = "django-insecure-DEV-ONLY-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    # First, so that its templates (the API docs page with the CSP nonce) win.
    "config.apps.ProjectConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "eventlog",
    "orders_write",
    "orders_read",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before whitenoise, so that static files carry the policy too.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RequestIdMiddleware",
    "config.middleware.QueryMetricsMiddleware",
    "config.middleware.ApiProblemsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases ----------------------------------------------------------------
# "default" is the write side (event log, users, idempotency records);
# "read" holds the projections. The router keeps each app on its side.
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _database(var: str, sqlite_name: str) -> dict:
    config = env.db_url(var, default=f"sqlite:///{VAR_DIR / sqlite_name}.sqlite3")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the
        # busy timeout instead of failing with "database is locked" on lock upgrade.
        config.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 30})
        # Tests run on files too: threads and worker processes must share them.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test_{sqlite_name}.sqlite3")}
    else:
        config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
        config.setdefault("CONN_HEALTH_CHECKS", True)
    return config


def _replicas(var: str, read: dict) -> dict[str, dict]:
    """Return one alias per streaming replica of the read database: read_replica_1, ..."""
    replicas = {}
    for number, url in enumerate(env.list(var, default=[]), start=1):
        config = environ.Env.db_url_config(url)
        if "postgresql" not in config["ENGINE"] or "postgresql" not in read["ENGINE"]:
            raise ImproperlyConfigured(
                f"{var} lists streaming replicas of the read database: they and "
                "READ_DATABASE_URL must be PostgreSQL URLs."
            )
        config.setdefault("CONN_MAX_AGE", read["CONN_MAX_AGE"])
        config.setdefault("CONN_HEALTH_CHECKS", True)
        # A replica that does not answer is given up on (and skipped a while) in 2 s.
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
        # A replica cannot hold a test database: in tests its alias reads the read one's.
        config["TEST"] = {"MIRROR": "read"}
        replicas[f"read_replica_{number}"] = config
    return replicas


DATABASES = {
    "default": _database("DATABASE_URL", "write"),
    "read": _database("READ_DATABASE_URL", "read"),
}
_read_replicas = _replicas("READ_REPLICA_URLS", DATABASES["read"])
DATABASES.update(_read_replicas)
# Queries read from these (projections, rebuilds and the admin use "read"); no migration
# runs on them (config.routers): they replay the read database's own.
ORDINAL_READ_REPLICAS = list(_read_replicas)
DATABASE_ROUTERS = ["config.routers.ReadWriteRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------
# One cache shared by every process (Redis in production, e.g. redis://127.0.0.1:6379/1):
# failed-login counters and DRF's throttle counts live there. Local memory, the
# embedded default, counts per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Auth, i18n, static ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: it refuses a locked-out username or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` fills it; whitenoise serves it (it must exist even when empty).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Production hardening (active with DEBUG off; `manage.py check --deploy` is clean) ---
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (django-csp) ---------------------------------------------
# Scripts only from this server, or inline with the response's nonce (the API docs'
# initialiser); no 'unsafe-inline' or 'unsafe-eval' for scripts, no plugins, no <base>,
# no framing, forms post here only. Style attributes stay allowed (DRF's login page and
# the project's admin pages use them; an attribute cannot run code); a <style> element
# needs the nonce. With DEBUG on, django-csp leaves Django's 404 and 500 debug pages be.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        # Swagger UI draws its icons from data: URLs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Password guessing (django-axes) ---------------------------------------------------
# DESIGN §9: 10 failures for one username, or 50 from one client address, lock that
# username or address out until 15 minutes after its last counted failure. The
# counters live in the cache above; config.lockout gives each parameter its own limit.
AXES_HANDLER = "config.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
ORDINAL_LOGIN_FAILURE_LIMITS = {"username": 10, "ip_address": 50}
AXES_FAILURE_LIMIT = max(ORDINAL_LOGIN_FAILURE_LIMITS.values())
AXES_COOLOFF_TIME = timedelta(minutes=15)
# A refused attempt during a lockout neither counts nor extends it: it ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success resets nothing: one login must not clear the counters of its address.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_ENABLE_ADMIN = False  # the cache handler keeps no rows for axes' admin pages
AXES_VERBOSE = False  # no banner at each process start; failures are still logged
# The client address is REMOTE_ADDR. Behind TRUSTED_PROXY_COUNT reverse proxies that each
# append the address they saw to X-Forwarded-For, it is the proxies' N-th entry from the
# right (python-ipware counts the proxies listed after the client: one fewer).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT > 0:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
    # More entries than proxies: the client sent its own header, and it is ignored.
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# --- REST framework -----------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous client gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "config.auth.BasicAuthentication",  # DRF's, answering 429 when locked out
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "config.problems.problem_exception_handler",
    # Throttling is a courtesy to well-behaved clients, not a security control (axes is);
    # its counts are in the shared cache too.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/minute"),
        "user": env.str("THROTTLE_USER", default="6000/minute"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ordinal API",
    "DESCRIPTION": "Order management with CQRS and event sourcing: commands are POST, "
    "queries are GET, every error is an RFC 9457 problem document.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The documentation pages load their scripts from this server, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Order ids are matched in any letter case (config.converters) but are UUIDs all the same.
    "PATH_CONVERTER_OVERRIDES": {"anycase_uuid": {"type": "string", "format": "uuid"}},
    "ENUM_NAME_OVERRIDES": {"CommandStatusEnum": "orders_write.models.COMMAND_STATUSES"},
}

# --- Ordinal ----------------------------------------------------------------------------
# How often a command is retried against fresh state when another command won the version.
ORDINAL_COMMAND_RETRIES = env.int("ORDINAL_COMMAND_RETRIES", default=30)
# How long a query with ?min_position= waits for the projections (seconds).
ORDINAL_READ_WAIT_SECONDS = env.float("ORDINAL_READ_WAIT_SECONDS", default=3.0)
# A read replica that failed (refused a connection, broke one) is left alone this long:
# meanwhile queries read from the other replicas, or else from the read database.
ORDINAL_READ_REPLICA_RETRY_SECONDS = env.float("ORDINAL_READ_REPLICA_RETRY_SECONDS", default=5.0)
# Prepared statements for the event log's appends and reads on PostgreSQL (off for a
# connection pooler in transaction mode that cannot keep them, e.g. PgBouncer < 1.21).
ORDINAL_PREPARED_STATEMENTS = env.bool("ORDINAL_PREPARED_STATEMENTS", default=True)
# Snapshot an order each time its stream passes a multiple of this many events (0: never).
ORDINAL_SNAPSHOT_EVERY = env.int("ORDINAL_SNAPSHOT_EVERY", default=100)

# --- Personal data (DESIGN §12) ------------------------------------------------------
# The master key (32 random bytes, base64) that wraps every customer's data key. Keep it
# out of the databases and their backups: `manage.py rotate_master_key` replaces it.
# DEV ONLY: with DEBUG on and none set, a development key is made once under var/ (its
# file says so); with DEBUG off, web, worker and beat refuse to start without one.
DEV_MASTER_KEY_FILE = VAR_DIR / "DEV-ONLY-master-key"
ORDINAL_MASTER_KEY = env.str("ORDINAL_MASTER_KEY", default="")
# Master keys that still open the data keys they wrapped, but wrap no new one: kept only
# while a rotation rolls out (README, "Rotating the master key"). Comma-separated.
ORDINAL_MASTER_KEY_PREVIOUS = env.list("ORDINAL_MASTER_KEY_PREVIOUS", default=[])
ORDINAL_MASTER_KEY_IS_DEV = not ORDINAL_MASTER_KEY and DEBUG
if ORDINAL_MASTER_KEY_IS_DEV:
    if not DEV_MASTER_KEY_FILE.exists():
        import base64
        import os
        import tempfile

        # Written aside, then linked in: two processes starting at once agree on one key.
        with tempfile.NamedTemporaryFile("w", dir=VAR_DIR, delete=False) as made:
            made.write(
                "# DEVELOPMENT master key, made by the embedded default. NEVER use it in "
                "production:\n# set ORDINAL_MASTER_KEY there (manage.py new_master_key).\n"
                + base64.b64encode(os.urandom(32)).decode()
                + "\n"
            )
        try:
            os.link(made.name, DEV_MASTER_KEY_FILE)
        except FileExistsError:
            pass
        finally:
            os.unlink(made.name)
    ORDINAL_MASTER_KEY = DEV_MASTER_KEY_FILE.read_text().splitlines()[-1].strip()

# --- Celery ---------------------------------------------------------------------------
# Without a broker, tasks run eagerly, right after the write transaction commits.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL.startswith("memory://")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish that cannot reach the broker gives up quickly: the event is already
# committed, and the periodic sweep will pick it up.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Well above the longest task, so a slow batch is not redelivered mid-run.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_TIMEZONE = "UTC"
# The queue web, beat and workers share: deployments (or test runs) sharing one broker
# keep apart by naming their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# JSON lines in production, readable lines in development; both carry the correlation id.
# Web (gunicorn too, config.gunicorn_logging), worker and beat all log through this.
LOGGING_CONFIG = "config.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "correlation": {"()": "config.logging.CorrelationIdFilter"},
        "routine": {"()": "config.logging.RoutineWorkFilter"},
    },
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation", "routine"],
            "formatter": env.str("LOG_FORMAT", default="plain" if DEBUG else "json"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default configuration gives "django" (and runserver's "django.server")
        # handlers of their own: each line would be printed by them and again by the root's.
        "django": {"handlers": []},
        # Eager tasks run inside each request: one "succeeded" line per task is noise there.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "NOTSET"},
    },
}

# --- Metrics (DESIGN §15, README "Metrics") ---------------------------------------------
# Each process tree's Prometheus samples live under this directory (config.metrics_dir);
# set here, before any module imports prometheus_client, which picks its mode at import.
ORDINAL_METRICS_DIR = Path(env.str("ORDINAL_METRICS_DIR", default=str(VAR_DIR / "metrics")))
metrics_dir_use(ORDINAL_METRICS_DIR)
# Addresses and networks whose callers may read /metrics without logging in (staff may).
METRICS_ALLOW = env.list("METRICS_ALLOW", default=["127.0.0.0/8", "::1"])
try:
    METRICS_ALLOW_NETWORKS = [ip_network(value, strict=False) for value in METRICS_ALLOW]
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOW: {error}") from None

# --- Read side ---
# Events a projection applies per read-DB transaction.
ORDINAL_PROJECTION_BATCH_SIZE = env.int("ORDINAL_PROJECTION_BATCH_SIZE", default=1000)
# Each projection is split by a hash of the stream id into this many partitions, each
# with its own checkpoint and leased by one worker at a time: n workers project in
# parallel. Every process must have the same value (a change is applied on the next
# catch-up, which brings the old partitions to one key first).
ORDINAL_PROJECTION_PARTITIONS = env.int("ORDINAL_PROJECTION_PARTITIONS", default=1)
# A copy of the report read models every this many log positions, for `as_of` answers:
# one costs a snapshot read plus a replay of at most this many events.
ORDINAL_PROJECTION_SNAPSHOT_EVERY = env.int("ORDINAL_PROJECTION_SNAPSHOT_EVERY", default=1000)
# A rebuild (or verify, or a new projection's build) commits this many events per
# read-DB transaction: what a killed builder redoes, and how often progress moves.
ORDINAL_REBUILD_BATCH_SIZE = env.int("ORDINAL_REBUILD_BATCH_SIZE", default=50_000)
# A rebuild whose progress has not moved for this long lost its builder: the sweep
# sends it to a worker again, and `rebuild_projections` may take it over.
ORDINAL_REBUILD_STALE_SECONDS = env.int("ORDINAL_REBUILD_STALE_SECONDS", default=120)
# The periodic sweep (run exactly one `celery -A config beat`): a lost nudge, a broker
# outage or a failing projection's retry is picked up within this many seconds.
ORDINAL_SWEEP_SECONDS = env.float("ORDINAL_SWEEP_SECONDS", default=5.0)

# --- Command inbox (`Prefer: respond-async`) ---
# Finished entries (and their outcomes) are kept this long, then purged.
ORDINAL_INBOX_KEEP_HOURS = env.float("ORDINAL_INBOX_KEEP_HOURS", default=24.0)
# A queued entry whose task was sent this long ago is sent again by the sweep.
ORDINAL_INBOX_RESEND_SECONDS = env.float("ORDINAL_INBOX_RESEND_SECONDS", default=10.0)
# A running entry held this long lost its runner: another one may take it over (the
# first one can then commit nothing). Well above the longest command.
ORDINAL_INBOX_LEASE_SECONDS = env.float("ORDINAL_INBOX_LEASE_SECONDS", default=60.0)
# Runs of one entry ended by a transient error before it is failed with that error.
ORDINAL_INBOX_ATTEMPTS = env.int("ORDINAL_INBOX_ATTEMPTS", default=10)
ORDINAL_INBOX_PURGE_SECONDS = 3600.0

CELERY_BEAT_SCHEDULE = {
    "projections-sweep": {
        "task": "orders_read.projections_catch_up",
        "schedule": ORDINAL_SWEEP_SECONDS,
        # A sweep still queued when the next one is due is redundant.
        "options": {"expires": ORDINAL_SWEEP_SECONDS},
    },
    "inbox-sweep": {
        "task": "orders_write.inbox_sweep",
        "schedule": ORDINAL_SWEEP_SECONDS,
        "options": {"expires": ORDINAL_SWEEP_SECONDS},
    },
    "inbox-purge": {
        "task": "orders_write.inbox_purge",
        "schedule": ORDINAL_INBOX_PURGE_SECONDS,
        "options": {"expires": ORDINAL_INBOX_PURGE_SECONDS},
    },
}
