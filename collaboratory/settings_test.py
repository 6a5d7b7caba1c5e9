"""Test settings: the real settings with test conveniences, driven by the same environment.

`make test` exports DATABASE_URL and REDIS_URL for throwaway servers; only what makes tests
fast or observable differs here.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")

from collaboratory.settings import *  # noqa: E402,F403
from collaboratory.settings import STORAGES  # noqa: E402

# A fast hasher: the suite logs in hundreds of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from static/ (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Several test runs may share one PostgreSQL (e.g. parallel developers): let each name its
# test database.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}  # noqa: F405

# Partner API webhooks: the test receiver listens on loopback, and retries come quickly.
WEBHOOK_ALLOW_LOOPBACK = True
WEBHOOK_BACKOFF_BASE_SECONDS = 0.2
WEBHOOK_BACKOFF_MAX_SECONDS = 1
# The whole run shares one Redis and every test receiver is on 127.0.0.1: the per-host cap
# would couple unrelated tests. Tests of the cap set it low themselves.
WEBHOOK_HOST_ATTEMPTS_PER_MINUTE = 100_000

# Audit entries are append-only; PostgreSQL refuses TRUNCATE of their table unless this
# session setting is on. Only the test database turns it on, so pytest-django's flush (a
# TRUNCATE of every table after transactional tests) still works.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (  # noqa: F405
    "-c jit=off -c collaboratory.allow_audit_truncate=on"
)
