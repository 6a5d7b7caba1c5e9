"""Documents in an S3-compatible store (issue 18): the store that `scripts/stack.py test`
starts (moto_server) stands in for S3 or MinIO. Renders write through Django's storage API,
downloads stream the object through the app after the access check (and are audited), and a
render while the store is down is requeued, not lost."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from agreements import tasks
from agreements.documents import jobs as documents
from agreements.documents import pdf
from agreements.models import DocumentKind, RenderStatus
from audit.models import AuditAction, AuditEntry
from tests import object_store
from tests.agreements.pdf_support import ACTIVE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks.render_document, "apply_async", lambda args, queue=None, **kw: calls.append(args)
    )
    return calls


@pytest.fixture
def quick_render(monkeypatch):
    def render_agreement(agreement, text, kind, *, generated_at):
        return pdf.render_html(f"<p>{kind} {text.sha256}</p>")

    monkeypatch.setattr(pdf, "render_agreement", render_agreement)


@pytest.fixture
def s3(settings):
    """Documents of this test in the local S3 store, under a prefix of their own."""
    prefix = object_store.new_prefix()
    settings.STORAGES = {**settings.STORAGES, "default": object_store.default_storage(prefix)}
    return prefix


def dead_endpoint() -> str:
    """An address where nothing listens: the store is down."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import stack

    return f"http://127.0.0.1:{stack.free_port()}"


def test_the_settings_build_an_s3_storage_from_the_environment(tmp_path):
    secret = tmp_path / "s3-secret"
    secret.write_text("from-a-file\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test",
        "STORAGE_S3_BUCKET": "documents",
        "STORAGE_S3_ENDPOINT_URL": "http://minio:9000",
        "STORAGE_S3_ACCESS_KEY_ID": "key-id",
        "STORAGE_S3_SECRET_ACCESS_KEY_FILE": str(secret),
    }
    env.pop("STORAGE_S3_SECRET_ACCESS_KEY", None)
    script = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['default']\n"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.access_key,\n"
        "      s.secret_key, s.client_config.s3['addressing_style'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "S3Storage documents http://minio:9000 key-id from-a-file path"
    )
    # Without a bucket the documents stay on the local disk (`make run`).
    env.pop("STORAGE_S3_BUCKET")
    local = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert local.stdout.strip() == "django.core.files.storage.FileSystemStorage", local.stderr


def test_a_render_lands_in_the_bucket_and_downloads_through_the_app_after_the_check(
    client, demo, outsider, s3, sent, quick_render
):
    agreement = demo["agreements"][ACTIVE]
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    assert documents.render_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    document = job.document
    assert object_store.keys(s3) == [f"{s3}/{document.file.name}"]
    assert default_storage.__class__.__name__ != "FileSystemStorage"
    url = reverse("document-download", args=[agreement.pk, document.pk])

    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).exists()

    client.force_login(demo["users"]["director"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.streaming  # through the app, not a redirect to the bucket
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == document.sha256
    entry = AuditEntry.objects.get(action=AuditAction.DOWNLOAD)
    assert entry.payload["document_id"] == document.pk

    # Checking the seal reads the same object.
    check = client.get(reverse("document-check", args=[agreement.pk, document.pk]))
    assert "Intact and sealed by this platform" in check.content.decode()


def test_a_render_while_the_store_is_down_waits_in_the_queue_and_completes_when_it_returns(
    demo, s3, sent, quick_render, settings
):
    agreement = demo["agreements"][ACTIVE]
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    live = settings.STORAGES
    settings.STORAGES = {**live, "default": object_store.default_storage(s3, url=dead_endpoint())}
    with pytest.raises(documents.TransientRenderError):
        documents.render_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == RenderStatus.QUEUED and job.error.startswith("Retrying after:")
    assert job.document_id is None and object_store.keys(s3) == []

    # An outage outlasting the task's retries does not fail the job: it stays queued, and
    # beat's sweep sends it again (and again) until the store is back.
    last = tasks.render_document.max_retries
    assert tasks.render_document.apply(args=(job.pk,), retries=last).get() == (
        "waiting for storage"
    )
    job.refresh_from_db()
    assert job.status == RenderStatus.QUEUED and job.attempts == 2
    settings.RENDER_REQUEUE_AFTER_SECONDS = 0
    assert documents.render_jobs_enqueue_waiting() == 1 and sent[-1] == (job.pk,)

    settings.STORAGES = live  # the store is back: the resent task finishes the job
    assert documents.render_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.status == RenderStatus.DONE and job.attempts == 3
    assert object_store.keys(s3) == [f"{s3}/{job.document.file.name}"]
