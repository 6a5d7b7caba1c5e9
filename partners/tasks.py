"""Celery tasks for webhooks and login throttling: thin, call a service, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from partners import login_throttle, webhooks


@shared_task(name="partners.deliver_webhook", acks_late=True)
def deliver_webhook(delivery_id: int, manual: bool = False) -> str:
    """One attempt of one delivery (it schedules its own retry when it fails)."""
    return webhooks.webhook_attempt(delivery_id=delivery_id, manual=manual)


@shared_task(name="partners.webhooks_enqueue_due")
def webhooks_enqueue_due() -> int:
    """Beat, every minute: queue retries too far ahead for a countdown, and deliveries a
    crashed worker left behind; send breaker notices whose message never reached the broker."""
    webhooks.webhook_breaker_notices_send()
    return webhooks.webhook_deliveries_enqueue_due()


@shared_task(name="partners.send_webhook_breaker_notices", acks_late=True)
def send_webhook_breaker_notices() -> int:
    """E-mail organisation admins about endpoints the circuit breaker disabled."""
    return webhooks.webhook_breaker_notices_send()


@shared_task(name="partners.login_throttle_purge")
def login_throttle_purge() -> int:
    """Beat, hourly: forget login counters past their window and spent enrolment codes."""
    return login_throttle.login_throttle_purge()
