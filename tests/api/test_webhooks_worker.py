"""Webhooks end to end through the real Celery worker: an agreement event reaches a loopback
receiver signed, and a failing receiver gets retries (test settings: 0.2 s backoff)."""

from __future__ import annotations

import json
import time

import pytest

from partners import webhooks
from partners.models import WebhookAttempt, WebhookDelivery
from tests.api.receiver import Receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_until(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.1)
    return result


def _terminate(api_world) -> None:
    from agreements.signing.services import agreement_terminate

    agreement_terminate(
        agreement=api_world["riverbend_agreement"],
        by=api_world["users"]["director"],
        ground="immediate",  # the District, with immediate effect: the status changes now
        reason="The study ended early.",
    )


def test_a_status_change_reaches_the_receiver_signed(celery_worker, api_world):
    receiver = Receiver()
    try:
        _, secret = webhooks.webhook_endpoint_create(
            organisation=api_world["riverbend"],
            url=receiver.url,
            events=["agreement.status_changed"],
        )
        _terminate(api_world)
        (request,) = receiver.wait_for(1)
        assert webhooks.verify_signature(
            secret, request.headers["Collaboratory-Signature"], request.body
        )
        event = json.loads(request.body)
        assert event["type"] == "agreement.status_changed"
        assert event["data"]["to"] == "terminated"
        assert event["id"] == request.headers["Collaboratory-Event-Id"]
        delivery = _wait_until(lambda: WebhookDelivery.objects.filter(status="delivered").first())
        assert str(delivery.event_id) == event["id"]
        assert delivery.attempts == 1
    finally:
        receiver.close()


def test_a_failing_receiver_gets_retries_until_it_answers(celery_worker, api_world):
    receiver = Receiver(statuses=[500, 500, 200])
    try:
        _, secret = webhooks.webhook_endpoint_create(
            organisation=api_world["riverbend"],
            url=receiver.url,
            events=["agreement.status_changed"],
        )
        _terminate(api_world)
        requests = receiver.wait_for(3)
        # The same signed event every time.
        assert len({r.headers["Collaboratory-Event-Id"] for r in requests}) == 1
        assert all(
            webhooks.verify_signature(secret, r.headers["Collaboratory-Signature"], r.body)
            for r in requests
        )
        delivery = _wait_until(lambda: WebhookDelivery.objects.filter(status="delivered").first())
        assert delivery.attempts == 3
        assert list(
            WebhookAttempt.objects.filter(delivery=delivery)
            .order_by("number")
            .values_list("response_code", flat=True)
        ) == [500, 500, 200]
    finally:
        receiver.close()


def test_the_breaker_disables_an_endpoint_that_keeps_failing(celery_worker, api_world, settings):
    import uuid

    from django.utils import timezone

    from audit.models import AuditEntry
    from partners.models import WebhookEndpoint

    threshold = settings.WEBHOOK_BREAKER_FAILURES  # the worker reads the same settings
    receiver = Receiver(statuses=[500])
    try:
        endpoint, _ = webhooks.webhook_endpoint_create(
            organisation=api_world["riverbend"],
            url=receiver.url,
            events=["agreement.status_changed"],
        )
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                endpoint=endpoint,
                event_id=uuid.uuid4(),
                event="agreement.status_changed",
                payload={"id": str(n), "type": "agreement.status_changed", "data": {}},
                next_attempt_at=timezone.now(),
            )
            for n in range(threshold + 5)
        )
        for delivery in deliveries:
            webhooks._enqueue(delivery.pk)
        # Disabled, and the admins' notice sent (the worker's mail backend keeps the e-mail).
        endpoint = _wait_until(
            lambda: WebhookEndpoint.objects.filter(
                pk=endpoint.pk, active=False, breaker_notice_pending=False
            ).first()
        )
        assert endpoint.consecutive_failures == threshold
        assert endpoint.disabled_reason.startswith(
            f"Disabled automatically after {threshold} failed attempts in a row."
        )
        assert AuditEntry.objects.filter(
            action="webhook_disabled", object_id=str(endpoint.pk)
        ).exists()
        # Not one attempt after the breaker tripped; every delivery settled as failed.
        _wait_until(lambda: not WebhookDelivery.objects.exclude(status="failed").exists())
        assert WebhookAttempt.objects.count() == threshold
        assert len(receiver.requests) == threshold
    finally:
        receiver.close()
