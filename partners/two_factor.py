"""Two-factor authentication (TOTP, django-otp) for the people who commit an organisation.

The rule: a user who holds the **signatory** or **admin** role in any organisation must have
passed a TOTP check in their current session before they sign an agreement or manage their
organisation's API tokens and webhooks. Everyone else is never asked. The check lasts for the
session (django-otp keeps the verified device in it; sessions end after SESSION_COOKIE_AGE or
when the browser closes). The session also keeps which kind of factor passed and when
(``session_verify``), so a signature can record how its signer was authenticated.

One authenticator app (a confirmed ``TOTPDevice``) per user. Setting one up never writes
before the app has proved it shows the right code: the new secret waits in the session.
The password alone does not let anyone set up a *first* app (issue 19): the session must
first prove control of the account's e-mail address, through the invitation link or a
one-time code we e-mail (``enrolment_authorise``; 6 digits, 10 minutes, 5 tries, once, only
a keyed hash stored), or have just removed the old app with a code from it. Otherwise
whoever learnt a signatory's password could put their own phone on the account and sign.

With the app come ten single-use **backup codes** (a ``StaticDevice``), shown once, for the
day the phone is lost: each verifies one session in place of an app code. Only a keyed hash
of each is stored (HMAC with SECRET_KEY, so a copy of the database alone cannot be used to
guess them; rotating SECRET_KEY voids them and people make new ones).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from collaboratory.errors import DomainError
from collaboratory.mail import send_mail_message
from partners.models import EnrolmentCode, Membership, Role
from partners.selectors import AnyUser, User

ROLES_NEEDING_TWO_FACTOR = (Role.SIGNATORY, Role.ADMIN)
SETUP_KEY_SESSION_KEY = "two_factor_setup_key"
DEVICE_NAME = "Authenticator app"
CODE = re.compile(r"^\d{6}$")
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10
#: Lower-case letters and digits without the ones people confuse (0/o, 1/l/i).
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
BACKUP_CODE = re.compile(rf"^[{BACKUP_ALPHABET}]{{8}}$")
#: Backup codes made for this session and not yet shown (the settings page shows them once).
NEW_BACKUP_CODES_SESSION_KEY = "two_factor_new_backup_codes"
#: How and when this session passed its check: {"device": persistent id, "method", "at"}.
VERIFIED_SESSION_KEY = "two_factor_verified"
#: How a session proved who is using it (the values ``agreements.choices.AuthMethod`` stores).
METHOD_PASSWORD, METHOD_APP, METHOD_BACKUP_CODE = "password", "totp", "backup"

WHY_SIGN = "Signing commits your organisation, so it needs two-factor authentication."
WHY_API = "Managing API access needs two-factor authentication."


# --- the rule -------------------------------------------------------------------------------


def two_factor_required_for(user: AnyUser) -> bool:
    """Signatories and organisation admins (of any organisation) need a second factor."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, role__in=ROLES_NEEDING_TWO_FACTOR).exists()


def confirmed_device(user: AnyUser) -> TOTPDevice | None:
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def is_verified(request: HttpRequest) -> bool:
    """The session passed a TOTP check (set by OTPMiddleware from the session)."""
    check = getattr(request.user, "is_verified", None)
    return bool(check and check())


def session_verify(request: HttpRequest, device: TOTPDevice | StaticDevice) -> None:
    """Mark the session verified with ``device`` (``django_otp.login``) and remember which
    kind of second factor it was and when, for the record of what people sign."""
    otp_login(request, device)
    request.session[VERIFIED_SESSION_KEY] = {
        "device": device.persistent_id,
        "method": METHOD_BACKUP_CODE if isinstance(device, StaticDevice) else METHOD_APP,
        "at": timezone.now().isoformat(),
    }


@dataclass(frozen=True)
class SessionCheck:
    """How the person using this session proved who they are: ``method`` is ``password``,
    ``totp`` (authenticator app) or ``backup`` (a backup code); ``at`` is when they passed
    the second factor (None for a password alone, or a session verified before we kept it)."""

    method: str
    at: dt.datetime | None


def session_check(request: HttpRequest) -> SessionCheck:
    """The second factor this session passed, as ``session_verify`` recorded it. A verified
    session without that record (verified before it was kept) still names its device's kind,
    without a time; an unverified one was opened with a password alone."""
    device = getattr(request.user, "otp_device", None)
    if not is_verified(request) or device is None:
        return SessionCheck(METHOD_PASSWORD, None)
    method = METHOD_BACKUP_CODE if isinstance(device, StaticDevice) else METHOD_APP
    recorded = request.session.get(VERIFIED_SESSION_KEY)
    if isinstance(recorded, dict) and recorded.get("device") == device.persistent_id:
        try:
            at = dt.datetime.fromisoformat(str(recorded.get("at")))
        except ValueError:
            return SessionCheck(method, None)
        return SessionCheck(str(recorded.get("method") or method), at)
    return SessionCheck(method, None)


def needs_two_factor(
    *,
    why: str,
    applies: Callable[..., bool],
    return_to: Callable[..., str] | None = None,
) -> Callable:
    """Decorate a view (inside ``login_required``) that signs or manages API access.

    A signatory or admin whose session is not verified is sent to the verify page (or to
    set-up when they have no authenticator yet) with ``next`` pointing back and a message
    saying why. ``applies(request, *args, **kwargs)`` says whether the user may act on the
    addressed object at all: when it is false the view runs unchanged, so strangers still
    get the view's 404 rather than a hint that the object exists. ``return_to`` gives the
    page to come back to (default: this path; POST-only views name their form's page)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if (
                not is_verified(request)
                and two_factor_required_for(request.user)
                and applies(request, *args, **kwargs)
            ):
                back = return_to(request, *args, **kwargs) if return_to else request.path
                return challenge(request, why=why, next_url=back)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def safe_next_url(request: HttpRequest) -> str:
    """Where to go after the check: ``next`` (form or query) when it is a page of this site,
    else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def challenge(request: HttpRequest, *, why: str, next_url: str) -> HttpResponse:
    """Redirect to verify (or set up) with ``next`` and a message saying why."""
    if confirmed_device(request.user) is not None:
        messages.info(request, f"{why} Enter the 6-digit code from your authenticator app.")
        target = reverse("two-factor-verify")
    else:
        messages.info(
            request,
            f"{why} Set up an authenticator app on your phone once; it takes a minute.",
        )
        target = reverse("two-factor")
    return redirect(f"{target}?{urlencode({'next': next_url})}")


# --- proving control of the e-mail address before a first enrolment -------------------------

#: The session proved (how, when, for which user) that its user controls their e-mail address.
ENROLMENT_SESSION_KEY = "two_factor_enrolment_authorised"
#: How long that proof lets this session enrol a first authenticator app.
ENROLMENT_WINDOW = dt.timedelta(minutes=30)
#: "authenticator": the session just removed the old app with a code from it (a new phone).
ENROLMENT_HOWS = ("invitation", "email-code", "authenticator")
#: E-mailed codes: how long one works, how many wrong tries it takes, how many an hour.
ENROLMENT_CODE_LIFETIME = dt.timedelta(minutes=10)
ENROLMENT_CODE_ATTEMPTS = 5
ENROLMENT_CODES_PER_HOUR = 5


def enrolment_authorise(request: HttpRequest, *, how: str) -> None:
    """Remember, for ENROLMENT_WINDOW, that the user signed in to this session proved control
    of their e-mail address (``how``: "invitation" when they came through an invitation link,
    "email-code" when they typed a code we e-mailed them). A signatory's or admin's first
    authenticator app may only be enrolled in such a session: the password alone is not
    enough, since whoever holds it could otherwise enrol their own phone and sign."""
    if how not in ENROLMENT_HOWS:
        raise ValueError(f"how must be one of {', '.join(ENROLMENT_HOWS)}, not {how!r}")
    if not request.user.is_authenticated:
        raise ValueError("enrolment_authorise needs a signed-in user")
    request.session[ENROLMENT_SESSION_KEY] = {
        "user": str(request.user.pk),
        "how": how,
        "at": timezone.now().isoformat(),
    }


def enrolment_authorised(request: HttpRequest) -> bool:
    """This session's user proved control of their e-mail address within ENROLMENT_WINDOW
    (``enrolment_authorise``), in this session and as the same user."""
    recorded = request.session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(recorded, dict) or not request.user.is_authenticated:
        return False
    if recorded.get("user") != str(request.user.pk):
        return False
    try:
        at = dt.datetime.fromisoformat(str(recorded.get("at")))
    except ValueError:
        return False
    return timezone.now() - at < ENROLMENT_WINDOW


def enrolment_allowed(request: HttpRequest) -> bool:
    """May this session enrol a first authenticator app? Only once it proved control of the
    user's e-mail address (or removed the old app with a code from it): the password alone
    must not let whoever holds it put their own phone on the account. Asked of everyone,
    not only of today's signatories and admins, so that an app enrolled with a password
    alone cannot become a signing factor when its owner is later given the role."""
    return enrolment_authorised(request)


def masked_email(address: str) -> str:
    """``d•••••r@riverbend-usd.example``: enough to recognise one's own address."""
    local, _, domain = address.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}•@{domain}"
    return f"{local[0]}{'•' * min(len(local) - 2, 6)}{local[-1]}@{domain}"


def _enrolment_code_digest(user_id: object, code: str) -> str:
    """What is stored for an e-mailed code: a keyed hash bound to its user, never the code."""
    return salted_hmac(
        "collaboratory.two_factor.enrolment_code", f"{user_id}:{code}", algorithm="sha256"
    ).hexdigest()


def enrolment_code_pending(user: AnyUser) -> EnrolmentCode | None:
    """The latest e-mailed code, while it can still be used."""
    if not user.is_authenticated:
        return None
    latest = EnrolmentCode.objects.filter(user=user).order_by("-created_at", "-id").first()
    if (
        latest is None
        or latest.used_at is not None
        or latest.expires_at <= timezone.now()
        or latest.attempts >= ENROLMENT_CODE_ATTEMPTS
    ):
        return None
    return latest


@transaction.atomic
def enrolment_code_send(*, user: User) -> EnrolmentCode:
    """E-mail ``user`` a 6-digit code that proves control of their address for a first
    enrolment. It replaces any earlier one, works once, for ENROLMENT_CODE_LIFETIME, and
    takes ENROLMENT_CODE_ATTEMPTS wrong tries; at most ENROLMENT_CODES_PER_HOUR are sent an
    hour (a password thief cannot flood the owner's mailbox). Only a keyed hash is kept."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if not user.email:
        raise DomainError(
            "Your account has no e-mail address, so we cannot send you a code. Ask your "
            "organisation's admin to add it (or to invite you again), then try again."
        )
    now = timezone.now()
    if (
        EnrolmentCode.objects.filter(user=user, created_at__gt=now - dt.timedelta(hours=1)).count()
        >= ENROLMENT_CODES_PER_HOUR
    ):
        raise DomainError(
            f"We have sent you {ENROLMENT_CODES_PER_HOUR} codes in the last hour. Use the "
            "latest one, or ask for a new code in an hour."
        )
    # Earlier codes stop working: only the latest e-mail counts.
    EnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = EnrolmentCode(
        user=user,
        digest=_enrolment_code_digest(user.pk, code),
        created_at=now,
        expires_at=now + ENROLMENT_CODE_LIFETIME,
    )
    row.full_clean()
    row.save()
    minutes = int(ENROLMENT_CODE_LIFETIME.total_seconds() // 60)
    text = (
        f"Hello {user.get_full_name() or user.get_username()},\n\n"
        f"Your code to set up two-factor authentication on Collaboratory is:\n\n"
        f"    {code}\n\n"
        f"Enter it on the two-factor page within {minutes} minutes. It works once.\n\n"
        "If you did not ask for it, someone who knows your password may be trying to put "
        "their phone on your account. Do not share the code with anyone; change your "
        "password and tell your organisation's Collaboratory admin.\n\nCollaboratory\n"
    )
    address = user.email
    transaction.on_commit(
        lambda: send_mail_message(
            subject="Your code to set up two-factor authentication", text=text, to=[address]
        )
    )
    return row


def enrolment_code_check(*, request: HttpRequest, code: str) -> None:
    """Accept the e-mailed ``code`` for the signed-in user and authorise this session to
    enrol (``enrolment_authorise(how="email-code")``). A wrong code counts against the code
    (and the count is kept when the check fails); an expired, used or exhausted code is
    refused saying so."""
    cleaned = re.sub(r"[\s-]", "", code or "")
    if not CODE.match(cleaned):
        raise DomainError({"code": "Enter the 6-digit code from the e-mail we sent you."})
    user = request.user
    if not user.is_authenticated:
        raise DomainError("Log in first.")
    now = timezone.now()
    refusal: str | None = None
    with transaction.atomic():
        latest = (
            EnrolmentCode.objects.select_for_update()
            .filter(user=user)
            .order_by("-created_at", "-id")
            .first()
        )
        matches = latest is not None and constant_time_compare(
            latest.digest, _enrolment_code_digest(user.pk, cleaned)
        )
        if latest is None:
            refusal = "We have not sent you a code yet. Choose “E-mail me a code” first."
        elif latest.used_at is not None:
            refusal = (
                "That code was already used: each code works once. Ask for a new code."
                if matches
                else "That code is not right, and your last code was already used. Ask for a "
                "new code."
            )
        elif latest.expires_at <= now:
            minutes = int(ENROLMENT_CODE_LIFETIME.total_seconds() // 60)
            refusal = (
                f"That code has expired: codes work for {minutes} minutes. Ask for a new code."
            )
        elif latest.attempts >= ENROLMENT_CODE_ATTEMPTS:
            refusal = "Too many wrong codes for this e-mail. Ask for a new code."
        elif not matches:
            latest.attempts += 1
            latest.save(update_fields=["attempts"])
            left = ENROLMENT_CODE_ATTEMPTS - latest.attempts
            refusal = "That code is not right. Check the latest e-mail from Collaboratory; " + (
                f"{left} more tr{'ies' if left != 1 else 'y'} with this code."
                if left
                else "that was the last try with this code: ask for a new one."
            )
        else:
            latest.used_at = now
            latest.save(update_fields=["used_at"])
    if refusal is not None:
        raise DomainError({"code": refusal})
    enrolment_authorise(request, how="email-code")


# --- setting up -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Provisioning:
    """What the set-up page shows: the otpauth:// URI as a QR code and the secret as text."""

    uri: str
    secret: str  # base32, in groups of four for typing
    qr_path: str  # SVG path data of the dark modules, one unit per module
    qr_size: int  # modules per side, quiet zone included


def setup_key(request: HttpRequest) -> str:
    """The secret offered to this session until it is confirmed (hex, 20 random bytes)."""
    key = request.session.get(SETUP_KEY_SESSION_KEY)
    if not isinstance(key, str) or not _valid_key(key):
        key = random_hex(20)
        request.session[SETUP_KEY_SESSION_KEY] = key
    return key


def provisioning(user: User, key: str) -> Provisioning:
    device = TOTPDevice(user=user, key=key, name=DEVICE_NAME)
    uri = device.config_url
    secret = base64.b32encode(device.bin_key).decode()
    qr = segno.make(uri, error="m", micro=False)
    rows = list(qr.matrix_iter(border=4))
    # Only digits and the letters M, h, v, z: safe in an attribute without marking anything.
    path = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(rows) for x, dark in enumerate(row) if dark
    )
    return Provisioning(
        uri=uri,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr_path=path,
        qr_size=len(rows),
    )


def _valid_key(key: str) -> bool:
    try:
        return len(binascii.unhexlify(key)) == 20
    except (binascii.Error, ValueError):
        return False


def _clean_code(code: str) -> str:
    digits = re.sub(r"[\s-]", "", code or "")
    if not CODE.match(digits):
        raise DomainError({"code": "Enter the 6-digit code your authenticator app shows."})
    return digits


def _clean_backup_code(code: str) -> str | None:
    """The backup code typed (any case, spaces and dashes ignored), or None if it is none."""
    cleaned = re.sub(r"[\s-]", "", code or "").lower()
    return cleaned if BACKUP_CODE.match(cleaned) else None


def _backup_token(code: str) -> str:
    """What is stored for a backup code: a keyed hash, never the code."""
    return salted_hmac(
        "collaboratory.two_factor.backup_code", code, algorithm="sha256"
    ).hexdigest()[:16]


# --- backup codes -----------------------------------------------------------------------------


def backup_device(user: AnyUser) -> StaticDevice | None:
    if not user.is_authenticated:
        return None
    return StaticDevice.objects.filter(user=user, name=BACKUP_DEVICE_NAME).first()


def backup_codes_left(user: AnyUser) -> int:
    device = backup_device(user)
    return StaticToken.objects.filter(device=device).count() if device else 0


@transaction.atomic
def backup_codes_issue(*, user: User) -> list[str]:
    """Ten new single-use backup codes for ``user`` (who has an authenticator app),
    replacing any earlier ones. Returned once, formatted ``abcd-efgh``, to show; only their
    keyed hashes are kept."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if confirmed_device(user) is None:
        raise DomainError("Set up an authenticator app first; backup codes come with it.")
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes: list[str] = []
    while len(codes) < BACKUP_CODE_COUNT:
        code = get_random_string(8, BACKUP_ALPHABET)
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_backup_token(code)) for code in codes
    )
    return [f"{code[:4]}-{code[4:]}" for code in codes]


@transaction.atomic
def two_factor_device_confirm(*, user: User, key: str, code: str) -> TOTPDevice:
    """Bind the authenticator app holding ``key`` to ``user`` once it shows the current code.

    One app per user: a second is refused until the first is removed (with a code from it),
    so a stolen session cannot quietly swap in the thief's phone. The code used here is
    spent: it cannot verify a session afterwards."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise DomainError(
            "You already have an authenticator app. Remove it first (with a code from it)."
        )
    digits = _clean_code(code)
    if not _valid_key(key):
        raise DomainError("This set-up has expired. Scan the new QR code and try again.")
    device = TOTPDevice(user=user, key=key, name=DEVICE_NAME, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(digits), device.tolerance):
        raise DomainError(
            {
                "code": "That code does not match. Check the app shows “Collaboratory” with "
                "your username, and that your phone's clock is set automatically."
            }
        )
    device.last_t = totp.t()  # the code just typed cannot be replayed
    device.drift = totp.drift
    device.last_used_at = timezone.now()
    device.full_clean()
    device.save()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return device


# --- verifying and removing -----------------------------------------------------------------


def two_factor_check(*, user: User, code: str) -> TOTPDevice:
    """The user's device, if ``code`` is its current code and was not used before.

    Not atomic on purpose: django-otp's verify_token runs its own transaction, and a failed
    attempt must stay counted (its throttle doubles the wait after each wrong code). The
    caller marks the session verified (``django_otp.login``)."""
    device = confirmed_device(user)
    if device is None:
        raise DomainError("You have no authenticator app yet. Set one up first.")
    backup = _clean_backup_code(code)
    if backup is not None:
        return _backup_code_check(user, backup)
    digits = _clean_code(code)
    allowed, data = device.verify_is_allowed()
    if not allowed:
        raise DomainError({"code": _throttled_message(data or {})})
    verified = verify_token(user, device.persistent_id, digits)
    if verified is None:
        raise DomainError(
            {
                "code": "That code is not right, or it was already used. Wait for the next "
                "code in your authenticator app and enter it."
            }
        )
    return verified


def _backup_code_check(user: User, code: str) -> StaticDevice:
    """Spend one backup code (django-otp deletes the token it matched; wrong codes are
    throttled like app codes)."""
    device = backup_device(user)
    if device is None:
        raise DomainError({"code": "You have no backup codes. Enter the code from your app."})
    allowed, data = device.verify_is_allowed()
    if not allowed:
        raise DomainError({"code": _throttled_message(data or {})})
    verified = verify_token(user, device.persistent_id, _backup_token(code))
    if verified is None:
        raise DomainError(
            {
                "code": "That backup code is not right, or it was already used. Each code "
                "works once; check it against your saved list."
            }
        )
    return verified


def _throttled_message(data: dict) -> str:
    locked_until = data.get("locked_until")
    seconds = (
        max(1, int((locked_until - timezone.now()).total_seconds()) + 1) if locked_until else 1
    )
    return (
        f"Too many wrong codes in a row. Wait {seconds} second{'s' if seconds != 1 else ''} "
        "and enter the current code."
    )


def two_factor_device_remove(*, user: User, code: str) -> None:
    """Remove the user's authenticator app; a current code from it proves it is theirs.

    Signatories and admins are asked to set up a new one the next time they sign or manage
    API access (a session verified with the removed app no longer counts)."""
    two_factor_check(user=user, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()  # its backup codes go with it
