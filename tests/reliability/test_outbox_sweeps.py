"""Work whose Celery message never reached the broker (Redis down at commit) is not lost: the
write still commits and succeeds, and beat's sweeps queue it later. The fault drill
(test_chaos.py) shows this end to end; these pin the pieces quickly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from agreements import tasks
from agreements.documents import jobs as documents
from agreements.models import DocumentKind, Notification, RenderJob, RenderStatus
from agreements.negotiation.proposals import override_propose
from tests.agreements.pdf_support import ACTIVE

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_proposal_commits_and_succeeds_while_the_broker_is_down(
    demo, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.deliver_notifications, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        override_propose(
            agreement=demo["agreements"][NEGOTIATING],
            by=demo["users"]["counsel"],
            kind="replace",
            clause_key="insurance",
            body="Each party self-insures.",
            rationale="Public body.",
        )
    assert callbacks  # the enqueue was attempted after commit, and its failure swallowed
    assert Notification.objects.filter(
        subject__regex=r"proposes a change to \d+\. Insurance$", sent_at__isnull=True
    ).exists()  # the outbox rows wait for beat's deliver_notifications


def test_a_render_request_commits_while_the_broker_is_down_and_is_queued_again_later(
    demo, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.render_document, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = documents.render_request(
            agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
        )
    assert RenderJob.objects.get(pk=job.pk).status == RenderStatus.QUEUED

    sent: list[int] = []
    monkeypatch.setattr(
        tasks.render_document, "apply_async", lambda args, queue: sent.append(args[0])
    )
    settings.RENDER_REQUEUE_AFTER_SECONDS = 300
    assert documents.render_jobs_enqueue_waiting() == 0  # not waiting long enough yet
    RenderJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=301)
    )
    assert documents.render_jobs_enqueue_waiting() == 1
    assert sent == [job.pk]


@pytest.mark.parametrize("status", [RenderStatus.RUNNING, RenderStatus.DONE, RenderStatus.FAILED])
def test_only_jobs_still_queued_are_queued_again(demo, monkeypatch, status):
    job = RenderJob.objects.create(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, text_hash="0" * 64
    )
    RenderJob.objects.filter(pk=job.pk).update(
        status=status, created_at=timezone.now() - dt.timedelta(days=1)
    )
    monkeypatch.setattr(tasks.render_document, "apply_async", broker_down)
    assert documents.render_jobs_enqueue_waiting() == 0


def test_beat_sweeps_the_outboxes_every_minute(settings):
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["agreements.deliver_notifications"] == 60.0
    assert schedule["agreements.render_jobs_enqueue_waiting"] == 60.0
    assert schedule["partners.webhooks_enqueue_due"] == 60.0
