"""Start-up refuses a production configuration that is missing or wrong, naming the fix."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "s" * 64,
    "ALLOWED_HOSTS": "collaboratory.example.org",
    "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
# Variables the test settings set for this process; a production start has none of them.
TEST_ONLY = {
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY_FILE",
}


def _environment(env: dict[str, str]) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in TEST_ONLY}
    return {**inherited, **env}


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import collaboratory.settings"],
        cwd=ROOT,
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_load():
    assert _load_settings(PRODUCTION).returncode == 0


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "The environment variable SECRET_KEY is required"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS is required when DEBUG is off"),
        ("DATABASE_URL", "The environment variable DATABASE_URL is required"),
        ("REDIS_URL", "The environment variable REDIS_URL is required"),
    ],
)
def test_missing_production_variable_is_a_clear_startup_error(missing, message):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 random characters"),
        ({"DATABASE_URL": "sqlite:///db.sqlite3"}, "DATABASE_URL must point at PostgreSQL"),
        ({"CELERY_TASK_TIME_LIMIT": "ten"}, "CELERY_TASK_TIME_LIMIT='ten' is not a whole number"),
        ({"DERIVED_LOCAL_MB": "-1"}, "DERIVED_LOCAL_MB=-1 is below the minimum of 0"),
        ({"RESPONSE_CACHE_SECONDS": "-5"}, "RESPONSE_CACHE_SECONDS=-5 is below the minimum of 0"),
        ({"RESPONSE_CACHE_SECONDS": "1m"}, "RESPONSE_CACHE_SECONDS='1m' is not a whole number"),
        ({"RESPONSE_CACHE_LOCAL_MB": "-1"}, "RESPONSE_CACHE_LOCAL_MB=-1 is below the minimum"),
    ],
)
def test_bad_values_are_named(override, message):
    result = _load_settings({**PRODUCTION, **override})
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("f" * 64 + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    env["SECRET_KEY_FILE"] = str(secret)
    assert _load_settings(env).returncode == 0


def test_production_defaults_are_the_safe_ones():
    code = (
        "import collaboratory.settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_environment(PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["False", "True", "True", "True", "31536000"]
