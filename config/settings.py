"""media-sync settings: one file names every deploy-time value and reads it from the environment, with
the checked readers of config/env.py.

The defaults are the embedded run: SQLite, django-q2's ORM broker, local media files and, with DEBUG on,
the built-in provider simulators. README.md lists every variable.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url

from config.env import SettingError, env_bool, env_float, env_int, env_list, env_str, env_url
from config.observability import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key is only good for a laptop: `check --deploy` flags it (security.W009).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "django-insecure-media-sync-local-only"
# Old keys, newest first, still accepted when checking a signature: a key can be rotated without breaking
# the Booking.com links and sessions it signed.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "axes",
    "media_sync.apps.MediaSyncConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from gunicorn, after `collectstatic`: no separate file server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a locked-out login into its answer (429).
    "axes.middleware.AxesMiddleware",
]

# Repeated wrong passwords for one username from one address lock that pair out for a while; the
# lockout is an audit row. A right password resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("MEDIA_SYNC_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MEDIA_SYNC_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Lockouts are in the audit; `manage.py axes_reset_username NAME` lifts one early. No admin pages of its
# own, and no table of every successful login growing forever.
AXES_ENABLE_ADMIN = False
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_IP_CALLABLE = "media_sync.lockout.client_address"

# An intermediate action form carries one field per selected row, and one per pre-flight tick: 1,000 rows
# post about 2,000 fields, over Django's default of 1,000 (a 400). Raised on purpose, still bounded.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        env_url("DATABASE_URL", schemes=("postgres", "sqlite", *dj_database_url.ENGINE_SCHEMES))
        or f"sqlite:///{BASE_DIR / 'var' / 'media_sync.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web server write at the same time: WAL and a busy timeout keep SQLite from
    # answering "database is locked" under that light concurrency.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# PostgreSQL: the runtime role the app connects as (DATABASE_URL), named where the owner migrates, so
# every migrate grants it the tables and only SELECT and INSERT on the audit (README, "Database roles").
MEDIA_SYNC_DB_RUNTIME_ROLE = env_str("MEDIA_SYNC_DB_RUNTIME_ROLE", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "var" / "media")

# Media on S3 when a bucket is named (django-storages reads the AWS_* names), local files otherwise.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600)
AWS_DEFAULT_ACL = None
# django-storages overwrites a same-named object by default: a second "room.jpg" would replace the first.
AWS_S3_FILE_OVERWRITE = False
# botocore signs links with SigV2 by default, which S3 refuses for buckets created since 2020.
AWS_S3_SIGNATURE_VERSION = "s3v4"
# A file read from S3 for an upload spills to disk past 2 MB instead of sitting whole in memory.
AWS_S3_MAX_MEMORY_SIZE = 2 * 1024 * 1024
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage"
    },
    # With DEBUG off, `collectstatic` writes hashed, compressed copies that WhiteNoise serves with
    # far-future cache headers; a page then names `base.3f2a….css`, so a deploy never serves a stale file.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Security: secure by default whenever DEBUG is off; a TLS-terminating proxy sets the header below.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer and Prometheus ask over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Scripts, styles and images only from this app's own files: no inline script or style attribute runs,
# so an injected one does nothing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


# Mail from one URL: `smtp://user:pass@host:port`, `smtp+tls://…` (STARTTLS), `smtp+ssl://…` or
# `console://`. Unset: the console with DEBUG; otherwise Django's SMTP default (localhost:25), which
# `check --deploy` flags. The URL itself is not kept: it holds the password.
_email = urlsplit(env_url("EMAIL_URL", schemes=("smtp", "smtp+tls", "smtp+ssl", "console")))
EMAIL_CONFIGURED = bool(_email.scheme)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if _email.scheme.startswith("smtp") or (not _email.scheme and not DEBUG):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if _email.scheme.startswith("smtp"):
    try:
        EMAIL_PORT = _email.port or {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}[_email.scheme]
    except ValueError:
        raise SettingError(
            "EMAIL_URL", "a URL with a numeric port", _email.netloc.rpartition("@")[2]
        ) from None
    if not _email.hostname:
        raise SettingError("EMAIL_URL", "a URL naming a host (smtp://host:port)", "no host")
    EMAIL_HOST = _email.hostname
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme == "smtp+tls"
    EMAIL_USE_SSL = _email.scheme == "smtp+ssl"
    EMAIL_TIMEOUT = 30

# --- Background workers (django-q2) ---------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
Q_TIMEOUT = env_int("Q_TIMEOUT", 600, minimum=1)
Q_RETRY = env_int("Q_RETRY", 660)
if Q_TIMEOUT >= Q_RETRY:
    raise SettingError("Q_RETRY", f"more than Q_TIMEOUT ({Q_TIMEOUT})", str(Q_RETRY))
# One task claims work for at most this long, then hands the rest to a fresh task: never cut off mid-item.
MEDIA_SYNC_RUN_BUDGET = Q_TIMEOUT / 2
# How many workers may share one job at once (each takes the next pending item).
MEDIA_SYNC_TASKS_PER_JOB = env_int("MEDIA_SYNC_TASKS_PER_JOB", 2, minimum=1)
# Provider calls one worker makes at once, from threads (RecoveryConnect per-photo transfers, batched:
# services/batches.py); 1: one call at a time. A cluster makes Q_WORKERS x this many at once.
MEDIA_SYNC_CALLS_PER_WORKER = env_int("MEDIA_SYNC_CALLS_PER_WORKER", 1, minimum=1)
# Set only by bench/throughput.py: each process counts its SQL statements into this directory.
MEDIA_SYNC_BENCH_SQL_COUNT_DIR = env_str("MEDIA_SYNC_BENCH_SQL_COUNT_DIR")
Q_CLUSTER: dict[str, object] = {
    "name": "media-sync",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A task must finish (or be killed) before the broker may hand it out again: timeout < retry.
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": 3,
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# One cache every process shares (web servers and clusters alike): django-q2 keeps its clusters' status
# there, so the admin's cluster page and /healthz see every worker. The table is made by a migration.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "media_sync_cache"}
}

# `/metrics` answers only `Authorization: Bearer <this>`; unset, it answers nobody.
MEDIA_SYNC_METRICS_TOKEN = env_str("MEDIA_SYNC_METRICS_TOKEN")

# --- Providers ------------------------------------------------------------------------------------
# With DEBUG on and a provider's base URL unset, the app talks to the built-in simulators
# (`manage.py run_simulators`, started by `make demo`). With DEBUG off nothing is defaulted:
# `check --deploy` names every missing provider setting.
SIMULATOR_URL = env_url("MEDIA_SYNC_SIMULATOR_URL", "http://127.0.0.1:8001")


def provider_setting(name: str, simulator_default: str) -> str:
    value = env_url(name) if name.endswith("_URL") else env_str(name)
    return value or (simulator_default if DEBUG else "")


RECOVERYCONNECT = {
    "BASE_URL": provider_setting("RECOVERYCONNECT_BASE_URL", f"{SIMULATOR_URL}/recoveryconnect"),
    "USERNAME": provider_setting("RECOVERYCONNECT_USERNAME", "demo"),
    "PASSWORD": provider_setting("RECOVERYCONNECT_PASSWORD", "demo-password"),
}
# The zone of the times RecoveryConnect gives without an offset (a document's created_at): not published.
RECOVERYCONNECT_TIME_ZONE = env_str("RECOVERYCONNECT_TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(RECOVERYCONNECT_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise SettingError(
        "RECOVERYCONNECT_TIME_ZONE", "an IANA time zone such as UTC", RECOVERYCONNECT_TIME_ZONE
    ) from None

CORRIGOPRO = {
    "BASE_URL": provider_setting("CORRIGOPRO_BASE_URL", f"{SIMULATOR_URL}/corrigopro"),
    "TOKEN_URL": provider_setting("CORRIGOPRO_TOKEN_URL", f"{SIMULATOR_URL}/corrigopro/oauth/token"),
    "CLIENT_ID": provider_setting("CORRIGOPRO_CLIENT_ID", "demo-client"),
    "CLIENT_SECRET": provider_setting("CORRIGOPRO_CLIENT_SECRET", "demo-secret"),
    # The PEM certificate whose key signs CorrigoPro's webhook tokens (a file path). The simulator
    # writes its own to var/ when it starts.
    "WEBHOOK_CERTIFICATE": provider_setting(
        "CORRIGOPRO_WEBHOOK_CERTIFICATE", str(BASE_DIR / "var" / "corrigopro-simulator-cert.pem")
    ),
    "WEBHOOK_AUDIENCE": env_str("CORRIGOPRO_WEBHOOK_AUDIENCE", "CorrigoProDirect"),
}
# Keep our own copy of every CorrigoPro attachment (downloaded by a worker once it is added), so the
# evidence a customer sent stays when they delete it at CorrigoPro.
CORRIGOPRO_KEEP_FILES = env_bool("CORRIGOPRO_KEEP_FILES", True)
SUAPI = {
    "BASE_URL": provider_setting("SUAPI_BASE_URL", f"{SIMULATOR_URL}/suapi"),
    "APP_ID": provider_setting("SUAPI_APP_ID", "demo-app"),
    "API_KEY": provider_setting("SUAPI_API_KEY", "demo-key"),
}
# `make demo`'s web server listens on 127.0.0.1 at this port.
MEDIA_SYNC_DEMO_PORT = env_int("MEDIA_SYNC_DEMO_PORT", 8000, minimum=1)
# Booking.com downloads each photo from a link: this app's public address serves signed, expiring links
# to local media (unused with S3, which signs its own).
MEDIA_SYNC_PUBLIC_BASE_URL = provider_setting(
    "MEDIA_SYNC_PUBLIC_BASE_URL", f"http://127.0.0.1:{MEDIA_SYNC_DEMO_PORT}"
)
MEDIA_SYNC_LINK_TTL = env_int("MEDIA_SYNC_LINK_TTL", 24 * 3600)

# Webhook bodies above this size are refused unread.
WEBHOOK_MAX_BYTES = env_int("MEDIA_SYNC_WEBHOOK_MAX_BYTES", 1024 * 1024)
# Where `make demo`'s simulators deliver CorrigoPro webhooks.
DEMO_WEBHOOK_URL = env_str(
    "MEDIA_SYNC_DEMO_WEBHOOK_URL", f"http://127.0.0.1:{MEDIA_SYNC_DEMO_PORT}/webhooks/corrigopro/"
)

# (connect, read) seconds for every provider call.
MEDIA_SYNC_HTTP_TIMEOUT = (
    env_float("MEDIA_SYNC_CONNECT_TIMEOUT", 5.0),
    env_float("MEDIA_SYNC_READ_TIMEOUT", 30.0),
)
# Each provider's request rate (requests per second, 0: none) and concurrency cap (requests in flight
# at once, 0: none), shared by every worker on every machine through the database.
MEDIA_SYNC_PROVIDER_LIMITS = {
    provider: {
        "RATE": env_float(f"{provider.upper()}_RATE_LIMIT", 5.0),
        "CONCURRENCY": env_int(f"{provider.upper()}_MAX_CONCURRENCY", 4),
    }
    for provider in ("recoveryconnect", "corrigopro", "suapi")
}
# One call is tried at most this many times when the failure is transient.
MEDIA_SYNC_MAX_ATTEMPTS = env_int("MEDIA_SYNC_MAX_ATTEMPTS", 4, minimum=1)
MEDIA_SYNC_BACKOFF_BASE = env_float("MEDIA_SYNC_BACKOFF_BASE", 1.0)
MEDIA_SYNC_BACKOFF_MAX = env_float("MEDIA_SYNC_BACKOFF_MAX", 60.0)
# Items claimed by a worker and untouched this long are handed back by the sweep.
MEDIA_SYNC_STALE_AFTER = env_int("MEDIA_SYNC_STALE_AFTER", 900)
# Team leads get one email per window when a provider's item failure rate passes the threshold.
MEDIA_SYNC_ALERT_WINDOW_MINUTES = env_int("MEDIA_SYNC_ALERT_WINDOW_MINUTES", 60)
MEDIA_SYNC_ALERT_THRESHOLD = env_float("MEDIA_SYNC_ALERT_THRESHOLD", 0.2)
MEDIA_SYNC_ALERT_MIN_ITEMS = env_int("MEDIA_SYNC_ALERT_MIN_ITEMS", 10)
# On: the team leads get a daily e-mail of the failure groups still open (off by default).
MEDIA_SYNC_TRIAGE_SUMMARY = env_bool("MEDIA_SYNC_TRIAGE_SUMMARY", False)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "media-sync@localhost")
# Retention (the `prune` command and its daily schedule): webhook deliveries and background task rows older
# than this go, and uploaded files once their work ended this long ago. The audit is never pruned here.
MEDIA_SYNC_RETENTION_DAYS = env_int("MEDIA_SYNC_RETENTION_DAYS", 90, minimum=1)
MEDIA_SYNC_MEDIA_GRACE_DAYS = env_int("MEDIA_SYNC_MEDIA_GRACE_DAYS", 30, minimum=1)
# An item claimed this many times without an answer is failed by the sweep instead of handed back again.
MEDIA_SYNC_MAX_CLAIMS = env_int("MEDIA_SYNC_MAX_CLAIMS", 5)
# One RecoveryConnect transfer names at most this many destination orders (form, command and service).
MEDIA_SYNC_MAX_DESTINATIONS = env_int("MEDIA_SYNC_MAX_DESTINATIONS", 50, minimum=1)
# The nightly check at the provider: jobs finished in the last this many days, not checked in the last day,
# at most this many jobs a run (each makes one list call per destination).
MEDIA_SYNC_CHECK_DAYS = env_int("MEDIA_SYNC_CHECK_DAYS", 7, minimum=1)
MEDIA_SYNC_CHECK_JOBS_PER_RUN = env_int("MEDIA_SYNC_CHECK_JOBS_PER_RUN", 50, minimum=1)
# The largest photo uploaded to a RecoveryConnect recovery (bytes): RecoveryConnect publishes no limit.
RECOVERYCONNECT_MAX_UPLOAD_BYTES = env_int("RECOVERYCONNECT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1)


LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise SettingError("DJANGO_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL", LOG_LEVEL)

LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise SettingError("DJANGO_LOG_FORMAT", "plain or json", LOG_FORMAT)

LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

# Errors to Sentry when a DSN is given, scrubbed as the audit is: no token, password or signature leaves.
SENTRY_DSN = env_url("SENTRY_DSN")
if SENTRY_DSN:
    from config.observability import sentry_start

    sentry_start(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"))

# --- The audit's seals, signed manifests and archives ----------------------------------------------
# Ed25519 private key signing export and archive manifests: PEM, or base64 of its 32 bytes (or a file
# named by MEDIA_SYNC_AUDIT_SIGNING_KEY_FILE). Unset: manifests are written, and say they are unsigned.
MEDIA_SYNC_AUDIT_SIGNING_KEY = env_str("MEDIA_SYNC_AUDIT_SIGNING_KEY")
# Ed25519 public keys that check signatures too (PEM or base64; several while keys rotate): an auditor's.
MEDIA_SYNC_AUDIT_VERIFY_KEY = env_str("MEDIA_SYNC_AUDIT_VERIFY_KEY")
# The daily archive schedule: audit rows older than this many days go to MEDIA_SYNC_AUDIT_ARCHIVE_DIR
# (archive_audit: a directory, or s3://BUCKET/PREFIX). 0 (the default): never archived by the schedule.
MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS = env_int("MEDIA_SYNC_AUDIT_ARCHIVE_AFTER_DAYS", 0)
MEDIA_SYNC_AUDIT_ARCHIVE_DIR = env_str(
    "MEDIA_SYNC_AUDIT_ARCHIVE_DIR", str(BASE_DIR / "var" / "audit-archive")
)
