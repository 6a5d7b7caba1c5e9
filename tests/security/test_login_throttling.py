"""Login throttling (partners/login_throttle.py): after five wrong passwords for one username
from one address, each further attempt from there has to wait (a delay that grows), and is
refused during the wait with a page in our layout that says when to try again, before the
password is looked at. Other people and other addresses are unaffected.

Issue 19 replaced django-axes' hard lock per username and address with these delays; the
attacks it is about (many addresses, a shared proxy) are in tests/partners/test_login_throttle.py.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.urls import reverse

from partners.models import LoginThrottle

PASSWORD = "collaboratory-demo"
OTHER_ADDRESS = "203.0.113.7"

pytestmark = pytest.mark.django_db


def log_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def fail(client, username: str, times: int, address: str = "127.0.0.1"):
    response = None
    for _ in range(times):
        response = log_in(client, username, "wrong-password", address)
    return response


def is_logged_in(client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def test_the_limits_are_five_failures_then_delays_up_to_fifteen_minutes():
    assert settings.LOGIN_FAILURE_LIMIT == 5
    assert settings.LOGIN_DELAY_MAX == dt.timedelta(minutes=15)
    assert settings.AUTHENTICATION_BACKENDS == ["partners.login_throttle.ThrottledModelBackend"]
    assert "axes" not in settings.INSTALLED_APPS


def test_wrong_passwords_up_to_the_limit_show_the_ordinary_error(client, demo):
    response = fail(client, "director", 5)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_attempt_after_five_wrong_passwords_waits_with_a_friendly_page(client, demo):
    fail(client, "director", 5)
    response = log_in(client, "director", "still-wrong")
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert 1 <= int(response["Retry-After"]) <= settings.LOGIN_DELAY_BASE_SECONDS
    page = response.content.decode()
    assert "Logging in is paused" in page
    assert "Too many wrong passwords for “director”" in page
    assert "you can try again at" in page
    assert "After 5 wrong passwords" in page
    assert "We did not check the password you just entered." in page
    # Our layout (base.html, the stylesheet), not a bare text answer.
    assert 'class="site-header"' in page and "css/app.css" in page
    assert 'role="alert"' in page


def test_the_right_password_is_refused_unchecked_during_the_delay(client, demo):
    fail(client, "director", 5)
    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as check:
        response = log_in(client, "director", PASSWORD)
    assert check.call_count == 0  # refused before the password was looked at
    assert response.status_code == 429
    assert "Logging in is paused" in response.content.decode()
    assert not is_logged_in(client)


def test_other_users_and_other_addresses_are_unaffected(client, demo):
    fail(client, "director", 5)
    assert log_in(client, "counsel", PASSWORD).status_code == 302
    assert is_logged_in(client)
    client.logout()
    assert log_in(client, "director", PASSWORD, address=OTHER_ADDRESS).status_code == 302
    assert is_logged_in(client)


def test_a_successful_login_clears_the_count(client, demo):
    fail(client, "director", 4)
    assert log_in(client, "director", PASSWORD).status_code == 302
    client.logout()
    client.cookies.clear()  # not a known browser: the count alone decides
    response = fail(client, "director", 5)
    assert response.status_code == 200
    assert log_in(client, "director", "wrong-again").status_code == 429


def test_logging_in_works_again_after_the_delay(client, demo):
    fail(client, "director", 5)
    assert log_in(client, "director", PASSWORD).status_code == 429
    # The delay passes (the failures are dated; move them back rather than wait).
    LoginThrottle.objects.update(last_failure_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert log_in(client, "director", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_the_delay_page_is_escaped(client, demo):
    name = '<script>alert("x")</script>'
    fail(client, name, 5)
    page = log_in(client, name, "again").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
