"""Production settings protect sessions and pages: secure cookies, sessions that expire,
password rules, HSTS, a strict Content-Security-Policy without inline script, nosniff and a
referrer policy. The values are read from the real settings module started the way
production starts it (DEBUG off, no test overrides), then applied to a request here."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from collaboratory.sessions import SessionStore
from tests.project.test_settings import PRODUCTION, ROOT, _environment

TEMPLATES = Path(ROOT) / "templates"
PRODUCTION_SECURITY = [
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "SECURE_CSP",
]


@pytest.fixture(scope="module")
def production() -> dict:
    """The security settings of a production start (DEBUG off, only required variables)."""
    code = (
        "import json, collaboratory.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {PRODUCTION_SECURITY!r}}}, default=str)); "
        "print(json.dumps([v['NAME'].rsplit('.', 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_environment(PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    values, validators = result.stdout.strip().splitlines()[-2:]
    return {**json.loads(values), "validators": json.loads(validators)}


def test_production_cookies_are_secure_and_sessions_expire(production):
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_AGE"] == 8 * 3600
    assert production["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True


def test_production_sends_hsts_nosniff_referrer_policy_and_frame_denial(production):
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_HSTS_PRELOAD"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["X_FRAME_OPTIONS"] == "DENY"


def test_password_validators_are_on(production, settings):
    assert production["validators"] == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short1", "password1234", "123456789012"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("correct horse battery staple")


@pytest.fixture
def production_like(production):
    """This process, answering with the production security settings."""
    values = {k: v for k, v in production.items() if k in PRODUCTION_SECURITY and k != "SECURE_CSP"}
    with override_settings(**values):
        yield values


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: rest for name, *rest in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.django_db
def test_a_production_response_carries_the_security_headers(client, production_like):
    response = client.get(reverse("login"), secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response.cookies["csrftoken"]["secure"] is True


@pytest.mark.django_db
def test_the_content_security_policy_is_strict_without_inline_script(client, production_like):
    policy = _csp(client.get(reverse("login"), secure=True))
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    every_source = [source for sources in policy.values() for source in sources]
    assert "'unsafe-inline'" not in every_source
    assert "'unsafe-eval'" not in every_source
    assert "*" not in every_source


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(client, production_like):
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_the_session_cookie_is_secure_and_ends_with_the_browser(client, demo, production_like):
    response = client.post(
        reverse("login"),
        {"username": "counsel", "password": "collaboratory-demo"},
        secure=True,
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]  # gone when the browser closes


@pytest.mark.django_db
def test_a_session_expires_on_the_server_after_eight_hours(client, demo):
    client.post(reverse("login"), {"username": "counsel", "password": "collaboratory-demo"})
    session = Session.objects.get(session_key=client.session.session_key)
    left = session.expire_date - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=7, minutes=59) < left <= dt.timedelta(hours=8)
    assert client.get(reverse("dashboard")).status_code == 200
    # Sessions are read from Redis (collaboratory/sessions.py): the copy there lives no longer
    # than the session.
    cache = caches[settings.SESSION_CACHE_ALIAS]
    key = cache.make_and_validate_key(SessionStore.cache_key_prefix + session.session_key)
    ttl = cache._cache.get_client(key).ttl(key)  # type: ignore[attr-defined]
    assert dt.timedelta(hours=7, minutes=59) < dt.timedelta(seconds=ttl) <= dt.timedelta(hours=8)
    # Eight hours later the same cookie no longer opens anything: the row has expired, and
    # Redis has dropped its copy.
    Session.objects.filter(pk=session.pk).update(
        expire_date=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    cache.delete(SessionStore.cache_key_prefix + session.session_key)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_session_still_opens_pages_while_the_session_cache_is_down(client, demo, settings):
    client.post(reverse("login"), {"username": "counsel", "password": "collaboratory-demo"})
    sessions = settings.CACHES["sessions"]
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {**sessions, "LOCATION": "redis://127.0.0.1:9/0"},
    }
    # Read from PostgreSQL, the record; the cache's failure is logged, not shown.
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["user"].username == "counsel"


def test_no_template_has_inline_script_or_event_handlers():
    """The CSP refuses inline script; a template that relied on it would break silently."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
    javascript_url = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (inline_script, handler, javascript_url):
            found += [
                f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in pattern.finditer(text)
            ]
    assert found == []
