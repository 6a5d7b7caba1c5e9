"""The partner API's sealed document is served like every download (collaboratory.downloads):
an attachment, nosniff, never cached, and a DOWNLOAD audit entry marked as via the API."""

from __future__ import annotations

from django.core.files.base import ContentFile

from agreements.models import Document
from audit.models import AuditAction, AuditEntry
from tests.api.test_agreements import riverbend  # noqa: F401


def test_the_sealed_document_has_the_download_headers_and_an_audit_entry(
    api_world,
    riverbend,  # noqa: F811
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path
    agreement = api_world["riverbend_agreement"]
    document = Document.objects.create(
        agreement=agreement,
        kind="executed",
        text_hash=agreement.text_hash,
        sha256="c" * 64,
        file=ContentFile(b"%PDF-1.7 sealed", name="sealed.pdf"),
        size=15,
        sealed=True,
    )
    response = riverbend.get(
        f"/api/v1/agreements/{agreement.pk}/document", headers={"Accept": "application/pdf"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{agreement.reference}.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert {"private", "no-store", "no-cache"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }
    assert response["X-Content-SHA256"] == "c" * 64
    entry = AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).order_by("-seq").first()
    assert entry is not None
    assert entry.payload == {
        "document_id": document.pk,
        "kind": "executed",
        "sha256": "c" * 64,
        "via": "api",
    }
