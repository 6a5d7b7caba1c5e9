"""Webhooks without the worker: SSRF guard, registration, signing, fan-out, attempts,
backoff, redirects, DNS rebinding and redelivery (the task body runs in-process)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from django.utils import timezone

from collaboratory.errors import DomainError
from partners import webhooks
from partners.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.api.receiver import Receiver

PUBLIC = "93.184.216.34"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def dns(monkeypatch):
    """``dns[host] = [addresses]`` answers lookups; anything else does not resolve."""
    table: dict[str, list[str]] = {}

    def resolve(host, port):
        if host in table:
            return table[host]
        if host.replace(".", "").isdigit() or ":" in host:
            return [host]
        raise OSError("no such host")

    monkeypatch.setattr(webhooks, "resolve_host", resolve)
    return table


@pytest.fixture
def queued(monkeypatch):
    """Deliveries queued for the worker: (delivery id, countdown, manual)."""
    calls: list[tuple[int, float, bool]] = []
    monkeypatch.setattr(
        webhooks,
        "_enqueue",
        lambda pk, countdown=0, manual=False: calls.append((pk, countdown, manual)),
    )
    return calls


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address the guard must refuse
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "ff02::1",
    ],
)
def test_the_guard_refuses_internal_addresses(dns, settings, address):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["hooks.example.org"] = [address]
    with pytest.raises(DomainError, match="internal address"):
        webhooks.check_destination("https://hooks.example.org/in")


def test_the_guard_refuses_a_host_with_any_internal_address(dns, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["mixed.example.org"] = [PUBLIC, "10.0.0.1"]
    with pytest.raises(DomainError, match="10.0.0.1"):
        webhooks.check_destination("https://mixed.example.org/")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.org/", "https://"),
        ("http://hooks.example.org/", "must use https"),
        ("https://user:pw@hooks.example.org/", "user name or password"),
        ("https://nowhere.invalid/", "cannot be resolved"),
        ("https:///path", "no host"),
        ("https://hooks.example.org:99999/", "not a valid URL"),
    ],
)
def test_the_guard_refuses_malformed_or_plain_urls(dns, settings, url, message):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["hooks.example.org"] = [PUBLIC]
    with pytest.raises(DomainError, match=message):
        webhooks.check_destination(url)


def test_the_guard_accepts_public_https_and_loopback_only_when_allowed(dns, settings):
    dns["hooks.example.org"] = [PUBLIC]
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    destination = webhooks.check_destination("https://hooks.example.org/in?x=1")
    assert (destination.host, destination.port, destination.target) == (
        "hooks.example.org",
        443,
        "/in?x=1",
    )
    with pytest.raises(DomainError):
        webhooks.check_destination("http://127.0.0.1:8000/hook")
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert webhooks.check_destination("http://127.0.0.1:8000/hook").addresses == ("127.0.0.1",)
    # Loopback is the only exception: private networks stay closed in development too.
    with pytest.raises(DomainError):
        webhooks.check_destination("http://10.0.0.1/hook")


def test_signatures_verify_and_tampering_or_old_timestamps_fail():
    body = b'{"id":"1"}'
    header = webhooks.signature_header("whsec_x", body)
    assert webhooks.verify_signature("whsec_x", header, body)
    assert not webhooks.verify_signature("whsec_y", header, body)
    assert not webhooks.verify_signature("whsec_x", header, body + b" ")
    old = webhooks.signature_header("whsec_x", body, timestamp=int(time.time()) - 3600)
    assert not webhooks.verify_signature("whsec_x", old, body)


def _endpoint(organisation, url, events=("agreement.status_changed",)):
    endpoint, _ = webhooks.webhook_endpoint_create(
        organisation=organisation, url=url, events=list(events)
    )
    return endpoint


def test_a_status_change_fans_out_to_the_parties_endpoints_with_one_event_id(
    api_world, queued, django_capture_on_commit_callbacks
):
    from agreements.signing.services import agreement_terminate

    riverbend, lakeshore = api_world["riverbend"], api_world["lakeshore"]
    hillcrest = api_world["orgs"]["hillcrest-state"]
    ours = _endpoint(riverbend, "http://127.0.0.1:9/a")
    partner = _endpoint(hillcrest, "http://127.0.0.1:9/b")
    _endpoint(riverbend, "http://127.0.0.1:9/c", events=["agreement.expiring"])
    outsider = _endpoint(lakeshore, "http://127.0.0.1:9/d")
    agreement = api_world["riverbend_agreement"]
    with django_capture_on_commit_callbacks(execute=True):
        agreement_terminate(
            agreement=agreement,
            by=api_world["users"]["director"],
            ground="immediate",  # the District, with immediate effect: the status changes now
            reason="Study ended early.",
        )
    deliveries = list(WebhookDelivery.objects.all())
    assert {d.endpoint_id for d in deliveries} == {ours.pk, partner.pk}
    assert outsider.pk not in {d.endpoint_id for d in deliveries}
    assert len({d.event_id for d in deliveries}) == 1
    payload = deliveries[0].payload
    assert payload["type"] == "agreement.status_changed"
    assert payload["id"] == str(deliveries[0].event_id)
    assert payload["data"]["agreement"]["id"] == str(agreement.pk)
    assert (payload["data"]["from"], payload["data"]["to"]) == ("active", "terminated")
    assert sorted(pk for pk, _, _ in queued) == sorted(d.pk for d in deliveries)


def test_an_event_without_subscribers_writes_nothing(api_world, queued):
    from agreements.partner_hooks import on_agreement_event

    on_agreement_event(
        "agreement.expiring", {"agreement_id": str(api_world["riverbend_agreement"].pk)}
    )
    assert not WebhookDelivery.objects.exists()
    assert queued == []


def _delivery(endpoint, **fields) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event="agreement.status_changed",
        payload={"id": "e", "type": "agreement.status_changed", "data": {"n": 1}},
        next_attempt_at=timezone.now(),
        **fields,
    )


def test_an_attempt_posts_signed_json_and_is_logged(api_world, receiver, queued):
    endpoint, secret = webhooks.webhook_endpoint_create(
        organisation=api_world["riverbend"], url=receiver.url, events=["agreement.expiring"]
    )
    delivery = _delivery(endpoint)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "delivered"
    (request,) = receiver.requests
    assert webhooks.verify_signature(
        secret, request.headers["Collaboratory-Signature"], request.body
    )
    assert json.loads(request.body) == delivery.payload
    assert request.headers["Collaboratory-Event-Id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.response_code, attempt.error) == (1, 200, "")
    # Running the task again sends nothing twice.
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_a_failed_attempt_is_retried_with_growing_backoff(
    api_world, queued, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 10
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 3600
    failing = Receiver(statuses=[500])
    try:
        endpoint = _endpoint(api_world["riverbend"], failing.url)
        delivery = _delivery(endpoint)
        waits = []
        for attempt in range(1, 4):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            with django_capture_on_commit_callbacks(execute=True):
                assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "retrying"
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
            waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
        assert 4 <= waits[0] <= 10 and 9 <= waits[1] <= 20 and 19 <= waits[2] <= 40
        assert [c for _, c, _ in queued] == pytest.approx(waits, abs=1)
        assert delivery.last_error == "The endpoint answered HTTP 500."
        assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3
    finally:
        failing.close()


def test_retries_stop_after_the_retry_window(api_world, queued):
    failing = Receiver(statuses=[503])
    try:
        delivery = _delivery(_endpoint(api_world["riverbend"], failing.url))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=24)
        )
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"
        delivery.refresh_from_db()
        assert delivery.next_attempt_at is None
        assert queued == []
    finally:
        failing.close()


def test_redirects_are_not_followed(api_world, queued):
    redirecting = Receiver(statuses=[302], location="http://169.254.169.254/latest/meta-data")
    try:
        delivery = _delivery(_endpoint(api_world["riverbend"], redirecting.url))
        webhooks.webhook_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "retrying"
        assert "Redirects are not followed" in delivery.last_error
        assert len(redirecting.requests) == 1
    finally:
        redirecting.close()


def test_dns_rebinding_after_registration_is_refused_at_delivery(api_world, dns, queued, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    dns["rebind.example.org"] = [PUBLIC]
    endpoint = _endpoint(api_world["riverbend"], "https://rebind.example.org/hook")
    dns["rebind.example.org"] = ["127.0.0.1"]
    delivery = _delivery(endpoint)
    webhooks.webhook_attempt(delivery_id=delivery.pk)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.error.startswith("Refused:")
    assert "internal address" in attempt.error
    assert attempt.response_code is None


def test_a_worker_that_died_mid_attempt_leaves_a_lease_that_runs_out(api_world, receiver, queued):
    delivery = _delivery(_endpoint(api_world["riverbend"], receiver.url))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", next_attempt_at=timezone.now() + dt.timedelta(minutes=1)
    )
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "skipped"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert webhooks.webhook_deliveries_enqueue_due() == 1
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "delivered"


def test_redelivery_by_hand_reuses_the_event_and_logs_a_manual_attempt(
    api_world, receiver, queued, django_capture_on_commit_callbacks
):
    delivery = _delivery(_endpoint(api_world["riverbend"], receiver.url))
    webhooks.webhook_attempt(delivery_id=delivery.pk)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_redeliver(delivery=delivery)
    assert queued[-1] == (delivery.pk, 0, True)
    webhooks.webhook_attempt(delivery_id=delivery.pk, manual=True)
    first, second = receiver.requests
    assert first.headers["Collaboratory-Event-Id"] == second.headers["Collaboratory-Event-Id"]
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "manual")
    ) == [(1, False), (2, True)]
    assert WebhookDelivery.objects.filter(event_id=delivery.event_id).count() == 1


def test_a_disabled_endpoint_gets_nothing_more(api_world, receiver, queued):
    endpoint = _endpoint(api_world["riverbend"], receiver.url)
    delivery = _delivery(endpoint, status="retrying")
    webhooks.webhook_endpoint_disable(endpoint=endpoint)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    with pytest.raises(DomainError, match="disabled"):
        webhooks.webhook_redeliver(delivery=delivery)
    assert receiver.requests == []


@pytest.mark.parametrize("left_as", ["retrying", "sending"])
def test_a_delivery_in_flight_when_its_endpoint_was_disabled_is_settled_by_the_sweep(
    api_world, receiver, queued, left_as
):
    # Disabling fails the waiting deliveries but leaves the one being sent to its worker,
    # which then schedules a retry ("retrying") or dies holding the lease ("sending"). The
    # claim skips a disabled endpoint, so the sweep must settle it, not queue it forever.
    endpoint = _endpoint(api_world["riverbend"], receiver.url)
    delivery = _delivery(endpoint, status="sending")
    webhooks.webhook_endpoint_disable(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=left_as, next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    waiting = _delivery(_endpoint(api_world["riverbend"], receiver.url))
    assert webhooks.webhook_deliveries_enqueue_due() == 1
    assert [pk for pk, _, _ in queued] == [waiting.pk]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert delivery.last_error == "Endpoint disabled."
    assert receiver.requests == []


def test_the_same_event_cannot_be_delivered_twice_to_one_endpoint(api_world):
    from django.db import IntegrityError, transaction

    endpoint = WebhookEndpoint.objects.create(
        organisation=api_world["riverbend"],
        url="https://hooks.example.org/",
        secret="s",
        events=["agreement.expiring"],
    )
    delivery = _delivery(endpoint)
    with pytest.raises(IntegrityError), transaction.atomic():
        _delivery_copy = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=delivery.event_id, event=delivery.event, payload={}
        )
        assert _delivery_copy is None
