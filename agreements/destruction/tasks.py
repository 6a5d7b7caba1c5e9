"""Celery tasks of destruction duties: thin, take ids, call services, safe to run twice."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from agreements.destruction import services


@shared_task(name="agreements.destruction_daily")
def destruction_daily() -> dict[str, int]:
    """Beat, once a day: open missing duties, remind 30/7/1 days before the deadline, flag
    overdue duties, queue certificates that were never rendered."""
    return services.destruction_daily(today=timezone.localdate())


@shared_task(
    name="agreements.render_destruction_certificate",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError, BotoCoreError, ClientError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
    soft_time_limit=120,
    time_limit=180,
)
def render_destruction_certificate(duty_id: int) -> str:
    """Render and seal one certified duty's certificate of destruction."""
    return services.destruction_certificate_render(duty_id=duty_id)
