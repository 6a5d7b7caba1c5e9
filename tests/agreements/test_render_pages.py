"""Document pages: progress on the agreement page and as JSON, requests, retries, downloads,
seal checks; strangers get 404; query counts are pinned."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from agreements import tasks
from agreements.documents import jobs as documents
from agreements.documents import pdf, sealing
from agreements.models import Document, DocumentKind, RenderJob, RenderStatus
from tests.agreements.pdf_support import ACTIVE, LAKESHORE, SIGNING, flip_byte, middle_of_a_stream


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks.render_document, "apply_async", lambda args, queue=None, **kw: calls.append(args)
    )
    return calls


@pytest.fixture(scope="module")
def sealed_bytes() -> bytes:
    return sealing.seal(pdf.render_html("<p>Executed</p>").pdf, reason="test")


def stored_document(agreement, data: bytes, *, kind=DocumentKind.EXECUTED) -> RenderJob:
    """A finished job with its stored document, without rendering."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    name = documents.document_path(digest)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    document = Document.objects.create(
        agreement=agreement,
        kind=kind,
        text_hash=agreement.text_hash,
        sha256=digest,
        file=name,
        size=len(data),
        pages=1,
        sealed=kind == DocumentKind.EXECUTED,
    )
    return RenderJob.objects.create(
        agreement=agreement,
        kind=kind,
        text_hash=agreement.text_hash,
        status=RenderStatus.DONE,
        attempts=1,
        document=document,
    )


def urls(agreement, job: RenderJob) -> list[tuple[str, str]]:
    pk = agreement.pk
    return [
        ("get", reverse("agreement-documents", args=[pk])),
        ("post", reverse("document-request", args=[pk])),
        ("post", reverse("render-job-retry", args=[pk, job.pk])),
        ("get", reverse("document-download", args=[pk, job.document_id])),
        ("get", reverse("document-check", args=[pk, job.document_id])),
    ]


def test_strangers_get_404_on_every_document_url(client, demo, outsider, sealed_bytes):
    lakeshore = demo["agreements"][LAKESHORE]
    job = stored_document(lakeshore, sealed_bytes)
    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.FAILED)
    for user in (outsider, demo["users"]["director"]):  # director: not in Lakeshore's trio
        client.force_login(user)
        for method, url in urls(lakeshore, job):
            assert getattr(client, method)(url).status_code == 404, (user, url)
    assert RenderJob.objects.get(pk=job.pk).status == RenderStatus.FAILED  # retry refused
    client.force_login(outsider)
    assert client.get(reverse("document-verification")).status_code == 404
    upload = {"pdf": ContentFile(sealed_bytes, name="a.pdf")}
    assert client.post(reverse("document-verification"), upload).status_code == 404
    upload = {"pdf": ContentFile(sealed_bytes, name="a.pdf")}
    assert client.post(reverse("document-verify-api"), upload).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, demo, sealed_bytes):
    agreement = demo["agreements"][ACTIVE]
    job = stored_document(agreement, sealed_bytes)
    for method, url in [*urls(agreement, job), ("get", reverse("document-verification"))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_agreement_page_shows_documents_with_progress_and_actions(
    client, demo, sent, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    agreement = demo["agreements"][SIGNING]
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert 'id="documents"' in page and "No PDF has been produced yet." in page
    assert "Get a review copy (PDF)" in page and "data-pending" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("document-request", args=[agreement.pk]), {"kind": "review"})
    assert response.status_code == 302 and response["Location"].endswith("#documents")
    job = RenderJob.objects.get(agreement=agreement)
    assert job.kind == DocumentKind.REVIEW and sent == [(job.pk,)]

    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "data-pending" in page and "Waiting for a worker to start." in page
    assert "Get a review copy (PDF)" not in page  # this text is already requested
    assert '<script src="/static/js/documents.js" defer></script>' in page
    for n in range(6):  # more jobs (older texts) add no queries
        RenderJob.objects.create(
            agreement=agreement,
            kind=DocumentKind.REVIEW,
            text_hash=f"{n:064d}",
            status=RenderStatus.FAILED,
            error="old",
        )
    # The agreement page's own queries (see test_pages) plus one for the render jobs.
    with django_assert_max_num_queries(8):
        page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert page.count('<span class="tag">earlier text</span>') == 6


def test_status_json_follows_a_job_from_queued_to_ready(
    client, demo, sent, django_assert_max_num_queries, monkeypatch
):
    agreement = demo["agreements"][SIGNING]
    client.force_login(demo["users"]["director"])
    job = documents.render_request(agreement=agreement, kind=DocumentKind.REVIEW, by=None)
    url = reverse("agreement-documents", args=[agreement.pk])
    # Queries: session, user, agreement (access rule), render jobs with their documents.
    with django_assert_max_num_queries(4):
        body = client.get(url).json()
    assert body["pending"] is True
    assert body["jobs"][0] | {"requested_at": None} == {
        "id": job.pk,
        "kind": "review",
        "kind_label": "Review copy (draft watermark)",
        "status": "queued",
        "status_label": "Queued",
        "message": "Waiting for a worker to start.",
        "current_text": True,
        "requested_at": None,
        "download_url": None,
        "verify_url": None,
        "retry_url": None,
        "sha256": None,
    }
    monkeypatch.setattr(
        pdf,
        "render_agreement",
        lambda agreement, text, kind, *, generated_at: pdf.render_html("<p>copy</p>"),
    )
    documents.render_run(job_id=job.pk)
    with django_assert_max_num_queries(4):
        body = client.get(url).json()
    row = body["jobs"][0]
    assert body["pending"] is False and row["status"] == "done" and row["status_label"] == "Ready"
    assert row["verify_url"] is None  # review copies are not sealed
    download = client.get(row["download_url"])
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == (
        f'attachment; filename="{agreement.reference}-review.pdf"'
    )
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_a_failed_render_offers_a_retry_that_queues_it_again(
    client, demo, sent, django_capture_on_commit_callbacks
):
    agreement = demo["agreements"][ACTIVE]
    client.force_login(demo["users"]["director"])
    job = documents.render_request(agreement=agreement, kind=DocumentKind.EXECUTED, by=None)
    documents.render_fail(job_id=job.pk, error="The document asked for a forbidden resource")
    body = client.get(reverse("agreement-documents", args=[agreement.pk])).json()
    row = body["jobs"][0]
    assert (row["status"], row["message"]) == (
        "failed",
        "The document asked for a forbidden resource",
    )
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert row["retry_url"] in page and ">Retry</button>" in page
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(row["retry_url"])
    assert response.status_code == 302
    assert RenderJob.objects.get(pk=job.pk).status == RenderStatus.QUEUED and sent == [(job.pk,)]
    response = client.post(row["retry_url"], follow=True)  # not failed any more
    assert "Only a failed render can be retried" in response.content.decode()


def test_an_active_agreement_without_its_pdf_offers_to_produce_it(client, demo, sent):
    agreement = demo["agreements"][ACTIVE]
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "Produce the sealed PDF" in page and "Get a review copy" not in page
    client.post(reverse("document-request", args=[agreement.pk]), {"kind": "executed"})
    assert RenderJob.objects.get(agreement=agreement).kind == DocumentKind.EXECUTED
    response = client.post(
        reverse("document-request", args=[agreement.pk]), {"kind": "review"}, follow=True
    )
    assert "A review copy is for agreements not yet signed" in response.content.decode()


def test_checking_a_stored_sealed_document(
    client, demo, sealed_bytes, django_assert_max_num_queries
):
    agreement = demo["agreements"][ACTIVE]
    job = stored_document(agreement, sealed_bytes)
    client.force_login(demo["users"]["director"])
    # Queries: session, user, the document with its (visible) agreement.
    with django_assert_max_num_queries(3):
        response = client.get(reverse("document-check", args=[agreement.pk, job.document_id]))
    page = response.content.decode()
    assert "Intact and sealed by this platform" in page and job.document.sha256 in page
    # The download also appends an audit entry (issue 9): savepoint, chain lock, chain tail,
    # insert, release.
    with django_assert_max_num_queries(3 + 5):
        client.get(reverse("document-download", args=[agreement.pk, job.document_id]))


def test_the_verification_page_tells_intact_from_tampered(
    client, demo, sealed_bytes, django_assert_max_num_queries
):
    agreement = demo["agreements"][ACTIVE]
    stored_document(agreement, sealed_bytes)
    client.force_login(demo["users"]["director"])
    url = reverse("document-verification")
    # Queries: session, user, membership (may this person check documents?).
    with django_assert_max_num_queries(3):
        page = client.get(url).content.decode()
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    # ... plus the stored document with this hash, among those the user may see.
    with django_assert_max_num_queries(4):
        page = client.post(url, {"pdf": ContentFile(sealed_bytes, name="copy.pdf")})
    page = page.content.decode()
    assert "Intact and sealed by this platform" in page
    assert agreement.reference in page  # recognised as a stored document
    tampered = flip_byte(sealed_bytes, middle_of_a_stream(sealed_bytes))
    page = client.post(url, {"pdf": ContentFile(tampered, name="copy.pdf")}).content.decode()
    assert "Altered since it was sealed" in page
    assert "The signed content was altered after sealing." in page
    page = client.post(url, {}).content.decode()
    assert "Choose a PDF file to check." in page


def test_the_verify_endpoint_answers_json(client, demo, sealed_bytes):
    agreement = demo["agreements"][ACTIVE]
    stored_document(agreement, sealed_bytes)
    url = reverse("document-verify-api")
    client.force_login(demo["users"]["director"])
    body = client.post(url, {"pdf": ContentFile(sealed_bytes, name="a.pdf")}).json()
    assert body["ok"] and body["intact"] and body["signed_by_platform"]
    assert body["document"]["agreement"] == agreement.reference
    tampered = flip_byte(sealed_bytes, middle_of_a_stream(sealed_bytes))
    body = client.post(url, {"pdf": ContentFile(tampered, name="a.pdf")}).json()
    assert not body["ok"] and not body["intact"] and body["signed"]
    assert client.post(url, {}).status_code == 400
    assert client.get(url).status_code == 405
    # Someone from another trio learns whether the file is intact, not whose it is.
    client.force_login(demo["users"]["lakeshore"])
    body = client.post(url, {"pdf": ContentFile(sealed_bytes, name="a.pdf")}).json()
    assert body["ok"] and body["document"] is None
    json.dumps(body)
