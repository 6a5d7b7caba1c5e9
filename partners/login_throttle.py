"""Login throttling that cannot be turned against the account's owner (issue 19, item 4).

Wrong passwords slow the guesser down; they never lock the account. Three counters bear on a
login attempt for a username from a client (the real client address, ``collaboratory.proxies``,
or a browser that logged in as that username before):

1. **The client, for this username** (``client`` scope). After LOGIN_FAILURE_LIMIT wrong
   passwords from one client for one username, each further attempt must wait: base, twice
   that, four times… up to LOGIN_DELAY_MAX after the last wrong password.
2. **The username, from clients that already failed for it** (``username`` scope). Wrong
   passwords for a username from *all* clients add up; once there are LOGIN_FAILURE_LIMIT of
   them, every client that has itself failed for this username waits the same growing delay,
   counted from the username's latest wrong password. Spreading guesses over many addresses
   therefore buys the guesser one try per fresh address, then one try per delay for all of
   them together (at most one per LOGIN_DELAY_MAX once it is reached).
   A client that has **not** failed for the username is not held back by it: the owner,
   typing the right password from their own address, gets in however many wrong passwords
   others sent. That is the point: a stranger can slow themselves down, never the owner.
3. **The address, for any username** (``address`` scope). LOGIN_ADDRESS_FAILURE_LIMIT wrong
   passwords from one address (IPv6: its /64, which one subscriber usually holds whole) over
   any usernames, then the same growing delay: trying many accounts from one address is slow.

A **known browser** (one that logged in as this username before: a signed cookie carrying
the username and a random device id, 180 days) is counted as its own client under its device
id, and the username's and the address's counters do not hold it back. So the owner also gets
in from a network they share with the guesser (one office NAT, or a proxy that is not
configured as trusted), where the address alone cannot tell them apart. A stolen cookie buys
a thief nothing but their own client counter: the password is still needed.

During a delay the attempt is refused *before* the password is checked (no hashing cost for a
flood, nothing learnt), with a page saying when to try again; refused attempts do not count.
A right password resets the client's counter and takes its wrong passwords (the owner's own
typing) off the username's and the address's counts; others' wrong passwords keep counting.
Counts are forgotten after LOGIN_FAILURE_WINDOW without failures. After LOGIN_FAILURE_LIMIT
wrong passwords for an account, its owner is e-mailed, at most once per
LOGIN_FAILURE_NOTICE_PERIOD.

**What is left to a guesser, and to the owner.** A client new to the username (and to the
address counter) gets its first try checked, so N addresses buy N guesses before the shared
delay; IPv6 /64 grouping keeps N honest. The owner on a computer they never logged in from,
who mistypes during an attack, becomes a failing client and waits like the guesser (at most
LOGIN_DELAY_MAX), and gets the e-mail. Behind a proxy that is not in TRUSTED_PROXIES every
client shares the proxy's address, so the address counter slows all browsers that are not
known: configure the proxy (collaboratory/proxies.py takes the right-most untrusted address
of X-Forwarded-For, so clients cannot choose the address they are counted under).

**State in PostgreSQL** (``partners.LoginThrottle``): a login already needs the database (the
user row), so the throttle adds no new way for logins to fail, and a failure here fails
closed with the request (a 500/503, never an unchecked password). One upsert per wrong
password updates all counters atomically (no lost counts under concurrent attempts); a
refused attempt costs one indexed read. Redis would save those writes but add a second store
whose outage must then refuse every login to stay safe.

**Why not django-axes**: it locks a (username, address) pair hard, which is exactly what let
anyone lock ``director`` out behind a proxy; its counters have no notion of a known client or
of a delay that grows, so keeping it would have meant switching off most of it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from collaboratory.mail import send_mail_message
from collaboratory.prepared import shaped_rows
from collaboratory.proxies import parse_address
from collaboratory.web import client_ip
from partners.models import EnrolmentCode, LoginThrottle
from partners.models import LoginThrottleScope as Scope

DEVICE_COOKIE = "collaboratory_device"
DEVICE_COOKIE_SALT = "collaboratory.login_throttle.device"
DEVICE_COOKIE_AGE = dt.timedelta(days=180)
#: The request attribute the backend leaves for the login page when it refused an attempt.
REFUSAL_ATTRIBUTE = "login_refusal"
USERNAME_MAX = 150


@dataclass(frozen=True)
class Client:
    """Who is trying: the username (case-folded), the address counted (IPv4, or the IPv6
    /64) and, for a browser that logged in as this username before, its device id."""

    username: str
    address: str
    device: str | None = None

    @property
    def key(self) -> str:
        own = f"device:{self.device}" if self.device else self.address
        return f"{own}|{self.username}"


@dataclass(frozen=True)
class Refusal:
    """An attempt refused during a delay: for whom (as typed) and until when."""

    username: str
    until: dt.datetime

    @property
    def seconds(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() + 0.999))

    @property
    def wait(self) -> str:
        """How long, in words: "40 seconds", "3 minutes"."""
        seconds = self.seconds
        if seconds < 90:
            return f"{seconds} second{'s' if seconds != 1 else ''}"
        minutes = (seconds + 59) // 60
        return f"{minutes} minutes"


def username_key(username: str) -> str:
    return str(username).strip().casefold()[:USERNAME_MAX]


def address_key(address: str | None) -> str:
    parsed = parse_address(address or "")
    if parsed is None:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def client_for(request: HttpRequest, username: str) -> Client:
    name = username_key(username)
    return Client(
        username=name, address=address_key(client_ip(request)), device=known_device(request, name)
    )


# --- known browsers -------------------------------------------------------------------------


def known_device(request: HttpRequest, username: str) -> str | None:
    """The device id of this browser's cookie if it logged in as ``username`` (case-folded)
    within DEVICE_COOKIE_AGE; else None."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != username:
        return None
    device = data.get("d")
    return device if isinstance(device, str) and device.isalnum() and len(device) <= 32 else None


def remember_device(response: HttpResponse, username: str) -> None:
    """After a successful login: mark this browser as known for ``username``."""
    value = signing.dumps(
        {"u": username_key(username), "d": secrets.token_hex(16)}, salt=DEVICE_COOKIE_SALT
    )
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# --- the rule -------------------------------------------------------------------------------


def delay_after(failures: int, free: int) -> dt.timedelta:
    """The wait after ``failures`` wrong passwords when ``free`` come without one: none
    before, then LOGIN_DELAY_BASE_SECONDS, doubling with each further one, capped."""
    if failures < free:
        return dt.timedelta(0)
    exponent = min(failures - free, 30)
    seconds = settings.LOGIN_DELAY_BASE_SECONDS * 2**exponent
    return min(settings.LOGIN_DELAY_MAX, dt.timedelta(seconds=seconds))


def login_delayed_until(client: Client, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """When ``client`` may next try, if that is still to come (see the module docstring)."""
    now = now or timezone.now()
    # One query: the counters that bear on this attempt, within the window.
    rows = {
        (row.scope, row.key): row
        for row in LoginThrottle.objects.filter(
            Q(scope=Scope.CLIENT, key=client.key)
            | Q(scope=Scope.USERNAME, key=client.username)
            | Q(scope=Scope.ADDRESS, key=client.address),
            last_failure_at__gt=now - settings.LOGIN_FAILURE_WINDOW,
        )
    }
    limit = settings.LOGIN_FAILURE_LIMIT
    waits: list[dt.datetime] = []
    own = rows.get((Scope.CLIENT, client.key))
    if own is not None and own.last_failure_at is not None:
        waits.append(own.last_failure_at + delay_after(own.failures, limit))
    if client.device is None:
        address = rows.get((Scope.ADDRESS, client.address))
        if address is not None and address.last_failure_at is not None:
            waits.append(
                address.last_failure_at
                + delay_after(address.failures, settings.LOGIN_ADDRESS_FAILURE_LIMIT)
            )
        username = rows.get((Scope.USERNAME, client.username))
        # Only clients that failed for this username themselves are held back by its count.
        if own is not None and username is not None and username.last_failure_at is not None:
            waits.append(username.last_failure_at + delay_after(username.failures, limit))
    until = max(waits, default=None)
    return until if until is not None and until > now else None


_UPSERT = """
INSERT INTO partners_loginthrottle (scope, key, failures, last_failure_at)
VALUES {rows}
ON CONFLICT (scope, key) DO UPDATE SET
    failures = CASE WHEN partners_loginthrottle.last_failure_at > %s
                    THEN partners_loginthrottle.failures + 1 ELSE 1 END,
    last_failure_at = EXCLUDED.last_failure_at
RETURNING id, scope, failures, notified_at
"""


@transaction.atomic
def login_failure_record(*, client: Client) -> int:
    """Count a wrong password for ``client`` under all three counters in one statement (rows
    in a fixed order, so concurrent attempts cannot deadlock); e-mail the account's owner
    when the username's count reaches the limit and they were not told this period.
    Returns the username's count."""
    now = timezone.now()
    keys = sorted(
        [
            (Scope.ADDRESS, client.address),
            (Scope.CLIENT, client.key),
            (Scope.USERNAME, client.username),
        ]
    )
    params: list[Any] = []
    for scope, key in keys:
        params += [str(scope), key, 1, now]
    params.append(now - settings.LOGIN_FAILURE_WINDOW)
    sql = _UPSERT.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(keys)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    row_id, count, notified_at = next(
        (row_id, failures, notified_at)
        for row_id, scope, failures, notified_at in returned
        if scope == Scope.USERNAME
    )
    due = notified_at is None or notified_at < now - settings.LOGIN_FAILURE_NOTICE_PERIOD
    if count >= settings.LOGIN_FAILURE_LIMIT and due:
        # Claim the notice with a conditional update: of concurrent failures, one mails.
        claimed = LoginThrottle.objects.filter(id=row_id)
        claimed = (
            claimed.filter(notified_at__isnull=True)
            if notified_at is None
            else claimed.filter(notified_at=notified_at)
        )
        if claimed.update(notified_at=now):
            username, failures = client.username, count
            transaction.on_commit(lambda: _notify_owner(username, failures))
    return count


@transaction.atomic
def login_success_record(*, client: Client) -> None:
    """A right password: this client's wrong passwords were its owner's own typing, so its
    counter goes and they are taken off the username's and the address's counts (the
    notice time stays, so a new run of failures is told at most once per period). Wrong
    passwords from other clients still count: the owner logging in does not give a guesser
    a fresh set of tries."""
    own = (
        LoginThrottle.objects.select_for_update()
        .filter(
            scope=Scope.CLIENT,
            key=client.key,
            last_failure_at__gt=timezone.now() - settings.LOGIN_FAILURE_WINDOW,
        )
        .first()
    )
    LoginThrottle.objects.filter(scope=Scope.CLIENT, key=client.key).delete()
    if own is None or not own.failures:
        return
    LoginThrottle.objects.filter(
        Q(scope=Scope.USERNAME, key=client.username) | Q(scope=Scope.ADDRESS, key=client.address)
    ).update(failures=Greatest(F("failures") - own.failures, 0))


def login_throttle_purge() -> int:
    """Forget counters with no failure within LOGIN_FAILURE_WINDOW (they no longer delay
    anyone) whose notice period is over too, and e-mailed enrolment codes older than a day:
    a guesser's many addresses do not grow the table for ever. Returns the rows deleted."""
    now = timezone.now()
    stale = now - max(settings.LOGIN_FAILURE_WINDOW, settings.LOGIN_FAILURE_NOTICE_PERIOD)
    counters, _ = (
        LoginThrottle.objects.filter(Q(last_failure_at__lt=stale) | Q(last_failure_at=None))
        .filter(Q(notified_at__lt=stale) | Q(notified_at=None))
        .delete()
    )
    codes, _ = EnrolmentCode.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    return counters + codes


def _notify_owner(username: str, failures: int) -> None:
    """Tell the account's owner about the wrong passwords (nothing for unknown usernames)."""
    field = get_user_model().USERNAME_FIELD
    user = (
        get_user_model()
        .objects.filter(**{f"{field}__iexact": username}, is_active=True)
        .exclude(email="")
        .first()
    )
    if user is None:
        return
    hours = int(settings.LOGIN_FAILURE_NOTICE_PERIOD.total_seconds() // 3600)
    minutes = int(settings.LOGIN_DELAY_MAX.total_seconds() // 60)
    text = (
        f"Hello {user.get_full_name() or user.get_username()},\n\n"
        f'Someone entered a wrong password for your Collaboratory account "{user.get_username()}" '
        f"{failures} times in a row.\n\n"
        "If it was you, there is nothing to do: log in as usual.\n\n"
        "If it was not you, your account is still safe as long as nobody knows your password: "
        f"each further wrong password makes the next try wait longer (up to {minutes} "
        "minutes), while you can still log in from your own computer at any time. If your "
        "password might be known to someone else, change it after you log in, and tell your "
        "organisation's Collaboratory contact.\n\n"
        f"We send this notice at most once every {hours} hours.\n\nCollaboratory\n"
    )
    send_mail_message(
        subject="Wrong passwords for your Collaboratory account", text=text, to=[user.email]
    )


# --- the backend ----------------------------------------------------------------------------


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the throttle: an attempt during a delay is refused
    before the password is looked at (the login page shows when to try again); each result
    is counted."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        client = client_for(request, username)
        until = login_delayed_until(client)
        if until is not None:
            setattr(request, REFUSAL_ATTRIBUTE, Refusal(str(username)[:USERNAME_MAX], until))
            raise PermissionDenied("Logging in is delayed after too many wrong passwords.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(client=client)
        else:
            login_success_record(client=client)
        return user

    def get_user(self, user_id: Any) -> Any:
        """The session's user, as Django's model backend reads it, through a statement built
        and compiled once per process (``collaboratory.prepared.shaped_rows``): every page
        reads it, and building ``User.objects.get(pk=...)`` cost the ORM more than
        PostgreSQL took to answer it."""
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        field = get_user_model()._meta.pk
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if (low is not None and pk < low) or (high is not None and pk > high):
            return None  # no such id: the column cannot hold it (Django's get finds nobody)
        rows = shaped_rows("session-user", _session_user, (), {"pk": pk})
        user = rows[0] if rows else None
        return user if user is not None and self.user_can_authenticate(user) else None


def _session_user(*, pk: int) -> Any:
    return get_user_model()._default_manager.filter(pk=pk)
