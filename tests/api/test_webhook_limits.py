"""Webhook limits (issue 18, an outside probe): the most active endpoints per organisation
(browser, API and concurrent registrations), one active endpoint per URL, the circuit
breaker that disables a failing endpoint and tells the organisation's admins, and the cap on
attempts per minute to one destination host, which postpones rather than fails."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import AuditEntry
from collaboratory.errors import DomainError
from partners import webhooks
from partners.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.api.receiver import Receiver
from tests.conftest import otp_verified

SETTINGS_URL = "/organisations/riverbend-usd/api/"


@pytest.fixture
def queued(monkeypatch):
    """Deliveries queued for the worker, and breaker notices queued: nothing reaches Celery."""
    calls: list[tuple[int, float, bool]] = []
    monkeypatch.setattr(
        webhooks,
        "_enqueue",
        lambda pk, countdown=0, manual=False: calls.append((pk, countdown, manual)),
    )
    monkeypatch.setattr(webhooks, "_enqueue_breaker_notices", lambda: calls.append((0, 0, False)))
    return calls


@pytest.fixture
def failing():
    server = Receiver(statuses=[500])
    yield server
    server.close()


def _create(organisation, url, events=("agreement.status_changed",)):
    endpoint, _ = webhooks.webhook_endpoint_create(
        organisation=organisation, url=url, events=list(events)
    )
    return endpoint


def _delivery(endpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event="agreement.status_changed",
        payload={"id": "e", "type": "agreement.status_changed", "data": {}},
        next_attempt_at=timezone.now(),
    )


def _due_now(delivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


# --- The most endpoints per organisation ------------------------------------------------------


def test_an_organisation_has_at_most_the_limit_of_active_endpoints(api_world, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = 3
    riverbend = api_world["riverbend"]
    first, *_ = [_create(riverbend, f"http://127.0.0.1:9/{n}") for n in range(3)]
    with pytest.raises(DomainError, match="already has 3 active webhook endpoints") as refused:
        _create(riverbend, "http://127.0.0.1:9/more")
    assert refused.value.code == "webhook_endpoint_limit"
    assert WebhookEndpoint.objects.filter(organisation=riverbend).count() == 3
    # Another organisation's endpoints do not count; a disabled one frees its place.
    _create(api_world["lakeshore"], "http://127.0.0.1:9/more")
    webhooks.webhook_endpoint_disable(endpoint=first)
    _create(riverbend, "http://127.0.0.1:9/more")
    assert WebhookEndpoint.objects.filter(organisation=riverbend, active=True).count() == 3


def test_the_browser_form_refuses_an_endpoint_beyond_the_limit(api_world, client, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = 1
    admin = otp_verified(client, api_world["users"]["director"])
    form = {"url": "http://127.0.0.1:9/a", "events": ["agreement.status_changed"]}
    assert admin.post(f"{SETTINGS_URL}webhooks/", form).status_code == 200
    response = admin.post(f"{SETTINGS_URL}webhooks/", {**form, "url": "http://127.0.0.1:9/b"})
    assert response.status_code == 400
    assert "already has 1 active webhook endpoints, the most allowed" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_the_api_refuses_an_endpoint_beyond_the_limit(api_world, issue_token, api, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = 2
    client = api(issue_token(api_world["riverbend"]))
    for n in range(2):
        response = client.post(
            "/api/v1/webhooks/",
            {"url": f"http://127.0.0.1:9/{n}", "events": ["agreement.expiring"]},
            content_type="application/json",
        )
        assert response.status_code == 201
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/2", "events": ["agreement.expiring"]},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "webhook_endpoint_limit"
    assert "2 active webhook endpoints" in body["error"]["message"]
    assert WebhookEndpoint.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_do_not_exceed_the_limit(api_world, settings, monkeypatch):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = 2
    riverbend = api_world["riverbend"]
    # Widen the gap between counting the endpoints and inserting the new one, so that without
    # the organisation's lock every registration would count the same (too few) endpoints.
    full_clean = WebhookEndpoint.full_clean

    def slow_full_clean(self, *args, **kwargs):
        time.sleep(0.3)  # a race window to widen, not async work to wait for
        return full_clean(self, *args, **kwargs)

    monkeypatch.setattr(WebhookEndpoint, "full_clean", slow_full_clean)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def register(n: int) -> None:
        try:
            start.wait()
            _create(riverbend, f"http://127.0.0.1:9/{n}")
            outcomes.append("created")
        except DomainError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created"] * 2 + ["refused"] * 4
    assert WebhookEndpoint.objects.filter(organisation=riverbend, active=True).count() == 2


# --- One endpoint per URL ---------------------------------------------------------------------


def test_the_same_url_twice_is_refused_until_the_first_is_disabled(api_world):
    riverbend = api_world["riverbend"]
    first = _create(riverbend, "http://127.0.0.1:9/hook")
    for same in ("http://127.0.0.1:9/hook", " HTTP://127.0.0.1:9/hook "):
        with pytest.raises(DomainError, match="already has an active webhook endpoint with this"):
            _create(riverbend, same, events=["agreement.expiring"])
    # Another organisation may use it; after disabling, so may Riverbend again.
    _create(api_world["lakeshore"], "http://127.0.0.1:9/hook")
    webhooks.webhook_endpoint_disable(endpoint=first)
    again = _create(riverbend, "http://127.0.0.1:9/hook")
    assert again.pk != first.pk
    # Re-enabling the old one now would make two.
    with pytest.raises(DomainError, match="with this URL"):
        webhooks.webhook_endpoint_enable(endpoint=first, by=None)


def test_the_database_refuses_a_second_active_endpoint_for_a_url(api_world):
    row = {
        "organisation": api_world["riverbend"],
        "url": "https://hooks.example.org/in",
        "secret": "s",
        "events": ["agreement.expiring"],
    }
    WebhookEndpoint.objects.create(**row)
    WebhookEndpoint.objects.create(**row, active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEndpoint.objects.create(**row)


def test_the_form_and_the_api_name_the_duplicate_url(api_world, client, issue_token, api):
    admin = otp_verified(client, api_world["users"]["director"])
    form = {"url": "http://127.0.0.1:9/a", "events": ["agreement.status_changed"]}
    assert admin.post(f"{SETTINGS_URL}webhooks/", form).status_code == 200
    response = admin.post(f"{SETTINGS_URL}webhooks/", form)
    assert response.status_code == 400
    assert "already has an active webhook endpoint with this URL" in response.content.decode()
    response = api(issue_token(api_world["riverbend"])).post(
        "/api/v1/webhooks/", form, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"]["url"][0].startswith(
        "Your organisation already has an active webhook endpoint with this URL"
    )
    assert WebhookEndpoint.objects.count() == 1


# --- The circuit breaker ----------------------------------------------------------------------


def test_the_breaker_disables_an_endpoint_after_n_failures_in_a_row(
    api_world, failing, queued, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_BREAKER_FAILURES = 3
    endpoint = _create(api_world["riverbend"], failing.url)
    delivery, waiting = _delivery(endpoint), _delivery(endpoint)
    for _ in range(2):
        _due_now(delivery)
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "retrying"
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures) == (True, 2)
    _due_now(delivery)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None
    assert endpoint.disabled_reason == (
        "Disabled automatically after 3 failed attempts in a row. "
        "The last: The endpoint answered HTTP 500."
    )
    # Nothing more goes out: this delivery and the one waiting have failed.
    for row in (delivery, waiting):
        row.refresh_from_db()
        assert (row.status, row.next_attempt_at) == ("failed", None)
    assert len(failing.requests) == 3
    # After commit the admins' notice is queued, and no retry.
    assert queued == [(0, 0, False)]
    entry = AuditEntry.objects.get(action="webhook_disabled", object_id=str(endpoint.pk))
    assert entry.actor_label == "webhook circuit breaker"
    assert entry.organisation_id == api_world["riverbend"].pk
    assert entry.payload["consecutive_failures"] == 3
    assert entry.payload["reason"] == endpoint.disabled_reason


def test_the_organisations_admins_are_told_once(api_world, failing, queued, settings, mailoutbox):
    settings.WEBHOOK_BREAKER_FAILURES = 1
    endpoint = _create(api_world["riverbend"], failing.url)
    webhooks.webhook_attempt(delivery_id=_delivery(endpoint).pk)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).breaker_notice_pending
    assert webhooks.webhook_breaker_notices_send() == 1
    (message,) = mailoutbox
    # Riverbend's only admin is the director; nobody of another organisation hears of it.
    assert message.to == ["director@riverbend-usd.example"]
    assert message.subject == f"Webhook disabled: {endpoint.url}"
    assert "Disabled automatically after 1 failed attempts in a row" in message.body
    assert f"/organisations/riverbend-usd/api/webhooks/{endpoint.pk}/" in message.body
    assert webhooks.webhook_breaker_notices_send() == 0
    assert len(mailoutbox) == 1


def test_a_success_resets_the_count(api_world, queued, settings):
    settings.WEBHOOK_BREAKER_FAILURES = 3
    flaky = Receiver(statuses=[500, 500, 200, 500, 500])
    try:
        endpoint = _create(api_world["riverbend"], flaky.url)
        for _ in range(5):
            webhooks.webhook_attempt(delivery_id=_delivery(endpoint).pk)
        endpoint.refresh_from_db()
        assert (endpoint.active, endpoint.consecutive_failures) == (True, 2)
    finally:
        flaky.close()


def test_an_admin_re_enables_it_and_the_count_starts_again(
    api_world, client, failing, queued, settings
):
    settings.WEBHOOK_BREAKER_FAILURES = 2
    endpoint = _create(api_world["riverbend"], failing.url)
    for _ in range(2):
        webhooks.webhook_attempt(delivery_id=_delivery(endpoint).pk)
    endpoint.refresh_from_db()
    assert not endpoint.active
    admin = otp_verified(client, api_world["users"]["director"])
    page = admin.get(f"{SETTINGS_URL}webhooks/{endpoint.pk}/").content.decode()
    assert "Disabled automatically after 2 failed attempts in a row" in page
    response = admin.post(f"{SETTINGS_URL}webhooks/{endpoint.pk}/enable/")
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active
    assert (endpoint.consecutive_failures, endpoint.disabled_reason) == (0, "")
    assert endpoint.disabled_at is None and not endpoint.breaker_notice_pending
    entry = AuditEntry.objects.get(action="webhook_enabled", object_id=str(endpoint.pk))
    assert entry.actor_id == api_world["users"]["director"].pk
    # One more failure does not trip it again at once.
    webhooks.webhook_attempt(delivery_id=_delivery(endpoint).pk)
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures) == (True, 1)


def test_re_enabling_keeps_to_the_limit(api_world, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION = 1
    riverbend = api_world["riverbend"]
    old = _create(riverbend, "http://127.0.0.1:9/old")
    webhooks.webhook_endpoint_disable(endpoint=old)
    _create(riverbend, "http://127.0.0.1:9/new")
    with pytest.raises(DomainError, match="already has 1 active webhook endpoints"):
        webhooks.webhook_endpoint_enable(endpoint=old, by=None)
    assert not WebhookEndpoint.objects.get(pk=old.pk).active


def test_disabling_by_hand_is_audited_and_tells_nobody(api_world, client, mailoutbox):
    endpoint = _create(api_world["riverbend"], "http://127.0.0.1:9/hook")
    admin = otp_verified(client, api_world["users"]["director"])
    admin.post(f"{SETTINGS_URL}webhooks/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "Disabled by an administrator.")
    entry = AuditEntry.objects.get(action="webhook_disabled", object_id=str(endpoint.pk))
    assert entry.actor_id == api_world["users"]["director"].pk
    assert webhooks.webhook_breaker_notices_send() == 0
    assert mailoutbox == []


# --- Attempts per minute to one destination host ----------------------------------------------


@pytest.fixture
def busy_host(monkeypatch, settings):
    """A host name of its own (its counter is fresh) that resolves to the loopback receiver."""
    host = f"cap-{uuid.uuid4().hex[:12]}.example"
    real = webhooks.resolve_host
    monkeypatch.setattr(
        webhooks,
        "resolve_host",
        lambda name, port: ["127.0.0.1"] if name == host else real(name, port),
    )
    settings.WEBHOOK_HOST_ATTEMPTS_PER_MINUTE = 2
    return host


def test_the_host_cap_postpones_rather_than_fails(api_world, busy_host, queued, settings):
    settings.WEBHOOK_BREAKER_FAILURES = 1
    receiver = Receiver()
    try:
        port = receiver.server.server_address[1]
        url = f"http://{busy_host}:{port}/hook"
        # Two organisations, one host: the cap counts them together.
        ours = _create(api_world["riverbend"], url)
        theirs = _create(api_world["lakeshore"], url)
        first, second, third = _delivery(ours), _delivery(theirs), _delivery(ours)
        assert webhooks.webhook_attempt(delivery_id=first.pk) == "delivered"
        assert webhooks.webhook_attempt(delivery_id=second.pk) == "delivered"
        before = timezone.now()
        assert webhooks.webhook_attempt(delivery_id=third.pk) == "postponed"
        assert len(receiver.requests) == 2
        third.refresh_from_db()
        assert third.status == "pending" and third.attempts == 0
        assert third.last_error.startswith(f"Postponed: {busy_host} already had 2 webhook")
        # Until the next minute's window at the earliest, and queued for then.
        wait = (third.next_attempt_at - before).total_seconds()
        assert 0 < wait <= 2 * webhooks.HOST_WINDOW_SECONDS + 1
        assert queued[-1][0] == third.pk and queued[-1][1] == pytest.approx(wait, abs=1)
        # Not an attempt and not a failure: nothing logged, the breaker (at 1) untouched.
        assert not WebhookAttempt.objects.filter(delivery=third).exists()
        ours.refresh_from_db()
        assert (ours.active, ours.consecutive_failures) == (True, 0)
    finally:
        receiver.close()


def test_a_postponed_retry_keeps_its_attempt_count(api_world, busy_host, failing, queued):
    url = f"http://{busy_host}:{failing.server.server_address[1]}/hook"
    delivery = _delivery(_create(api_world["riverbend"], url))
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "retrying"
    webhooks.host_slot_take(busy_host)  # someone else's attempt fills the host's minute
    _due_now(delivery)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "postponed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_delivery_postponed_past_its_retry_window_fails(api_world, busy_host, queued):
    delivery = _delivery(_create(api_world["riverbend"], f"http://{busy_host}:9/hook"))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=24)
    )
    for _ in range(2):
        webhooks.host_slot_take(busy_host)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith(f"Gave up: {busy_host} already had 2")
    assert queued == []


def test_the_host_window_slides(busy_host):
    start = 60 * 30_000_000  # a window boundary no other test uses
    take = webhooks.host_slot_take
    assert [take(busy_host, now=start + s) for s in (0, 1, 2)] == [True, True, False]
    # At the next minute's start the last minute still counts in full ...
    assert not take(busy_host, now=start + 60)
    # ... halfway through it, half: 2 x 0.5 + 0 < 2, then 1 + 1 is the cap.
    assert [take(busy_host, now=start + 90) for _ in range(2)] == [True, False]
    # Halfway through the third minute the first has gone and the second (one) counts half.
    # 1 x 0.5 + 0, then 0.5 + 1, are under the cap; 0.5 + 2 is not.
    assert [take(busy_host, now=start + 150) for _ in range(3)] == [True, True, False]
