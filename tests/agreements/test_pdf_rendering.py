"""The PDF renderer: what a document contains, and that nothing from the network or the
filesystem outside static/ can get into it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from agreements.documents import pdf
from agreements.models import (
    Agreement,
    ClauseOverride,
    DataElement,
    DocumentKind,
    OverrideKind,
    OverrideStatus,
)
from agreements.selectors import consolidated_text, with_agreement_detail
from tests.agreements.pdf_support import (
    ACTIVE,
    SIGNING,
    has_heading,
    pdf_layout_text,
    pdf_structure,
    pdf_text,
    recording_listener,
)

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def render(agreement: Agreement, kind: str) -> tuple[bytes, int]:
    agreement = fresh(agreement)
    rendered = pdf.render_agreement(agreement, consolidated_text(agreement), kind, generated_at=NOW)
    return rendered.pdf, rendered.pages


# --- the URL fetcher -----------------------------------------------------------------------


def test_fetcher_refuses_files_outside_static():
    with pytest.raises(pdf.URLRefused):
        pdf.StaticOnlyURLFetcher().fetch("file:///etc/passwd")


def test_fetcher_refuses_http_even_to_loopback():
    fetcher = pdf.StaticOnlyURLFetcher()
    with recording_listener() as listener:
        port = listener.server_address[1]
        for url in (f"http://127.0.0.1:{port}/", f"https://127.0.0.1:{port}/", "ftp://x/"):
            with pytest.raises(pdf.URLRefused):
                fetcher.fetch(url)
    assert listener.hits == []


def test_fetcher_refuses_escapes_from_its_root(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "passwd").symlink_to("/etc/passwd")
    (tmp_path / "secret.txt").write_text("secret")
    fetcher = pdf.StaticOnlyURLFetcher(root=root)
    for url in (
        (root / "passwd").as_uri(),
        root.as_uri() + "/../secret.txt",
        "file://example.org" + str(root / "passwd"),
        root.as_uri() + "/missing.ttf",
    ):
        with pytest.raises(pdf.URLRefused):
            fetcher.fetch(url)


def test_fetcher_serves_our_static_font_and_data_urls():
    fetcher = pdf.StaticOnlyURLFetcher()
    font = Path(pdf.asset_root(), "fonts", "DejaVuSerif.ttf")
    response = fetcher.fetch(font.as_uri())
    assert response.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        '<img src="http://127.0.0.1:{port}/img">',
        '<p style="background: url(http://127.0.0.1:{port}/css)">x</p>',
        "<style>@import url(http://127.0.0.1:{port}/import);</style><p>x</p>",
        '<link rel="stylesheet" href="http://127.0.0.1:{port}/sheet">',
        '<a rel="attachment" href="file:///etc/passwd">x</a>',
    ],
)
def test_markup_reaching_weasyprint_cannot_fetch_anything(markup):
    """Defence in depth: even markup that escaped the template would be refused, and a
    refusal stops the render rather than producing a PDF without the resource."""
    with recording_listener() as listener:
        html = "<html><body>" + markup.format(port=listener.server_address[1]) + "</body></html>"
        with pytest.raises(pdf.RenderError, match="forbidden resource"):
            pdf.render_html(html)
    assert listener.hits == []


# --- hostile clause text -------------------------------------------------------------------


def test_hostile_clause_text_is_printed_as_text_and_nothing_is_fetched(demo):
    # A negotiating agreement: PostgreSQL refuses new overrides on a signed one (issue 9).
    agreement = demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    party = agreement.trio.members.first().organisation
    with recording_listener() as listener:
        port = listener.server_address[1]
        payloads = [
            '<img src="file:///etc/passwd">',
            '<link rel="attachment" href="file:///etc/passwd">',
            f"url(http://127.0.0.1:{port}/)",
            f'<div style="background:url(http://127.0.0.1:{port}/bg)">styled</div>',
            "{{ settings.SECRET_KEY }} {% debug %}",
        ]
        ClauseOverride.objects.create(
            agreement=agreement,
            organisation=party,
            kind=OverrideKind.REPLACE,
            clause_key="definitions",
            heading='Definitions <img src="file:///etc/passwd">',
            body="\n\n".join(payloads),
            rationale="hostile",
            status=OverrideStatus.ACCEPTED,
        )
        DataElement.objects.filter(agreement=agreement).update(
            description=f'<link rel="attachment" href="file:///etc/passwd"> url(http://127.0.0.1:{port}/de)'
        )
        data, _ = render(agreement, DocumentKind.REVIEW)
        assert listener.hits == []
    structure = pdf_structure(data)
    assert structure["embedded_files"] is False
    assert structure["file_annotations"] == 0
    assert structure["images"] == 0
    assert structure["raw_has_passwd"] is False
    text = pdf_text(data)
    assert '<img src="file:///etc/passwd">' in text
    assert '<link rel="attachment" href="file:///etc/passwd">' in text
    assert f"url(http://127.0.0.1:{port}/)" in text
    assert "{{ settings.SECRET_KEY }} {% debug %}" in text


# --- what the documents contain ------------------------------------------------------------


def test_executed_copy_has_every_clause_signatures_and_audit_certificate(demo):
    agreement = fresh(demo["agreements"][ACTIVE])
    text = consolidated_text(agreement)
    data, pages = render(agreement, DocumentKind.EXECUTED)
    content = pdf_text(data)
    layout = pdf_layout_text(data)
    for clause in text.clauses:
        assert " ".join(clause.heading.split()) in content
        # The label as the template numbers it, punctuation included ("1.", "Attachment A").
        assert has_heading(layout, clause.number, clause.heading), clause.number
    assert f"listed in {pdf.schedule_name(text)}" in content  # the cover names the schedule
    for row in text.schedule:
        assert row.name in content
    assert "Signatures" in content
    assert "Audit Certificate" in content
    for signature in agreement.signatures.all():
        assert f"/s/ {signature.typed_name}" in content
    for approval in agreement.approvals.all():
        assert approval.user.get_full_name() in content
    assert "seed_demo" in content  # user agents
    assert "127.0.0.1" in content  # addresses
    assert text.sha256 in content
    assert f"Page 1 of {pages}" in content and f"Page {pages} of {pages}" in content
    assert agreement.reference in content
    assert "Amended from the standard terms" in content  # the margin note
    assert "DRAFT" not in content
    assert pdf_structure(data)["images"] == 0


def test_review_copy_is_watermarked_and_has_no_signature_page(demo):
    agreement = demo["agreements"][SIGNING]
    data, _ = render(agreement, DocumentKind.REVIEW)
    content = pdf_text(data)
    assert "DRAFT" in content
    assert "REVIEW COPY — DRAFT, NOT FOR SIGNATURE" in content
    assert "In witness whereof" not in content
    assert "Added by the Parties" in content
    assert "Audit Certificate" in content


def test_times_in_the_document_are_utc_whatever_the_site_time_zone(demo, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    agreement = demo["agreements"][SIGNING]
    with timezone.override("America/Los_Angeles"):
        data, _ = render(agreement, DocumentKind.REVIEW)
    content = pdf_text(data)
    assert "4 March 2026, 05:06 UTC" in content  # NOW, not 21:06 the day before
    signed = agreement.signatures.first().signed_at.astimezone(dt.UTC)
    assert signed.strftime("%Y-%m-%d %H:%M:%S UTC") in content
