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


def _redis_url_of_xdist_worker(url: str, worker: str) -> str:
    """``url`` with the Redis database of pytest-xdist's ``worker`` ("gw0" -> the URL's
    database + 1, "gw1" -> + 2, ...)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    database = base + 1 + int(worker.removeprefix("gw"))
    if database > 15:
        raise RuntimeError(
            f"pytest-xdist worker {worker} would use Redis database {database}; a default"
            " Redis has 16 (0-15): run fewer workers (-n)."
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


# scripts/test-all runs the suite in several processes (pytest-xdist). pytest-django gives
# each its own test database (test_..._gw0, _gw1); this gives each its own Redis database,
# so one worker's caches, sessions, rate-limit counters and Celery queues are never
# another's (a task one worker sends must reach that worker's Celery worker, which reads
# its database). It goes into the environment, so the processes a worker starts (its
# Celery worker, gunicorn, scripts) inherit it; the marker stops them moving it again, and
# leaves alone a process given a REDIS_URL of its own (the fault drill's servers).
if os.environ.get("PYTEST_XDIST_WORKER") and not os.environ.get("TEST_REDIS_URL_OF_WORKER"):
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _redis_url_of_xdist_worker(
            os.environ["REDIS_URL"], os.environ["PYTEST_XDIST_WORKER"]
        )
    os.environ["TEST_REDIS_URL_OF_WORKER"] = os.environ.get("REDIS_URL", "")

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
