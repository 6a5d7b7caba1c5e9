"""Login throttling (django-axes): after five wrong passwords for one username from one
address, logging in as that username from that address is paused for 15 minutes, with a page
that says so in our layout. Other people and other addresses are unaffected."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

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


def test_the_limits_are_five_failures_and_fifteen_minutes_per_username_and_address():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_wrong_passwords_below_the_limit_show_the_ordinary_error(client, demo):
    response = fail(client, "director", 4)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_fifth_wrong_password_locks_out_with_a_friendly_page(client, demo):
    fail(client, "director", 4)
    response = log_in(client, "director", "still-wrong")
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Logging in is paused" in page
    assert "Too many wrong passwords for “director”" in page
    assert "paused for 15 minutes" in page
    assert "after 5 wrong passwords in a row" in page
    # Our layout (base.html, the stylesheet), not a bare text answer.
    assert 'class="site-header"' in page and "css/app.css" in page
    assert 'role="alert"' in page


def test_the_right_password_is_refused_while_locked_out(client, demo):
    fail(client, "director", 5)
    response = log_in(client, "director", PASSWORD)
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
    response = fail(client, "director", 4)
    assert response.status_code == 200
    assert log_in(client, "director", PASSWORD).status_code == 302


def test_logging_in_works_again_after_the_pause(client, demo):
    fail(client, "director", 5)
    assert log_in(client, "director", PASSWORD).status_code == 429
    # Fifteen minutes pass (the attempts are dated; move them back rather than wait).
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert log_in(client, "director", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_the_lockout_page_is_escaped(client, demo):
    name = '<script>alert("x")</script>'
    fail(client, name, 5)
    page = log_in(client, name, "again").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
