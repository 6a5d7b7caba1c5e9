"""Every download page serves its file the same way (collaboratory.downloads): an attachment
under a safe name, nosniff, never cached, and one DOWNLOAD audit entry naming the file. The
API's document has its own test in tests/api/test_document_download.py."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Document
from audit.models import AuditAction, AuditEntry
from tests.agreements.pdf_support import ACTIVE
from tests.agreements.test_destruction_pages import _certified, _urls, duty, pilot  # noqa: F401
from tests.agreements.test_research_approvals import record, study  # noqa: F401

NEVER_CACHE = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}


def assert_safe_download(response, *, filename: str, content_type: str) -> bytes:
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["Content-Type"].split(";")[0] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert {p.strip() for p in response["Cache-Control"].split(",")} == NEVER_CACHE
    return b"".join(response.streaming_content)


def last_download() -> AuditEntry:
    entry = AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).order_by("-seq").first()
    assert entry is not None
    return entry


def test_an_approval_letter_downloads_under_its_cleaned_name(client, study):  # noqa: F811
    approval = record(study, document_name="irb\u202e-letter.pdf")
    client.force_login(study["users"]["vendor"])
    url = reverse("research-approval-document", args=[study["agreement"].pk, approval.pk])
    body = assert_safe_download(
        client.get(url), filename="irb-letter.pdf", content_type="application/pdf"
    )
    assert body.startswith(b"%PDF-")
    entry = last_download()
    assert entry.actor_id == study["users"]["vendor"].pk
    assert entry.payload["research_approval_id"] == approval.pk
    assert entry.payload["sha256"] == approval.document_sha256


def test_destruction_evidence_and_certificate_download_alike(client, demo, duty):  # noqa: F811
    certified = _certified(
        duty, demo["users"]["researcher"], evidence=SimpleUploadedFile("wipe.txt", b"3 passes")
    )
    urls = _urls(certified)
    client.force_login(demo["users"]["director"])
    evidence = client.get(urls["evidence"])
    assert assert_safe_download(evidence, filename="wipe.txt", content_type="text/plain") == (
        b"3 passes"
    )
    entry = last_download()
    assert (entry.object_id, entry.payload["what"]) == (str(certified.pk), "evidence")
    assert entry.payload["sha256"] == certified.evidence_sha256
    certificate = client.get(urls["certificate"])
    assert_safe_download(
        certificate,
        filename=f"{certified.agreement.reference}-destruction-{certified.pk}.pdf",
        content_type="application/pdf",
    )
    assert last_download().payload["what"] == "certificate"


def stored_document(agreement, *, sha256: str) -> Document:
    """A sealed executed document of ``agreement`` in the file store (MEDIA_ROOT)."""
    return Document.objects.create(
        agreement=agreement,
        kind="executed",
        text_hash=agreement.text_hash,
        sha256=sha256,
        file=ContentFile(b"%PDF-1.7 sealed", name="sealed.pdf"),
        size=15,
        sealed=True,
    )


def test_a_stored_agreement_document_downloads_alike(client, demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    agreement = demo["agreements"][ACTIVE]
    document = stored_document(agreement, sha256="b" * 64)
    client.force_login(demo["users"]["director"])
    response = client.get(reverse("document-download", args=[agreement.pk, document.pk]))
    assert_safe_download(
        response, filename=f"{agreement.reference}-executed.pdf", content_type="application/pdf"
    )
    entry = last_download()
    assert (entry.payload["document_id"], entry.payload["sha256"]) == (document.pk, "b" * 64)
