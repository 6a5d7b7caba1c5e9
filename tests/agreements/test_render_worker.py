"""The executed PDF with real Celery workers: produced once after the last signature, and
not lost when the worker rendering it is killed with SIGKILL.

Waiting is polling the database with a deadline. The crash tests start their own workers on
a queue of their own (``RENDER_QUEUE``), so the suite's shared worker never takes their job.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from agreements.documents import jobs as documents
from agreements.documents import sealing
from agreements.models import Agreement, Document, DocumentKind, RenderJob, RenderStatus
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from tests.agreements.pdf_support import (
    ACTIVE,
    SIGNING,
    flip_byte,
    middle_of_a_stream,
    pdf_text,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
FINISHED = (RenderStatus.DONE, RenderStatus.FAILED)


def stored_pdfs() -> set[str]:
    """Every document file in the store, as storage names."""
    folders, _ = (
        default_storage.listdir("documents") if default_storage.exists("documents") else ([], [])
    )
    return {
        f"documents/{folder}/{name}"
        for folder in folders
        for name in default_storage.listdir(f"documents/{folder}")[1]
    }


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def finished(job_id: int) -> RenderJob | None:
    return RenderJob.objects.filter(pk=job_id, status__in=FINISHED).first()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_last_signature_produces_exactly_one_sealed_pdf(celery_worker, demo, settings):
    settings.RENDER_ON_ACTIVATION = True
    agreement = demo["agreements"][SIGNING]
    director = demo["users"]["director"]
    text = consolidated_text(fresh(agreement))
    before = stored_pdfs()
    agreement_sign(
        agreement=agreement,
        by=director,
        typed_name="Maya Okafor",
        intent_confirmed=True,
        text_hash=text.sha256,
        ip_address="203.0.113.7",
        user_agent="Pytest-Browser/1.0",
    )
    job = wait_for(
        lambda: RenderJob.objects.filter(agreement=agreement, status__in=FINISHED).first(),
        timeout=120,
        what="the executed PDF",
    )
    assert job.status == RenderStatus.DONE, job.error
    assert (job.kind, job.text_hash) == (DocumentKind.EXECUTED, text.sha256)
    stored = Document.objects.filter(agreement=agreement)
    assert stored.count() == 1
    document = stored.get()
    assert document.sealed and document.kind == DocumentKind.EXECUTED
    # Exactly one new file in the whole store: the sealed PDF (the store is shared with the
    # session's other tests, so compare with what was there before signing).
    assert stored_pdfs() - before == {f"documents/{document.sha256[:2]}/{document.sha256}.pdf"}
    data = default_storage.open(document.file.name).read()

    content = pdf_text(data)
    for clause in text.clauses:
        assert " ".join(clause.heading.split()) in content
    assert "Audit Certificate" in content
    assert "/s/ Maya Okafor" in content
    assert "203.0.113.7" in content and "Pytest-Browser/1.0" in content
    assert text.sha256 in content

    context = ValidationContext(trust_roots=[sealing.platform_certificate()])
    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    status = sealing.outside_event_loop(validate_pdf_signature, signature, context)
    assert status.intact and status.valid
    tampered = flip_byte(data, middle_of_a_stream(data))
    tampered_signature = PdfFileReader(io.BytesIO(tampered)).embedded_signatures[0]
    broken = sealing.outside_event_loop(validate_pdf_signature, tampered_signature, context)
    assert not broken.intact
    assert not documents.document_verify(tampered).ok
    assert documents.document_verify(data).ok


# --- crashes -------------------------------------------------------------------------------


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(queue: str, log_path: Path, *, delay: int) -> subprocess.Popen:
    """A prefork worker (one child) on ``queue``, holding each render ``delay`` seconds."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.agreements.render_worker_settings",
        "RENDER_TEST_DELAY_SECONDS": str(delay),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "collaboratory",
                "worker",
                "--loglevel",
                "info",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--queues",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"{log_path.stem}-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: process.poll() is not None or b" ready." in log_path.read_bytes(),
            timeout=60,
            what="the worker to start",
        )
    except AssertionError:
        stop(process)
        raise
    assert process.poll() is None, log_path.read_text()
    return process


def stop(process: subprocess.Popen, *, kill: bool = False) -> None:
    """Warm shutdown (the main process finishes its task first), or SIGKILL to the whole
    process group: main process and pool children die at once."""
    if process.poll() is None:
        if kill:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def request_executed_copy(demo, settings) -> RenderJob:
    settings.RENDER_QUEUE = f"render-crash-{os.getpid()}-{time.monotonic_ns()}"
    return documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )


def assert_one_sealed_pdf(job: RenderJob) -> None:
    assert job.status == RenderStatus.DONE, job.error
    stored = Document.objects.filter(agreement_id=job.agreement_id)
    assert stored.count() == 1
    assert documents.document_verify(default_storage.open(stored.get().file.name).read()).ok


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_killing_the_whole_worker_mid_render_loses_nothing(demo, settings, tmp_path):
    queue_job = request_executed_copy(demo, settings)
    first = start_worker(settings.RENDER_QUEUE, tmp_path / "first.log", delay=60)
    try:
        wait_for(
            lambda: RenderJob.objects.filter(pk=queue_job.pk, status=RenderStatus.RUNNING).exists(),
            timeout=60,
            what="the first worker to start rendering",
        )
    finally:
        stop(first, kill=True)  # the whole worker: main process and its child
    job = RenderJob.objects.get(pk=queue_job.pk)
    assert (job.status, job.attempts) == (RenderStatus.RUNNING, 1)
    assert not Document.objects.filter(agreement_id=job.agreement_id).exists()

    second = start_worker(settings.RENDER_QUEUE, tmp_path / "second.log", delay=0)
    try:
        job = wait_for(lambda: finished(queue_job.pk), timeout=120, what="the redelivered render")
    finally:
        stop(second)
    assert job.attempts == 2  # the message came back, and the job was taken over
    assert_one_sealed_pdf(job)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_killing_the_pool_child_mid_render_loses_nothing(demo, settings, tmp_path):
    queue_job = request_executed_copy(demo, settings)
    log = tmp_path / "worker.log"
    worker = start_worker(settings.RENDER_QUEUE, log, delay=3)
    try:
        wait_for(
            lambda: RenderJob.objects.filter(pk=queue_job.pk, status=RenderStatus.RUNNING).exists(),
            timeout=60,
            what="the render to start",
        )
        (child,) = children(worker.pid)
        os.kill(child, signal.SIGKILL)  # what the kernel's OOM killer does
        job = wait_for(lambda: finished(queue_job.pk), timeout=120, what="the redelivered render")
    finally:
        stop(worker)
    assert b"WorkerLostError" in log.read_bytes()  # rejected and requeued, not acknowledged
    assert job.attempts == 2
    assert_one_sealed_pdf(job)
