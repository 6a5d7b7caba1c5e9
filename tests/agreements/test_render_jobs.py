"""Render jobs, in process: idempotent requests, claiming, reuse of stored documents, crash
recovery, failures and retries. (The real worker runs in test_render_worker.py.)"""

from __future__ import annotations

import datetime as dt
import hashlib

import psycopg2
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from agreements import tasks
from agreements.documents import jobs as documents
from agreements.documents import pdf
from agreements.models import Agreement, Document, DocumentKind, RenderJob, RenderStatus
from agreements.negotiation.services import agreement_update
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from collaboratory.errors import DomainError
from tests.agreements.pdf_support import ACTIVE, SIGNING, wait_for

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"


@pytest.fixture
def sent(monkeypatch):
    """Render tasks the code enqueues (recorded instead of sent to Redis)."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks.render_document,
        "apply_async",
        lambda args, queue=None, **kw: calls.append((args, queue)),
    )
    return calls


@pytest.fixture
def quick_render(monkeypatch):
    """A one-page stand-in for the agreement layout, for tests about the job mechanics."""

    def render_agreement(agreement, text, kind, *, generated_at):
        return pdf.render_html(f"<p>{kind} {text.sha256}</p>")

    monkeypatch.setattr(pdf, "render_agreement", render_agreement)


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_requests_for_the_same_text_share_one_job_enqueued_after_commit(
    demo, sent, django_capture_on_commit_callbacks, settings
):
    agreement = demo["agreements"][SIGNING]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = documents.render_request(
            agreement=agreement, kind=DocumentKind.REVIEW, by=demo["users"]["director"]
        )
        second = documents.render_request(agreement=agreement, kind=DocumentKind.REVIEW, by=None)
    assert first.pk == second.pk
    assert RenderJob.objects.filter(agreement=agreement).count() == 1
    assert first.text_hash == consolidated_text(fresh(agreement)).sha256
    assert sent == []  # nothing reaches the broker before the transaction commits
    for callback in callbacks:
        callback()
    assert sent == [((first.pk,), settings.RENDER_QUEUE)] * 2  # a queued job may be nudged


def test_a_render_stores_one_sealed_pdf_under_its_own_hash(demo, sent):
    agreement = demo["agreements"][ACTIVE]
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    assert documents.render_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (RenderStatus.DONE, 1, "")
    document = job.document
    data = default_storage.open(document.file.name).read()
    assert hashlib.sha256(data).hexdigest() == document.sha256
    assert document.file.name == f"documents/{document.sha256[:2]}/{document.sha256}.pdf"
    assert (document.kind, document.sealed, document.size) == ("executed", True, len(data))
    assert document.text_hash == agreement.text_hash and document.pages > 10
    assert documents.document_verify(data).ok


def test_the_same_text_is_never_rendered_twice(demo, sent, quick_render):
    agreement = demo["agreements"][ACTIVE]
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    assert documents.render_run(job_id=job.pk) == "done"
    # The same message delivered again, and the same text requested again: nothing new.
    assert documents.render_run(job_id=job.pk) == "nothing to do"
    sent.clear()
    again = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    assert again.pk == job.pk and again.status == RenderStatus.DONE and sent == []
    # A worker died after storing the PDF but before marking the job done: reused.
    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.RUNNING, document=None)
    assert documents.render_run(job_id=job.pk) == "reused"
    assert Document.objects.filter(agreement=agreement).count() == 1
    assert RenderJob.objects.get(pk=job.pk).document is not None


def test_a_changed_text_gets_a_new_document(demo, sent, quick_render):
    agreement = demo["agreements"][NEGOTIATING]
    director = demo["users"]["director"]
    first = documents.render_request(agreement=agreement, kind=DocumentKind.REVIEW, by=director)
    documents.render_run(job_id=first.pk)
    agreement_update(agreement=agreement, by=director, retention_days=120)
    second = documents.render_request(agreement=agreement, kind=DocumentKind.REVIEW, by=director)
    assert second.pk != first.pk and second.text_hash != first.text_hash
    documents.render_run(job_id=second.pk)
    stored = Document.objects.filter(agreement=agreement, kind=DocumentKind.REVIEW)
    assert stored.count() == 2
    assert {d.text_hash for d in stored} == {first.text_hash, second.text_hash}
    assert all(not d.sealed for d in stored)


def test_each_kind_only_in_its_statuses(demo):
    with pytest.raises(DomainError, match="once every party has signed"):
        documents.render_request(
            agreement=demo["agreements"][SIGNING], kind=DocumentKind.EXECUTED, by=None
        )
    with pytest.raises(DomainError, match="not yet signed"):
        documents.render_request(
            agreement=demo["agreements"][ACTIVE], kind=DocumentKind.REVIEW, by=None
        )
    with pytest.raises(DomainError):
        documents.render_request(
            agreement=demo["agreements"][ACTIVE], kind=DocumentKind.REDLINE, by=None
        )


def _other_session():
    params = connection.get_connection_params()
    return psycopg2.connect(**params)


def test_a_job_being_rendered_elsewhere_is_left_alone_and_a_dead_claim_is_taken_over(
    demo, sent, quick_render
):
    agreement = demo["agreements"][ACTIVE]
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    # Another worker claimed it and holds its lock: a duplicate delivery does nothing.
    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.RUNNING, attempts=1)
    other = _other_session()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [documents._LOCK_BASE + job.pk])
        assert documents.render_run(job_id=job.pk) == "busy"
        assert RenderJob.objects.get(pk=job.pk).attempts == 1
    finally:
        other.close()  # that worker dies: its session ends, the lock goes with it
    # PostgreSQL ends the dead session a moment later; until then the job is "busy".
    outcome = wait_for(
        lambda: (result := documents.render_run(job_id=job.pk)) != "busy" and result,
        timeout=10,
        what="the dead session's lock to go",
    )
    assert outcome == "done"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (RenderStatus.DONE, 2)


def test_a_render_that_keeps_killing_its_worker_is_failed_not_redelivered_forever(
    demo, sent, settings
):
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )
    RenderJob.objects.filter(pk=job.pk).update(
        status=RenderStatus.RUNNING, attempts=settings.RENDER_MAX_ATTEMPTS
    )
    assert documents.render_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == RenderStatus.FAILED
    assert f"stopped its worker {settings.RENDER_MAX_ATTEMPTS} times" in job.error
    assert not Document.objects.filter(agreement=job.agreement).exists()


def test_a_failed_or_stalled_render_can_be_retried_and_nothing_else(demo, sent, settings):
    user = demo["users"]["director"]
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )
    with pytest.raises(DomainError, match="Only a failed render"):
        documents.render_retry(job=job, by=user)
    documents.render_fail(job_id=job.pk, error="boom")
    sent.clear()
    retried = documents.render_retry(job=job, by=user)
    assert (retried.status, retried.error, retried.attempts) == (RenderStatus.QUEUED, "", 0)
    assert retried.requested_by == user
    long_ago = timezone.now() - dt.timedelta(seconds=settings.RENDER_TIME_LIMIT + 120)
    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.RUNNING, started_at=long_ago)
    assert documents.stalled(RenderJob.objects.get(pk=job.pk))
    documents.render_retry(job=job, by=user)
    assert RenderJob.objects.get(pk=job.pk).status == RenderStatus.QUEUED


def test_a_missing_sealing_certificate_fails_the_job_with_the_reason(
    demo, sent, settings, tmp_path, quick_render
):
    settings.SEALING_CERT_FILE = str(tmp_path / "missing.pem")
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )
    assert documents.render_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == RenderStatus.FAILED and "SEALING_CERT_FILE" in job.error


def test_storage_trouble_is_transient_and_the_job_waits_for_its_retry(
    demo, sent, monkeypatch, quick_render
):
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(default_storage, "save", full_disk)
    with pytest.raises(documents.TransientRenderError):
        documents.render_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == RenderStatus.QUEUED and "No space left" in job.error
    monkeypatch.undo()
    assert documents.render_run(job_id=job.pk) == "done"


def test_the_task_records_a_soft_time_limit_and_exhausted_retries(demo, sent, monkeypatch):
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )

    def too_slow(*, job_id):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(documents, "render_run", too_slow)
    assert tasks.render_document.apply(args=(job.pk,)).get() == "failed"
    assert "took longer than" in RenderJob.objects.get(pk=job.pk).error

    def unavailable(*, job_id):
        raise documents.TransientRenderError("storage down")

    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.QUEUED, error="")
    monkeypatch.setattr(documents, "render_run", unavailable)
    last = tasks.render_document.max_retries
    assert tasks.render_document.apply(args=(job.pk,), retries=last).get() == "failed"
    job.refresh_from_db()
    assert job.status == RenderStatus.FAILED and "storage down" in job.error


def test_becoming_active_requests_the_executed_pdf_after_commit(
    demo, sent, settings, django_capture_on_commit_callbacks
):
    settings.RENDER_ON_ACTIVATION = True
    agreement = demo["agreements"][SIGNING]
    director = demo["users"]["director"]
    with django_capture_on_commit_callbacks(execute=True):
        agreement_sign(
            agreement=agreement,
            by=director,
            typed_name="Maya Okafor",
            intent_confirmed=True,
            text_hash=consolidated_text(fresh(agreement)).sha256,
        )
    job = RenderJob.objects.get(agreement=agreement)
    assert (job.kind, job.status) == (DocumentKind.EXECUTED, RenderStatus.QUEUED)
    assert sent == [((job.pk,), settings.RENDER_QUEUE)]


def test_the_memory_cap_stops_a_runaway_allocation_and_is_lifted_afterwards():
    with pytest.raises(MemoryError), pdf.memory_limit(64):
        bytearray(512 * 1024 * 1024)
    assert len(bytearray(128 * 1024 * 1024)) == 128 * 1024 * 1024


def test_a_busy_job_is_tried_again_later_rather_than_dropped(demo, sent, monkeypatch):
    outcomes = iter(["busy", "done"])
    monkeypatch.setattr(documents, "render_run", lambda *, job_id: next(outcomes))
    assert tasks.render_document.apply(args=(1,)).get() == "done"
