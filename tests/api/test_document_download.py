"""The partner API's sealed document is served like every download (collaboratory.downloads):
an attachment, nosniff, never cached, and a DOWNLOAD audit entry marked as via the API."""

from __future__ import annotations

from tests.api.test_agreements import riverbend  # noqa: F401
from tests.security.test_download_headers import (
    assert_safe_download,
    last_download,
    stored_document,
)


def test_the_sealed_document_has_the_download_headers_and_an_audit_entry(
    api_world,
    riverbend,  # noqa: F811
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path
    agreement = api_world["riverbend_agreement"]
    document = stored_document(agreement, sha256="c" * 64)
    response = riverbend.get(
        f"/api/v1/agreements/{agreement.pk}/document", headers={"Accept": "application/pdf"}
    )
    body = assert_safe_download(
        response, filename=f"{agreement.reference}.pdf", content_type="application/pdf"
    )
    assert body == b"%PDF-1.7 sealed"
    assert response["X-Content-SHA256"] == "c" * 64
    assert last_download().payload == {
        "document_id": document.pk,
        "kind": "executed",
        "sha256": "c" * 64,
        "via": "api",
    }
