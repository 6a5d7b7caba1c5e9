"""Login throttling that cannot be turned against the account's owner (issue 19, item 4;
partners/login_throttle.py): delays per username for the clients that fail, never a lock; the
real client address behind trusted proxies only; the owner told by e-mail."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from collaboratory.proxies import client_address, trusted_proxies_from
from collaboratory.web import client_ip
from partners.login_throttle import DEVICE_COOKIE, address_key, delay_after
from partners.models import LoginThrottle, LoginThrottleScope
from tests.conftest import otp_code, otp_device

PASSWORD = "collaboratory-demo"
PROXY = "10.0.0.2"
DIRECTOR_HOME = "203.0.113.50"
DIRECTOR_EMAIL = "director@riverbend-usd.example"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def log_in(client, username: str, password: str, *, remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def is_logged_in(client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def age_failures(by: dt.timedelta) -> None:
    """Time passes for the counters (they are dated; move them back rather than wait)."""
    for row in LoginThrottle.objects.exclude(last_failure_at=None):
        row.last_failure_at -= by
        row.save(update_fields=["last_failure_at"])


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]


@pytest.fixture
def director(demo):
    return demo["users"]["director"]


# --- the Done-when test ---------------------------------------------------------------------


def test_a_thousand_wrong_passwords_from_fifty_addresses_do_not_stop_the_director(
    client, django_user_model, director, behind_proxy
):
    attacker = type(client)()
    attackers = [f"198.51.100.{n}" for n in range(1, 51)]
    statuses: dict[int, int] = {}
    started = time.monotonic()
    with mock.patch.object(
        ModelBackend, "authenticate", autospec=True, side_effect=ModelBackend.authenticate
    ) as checked:
        for attempt in range(1000):
            address = attackers[attempt % len(attackers)]
            response = log_in(
                attacker, "director", f"guess-{attempt}", remote=PROXY, forwarded=address
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    elapsed = time.monotonic() - started
    # Each address got its first guess checked, and then all of them together one guess
    # per (growing) delay: the rest were refused before any password check.
    assert checked.call_count <= len(attackers) + 5, checked.call_count
    assert statuses[429] >= 1000 - len(attackers) - 5
    assert set(statuses) == {200, 429}
    assert elapsed < 120, f"1,000 attempts took {elapsed:.0f} s"

    # The director, from their own address (behind the same proxy), right password and code.
    response = log_in(client, "director", PASSWORD, remote=PROXY, forwarded=DIRECTOR_HOME)
    assert response.status_code == 302 and is_logged_in(client)
    device = otp_device(director)
    response = client.post(reverse("two-factor-verify"), {"code": otp_code(device)})
    assert response.status_code == 302
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id

    # The guessers are still held back, even had they guessed right.
    refused = log_in(attacker, "director", PASSWORD, remote=PROXY, forwarded=attackers[0])
    assert refused.status_code == 429


def test_a_known_browser_gets_in_even_from_the_guessers_own_address(client, director):
    """No trusted proxy: the guesser and the director share one address (an office NAT, or
    a proxy nobody configured). The director's browser logged in before, so it is known."""
    assert log_in(client, "director", PASSWORD, remote="192.0.2.10").status_code == 302
    assert DEVICE_COOKIE in client.cookies
    client.post(reverse("logout"))
    attacker = type(client)()
    for attempt in range(200):
        log_in(attacker, "director", f"guess-{attempt}", remote="192.0.2.10")
    assert log_in(attacker, "director", "another", remote="192.0.2.10").status_code == 429
    assert log_in(client, "director", PASSWORD, remote="192.0.2.10").status_code == 302
    assert is_logged_in(client)


def test_a_forged_or_foreign_device_cookie_is_not_a_known_browser(client, demo):
    for _ in range(6):
        log_in(client, "director", "wrong", remote="192.0.2.11")
    client.cookies[DEVICE_COOKIE] = "forged"
    assert log_in(client, "director", PASSWORD, remote="192.0.2.11").status_code == 429
    # counsel's browser is known for counsel, not for the director.
    other = type(client)()
    assert log_in(other, "counsel", PASSWORD, remote="192.0.2.11").status_code == 302
    other.post(reverse("logout"))
    assert log_in(other, "director", PASSWORD, remote="192.0.2.11").status_code == 429


# --- the real client address ----------------------------------------------------------------


def test_forwarded_for_is_ignored_when_the_proxy_is_not_trusted(client, demo, settings):
    settings.TRUSTED_PROXIES = []
    for n in range(5):
        log_in(client, "director", "wrong", remote="192.0.2.20", forwarded=f"198.51.100.{n}")
    # A new X-Forwarded-For does not make a new client: the socket's address is counted.
    response = log_in(client, "director", "wrong", remote="192.0.2.20", forwarded="198.51.100.99")
    assert response.status_code == 429
    assert LoginThrottle.objects.filter(
        scope=LoginThrottleScope.ADDRESS, key="192.0.2.20", failures=5
    ).exists()
    assert not LoginThrottle.objects.filter(key__startswith="198.51.100.").exists()


def test_spoofed_left_most_forwarded_for_entries_are_ignored(client, demo, behind_proxy):
    for n in range(5):
        spoofed = f"1.2.3.{n}, 198.51.100.7"
        log_in(client, "director", "wrong", remote=PROXY, forwarded=spoofed)
    # What the client writes on the left changes nothing: the proxy appended its address.
    response = log_in(
        client, "director", "wrong", remote=PROXY, forwarded="9.9.9.9, 8.8.8.8, 198.51.100.7"
    )
    assert response.status_code == 429
    assert LoginThrottle.objects.filter(
        scope=LoginThrottleScope.ADDRESS, key="198.51.100.7", failures=5
    ).exists()
    assert not LoginThrottle.objects.filter(key__startswith="1.2.3.").exists()


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("192.0.2.1", None, "192.0.2.1"),
        # Not from a trusted proxy: the header is the client's own words.
        ("192.0.2.1", "198.51.100.1", "192.0.2.1"),
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # Two trusted hops; the right-most untrusted address wins over made-up ones.
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        # Only trusted hops: the left-most of them is as far as we can see.
        ("10.0.0.2", "10.0.0.7", "10.0.0.7"),
        # Garbage where the proxy's entry should be: stop at the proxy.
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("::ffff:192.0.2.5", None, "192.0.2.5"),
    ],
)
def test_the_client_address(remote, forwarded, expected):
    assert client_address(remote, forwarded, ["10.0.0.0/24"]) == expected


def test_client_ip_reads_the_setting(settings):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.3")
    settings.TRUSTED_PROXIES = []
    assert client_ip(request) == PROXY
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(request) == "198.51.100.3"


def test_an_ipv6_client_is_counted_by_its_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "unknown"


def load_settings(**variables: str) -> subprocess.CompletedProcess[str]:
    """Start-up of the production settings with ``variables`` (as tests/project does)."""
    environment = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DEBUG": "false",
        "SECRET_KEY": "s" * 64,
        "ALLOWED_HOSTS": "collaboratory.example.org",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", "import collaboratory.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_trusted_proxies_load_and_the_old_lockout_setting_is_named():
    assert load_settings(TRUSTED_PROXIES="10.0.0.5, 192.168.10.0/24,fd00::/8").returncode == 0
    result = load_settings(LOGIN_LOCKOUT_MINUTES="15")
    assert result.returncode != 0
    assert "LOGIN_LOCKOUT_MINUTES is gone" in result.stderr
    assert "Set LOGIN_DELAY_MAX_MINUTES" in result.stderr


def test_a_bad_trusted_proxies_value_is_a_clear_start_up_error():
    with pytest.raises(ImproperlyConfigured, match="'10.0.0.300' is not an IP address"):
        trusted_proxies_from(["10.0.0.5", "10.0.0.300"])
    assert [str(n) for n in trusted_proxies_from(["10.0.0.5", "fd00::/8", "10.1.2.3/16"])] == [
        "10.0.0.5/32",
        "fd00::/8",
        "10.1.0.0/16",
    ]
    result = load_settings(TRUSTED_PROXIES="10.0.0.5,proxy.internal")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in result.stderr
    assert "TRUSTED_PROXIES=10.0.0.5,192.168.10.0/24" in result.stderr


# --- the delay ------------------------------------------------------------------------------


def test_the_delay_grows_with_each_wrong_password_and_is_capped(settings):
    base = settings.LOGIN_DELAY_BASE_SECONDS
    assert delay_after(4, 5) == dt.timedelta(0)
    assert [delay_after(n, 5).total_seconds() for n in (5, 6, 7, 8)] == [
        base,
        2 * base,
        4 * base,
        8 * base,
    ]
    assert delay_after(60, 5) == settings.LOGIN_DELAY_MAX


def test_the_delay_grows_and_resets_on_success(client, demo, settings):
    base = settings.LOGIN_DELAY_BASE_SECONDS
    address = "192.0.2.30"
    for _ in range(5):
        assert log_in(client, "director", "wrong", remote=address).status_code == 200
    waits = []
    for _ in range(4):
        refused = log_in(client, "director", "wrong", remote=address)
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        # The wait passes; the next wrong password makes the next wait longer.
        age_failures(dt.timedelta(seconds=waits[-1] + 1))
        assert log_in(client, "director", "wrong", remote=address).status_code == 200
    # Retry-After counts from the last wrong password: a slow request may take a second off.
    expected = [base, 2 * base, 4 * base, 8 * base]
    assert all(want - 1 <= got <= want for got, want in zip(waits, expected, strict=True)), waits
    refused = log_in(client, "director", PASSWORD, remote=address)
    assert refused.status_code == 429
    assert 16 * base - 1 <= int(refused["Retry-After"]) <= 16 * base
    age_failures(dt.timedelta(seconds=16 * base + 1))
    assert log_in(client, "director", PASSWORD, remote=address).status_code == 302
    # The right password reset the counts: five free tries again, from a new browser too.
    client.post(reverse("logout"))
    client.cookies.clear()
    for _ in range(5):
        assert log_in(client, "director", "wrong", remote=address).status_code == 200
    assert 1 <= int(log_in(client, "director", "wrong", remote=address)["Retry-After"]) <= base


def test_the_wait_is_capped_at_the_maximum(client, demo, settings):
    for _ in range(5):
        log_in(client, "director", "wrong", remote="192.0.2.31")
    LoginThrottle.objects.update(failures=40)
    refused = log_in(client, "director", "wrong", remote="192.0.2.31")
    maximum = settings.LOGIN_DELAY_MAX.total_seconds()
    assert maximum - 1 <= int(refused["Retry-After"]) <= maximum
    assert "15 minutes" in refused.content.decode()


def test_many_usernames_from_one_address_are_slowed_down(client, demo, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 10
    for n in range(10):
        assert log_in(client, f"user{n}", "wrong", remote="192.0.2.40").status_code == 200
    assert log_in(client, "someone-new", "wrong", remote="192.0.2.40").status_code == 429
    # The director's own browser elsewhere is not affected.
    assert log_in(client, "director", PASSWORD, remote="192.0.2.41").status_code == 302


# --- telling the owner ----------------------------------------------------------------------


def test_the_owner_is_told_by_email_after_repeated_failures_once_per_period(
    client, demo, mailbox, settings, django_capture_on_commit_callbacks
):
    def attempt(address: str) -> None:
        # The mail leaves when the failure's transaction commits, as in a real request.
        with django_capture_on_commit_callbacks(execute=True):
            log_in(client, "director", "wrong", remote=address)

    for _ in range(4):
        attempt("192.0.2.50")
    assert mailbox.sent_to(DIRECTOR_EMAIL) == []
    attempt("192.0.2.50")
    message = mailbox.wait_for(to=DIRECTOR_EMAIL, subject="Wrong passwords")
    text = mailbox.text(message)
    assert 'wrong password for your Collaboratory account "director" 5 times' in text
    assert "log in from your own computer at any time" in text
    # More wrong passwords, from elsewhere, within the period: no second e-mail.
    for n in range(20):
        attempt(f"198.51.100.{n}")
    assert len(mailbox.sent_to(DIRECTOR_EMAIL)) == 1
    # A day later, a new run of failures is told again.
    LoginThrottle.objects.filter(scope=LoginThrottleScope.USERNAME).update(
        notified_at=timezone.now() - settings.LOGIN_FAILURE_NOTICE_PERIOD
    )
    attempt("198.51.100.200")
    deadline = time.monotonic() + 10
    while len(mailbox.sent_to(DIRECTOR_EMAIL)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mailbox.sent_to(DIRECTOR_EMAIL)) == 2


def test_unknown_usernames_are_throttled_and_mail_nobody(
    client, demo, mailbox, django_capture_on_commit_callbacks
):
    for _ in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            response = log_in(client, "no-such-person", "wrong", remote="192.0.2.60")
    assert response.status_code == 429
    assert mailbox.messages == []


def test_old_counters_and_codes_are_purged(client, demo, settings):
    from partners.login_throttle import login_throttle_purge
    from partners.models import EnrolmentCode

    log_in(client, "director", "wrong", remote="192.0.2.70")
    assert LoginThrottle.objects.count() == 3
    assert login_throttle_purge() == 0
    age_failures(settings.LOGIN_FAILURE_WINDOW + dt.timedelta(minutes=1))
    now = timezone.now()
    EnrolmentCode.objects.create(
        user=demo["users"]["director"],
        digest="0" * 64,
        created_at=now - dt.timedelta(days=2),
        expires_at=now - dt.timedelta(days=2),
    )
    assert login_throttle_purge() == 4
    assert not LoginThrottle.objects.exists() and not EnrolmentCode.objects.exists()


def test_the_session_user_is_read_through_a_statement_built_once(demo, outsider):
    """Every page reads the session's user through the backend's built-once statement
    (collaboratory.prepared.shaped_rows): each user is found as Django's backend finds them,
    and an inactive, unknown or malformed id finds nobody."""
    from django.contrib.auth.backends import ModelBackend

    from collaboratory import prepared
    from partners.login_throttle import ThrottledModelBackend

    prepared.clear()
    ours, django_s = ThrottledModelBackend(), ModelBackend()
    users = [*demo["users"].values(), outsider]
    for user in users:
        found = ours.get_user(str(user.pk))  # the session keeps the id as text
        assert found == django_s.get_user(user.pk) == user
        assert (found.username, found.password) == (user.username, user.password)
    outsider.is_active = False
    outsider.save(update_fields=["is_active"])
    assert ours.get_user(outsider.pk) is None
    assert ours.get_user(max(u.pk for u in users) + 1) is None
    assert ours.get_user("not a number") is None
    assert ours.get_user(2**40) is None and ours.get_user(-(2**40)) is None  # beyond the column
    assert ours.get_user(None) is None
