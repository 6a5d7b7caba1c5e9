"""Celery tasks: thin, take ids, call services, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from agreements.approvals.services import research_approvals_send_reminders
from agreements.destruction.tasks import (  # noqa: F401 (registers the tasks with Celery)
    destruction_daily,
    render_destruction_certificate,
)
from agreements.documents import jobs as documents
from agreements.models import Notification
from agreements.page_text import page_text_ready
from agreements.signing.services import (
    agreements_expire_due,
    agreements_send_expiry_reminders,
    agreements_terminate_due,
)
from collaboratory.mail import send_mail_message

log = logging.getLogger(__name__)


@shared_task(name="agreements.deliver_notifications", acks_late=True)
def deliver_notifications(batch_size: int = 200) -> int:
    """E-mail pending notifications. Each row is claimed with SKIP LOCKED, so two workers
    never send the same one. Queued after each commit that writes some, and by beat every
    minute for rows whose message never reached the broker."""
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True)
                .select_related("recipient")
                .order_by("id")[:batch_size]
            )
            if not rows:
                return sent
            for row in rows:
                if row.recipient.email:
                    send_mail_message(subject=row.subject, text=row.body, to=[row.recipient.email])
                row.sent_at = timezone.now()
            Notification.objects.bulk_update(rows, ["sent_at"])
            sent += len(rows)


@shared_task(name="agreements.warm_agreement_page", ignore_result=True)
def warm_agreement_page(agreement_id: str) -> bool:
    """Derive an agreement page's text ahead of its readers (``page_text.page_text_ready``):
    queued when the parties are notified of a change. Safe to run twice: the second finds
    everything derived."""
    return page_text_ready(agreement_id)


@shared_task(name="agreements.daily_lifecycle")
def daily_lifecycle() -> dict[str, int]:
    """Beat, once a day: terminate agreements whose notice period ran out (first, so one
    whose notice ends on its expiry day ends as terminated), expire those past their term;
    remind 90/30/7 days before the end, and 60/30/7 days before a required research
    approval expires (agreements.approvals)."""
    today = timezone.localdate()
    return {
        "terminated": agreements_terminate_due(today=today),
        "expired": agreements_expire_due(today=today),
        "reminded": agreements_send_expiry_reminders(today=today),
        "approvals_reminded": research_approvals_send_reminders(today=today),
    }


# --- documents (sealed PDFs) ---------------------------------------------------------------
# Memory: besides the per-render address-space cap (RENDER_MEMORY_LIMIT_MB), run workers with
# `--max-memory-per-child=<KiB>` so a child that grew large is replaced after its task.


@shared_task(
    bind=True,
    name="agreements.render_document",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(documents.TransientRenderError, OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=settings.RENDER_MAX_RETRIES,
    soft_time_limit=settings.RENDER_SOFT_TIME_LIMIT,
    time_limit=settings.RENDER_TIME_LIMIT,
)
def render_document(self, job_id: int) -> str:
    """Render (and for executed copies seal) one RenderJob's PDF. A worker killed mid-render
    loses nothing: the message is acknowledged only after the task, and redelivered if the
    worker dies; the job row makes the second run finish the work or do nothing."""
    try:
        outcome = documents.render_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        documents.render_fail(
            job_id=job_id,
            error=f"Rendering took longer than {settings.RENDER_SOFT_TIME_LIMIT} seconds.",
        )
        return "failed"
    except (documents.TransientRenderError, OperationalError, InterfaceError) as error:
        if self.request.retries >= self.max_retries:
            if isinstance(error, documents.StorageUnavailable):
                # An object-store outage outlasting the retries: the job stays queued and
                # beat's render_jobs_enqueue_waiting sends it again until the store is back.
                return "waiting for storage"
            documents.render_fail(job_id=job_id, error=f"Gave up after retries: {error}")
            return "failed"
        raise
    if outcome == "busy" and self.request.retries < self.max_retries:
        # Another session holds the job's lock: a live render (this run then finds it done),
        # or a killed worker whose database session is not yet gone (this run takes over).
        raise self.retry(countdown=10)
    return outcome


@shared_task(name="agreements.render_jobs_enqueue_waiting")
def render_jobs_enqueue_waiting() -> int:
    """Beat, every minute: queue render jobs whose message never reached a worker."""
    return documents.render_jobs_enqueue_waiting()
