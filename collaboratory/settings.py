"""Settings for every environment.

Production differs from development only by environment variables (see README, section
Configuration). Defaults are the safe production ones: DEBUG is off, cookies are secure, and
SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL must be given explicitly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from collaboratory.env import env_bool, env_int, env_list, env_str
from collaboratory.proxies import trusted_proxies_from

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY", required=not DEBUG) or "insecure-development-key-only-for-debug"
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 random characters in production; generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is required when DEBUG is off: a comma-separated list of the host names "
        "this site is served under, e.g. ALLOWED_HOSTS=collaboratory.example.org."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin whose default site records every change in the audit chain.
    "audit.admin_config.AuditedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    # Two-factor authentication (issue 9); login throttling is partners/login_throttle.py.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # single-use backup codes (partners/two_factor.py)
    "partners",
    "agreements",
    "consent",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 413 for oversized uploads before anything reads the body (collaboratory/uploads.py).
    "collaboratory.uploads.UploadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # 405 with Allow for a method a page does not take, before CSRF (collaboratory/http_methods.py).
    "collaboratory.http_methods.MethodNotAllowedMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed a TOTP check (partners/two_factor.py).
    "django_otp.middleware.OTPMiddleware",
    # Dates in the user's own time zone (a `tz` cookie set by static/js/workspace.js).
    "collaboratory.timezone.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # 409 with an explanation when PostgreSQL refuses a change to a signed text (admin paths).
    "agreements.middleware.SignedTextRefusedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Tags every history event written during a request with its user and URL.
    "pghistory.middleware.HistoryMiddleware",
]

ROOT_URLCONF = "collaboratory.urls"
WSGI_APPLICATION = "collaboratory.wsgi.application"

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
                "django.template.context_processors.csp",
            ],
        },
    },
]

# PostgreSQL is the only engine: history triggers, full-text search and grants rely on it.
_database_url = env_str("DATABASE_URL", required=True)
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL must point at PostgreSQL (postgres://...); got engine "
        f"{DATABASES['default']['ENGINE']!r}."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
    "DATABASE_CONNECT_TIMEOUT", 5, minimum=1
)
# The statements pages run on every request are PREPAREd once per connection
# (collaboratory/prepared.py). Off behind a pooler that hands one client's statements to
# several server connections (PgBouncer in transaction mode).
DATABASE_SERVER_PREPARED = env_bool("DATABASE_SERVER_PREPARED", default=True)
# No JIT: PostgreSQL compiles any plan whose *estimated* cost is high, and the dashboard's
# correlated subqueries spent ~1 s compiling for 25 ms of work (bench/bench_load.py).
DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The model backend behind login throttling: a delayed attempt is refused before any password
# check (partners/login_throttle.py).
AUTHENTICATION_BACKENDS = ["partners.login_throttle.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # WhiteNoise's manifest storage; pages still render before collectstatic.
            else "collaboratory.staticfiles.ManifestStaticStorage"
        )
    },
}
# Documents (sealed and review PDFs, redlines) live in the default storage: the local
# filesystem under MEDIA_ROOT unless STORAGE_S3_BUCKET names a bucket of an S3-compatible
# store (AWS S3, MinIO), which web processes and workers on different hosts share.
# Downloads stream through the app after the access check; the bucket stays private.
STORAGE_S3_BUCKET = env_str("STORAGE_S3_BUCKET", "")
if STORAGE_S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    _s3_endpoint = env_str("STORAGE_S3_ENDPOINT_URL", "")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            "endpoint_url": _s3_endpoint or None,
            "region_name": env_str("STORAGE_S3_REGION", "us-east-1"),
            # Empty: boto3's own chain (instance role, AWS_* variables, ~/.aws).
            "access_key": env_str("STORAGE_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("STORAGE_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("STORAGE_S3_PREFIX", ""),
            "default_acl": None,
            # Fail fast when the store is down: a render is requeued and retried later
            # (agreements/documents/jobs.py), a request is not held for minutes.
            "client_config": _BotoConfig(
                # MinIO and most S3-compatible servers want bucket names in the path.
                s3={"addressing_style": "path" if _s3_endpoint else "auto"},
                connect_timeout=env_int("STORAGE_S3_TIMEOUT_SECONDS", 5, minimum=1),
                read_timeout=env_int("STORAGE_S3_TIMEOUT_SECONDS", 5, minimum=1) * 6,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        },
    }

# --- Celery -------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", required=True)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
# A task that is not acknowledged within the visibility timeout is redelivered; it must
# outlast the hard time limit or a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
CELERY_RESULT_EXPIRES = 3600
# Tasks record their outcome in the database, not in results: ignoring results also keeps
# callers from subscribing to the result store on every enqueue, which blocked a request for
# ~20 s (20 reconnect attempts) whenever Redis was down (found by scripts/chaos.py).
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT so tasks can clean up."
    )

# --- E-mail -------------------------------------------------------------------------------
_mail_backend = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_mail_options: dict[str, object] = {}
if _mail_backend.endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", default=False),
    }
MAILERS = {"default": {"BACKEND": _mail_backend, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Collaboratory <noreply@collaboratory.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -----------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health checks speak plain HTTP
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    # The partner API (partners/api_auth.py) sets its own authentication, errors and limits.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No ?format=: the API's query parameters are strict, use the Accept header instead.
    "URL_FORMAT_OVERRIDE": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "weasyprint.progress": {"level": "WARNING"},  # one line per page otherwise
    },
}

# Where seed_demo and the e-mails point people.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")

CELERY_BEAT_SCHEDULE = {
    # Expire agreements past their term and send 90/30/7-day reminders, once a day.
    "daily-lifecycle": {
        "task": "agreements.daily_lifecycle",
        "schedule": crontab(hour=2, minute=0),
    },
}

# --- Partner API and webhooks (issue 6) -----------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Collaboratory partner API",
    "DESCRIPTION": "Machine access for partner systems: is an agreement in force, and what "
    "does it permit? Authenticate with `Authorization: Bearer <token>`; tokens belong to one "
    "organisation and see only the agreements it is a party to.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "AgreementStatusEnum": "agreements.models.Status",
        "OrganisationKindEnum": "partners.models.OrganisationKind",
        "WebhookEventEnum": "partners.models.WebhookEvent",
        "DeliveryStatusEnum": "partners.models.DeliveryStatus",
        "ApiScopeEnum": "partners.models.ApiScope",
        "ResearchApprovalKindEnum": "agreements.approvals.models.ApprovalKind",
        # Ownership positions (agreements.ownership.vocabulary): controller and processors.
        "OwnershipPartyEnum": "agreements.ownership.vocabulary.Party",
    },
}
# Requests per token: "<count>/<second|minute|hour>", counted in Redis across processes.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/minute")
# Memory each process may hold derived values in (collaboratory/derived.py: agreement texts and
# their page HTML, ~650 kB per agreement read), before the least recently used go.
DERIVED_LOCAL_MB = env_int("DERIVED_LOCAL_MB", 256, minimum=0)
# Read-only pages and API answers kept for the database snapshot they were read from
# (collaboratory/answers.py): at most this many seconds (0: never kept), and this much memory
# per process beside the shared copies in Redis.
RESPONSE_CACHE_SECONDS = env_int("RESPONSE_CACHE_SECONDS", 60, minimum=0)
RESPONSE_CACHE_LOCAL_MB = env_int("RESPONSE_CACHE_LOCAL_MB", 64, minimum=0)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    # Values keyed by the hash of what they derive from (collaboratory/derived.py): never
    # stale, so they only expire to leave room (~90 kB per agreement viewed that day).
    "derived": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "derived",
        "TIMEOUT": 24 * 3600,
    },
    # Answers kept for the database snapshot they were read from (collaboratory/answers.py).
    "answers": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "answers",
        "TIMEOUT": RESPONSE_CACHE_SECONDS or 1,
    },
    "sessions": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sessions",
    },
}
# Sessions read from Redis, written through to PostgreSQL (collaboratory/sessions.py): a
# signed-in request's session costs a Redis GET instead of a query.
SESSION_ENGINE = "collaboratory.sessions"
SESSION_CACHE_ALIAS = "sessions"
# Webhook deliveries: exponential backoff with jitter from BASE seconds, each wait capped at
# MAX, giving up once WINDOW seconds have passed since the event.
# Whole seconds from the environment; a float so that tests may wait a fraction of one.
WEBHOOK_BACKOFF_BASE_SECONDS: float = env_int("WEBHOOK_BACKOFF_BASE_SECONDS", 30, minimum=1)
WEBHOOK_BACKOFF_MAX_SECONDS = env_int("WEBHOOK_BACKOFF_MAX_SECONDS", 4 * 3600, minimum=1)
WEBHOOK_RETRY_WINDOW_SECONDS = env_int("WEBHOOK_RETRY_WINDOW_SECONDS", 24 * 3600, minimum=60)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Plain http and loopback targets: only in DEBUG, or where this is switched on (tests).
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)
# Limits (issue 18): active endpoints per organisation; failed attempts in a row after which
# the circuit breaker disables an endpoint and tells its organisation's admins; attempts per
# minute to one destination host across all organisations (more wait, they do not fail).
WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = env_int(
    "WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION", 10, minimum=1
)
WEBHOOK_BREAKER_FAILURES = env_int("WEBHOOK_BREAKER_FAILURES", 20, minimum=1)
WEBHOOK_HOST_ATTEMPTS_PER_MINUTE = env_int("WEBHOOK_HOST_ATTEMPTS_PER_MINUTE", 120, minimum=1)
CELERY_BEAT_SCHEDULE["webhook-deliveries-due"] = {
    # Picks up retries too far ahead for a countdown, and deliveries of a crashed worker.
    "task": "partners.webhooks_enqueue_due",
    "schedule": 60.0,
}

# --- Sealed PDFs (agreements/pdf.py, sealing.py, documents.py) ------------------------------
# The platform's sealing certificate and key (PEM); `make run` and the tests create a
# self-signed development pair (manage.py ensure_dev_certificate). The key's password is a
# secret: give it as SEALING_KEY_PASSWORD or SEALING_KEY_PASSWORD_FILE.
SEALING_CERT_FILE = env_str("SEALING_CERT_FILE", str(BASE_DIR / "var" / "sealing" / "cert.pem"))
SEALING_KEY_FILE = env_str("SEALING_KEY_FILE", str(BASE_DIR / "var" / "sealing" / "key.pem"))
SEALING_KEY_PASSWORD = env_str("SEALING_KEY_PASSWORD", "")
# One render: soft and hard time limits (s), extra address space it may take (MiB, 0 = no
# cap), attempts before a render that keeps killing its worker is marked failed, retries of
# transient errors, and the queue renders go to (a dedicated worker may serve it).
RENDER_SOFT_TIME_LIMIT = env_int("RENDER_SOFT_TIME_LIMIT", 120, minimum=1)
RENDER_TIME_LIMIT = env_int("RENDER_TIME_LIMIT", 150, minimum=2)
RENDER_MEMORY_LIMIT_MB = env_int("RENDER_MEMORY_LIMIT_MB", 1024, minimum=0)
RENDER_MAX_ATTEMPTS = env_int("RENDER_MAX_ATTEMPTS", 3, minimum=1)
RENDER_MAX_RETRIES = env_int("RENDER_MAX_RETRIES", 5, minimum=0)
RENDER_QUEUE = env_str("RENDER_QUEUE", "celery")
# Render the sealed executed PDF when an agreement becomes active (the test suite turns it
# off while seeding its demo data and on where a test is about it).
RENDER_ON_ACTIVATION = env_bool("RENDER_ON_ACTIVATION", default=True)
# Test hook only: hold each render this many seconds so a test can kill the worker mid-way.
RENDER_TEST_DELAY_SECONDS = env_int("RENDER_TEST_DELAY_SECONDS", 0, minimum=0)
# --- Faults (issue 9): outbox sweeps for work whose message never reached the broker --------
# A render job still queued this long after it was asked for is queued again.
RENDER_REQUEUE_AFTER_SECONDS = env_int("RENDER_REQUEUE_AFTER_SECONDS", 300, minimum=1)
CELERY_BEAT_SCHEDULE["render-jobs-waiting"] = {
    "task": "agreements.render_jobs_enqueue_waiting",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["notifications-pending"] = {
    "task": "agreements.deliver_notifications",
    "schedule": 60.0,
}
if RENDER_SOFT_TIME_LIMIT >= RENDER_TIME_LIMIT:
    raise ImproperlyConfigured("RENDER_SOFT_TIME_LIMIT must be below RENDER_TIME_LIMIT.")
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= RENDER_TIME_LIMIT:
    raise ImproperlyConfigured(
        "The broker's visibility timeout (4 x CELERY_TASK_TIME_LIMIT) must outlast "
        "RENDER_TIME_LIMIT, or a slow render would be delivered twice."
    )

# --- Consent (issue 7) ----------------------------------------------------------------------
# Days after an agreement ends (expired or terminated) before its consent records are purged;
# CSV imports: largest file (bytes) and most rows accepted.
CONSENT_RETENTION_DAYS = env_int("CONSENT_RETENTION_DAYS", 3 * 365, minimum=0)
CONSENT_IMPORT_MAX_BYTES = env_int("CONSENT_IMPORT_MAX_BYTES", 20_000_000, minimum=1)
CONSENT_IMPORT_MAX_ROWS = env_int("CONSENT_IMPORT_MAX_ROWS", 200_000, minimum=1)
CELERY_BEAT_SCHEDULE["destruction-daily"] = {
    # After daily-lifecycle ends agreements: open destruction duties, remind 30/7/1 days
    # before the deadline, flag overdue ones (agreements/destruction/).
    "task": "agreements.destruction_daily",
    "schedule": crontab(hour=2, minute=15),
}
CELERY_BEAT_SCHEDULE["consent-daily"] = {
    # Re-derive states of students turning 18, then purge consent past its retention.
    "task": "consent.daily",
    "schedule": crontab(hour=2, minute=30),
}

# --- Login throttling (issue 19; partners/login_throttle.py) and two-factor (issue 9) -------
# Progressive delays, never a hard lock: after LOGIN_FAILURE_LIMIT wrong passwords (for one
# username from one client, or for the username from clients that already failed for it),
# each further attempt waits twice as long as the one before, from LOGIN_DELAY_BASE_SECONDS
# up to LOGIN_DELAY_MAX_MINUTES; one address gets LOGIN_ADDRESS_FAILURE_LIMIT wrong
# passwords (any usernames) before its own delays start. Counts are forgotten after a day
# without failures; a successful login resets them.
if env_str("LOGIN_LOCKOUT_MINUTES", ""):
    raise ImproperlyConfigured(
        "LOGIN_LOCKOUT_MINUTES is gone: logging in is no longer locked for a fixed time but "
        "delayed a little longer after each wrong password. Set LOGIN_DELAY_MAX_MINUTES (the "
        "longest wait, default 15) instead, or remove the variable."
    )
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
LOGIN_DELAY_BASE_SECONDS = env_int("LOGIN_DELAY_BASE_SECONDS", 2, minimum=1)
LOGIN_DELAY_MAX = dt.timedelta(minutes=env_int("LOGIN_DELAY_MAX_MINUTES", 15, minimum=1))
LOGIN_FAILURE_WINDOW = dt.timedelta(hours=24)
# The account's owner is e-mailed after LOGIN_FAILURE_LIMIT wrong passwords, at most once
# per this period.
LOGIN_FAILURE_NOTICE_PERIOD = dt.timedelta(hours=24)
# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks, comma
# separated); empty: the socket's address is the client's (collaboratory/proxies.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", default=[])
trusted_proxies_from(TRUSTED_PROXIES)  # a bad value stops the start with the fix named
CELERY_BEAT_SCHEDULE["login-throttle-purge"] = {
    # Forget login counters past their window and spent enrolment codes.
    "task": "partners.login_throttle_purge",
    "schedule": crontab(minute=17),
}
# Signatories and organisation admins confirm signing and API tokens with a TOTP code.
OTP_TOTP_ISSUER = "Collaboratory"
# The Django admin lists devices (to remove a lost phone's) but never shows their secrets.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Uploads (issue 9, item 7; collaboratory/uploads.py) --------------------------------------
# The largest request body any upload may have (bytes): larger ones get a 413 before the body
# is read. Each kind of upload has its own, smaller limit: CONSENT_IMPORT_MAX_BYTES above,
# TEMPLATE_UPLOAD_MAX_BYTES for .md/.docx templates, and the sealed-PDF check's 25 MiB.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 32 * 1024 * 1024, minimum=1)
TEMPLATE_UPLOAD_MAX_BYTES = env_int("TEMPLATE_UPLOAD_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
# Files up to this size stay in memory while uploading; larger ones spool to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=0)
# Non-file request bodies (forms, JSON) read into memory at most (Django answers 400 beyond).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1)
FILE_UPLOAD_HANDLERS = [
    "collaboratory.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
for _name, _limit in (
    ("CONSENT_IMPORT_MAX_BYTES", CONSENT_IMPORT_MAX_BYTES),
    ("TEMPLATE_UPLOAD_MAX_BYTES", TEMPLATE_UPLOAD_MAX_BYTES),
):
    if _limit >= UPLOAD_MAX_BYTES:
        raise ImproperlyConfigured(
            f"{_name} ({_limit}) must be below UPLOAD_MAX_BYTES ({UPLOAD_MAX_BYTES}), or such "
            "files would be refused before their own check could explain why."
        )
