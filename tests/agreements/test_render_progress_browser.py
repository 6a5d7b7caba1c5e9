"""Real Chromium: the documents section follows a render from queued to ready without a
reload, under the site's Content Security Policy (no inline script)."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import Page, expect

from agreements.documents import jobs as documents
from agreements.documents import pdf
from agreements.models import Document, DocumentKind, RenderJob, RenderStatus
from tests.agreements.pdf_support import SIGNING

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_render_progress_updates_without_a_reload(page: Page, live_server, demo):
    agreement = demo["agreements"][SIGNING]
    job = RenderJob.objects.create(
        agreement=agreement, kind=DocumentKind.REVIEW, text_hash=agreement.text_hash
    )
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.goto(f"{live_server.url}/login/?next=/agreements/{agreement.pk}/")
    page.get_by_label("Username").fill("director")
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    section = page.locator("#documents")
    expect(section.get_by_text("Queued", exact=True)).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.RUNNING, attempts=1)
    expect(section.get_by_text("Rendering", exact=True)).to_be_visible(timeout=15_000)

    data = pdf.render_html("<p>copy</p>").pdf
    digest = hashlib.sha256(data).hexdigest()
    default_storage.save(documents.document_path(digest), ContentFile(data))
    document = Document.objects.create(
        agreement=agreement,
        kind=DocumentKind.REVIEW,
        text_hash=job.text_hash,
        sha256=digest,
        file=documents.document_path(digest),
        size=len(data),
        pages=1,
    )
    RenderJob.objects.filter(pk=job.pk).update(status=RenderStatus.DONE, document=document)
    download = section.get_by_role("link", name="Download PDF")
    expect(download).to_be_visible(timeout=15_000)
    expect(section.get_by_text("Ready", exact=True)).to_be_visible()
    expect(download).to_have_attribute("href", re.compile(rf"/documents/{document.pk}/download/$"))
    assert page.evaluate("window.stillTheSamePage") is True
    assert problems == []
