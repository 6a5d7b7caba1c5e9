"""Webhooks: endpoints of organisations, signed deliveries, retries, and the SSRF guard.

- Registration accepts https URLs whose host resolves to public addresses only; plain http
  and loopback only when ``WEBHOOK_ALLOW_LOOPBACK`` is on (DEBUG, tests).
- The guard runs again at every attempt and the connection goes to the address that was
  just checked (no second DNS lookup), so DNS rebinding cannot point a delivery inside.
  Redirects are never followed.
- Each delivery is signed: ``Collaboratory-Signature: t=<unix time>,v1=<hex>`` where
  ``v1 = HMAC-SHA256(secret, "<t>.<body>")``.
- A failed attempt is retried with exponential backoff and jitter until
  ``WEBHOOK_RETRY_WINDOW_SECONDS`` (24 h) after the event; every attempt is a
  ``WebhookAttempt`` row. Redelivery by hand reuses the delivery (same event id).
- Limits (an outside probe aimed hundreds of endpoints at the platform itself, issue 18): an
  organisation has at most ``WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION`` active endpoints and one
  active endpoint per URL; after ``WEBHOOK_BREAKER_FAILURES`` failed attempts in a row the
  circuit breaker disables an endpoint, records why, audits it and e-mails the organisation's
  admins; at most ``WEBHOOK_HOST_ATTEMPTS_PER_MINUTE`` attempts a minute go to one host, from
  all organisations together: the rest wait (postponed, neither failed nor counted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.mail import send_mail_message
from partners.models import (
    DeliveryStatus,
    Membership,
    Organisation,
    Role,
    TrioMember,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from partners.selectors import User

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Collaboratory-Signature"
USER_AGENT = "Collaboratory-Webhooks/1"
#: Retries due sooner than this are queued with a Celery countdown; later ones are picked up
#: by the periodic ``webhooks_enqueue_due`` (a long countdown would outlive the broker's
#: visibility timeout).
COUNTDOWN_LIMIT_SECONDS = 300
_random = secrets.SystemRandom()


# --- The SSRF guard -----------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    addresses: tuple[str, ...]


def loopback_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBHOOK_ALLOW_LOOPBACK", False))


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_destination(url: str) -> Destination:
    """Refuse URLs a webhook must not reach; return where to connect.

    Raises ``DomainError`` keyed ``url`` with what is wrong.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DomainError({"url": f"This is not a valid URL ({exc})."}) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise DomainError({"url": "Webhook URLs must start with https://."})
    if parts.username or parts.password:
        raise DomainError({"url": "Webhook URLs must not contain a user name or password."})
    host = parts.hostname
    if not host:
        raise DomainError({"url": "The URL has no host name."})
    port = port or (443 if scheme == "https" else 80)
    try:
        resolved = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise DomainError({"url": f"The host name {host!r} cannot be resolved."}) from None
    if not resolved:
        raise DomainError({"url": f"The host name {host!r} cannot be resolved."})
    allow_loopback = loopback_allowed()
    addresses = []
    for text in resolved:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        loopback = address.is_loopback or (
            isinstance(address, ipaddress.IPv6Address)
            and address.ipv4_mapped is not None
            and address.ipv4_mapped.is_loopback
        )
        if not (_is_public(address) or (loopback and allow_loopback)):
            raise DomainError(
                {
                    "url": f"{host} resolves to {address}, an internal address; webhooks may "
                    "only reach public addresses."
                }
            )
        addresses.append((str(address), loopback))
    if scheme == "http" and not (allow_loopback and all(lb for _, lb in addresses)):
        raise DomainError(
            {"url": "Webhook URLs must use https (plain http only to loopback in development)."}
        )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(scheme, host, port, target, tuple(a for a, _ in addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the already checked address, whatever DNS says now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``body`` once, after the SSRF guard; no redirects. Returns (status, excerpt)."""
    destination = check_destination(url)
    connection_class = (
        _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    )
    connection = connection_class(
        destination.host,
        destination.port,
        address=destination.addresses[0],
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(500).decode("utf-8", "replace")
        return response.status, excerpt
    finally:
        connection.close()


# --- Signing ----------------------------------------------------------------------------------


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does (documented in the README): recompute and compare in constant
    time, and refuse old timestamps so a captured delivery cannot be replayed later."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), fields.get("v1", ""))


# --- Attempts per destination host -----------------------------------------------------------

#: The host cap's window. A sliding window, estimated from two fixed ones (this minute's count
#: plus the previous minute's, weighted by how much of it still lies within the last 60 s): no
#: burst of twice the cap across a minute boundary, two small counters per host.
HOST_WINDOW_SECONDS = 60
# Atomic in Redis: count an attempt only when it is let through, so waiting deliveries that
# ask again do not keep the host's window full.
_HOST_SLOT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current >= tonumber(ARGV[2]) then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
    return _redis_client


def destination_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_slot_take(host: str, *, now: float | None = None) -> bool:
    """Count one attempt to ``host`` if it is under ``WEBHOOK_HOST_ATTEMPTS_PER_MINUTE``.

    Shared by every worker through Redis. With Redis unreachable the attempt goes ahead (and
    the failure is logged): the cap protects others from us, it must not stop deliveries.
    """
    now = time.time() if now is None else now
    window, into = divmod(now, HOST_WINDOW_SECONDS)
    previous_weight = 1 - into / HOST_WINDOW_SECONDS
    key = f"webhook-host:{host}:"
    try:
        allowed = _redis().eval(
            _HOST_SLOT_SCRIPT,
            2,
            f"{key}{int(window)}",
            f"{key}{int(window) - 1}",
            str(previous_weight),
            str(settings.WEBHOOK_HOST_ATTEMPTS_PER_MINUTE),
            str(HOST_WINDOW_SECONDS * 2),
        )
    except redis.RedisError:
        log.exception("Webhook host counter unavailable; attempting without the host cap")
        return True
    return bool(allowed)


def host_wait_seconds(attempt: int, *, now: float | None = None) -> float:
    """How long a delivery waits when its host is at the cap: into the next window, spread
    over it (so the waiting ones do not all return at once), or its backoff if longer."""
    now = time.time() if now is None else now
    to_next_window = HOST_WINDOW_SECONDS - now % HOST_WINDOW_SECONDS
    spread = to_next_window + _random.uniform(0, HOST_WINDOW_SECONDS)
    return max(spread, backoff_seconds(max(attempt, 1)))


# --- Selectors --------------------------------------------------------------------------------


def endpoints_of_organisation(organisation_id: int) -> QuerySet[WebhookEndpoint]:
    """An organisation's own endpoints; anyone else's are invisible (404)."""
    return WebhookEndpoint.objects.filter(organisation_id=organisation_id).order_by(
        "-created_at", "-id"
    )


def deliveries_of_organisation(organisation_id: int) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__organisation_id=organisation_id)


def deliveries_of_endpoint(endpoint_id: int) -> QuerySet[WebhookDelivery]:
    """Newest first, each with its attempt log (2 queries per page)."""
    return (
        WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .order_by("-created_at", "-id")
    )


# --- Services ---------------------------------------------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in WebhookEvent.values]
    if unknown:
        raise DomainError({"events": f"Unknown event {unknown[0]!r}."})
    if not chosen:
        raise DomainError({"events": "Choose at least one event."})
    return chosen


def normalise_url(url: str) -> str:
    """The URL as stored and compared: trimmed, scheme and host in lower case (the guard
    has refused user names and passwords, so the whole network location may be lowered)."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def _claim_endpoint_slot(organisation_id: int, *, url: str, excluding: int | None = None) -> None:
    """Refuse an active endpoint beyond ``WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION`` or a
    second active one for the same URL.

    Locks the organisation's row until the transaction ends, so concurrent registrations
    (and re-enablings) of one organisation queue up and each counts the ones before it.
    """
    list(
        Organisation.objects.select_for_update(no_key=True)
        .filter(pk=organisation_id)
        .values_list("pk", flat=True)
    )
    active = WebhookEndpoint.objects.filter(organisation_id=organisation_id, active=True)
    if excluding is not None:
        active = active.exclude(pk=excluding)
    if active.filter(url=url).exists():
        raise DomainError(
            {
                "url": "Your organisation already has an active webhook endpoint with this URL; "
                "one endpoint receives every event you choose for it."
            }
        )
    limit = settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION
    if active.count() >= limit:
        raise DomainError(
            f"Your organisation already has {limit} active webhook endpoints, the most "
            "allowed; disable one before adding another.",
            code="webhook_endpoint_limit",
        )


@transaction.atomic
def webhook_endpoint_create(
    *,
    organisation: Organisation,
    url: str,
    events: Iterable[str],
    description: str = "",
    by: User | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint after the SSRF guard; return it and its signing secret.

    Within the organisation's limits: ``WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION`` active
    endpoints, one active endpoint per URL (checked under a lock of the organisation's row).
    """
    check_destination(url)
    url = normalise_url(url)
    _claim_endpoint_slot(organisation.pk, url=url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        organisation=organisation,
        url=url,
        secret=secret,
        events=_clean_events(events),
        description=description.strip(),
        created_by=by if by is not None and by.is_authenticated else None,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


def _disable(endpoint: WebhookEndpoint, *, reason: str, by: Any, breaker: bool) -> None:
    """Stop an endpoint (its row locked by the caller): waiting deliveries fail, the log
    stays, the audit chain says who or what stopped it and why. The breaker's stops are
    e-mailed to the organisation's admins."""
    endpoint.active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason[:300]
    endpoint.breaker_notice_pending = breaker
    endpoint.save(
        update_fields=[
            "active",
            "disabled_at",
            "disabled_reason",
            "breaker_notice_pending",
            "consecutive_failures",
        ]
    )
    _fail_waiting_deliveries(endpoint.pk)
    audit_record(
        action=AuditAction.WEBHOOK_DISABLED,
        target=endpoint,
        actor=by,
        actor_label="webhook circuit breaker" if breaker else "",
        organisation_id=endpoint.organisation_id,
        payload={
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
            "consecutive_failures": endpoint.consecutive_failures,
        },
    )


def _fail_waiting_deliveries(endpoint_id: int) -> None:
    WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
    ).update(status=DeliveryStatus.FAILED, last_error="Endpoint disabled.", next_attempt_at=None)


@transaction.atomic
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, by: Any = None) -> WebhookEndpoint:
    """No further deliveries; pending ones are abandoned. The log stays."""
    locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    if locked.active:
        _disable(locked, reason="Disabled by an administrator.", by=by, breaker=False)
    else:
        _fail_waiting_deliveries(locked.pk)
    return locked


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, by: Any) -> WebhookEndpoint:
    """Deliver new events to a disabled endpoint again; the breaker counts from zero.

    Within the same limits as registering it: the most active endpoints per organisation and
    one active endpoint per URL. Deliveries that failed meanwhile stay failed (redeliver them
    by hand).
    """
    _claim_endpoint_slot(endpoint.organisation_id, url=endpoint.url, excluding=endpoint.pk)
    locked = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
    if locked.active:
        return locked
    previous_reason = locked.disabled_reason
    locked.active = True
    locked.consecutive_failures = 0
    locked.disabled_at = None
    locked.disabled_reason = ""
    locked.breaker_notice_pending = False
    locked.save(
        update_fields=[
            "active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "breaker_notice_pending",
        ]
    )
    audit_record(
        action=AuditAction.WEBHOOK_ENABLED,
        target=locked,
        actor=by,
        organisation_id=locked.organisation_id,
        payload={"url": locked.url, "was_disabled_because": previous_reason},
    )
    return locked


def _breaker_count(endpoint: WebhookEndpoint, *, delivered: bool, error: str) -> bool:
    """Count an attempt's outcome on its endpoint (row locked by the caller); after
    ``WEBHOOK_BREAKER_FAILURES`` failures in a row disable it. True when it tripped now."""
    if delivered:
        if endpoint.consecutive_failures:
            endpoint.consecutive_failures = 0
            endpoint.save(update_fields=["consecutive_failures"])
        return False
    if not endpoint.active:
        return False
    endpoint.consecutive_failures += 1
    if endpoint.consecutive_failures < settings.WEBHOOK_BREAKER_FAILURES:
        endpoint.save(update_fields=["consecutive_failures"])
        return False
    _disable(
        endpoint,
        reason=f"Disabled automatically after {endpoint.consecutive_failures} failed "
        f"attempts in a row. The last: {error}",
        by=None,
        breaker=True,
    )
    # robust: the endpoint row is the outbox; beat's sweep sends what the broker missed.
    transaction.on_commit(_enqueue_breaker_notices, robust=True)
    return True


def _enqueue_breaker_notices() -> None:
    from partners.tasks import send_webhook_breaker_notices

    send_webhook_breaker_notices.delay()


def organisation_admin_emails(organisation_id: int) -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(
                organisation_id=organisation_id, role=Role.ADMIN, user__is_active=True
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def webhook_breaker_notices_send(*, limit: int = 100) -> int:
    """E-mail the admins of each organisation whose endpoint the breaker disabled.

    The endpoint row is the outbox (``breaker_notice_pending``). Rows are claimed with SKIP
    LOCKED, so two workers never send the same notice; a worker that dies before committing
    leaves the notice for beat's next sweep. Returns how many endpoints were reported.
    """
    with transaction.atomic():
        endpoints = list(
            WebhookEndpoint.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(breaker_notice_pending=True)
            .select_related("organisation")
            .order_by("pk")[:limit]
        )
        for endpoint in endpoints:
            recipients = organisation_admin_emails(endpoint.organisation_id)
            if not recipients:
                continue
            page = reverse("organisation-webhook", args=[endpoint.organisation.slug, endpoint.pk])
            send_mail_message(
                subject=f"Webhook disabled: {endpoint.url}",
                text=(
                    f"The webhook endpoint {endpoint.url} of {endpoint.organisation.name} was "
                    f"disabled.\n\n{endpoint.disabled_reason}\n\nNo further events are sent to "
                    "it, and deliveries that were waiting are marked failed. Once the receiver "
                    "answers again, enable the endpoint and redeliver what it missed:\n"
                    f"{settings.SITE_URL}{page}\n"
                ),
                to=recipients,
            )
        WebhookEndpoint.objects.filter(pk__in=[e.pk for e in endpoints]).update(
            breaker_notice_pending=False
        )
    return len(endpoints)


def _enqueue(delivery_id: int, *, countdown: float = 0, manual: bool = False) -> None:
    from partners.tasks import deliver_webhook

    deliver_webhook.apply_async(args=(delivery_id,), kwargs={"manual": manual}, countdown=countdown)


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, by hand: same row, same event id, attempts continue."""
    # Only the delivery's row: an attempt locks its endpoint before its delivery.
    locked = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if not locked.endpoint.active:
        raise DomainError("This endpoint is disabled; enable it or register a new one.")
    if locked.status == DeliveryStatus.SENDING:
        raise DomainError("This delivery is being sent right now; try again in a moment.")
    locked.status = DeliveryStatus.PENDING
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["status", "next_attempt_at"])
    # robust: with the broker down the row stays due and beat's sweep sends it.
    transaction.on_commit(lambda: _enqueue(locked.pk, manual=True), robust=True)
    return WebhookDelivery.objects.prefetch_related("attempt_log").get(pk=locked.pk)


#: What a webhook says about the agreement an event is about, by the agreement's id (None
#: when it is gone). Agreements passes it when it subscribes (agreements/partner_hooks.py):
#: partners sits below agreements and does not import it.
type AgreementResource = Callable[[str], dict[str, Any] | None]


def on_agreement_event(
    event: str, payload: dict[str, Any], *, agreement_resource: AgreementResource
) -> None:
    """Fan an agreement event out to the parties' endpoints that subscribe to it.

    Runs after the emitting transaction committed (agreements.events). One event id for all
    endpoints; delivery rows are written here and queued once they are committed.
    """
    agreement_id = payload.get("agreement_id")
    if agreement_id is None:
        return
    parties = TrioMember.objects.filter(trio__agreements__pk=agreement_id).values("organisation_id")
    endpoints = list(
        WebhookEndpoint.objects.filter(
            organisation_id__in=parties, active=True, events__contains=[event]
        )
    )
    if not endpoints:
        return
    agreement = agreement_resource(str(agreement_id))
    if agreement is None:
        return
    event_id = uuid.uuid4()
    now = timezone.now()
    data = {key: value for key, value in payload.items() if key != "agreement_id"}
    body = {
        "id": str(event_id),
        "type": event,
        "created_at": now.isoformat(),
        "data": {"agreement": agreement, **data},
    }
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event=event,
                    payload=body,
                    next_attempt_at=now,
                )
                for endpoint in endpoints
            ]
        )
        for delivery in deliveries:
            transaction.on_commit(partial(_enqueue, delivery.pk), robust=True)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random."""
    base = float(settings.WEBHOOK_BACKOFF_BASE_SECONDS)
    ceiling = float(settings.WEBHOOK_BACKOFF_MAX_SECONDS)
    delay = min(ceiling, base * 2 ** max(attempt - 1, 0))
    return delay / 2 + _random.uniform(0, delay / 2)


def _claimable(now: dt.datetime) -> Q:
    # Due and waiting, or claimed by a worker whose lease ran out (it crashed).
    return Q(next_attempt_at__lte=now) & Q(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]
    )


def webhook_attempt(*, delivery_id: int, manual: bool = False) -> str:
    """Make one attempt of a delivery if it is due; record it; schedule the next.

    Safe to run twice: the delivery is claimed with a conditional update (and a lease
    against crashed workers), so two workers never send the same attempt. A destination host
    at its cap postpones the delivery instead (``_postpone``); every attempt made counts
    towards its endpoint's circuit breaker.
    """
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 30)
    claimed = (
        WebhookDelivery.objects.filter(_claimable(now), pk=delivery_id)
        .exclude(endpoint__active=False)
        .update(status=DeliveryStatus.SENDING, next_attempt_at=lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        _requeue_if_early(delivery_id, now)
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    host = destination_host(endpoint.url)
    if not host_slot_take(host):
        return _postpone(delivery, host=host, manual=manual)
    body = encode_payload(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Collaboratory-Event": delivery.event,
        "Collaboratory-Event-Id": str(delivery.event_id),
        "Collaboratory-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
    }
    started = timezone.now()
    clock = time.monotonic()
    code: int | None = None
    excerpt = error = ""
    try:
        code, excerpt = post_json(endpoint.url, body, headers)
        if not 200 <= code < 300:
            error = f"The endpoint answered HTTP {code}."
            if 300 <= code < 400:
                error += " Redirects are not followed."
    except DomainError as exc:
        error = "Refused: " + " ".join(m for ms in exc.message_dict.values() for m in ms)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    duration_ms = int((time.monotonic() - clock) * 1000)
    delivered = not error
    with transaction.atomic():
        # The endpoint's row first, as webhook_endpoint_disable locks it before the deliveries.
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started,
            duration_ms=duration_ms,
            response_code=code,
            response_excerpt=excerpt[:500],
            error=error,
            manual=manual,
        )
        finished = timezone.now()
        if delivered:
            changes: dict[str, Any] = {
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": finished,
                "next_attempt_at": None,
            }
            delay = None
        else:
            delay = backoff_seconds(delivery.attempts)
            retry_at = finished + dt.timedelta(seconds=delay)
            window = dt.timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
            # Disabled meanwhile: its waiting deliveries have failed, and so does this one.
            give_up = retry_at - delivery.created_at > window or not endpoint.active
            changes = {
                "status": DeliveryStatus.FAILED if give_up else DeliveryStatus.RETRYING,
                "next_attempt_at": None if give_up else retry_at,
            }
            if give_up:
                delay = None
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            response_code=code, last_error=error, **changes
        )
        if _breaker_count(endpoint, delivered=delivered, error=error):
            # Failed with the endpoint's other waiting deliveries.
            changes["status"], delay = DeliveryStatus.FAILED, None
        if delay is not None and delay <= COUNTDOWN_LIMIT_SECONDS:
            transaction.on_commit(lambda: _enqueue(delivery.pk, countdown=delay))
    log.info(
        "Webhook delivery %s attempt %s: %s",
        delivery.pk,
        delivery.attempts,
        "delivered" if delivered else error,
    )
    return "delivered" if delivered else changes["status"]


def _postpone(delivery: WebhookDelivery, *, host: str, manual: bool) -> str:
    """Its host had ``WEBHOOK_HOST_ATTEMPTS_PER_MINUTE`` attempts in the last minute: give
    the claim back and wait. Nothing was sent, so no attempt is logged, the attempt count is
    restored and the endpoint's breaker does not count it. Only the retry window ends it."""
    attempts = delivery.attempts - 1
    delay = host_wait_seconds(attempts + 1)
    retry_at = timezone.now() + dt.timedelta(seconds=delay)
    window = dt.timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    cap = settings.WEBHOOK_HOST_ATTEMPTS_PER_MINUTE
    busy = f"{host} already had {cap} webhook attempts in the last minute"
    if retry_at - delivery.created_at > window:
        status, next_attempt_at, note = DeliveryStatus.FAILED, None, f"Gave up: {busy}."
    else:
        status = DeliveryStatus.RETRYING if attempts else DeliveryStatus.PENDING
        next_attempt_at, note = retry_at, f"Postponed: {busy}."
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=status, next_attempt_at=next_attempt_at, attempts=attempts, last_error=note
    )
    if next_attempt_at is not None and delay <= COUNTDOWN_LIMIT_SECONDS:
        _enqueue(delivery.pk, countdown=delay, manual=manual)
    log.info("Webhook delivery %s postponed %.0f s: %s", delivery.pk, delay, busy)
    return "postponed" if next_attempt_at is not None else status


def _requeue_if_early(delivery_id: int, now: dt.datetime) -> None:
    """A countdown that fired a little before ``next_attempt_at``: try again then."""
    row = (
        WebhookDelivery.objects.filter(
            pk=delivery_id,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
            next_attempt_at__gt=now,
        )
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if row is not None:
        remaining = (row - now).total_seconds()
        if remaining <= COUNTDOWN_LIMIT_SECONDS:
            _enqueue(delivery_id, countdown=remaining + 0.05)


def webhook_deliveries_enqueue_due(*, limit: int = 500) -> int:
    """Queue deliveries that are due (long retries, or a crashed worker's leases).

    A due delivery of a disabled endpoint fails, as disabling fails the waiting ones: it
    was being sent then, and its worker scheduled a retry or died. The claim skips it, so
    queued it would never settle and, oldest first, would crowd out those that can go.
    """
    now = timezone.now()
    WebhookDelivery.objects.filter(_claimable(now), endpoint__active=False).update(
        status=DeliveryStatus.FAILED, last_error="Endpoint disabled.", next_attempt_at=None
    )
    ids = list(
        WebhookDelivery.objects.filter(_claimable(now), endpoint__active=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        _enqueue(pk)
    return len(ids)
