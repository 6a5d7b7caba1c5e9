"""Agreement documents: asking for a PDF, rendering it in the background, storing it under its
own hash, and checking a PDF's seal.

Rules kept here:
- One render job per (agreement, kind, text SHA-256): asking twice for the same text gives
  the same job, and a stored PDF of that text is reused, never rendered again.
- Jobs are enqueued only after the requesting transaction commits, with the job's id.
- A worker claims a job with a conditional update while holding a PostgreSQL advisory lock
  on it. The lock lives as long as the worker's database session, so a worker that is
  killed mid-render releases it: the redelivered message finds the job "running" but
  unlocked, and takes it over. A live render's lock makes a duplicate delivery a no-op.
- A render that keeps killing its worker (out of memory, hard time limit) is marked failed
  after ``RENDER_MAX_ATTEMPTS`` claims instead of being redelivered for ever.
- Executed agreements are sealed (``agreements.sealing``); review copies carry a DRAFT
  watermark and are not sealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from agreements.access import AnyUser, User
from agreements.documents import pdf, sealing
from agreements.events import emit
from agreements.models import (
    Agreement,
    Document,
    DocumentKind,
    RenderJob,
    RenderStatus,
    Status,
)
from agreements.selectors import agreements_visible_to, consolidated_text, with_agreement_detail
from collaboratory.errors import DomainError

log = logging.getLogger(__name__)

#: Statuses in which each kind of document may be produced.
KIND_STATUSES: dict[str, tuple[str, ...]] = {
    DocumentKind.EXECUTED: (Status.ACTIVE, Status.EXPIRED, Status.TERMINATED),
    DocumentKind.REVIEW: (Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW, Status.SIGNING),
}
#: What the storage raises when it is unavailable: the local disk (full, unmounted) or the
#: S3-compatible store (unreachable, timing out, refusing with 5xx/throttling).
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)
#: Advisory-lock keys of render jobs: this base plus the job id (one bigint key space).
_LOCK_BASE = 0x52454E44 << 32  # "REND"


class TransientRenderError(Exception):
    """Worth retrying later (storage or database briefly unavailable)."""


class StorageUnavailable(TransientRenderError):
    """The PDF was rendered but the document storage (disk or object store) refused it. The
    job is back in the queue; it waits for the store however long the outage lasts."""


# --- reads ---------------------------------------------------------------------------------


def documents_visible_to(user: AnyUser) -> QuerySet[Document]:
    """Stored documents of the agreements ``user`` may see (the one access rule)."""
    return Document.objects.filter(agreement__in=agreements_visible_to(user))


def render_jobs_for(agreement: Agreement) -> list[RenderJob]:
    """The agreement's render jobs with their documents, newest first (one query, or none
    when the agreement page's query brought them: agreements.selectors.RENDER_JOBS_PREFETCH)."""
    if "render_jobs" in getattr(agreement, "_prefetched_objects_cache", {}):
        return list(agreement.render_jobs.all())
    return list(
        RenderJob.objects.filter(agreement=agreement)
        .select_related("document")
        .order_by("-created_at", "-id")
    )


def document_path(sha256: str) -> str:
    """Content-addressed storage name: the same bytes always land on the same name."""
    return f"documents/{sha256[:2]}/{sha256}.pdf"


def stalled(job: RenderJob, *, now: dt.datetime | None = None) -> bool:
    """A job still marked running long after any render could have ended (its worker died
    and the message was lost): it may be retried like a failed one."""
    if job.status != RenderStatus.RUNNING or job.started_at is None:
        return False
    now = now or timezone.now()
    return now - job.started_at > dt.timedelta(seconds=settings.RENDER_TIME_LIMIT + 60)


# --- requests ------------------------------------------------------------------------------


def _enqueue(job_id: int) -> None:
    from agreements.tasks import render_document  # tasks import this module

    # robust: the job row is committed either way; if the broker is down, the periodic
    # render_jobs_enqueue_waiting queues it later instead of failing the request.
    transaction.on_commit(
        lambda: render_document.apply_async((job_id,), queue=settings.RENDER_QUEUE), robust=True
    )


@transaction.atomic
def render_request(*, agreement: Agreement, kind: str, by: User | None) -> RenderJob:
    """Ask for a PDF of the agreement's current text.

    Executed copies exist once the agreement is active (or later); review copies before
    that. The same text is never rendered twice: an existing job for it is returned (and
    nudged again if still queued), a finished one with its stored document.
    """
    if kind not in KIND_STATUSES:
        raise DomainError("Only executed copies and review copies can be requested here.")
    fresh = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    if fresh.status not in KIND_STATUSES[kind]:
        if kind == DocumentKind.EXECUTED:
            message = "The executed copy exists only once every party has signed."
        else:
            message = "A review copy is for agreements not yet signed; download the executed copy."
        raise DomainError(message, code="wrong_status")
    text_hash = consolidated_text(fresh).sha256
    job, created = RenderJob.objects.get_or_create(
        agreement=fresh, kind=kind, text_hash=text_hash, defaults={"requested_by": by}
    )
    if created or job.status == RenderStatus.QUEUED:
        _enqueue(job.pk)
    return job


@transaction.atomic
def render_retry(*, job: RenderJob, by: User | None) -> RenderJob:
    """Queue a failed (or stalled) render again, with a fresh attempt count."""
    locked = RenderJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != RenderStatus.FAILED and not stalled(locked):
        raise DomainError("Only a failed render can be retried; this one is not.")
    locked.status = RenderStatus.QUEUED
    locked.error = ""
    locked.attempts = 0
    locked.started_at = None
    locked.finished_at = None
    locked.requested_by = by
    locked.save(
        update_fields=["status", "error", "attempts", "started_at", "finished_at", "requested_by"]
    )
    _enqueue(locked.pk)
    return locked


def render_jobs_enqueue_waiting(*, limit: int = 200) -> int:
    """Queue again the jobs still queued ``RENDER_REQUEUE_AFTER_SECONDS`` after they were
    asked for: their message was never published (broker down at commit) or was lost (a
    broker restart without persistence). A duplicate message is harmless: the claim and
    the job lock make the second run a no-op."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS)
    ids = list(
        RenderJob.objects.filter(status=RenderStatus.QUEUED, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    from agreements.tasks import render_document  # tasks import this module

    for job_id in ids:
        render_document.apply_async((job_id,), queue=settings.RENDER_QUEUE)
    return len(ids)


def on_status_changed(event: str, payload: dict) -> None:
    """Subscriber of ``agreement.status_changed`` (after commit): an agreement that became
    active gets its executed, sealed PDF."""
    if payload.get("to") != Status.ACTIVE or not settings.RENDER_ON_ACTIVATION:
        return
    agreement = Agreement.objects.filter(pk=payload["agreement_id"]).first()
    if agreement is not None:
        render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)


# --- the render ----------------------------------------------------------------------------


@contextmanager
def _job_lock(job_id: int) -> Iterator[bool]:
    """A session-level advisory lock on the job: held while rendering, released when done
    or when the worker's database connection dies with it."""
    key = _LOCK_BASE + job_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _claim(job_id: int, now: dt.datetime) -> tuple[RenderJob | None, bool]:
    """Claim a queued job, or take over one whose earlier claimant died (it is "running"
    but nobody holds its lock). Returns the job and whether it was such a takeover."""
    claim = {"status": RenderStatus.RUNNING, "attempts": F("attempts") + 1, "started_at": now}
    jobs = RenderJob.objects.filter(pk=job_id)
    if jobs.filter(status=RenderStatus.QUEUED).update(**claim):
        return jobs.get(), False
    if jobs.filter(status=RenderStatus.RUNNING).update(**claim):
        return jobs.get(), True
    return None, False


def _finish(job: RenderJob, document: Document) -> None:
    with transaction.atomic():
        RenderJob.objects.filter(pk=job.pk).update(
            status=RenderStatus.DONE, document=document, error="", finished_at=timezone.now()
        )
        emit(
            "agreement.document_ready",
            {
                "agreement_id": str(job.agreement_id),
                "document_id": document.pk,
                "kind": job.kind,
            },
        )


def render_fail(*, job_id: int, error: str) -> None:
    """Record that a render failed for good; a user may retry it."""
    RenderJob.objects.filter(pk=job_id).exclude(status=RenderStatus.DONE).update(
        status=RenderStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _requeue(job_id: int, error: str) -> None:
    """A transient failure: back to queued (not a crash), the task retries with backoff."""
    RenderJob.objects.filter(pk=job_id, status=RenderStatus.RUNNING).update(
        status=RenderStatus.QUEUED, error=f"Retrying after: {error}"[:2000]
    )


def _store(
    data: bytes, *, agreement_id, kind: str, text_hash: str, pages: int, sealed: bool
) -> Document:
    """Save ``data`` under its SHA-256 (once) and record it."""
    digest = hashlib.sha256(data).hexdigest()
    existing = Document.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    name = document_path(digest)
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:  # a concurrent writer stored the same bytes first
            default_storage.delete(saved)
    document, _ = Document.objects.get_or_create(
        sha256=digest,
        defaults={
            "agreement_id": agreement_id,
            "kind": kind,
            "text_hash": text_hash,
            "file": name,
            "size": len(data),
            "pages": pages,
            "sealed": sealed,
        },
    )
    return document


def _test_delay() -> None:
    # Lets the crash tests kill a worker while a job is visibly "running". Zero in real use.
    if settings.RENDER_TEST_DELAY_SECONDS:
        time.sleep(settings.RENDER_TEST_DELAY_SECONDS)


def render_run(*, job_id: int) -> str:
    """Render, seal (executed copies) and store one job's PDF. Safe to run twice, or at the
    same time in two workers: returns what happened ("done", "reused", "failed", "busy",
    "nothing to do"). Transient storage trouble raises TransientRenderError."""
    with _job_lock(job_id) as held:
        if not held:
            return "busy"
        now = timezone.now()
        job, takeover = _claim(job_id, now)
        if job is None:
            return "nothing to do"
        if takeover and job.attempts > settings.RENDER_MAX_ATTEMPTS:
            render_fail(
                job_id=job.pk,
                error=f"The render stopped its worker {job.attempts - 1} times (out of memory "
                "or out of time). Retry it; if it fails again, tell the platform's operators.",
            )
            return "failed"
        existing = Document.objects.filter(
            agreement_id=job.agreement_id, kind=job.kind, text_hash=job.text_hash
        ).first()
        if existing is not None:
            _finish(job, existing)
            return "reused"
        _test_delay()
        agreement = with_agreement_detail(Agreement.objects.all()).get(pk=job.agreement_id)
        text = consolidated_text(agreement)
        if text.sha256 != job.text_hash:
            render_fail(
                job_id=job.pk,
                error="The agreement's text changed after this copy was requested; request "
                "a new copy.",
            )
            return "failed"
        try:
            with pdf.memory_limit(settings.RENDER_MEMORY_LIMIT_MB):
                rendered = pdf.render_agreement(agreement, text, job.kind, generated_at=now)
                data = rendered.pdf
                if job.kind == DocumentKind.EXECUTED:
                    data = sealing.seal(
                        data,
                        reason=f"Executed agreement {agreement.reference}; text SHA-256 "
                        f"{text.sha256}",
                    )
        except MemoryError:
            render_fail(
                job_id=job.pk,
                error=f"The document needed more than {settings.RENDER_MEMORY_LIMIT_MB} MiB "
                "to render.",
            )
            return "failed"
        except (pdf.RenderError, sealing.SealingError) as error:
            log.warning("render job %s failed: %s", job.pk, error)
            render_fail(job_id=job.pk, error=str(error))
            return "failed"
        try:
            document = _store(
                data,
                agreement_id=job.agreement_id,
                kind=job.kind,
                text_hash=job.text_hash,
                pages=rendered.pages,
                sealed=job.kind == DocumentKind.EXECUTED,
            )
        except STORAGE_ERRORS as error:
            _requeue(job.pk, str(error))
            raise StorageUnavailable(f"storing the PDF failed: {error}") from error
        _finish(job, document)
        return "done"


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationResult:
    """Whether a PDF is intact and sealed by this platform."""

    sha256: str
    signed: bool
    intact: bool
    signed_by_platform: bool
    signer: str
    signing_time: dt.datetime | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.signed_by_platform

    def as_dict(self) -> dict:
        return {
            "sha256": self.sha256,
            "ok": self.ok,
            "signed": self.signed,
            "intact": self.intact,
            "signed_by_platform": self.signed_by_platform,
            "signer": self.signer,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "problems": list(self.problems),
        }


def document_verify(pdf_bytes: bytes) -> VerificationResult:
    """Check ``pdf_bytes``: signed, unchanged since sealing (nothing altered or appended),
    and sealed with this platform's certificate."""
    try:
        result = sealing.check(pdf_bytes)
    except sealing.SealingError as error:
        log.error("cannot verify seals: %s", error)
        result = sealing.SealCheck(
            sha256=hashlib.sha256(pdf_bytes).hexdigest(),
            problems=(
                "The platform's sealing certificate is not available, so no seal can "
                "be checked right now. Please tell the platform's operators.",
            ),
        )
    return VerificationResult(
        sha256=result.sha256,
        signed=result.signed,
        intact=result.intact and result.valid,
        signed_by_platform=result.by_platform,
        signer=result.signer,
        signing_time=result.signing_time,
        problems=result.problems,
    )
