"""Partner API tokens: issue, revoke, authenticate, check scopes, limit the rate.

A token is ``clb_`` + 43 URL-safe random characters (256 bits). It is shown once; the
database keeps its SHA-256 digest (random 256-bit secrets need no slow hash or pepper: a
leaked digest cannot be turned back into a token) and the first characters for display.
Revocation and expiry are checked on every request, so they take effect immediately.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.prepared import fetch_rows
from partners.models import ApiScope, ApiToken, Organisation
from partners.selectors import User

log = logging.getLogger(__name__)

TOKEN_PREFIX = "clb_"  # noqa: S105 - a public marker, not a secret
DISPLAY_PREFIX_LENGTH = 12
#: How stale ``last_used_at`` may get before a request writes it again (saves a write per call).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
def api_token_issue(
    *,
    organisation: Organisation,
    name: str,
    scopes: Iterable[str] = (ApiScope.AGREEMENTS_READ,),
    expires_at: dt.datetime | None = None,
    by: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``organisation``; return the row and the token, which is never
    stored and cannot be shown again."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in ApiScope.values]
    if unknown:
        raise DomainError(
            {"scopes": f"Unknown scope {unknown[0]!r}; choose from {', '.join(ApiScope.values)}."}
        )
    if not scopes:
        raise DomainError({"scopes": "Choose at least one scope."})
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError({"expires_at": "The expiry must be in the future."})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        organisation=organisation,
        name=name.strip(),
        prefix=token[:DISPLAY_PREFIX_LENGTH],
        digest=token_digest(token),
        scopes=scopes,
        expires_at=expires_at,
        created_by=by if by is not None and by.is_authenticated else None,
    )
    row.full_clean()
    row.save()
    audit_record(
        action=AuditAction.API_TOKEN_ISSUED,
        target=row,
        actor=by,
        organisation_id=organisation.pk,
        payload={
            "name": row.name,
            "prefix": row.prefix,
            "scopes": scopes,
            "expires_at": expires_at,
        },
    )
    log.info("API token %s issued for %s", row.prefix, organisation.slug)
    return row, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User | None = None) -> ApiToken:
    """Revoke ``token`` at once; revoking twice keeps the first time."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if updated:
        audit_record(
            action=AuditAction.API_TOKEN_REVOKED,
            target=token,
            actor=by,
            organisation_id=token.organisation_id,
            payload={"name": token.name, "prefix": token.prefix},
        )
        log.info("API token %s of organisation %s revoked", token.prefix, token.organisation_id)
    return token


# --- Authentication ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiClient:
    """``request.user`` of an API request: the organisation's software, not a person."""

    token: ApiToken
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    is_superuser: bool = False

    @property
    def organisation(self) -> Organisation:
        return self.token.organisation

    def __str__(self) -> str:
        return f"API token {self.token.prefix} of {self.token.organisation.slug}"


@transaction.atomic
def _mark_used(token: ApiToken, now: dt.datetime, request: Request) -> None:
    """Stamp ``last_used_at`` and record one audit entry per token per minute at most.

    Every API request writing a hash-chained entry would serialise all API traffic on the
    chain's lock and fill the table with near-identical rows; a minute's resolution still
    answers "was this token used, when, for what" (with the first path of the minute). The
    conditional update lets only one of several concurrent requests claim the minute.
    """
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    claimed = ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    if claimed:
        audit_record(
            action=AuditAction.API_TOKEN_USED,
            target=token,
            actor=ApiClient(token),
            organisation_id=token.organisation_id,
            payload={"prefix": token.prefix, "method": request.method, "path": request.path},
        )


@functools.cache
def _token_query() -> tuple[str, list[str], list[str]]:
    """The SQL of ``_token_with_organisation`` and the attribute names of its columns."""
    token_fields = [f.attname for f in ApiToken._meta.concrete_fields]
    organisation_fields = [f.attname for f in Organisation._meta.concrete_fields]
    columns = [f't."{f.column}"' for f in ApiToken._meta.concrete_fields] + [
        f'o."{f.column}"' for f in Organisation._meta.concrete_fields
    ]
    # Column and table names from the models' metadata; the digest is a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {ApiToken._meta.db_table} t "  # noqa: S608
        f"JOIN {Organisation._meta.db_table} o ON o.id = t.organisation_id WHERE t.digest = %s"
    )
    return sql, token_fields, organisation_fields


def _token_with_organisation(digest: str) -> ApiToken | None:
    """The token with ``digest`` and its organisation, or None. One plain query: the ORM's
    building of ``select_related(...).filter(digest=...)`` cost a millisecond of CPU, as much
    as the rest of a small API request. (No column of either table needs a converter.)"""
    sql, token_fields, organisation_fields = _token_query()
    rows = fetch_rows(sql, [digest])  # prepared on the server: every API request runs it
    if not rows:
        return None
    (row,) = rows
    token = ApiToken.from_db(connection.alias, token_fields, row[: len(token_fields)])
    organisation = Organisation.from_db(
        connection.alias, organisation_fields, row[len(token_fields) :]
    )
    ApiToken.organisation.field.set_cached_value(token, organisation)
    return token


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``. No header: anonymous (401 from the permission
    check). A wrong, revoked or expired token: 401 saying which."""

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer":
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <token>'.", code="invalid_authorization"
            )
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; use 'Authorization: Bearer <token>'.",
                code="invalid_authorization",
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Unknown token.", code="invalid_token") from None
        token = _token_with_organisation(token_digest(raw))
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown token.", code="invalid_token")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.", code="token_revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired.", code="token_expired")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            _mark_used(token, now, request)
        return ApiClient(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="collaboratory-api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organisation's API token, e.g. `Authorization: Bearer clb_…`.",
        }


# --- Scopes -----------------------------------------------------------------------------------


def request_token(request: Request) -> ApiToken:
    """The API token that authenticated ``request``; 401 when there is none (views behind
    ``IsAuthenticated`` never get that far without one)."""
    token = request.auth
    if not isinstance(token, ApiToken):
        raise exceptions.NotAuthenticated()
    return token


class HasRequiredScope(BasePermission):
    """The view's ``required_scope`` must be among the token's scopes (403 otherwise)."""

    code = "insufficient_scope"

    def has_permission(self, request: Request, view) -> bool:
        required = getattr(view, "required_scope", None)
        token = request.auth
        if required is None or not isinstance(token, ApiToken):
            return True
        if required in token.scopes:
            return True
        # The scope's name as documented ('agreements:read'), not the repr of the ApiScope
        # member a view names it with ("ApiScope.AGREEMENTS_READ").
        self.message = f"This token lacks the scope '{ApiScope(required).value}'."
        return False


# --- Rate limit -------------------------------------------------------------------------------

#: Where TokenRateThrottle leaves (limit, remaining, seconds to reset) for the response headers.
RATE_LIMIT_ATTRIBUTE = "rate_limit"

_PERIODS = {"s": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/minute"`` -> (600, 60)."""
    count, _, period = rate.partition("/")
    seconds = _PERIODS.get(period.strip().lower())
    if not count.strip().isdigit() or not seconds:
        raise ValueError(f"API_RATE_LIMIT={rate!r}: use e.g. '600/minute'.")
    return int(count), seconds


#: One atomic step of the sliding window (a Redis sorted set per token, scored by the time of
#: each admitted request in milliseconds). Drops what left the window, then admits the request
#: if fewer than the limit remain. Answers {admitted (1/0), requests in the window, ms until
#: the oldest of them leaves it}. A refused request is not recorded: retrying early does not
#: push the wait further out.
_SLIDING_WINDOW = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
local admitted = 0
if used < limit then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, window)
    used = used + 1
    admitted = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
local wait = 0
if oldest then wait = tonumber(oldest) + window - now end
return {admitted, used, wait}
"""


def _sliding_window(cache: Any) -> Any:
    """The sliding-window script bound to ``cache``'s own Redis connection pool (so its
    LOCATION and options), for the sorted-set commands the cache API does not offer. Made
    once per cache object (each thread has its own): a Redis client builds a table of some
    200 response callbacks when it is created, which cost more than the round trip. The
    script runs by its SHA (EVALSHA), loaded on first use."""
    script = getattr(cache, "_sliding_window_script", None)
    if script is None:
        client = cache._cache.get_client(None, write=True)
        script = client.register_script(_SLIDING_WINDOW)
        cache._sliding_window_script = script
    return script


class TokenRateThrottle(BaseThrottle):
    """A sliding window per token in Redis (shared by every web process): at most ``limit``
    requests in any ``period`` seconds (``API_RATE_LIMIT``), not per clock minute, so a burst
    on each side of a minute boundary cannot get twice the limit through.

    ``Retry-After`` (and ``RateLimit-Reset``) is the time until the oldest request in the
    window leaves it, rounded up to whole seconds: a request then is allowed.

    When Redis is unreachable the request is let through and the failure logged: an outage
    of the counter must not take the API down with it.
    """

    def allow_request(self, request: Request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        limit, period = parse_rate(settings.API_RATE_LIMIT)
        now_ms = round(time.time() * 1000)
        cache = caches["api"]
        key = cache.make_key(f"api-rate:{token.digest[:32]}:{period}")
        try:
            admitted, used, wait_ms = _sliding_window(cache)(
                keys=[key],
                args=[now_ms, period * 1000, limit, f"{now_ms}:{secrets.token_hex(4)}"],
            )
        except Exception:  # noqa: BLE001 - any cache failure: fail open, loudly
            log.exception("Rate-limit counter unavailable; letting the request through")
            return True
        reset = max(math.ceil(int(wait_ms) / 1000), 1)
        setattr(request, RATE_LIMIT_ATTRIBUTE, (limit, max(limit - int(used), 0), reset))
        if not admitted:
            self._wait = reset
            return False
        return True

    def wait(self) -> float:
        return getattr(self, "_wait", 1)
