"""The real agreements of shared/corpus, imported as template versions, come out of the
agreement page, the review and sealed PDFs and the redline PDF with their structure: the
document's own section letters and attachment labels, lists and real tables, and no markup
characters from the source (issue 15, "Rendering")."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from agreements.documents import jobs as documents
from agreements.models import Agreement, DocumentKind, Identifiability, Status, TemplateVersion
from agreements.negotiation.fillins import agreement_fillins_update
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    data_element_add,
)
from agreements.review.services import agreement_approve, agreement_submit_for_review
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from agreements.standards.services import (
    template_create,
    template_import,
    template_version_publish,
)
from agreements.text.consolidation import SCHEDULE_KEY
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Emph,
    Indented,
    Inline,
    OrderedList,
    Paragraph,
    Param,
    PartKind,
    Ref,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from tests.agreements.pdf_support import has_heading, pdf_layout_text

DUA = "sfusd-stanford-data-use-agreement-template.md"
MASTER = "sfusd-stanford-master-agreement.md"
SECTIONS = {DUA: "ABCDEFGHIJKL", MASTER: "ABCDEFGHIJ"}
#: What pandoc's Markdown of the corpus is full of, and none of which may reach a reader.
MARKUP = ("**", "{.ul}", "^th^", "+---", "|---", "\\.")
LEGAL = ("counsel", "director", "vendor")
SIGNATORIES = ("researcher", "director", "vendor")


def _corpus(name: str) -> bytes:
    """A real agreement from shared/corpus beside the checkout (or $COLLABORATORY_CORPUS), as
    tests/agreements/document/conftest.py finds it."""
    candidates = [Path(__file__).resolve().parents[2].parent / "shared" / "corpus"]
    if os.environ.get("COLLABORATORY_CORPUS"):
        candidates.append(Path(os.environ["COLLABORATORY_CORPUS"]))
    for candidate in candidates:
        if (candidate / name).is_file():
            return (candidate / name).read_bytes()
    pytest.skip("the corpus of real agreements is not present (set COLLABORATORY_CORPUS)")


# --- what the text must show ----------------------------------------------------------------


def _runs(inlines: Sequence[Inline]) -> Iterator[str]:
    """The runs of literal text of a paragraph, split where a blank, reference, parameter or
    line break stands (those render as something other than their source)."""
    current: list[str] = []

    def walk(items: Sequence[Inline]) -> Iterator[str]:
        for inline in items:
            if isinstance(inline, Text):
                current.append(inline.text)
            elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
                yield from walk(inline.children)
            elif isinstance(inline, (Blank, Ref, Param, Break)):
                yield "".join(current)
                current.clear()

    yield from walk(inlines)
    yield "".join(current)


def _block_runs(blocks: Sequence[Block]) -> Iterator[str]:
    for block in blocks:
        if isinstance(block, Paragraph):
            yield from _runs(block.inlines)
        elif isinstance(block, (OrderedList, BulletList)):
            for item in block.items:
                yield from _block_runs(item.blocks)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    yield from _block_runs(cell.blocks)
        elif isinstance(block, Indented):
            yield from _block_runs(block.blocks)


def _tables(blocks: Sequence[Block]) -> Iterator[Table]:
    for block in blocks:
        if isinstance(block, Table):
            yield block
            for row in block.rows:
                for cell in row.cells:
                    yield from _tables(cell.blocks)
        elif isinstance(block, (OrderedList, BulletList)):
            for item in block.items:
                yield from _tables(item.blocks)
        elif isinstance(block, Indented):
            yield from _tables(block.blocks)


def cell_texts(agreement: Agreement) -> list[str]:
    """Every run of text in every table cell of the agreement's text, whitespace collapsed."""
    document = consolidated_text(fresh(agreement)).document
    texts = []
    for part in document.parts:
        for table in _tables(part.blocks):
            for row in table.rows:
                for cell in row.cells:
                    texts += [" ".join(r.split()) for r in _block_runs(cell.blocks) if r.strip()]
    return texts


def loose(text: str) -> str:
    """For finding a cell's text: whitespace collapsed and hyphens dropped, as pdftotext joins
    a word broken after its own hyphen ("end-of-" / "unit" reads "end-ofunit")."""
    return " ".join(text.split()).replace("-", "")


@dataclass(frozen=True)
class PdfText:
    raw: str  # pdftotext in reading order, one line per printed line
    layout: str  # pdftotext -layout: a hanging label on the line of its heading

    @property
    def flat(self) -> str:
        return " ".join(self.raw.split())

    def has_heading(self, label: str, title: str) -> bool:
        """A printed line that starts with ``label`` and then the title's first word."""
        return has_heading(self.layout, label, title)


def pdf_text(data: bytes) -> PdfText:
    raw = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return PdfText(raw, pdf_layout_text(data))


def assert_reads_clean(text: PdfText, agreement: Agreement) -> None:
    """Every table cell is there, and nothing of the source's Markdown is."""
    shown = loose(text.raw)
    missing = [cell for cell in cell_texts(agreement) if loose(cell) not in shown]
    assert not missing, missing
    for markup in MARKUP:
        assert markup not in text.raw, markup
    quoted = [line for line in text.raw.splitlines() if line.startswith("> ")]
    assert not quoted, quoted


def assert_labels(text: PdfText, agreement: Agreement, corpus: str) -> None:
    """Section letters as in the source, attachments as attachments, nothing made up."""
    consolidated = consolidated_text(fresh(agreement))
    sections = [c for c in consolidated.clauses if c.kind == PartKind.SECTION]
    assert [c.number for c in sections] == [f"{letter}." for letter in SECTIONS[corpus]]
    for clause in sections:
        assert text.has_heading(clause.number, clause.heading), clause.number
    attachments = [c for c in consolidated.clauses if c.kind == PartKind.ATTACHMENT]
    assert attachments and all(c.number.upper().startswith("ATTACHMENT") for c in attachments)
    for clause in attachments:
        assert text.has_heading(clause.number, clause.heading), clause.number
    unnumbered = [c for c in consolidated.clauses if c.kind == PartKind.UNNUMBERED]
    for clause in unnumbered:
        assert text.has_heading("", clause.heading), clause.heading
    assert not re.search(r"\b1\. Preamble\b", text.flat)
    assert not re.search(r"\b\d+\. (PARTY SIGNATURES|ATTACHMENT)", text.flat)


# --- agreements on the real documents ---------------------------------------------------------


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def text_hash(agreement: Agreement) -> str:
    return consolidated_text(fresh(agreement)).sha256


def imported_version(demo, corpus: str) -> TemplateVersion:
    template = template_create(
        collaboratory=demo["collaboratory"],
        name=f"SFUSD–Stanford {corpus[:-3]}",
        slug=corpus[:-3][:50],
    )
    version, report = template_import(template=template, filename=corpus, data=_corpus(corpus))
    assert version is not None, report
    return template_version_publish(version=version, by=demo["users"]["facilitator"])


def agreement_on(demo, corpus: str) -> Agreement:
    """A negotiating agreement of the adaptive-practice trio on the imported document, with
    two data elements (the generated schedule is a table too)."""
    trio = demo["trios"]["adaptive-practice"]
    director = demo["users"]["director"]
    agreement = agreement_create(
        trio=trio,
        template_version=imported_version(demo, corpus),
        by=director,
        title="Chronic Absence Study",
        purpose="Learn what keeps students in school.",
        sharing_mode="analysis",
        start_date=dt.date(2026, 9, 1),
        term_months=24,
        breach_notice_hours=72,
        retention_days=90,
        research_questions=list(trio.research_questions.all()),
    )
    members = {m.role: m.organisation for m in trio.members.select_related("organisation")}
    question = trio.research_questions.first()
    # What analysis mode admits: record-level data under a study ID the district alone can
    # link (de-identified for the university), and counts.
    for name, identifiability, description in (
        (
            "Daily attendance",
            Identifiability.DEIDENTIFIED,
            "One row per student and school day, keyed by study ID.",
        ),
        (
            "School enrolment counts",
            Identifiability.AGGREGATE,
            "Counts by school and grade; cells under 10 suppressed.",
        ),
    ):
        data_element_add(
            agreement=agreement,
            by=director,
            name=name,
            source=members["district"],
            recipient=members["research"],
            identifiability=identifiability,
            research_questions=[question],
            description=description,
        )
    agreement_open_negotiation(agreement=agreement, by=director)
    fill_in_every_blank(agreement, director)
    return fresh(agreement)


FILLED = {BlankKind.DATE: "2026-09-01", BlankKind.CHOICE: "checked"}


def fill_in_every_blank(agreement: Agreement, by) -> None:
    """What a facilitator writes in the document's blanks before review (signature lines
    are completed by signing)."""
    text = consolidated_text(fresh(agreement))
    values = {
        # One word each, no word of any prompt: a redline shows it whole after the prompt.
        fillin.id: FILLED.get(fillin.kind, f"Answer{index:02d}")
        for index, fillin in enumerate(text.fillins)
        if fillin.is_open
    }
    agreement_fillins_update(agreement=fresh(agreement), by=by, values=values, not_applicable={})


def activate(demo, agreement: Agreement) -> Agreement:
    users = demo["users"]
    agreement_submit_for_review(agreement=fresh(agreement), by=users["director"])
    for username in LEGAL:
        agreement_approve(
            agreement=fresh(agreement), by=users[username], text_hash=text_hash(agreement)
        )
    for username in SIGNATORIES:
        user = users[username]
        agreement_sign(
            agreement=fresh(agreement),
            by=user,
            typed_name=user.get_full_name(),
            intent_confirmed=True,
            text_hash=text_hash(agreement),
        )
    agreement = fresh(agreement)
    assert agreement.status == Status.ACTIVE
    return agreement


def rendered(agreement: Agreement, kind: str) -> bytes:
    """The stored PDF of ``kind``, through the render jobs (request, run, store)."""
    job = documents.render_request(agreement=agreement, kind=kind, by=None)
    assert documents.render_run(job_id=job.pk) == "done"
    job.refresh_from_db()
    with default_storage.open(job.document.file.name) as stored:
        return stored.read()


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Render tasks run in the test through render_run; nothing goes to Redis."""
    from agreements import tasks

    monkeypatch.setattr(tasks.render_document, "apply_async", lambda *args, **kwargs: None)


@pytest.mark.parametrize("corpus", [DUA, MASTER])
def test_the_review_copy_shows_the_documents_own_labels_lists_and_tables(demo, corpus):
    agreement = agreement_on(demo, corpus)
    text = pdf_text(rendered(agreement, DocumentKind.REVIEW))
    assert_reads_clean(text, agreement)
    assert_labels(text, agreement, corpus)
    title = consolidated_text(agreement).document.title
    assert title and " ".join(t.text for t in title[0] if isinstance(t, Text)) in text.flat
    assert "Daily attendance" in text.flat and "School enrolment counts" in text.flat


@pytest.mark.parametrize("corpus", [DUA, MASTER])
def test_the_sealed_copy_shows_the_structure_and_keeps_its_signature_and_audit_pages(demo, corpus):
    agreement = activate(demo, agreement_on(demo, corpus))
    text = pdf_text(rendered(agreement, DocumentKind.EXECUTED))
    assert_reads_clean(text, agreement)
    assert_labels(text, agreement, corpus)
    for username in SIGNATORIES:
        assert f"/s/ {demo['users'][username].get_full_name()}" in text.flat
    assert "Audit Certificate" in text.flat
    assert "Research Questions" in text.flat


@pytest.mark.parametrize("corpus", [DUA, MASTER])
def test_the_redline_pdf_reads_clean(client, demo, corpus):
    agreement = agreement_on(demo, corpus)
    users = demo["users"]
    override = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key="the-family-educational-rights-and-privacy-act",
        body="Each party agrees to comply with FERPA in its performance of this Agreement.",
        rationale="Shorter.",
    )
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    client.force_login(users["director"])
    response = client.get(reverse("agreement-redline-pdf", args=[agreement.pk]))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert_reads_clean(text, agreement)
    for clause in consolidated_text(fresh(agreement)).clauses:
        if clause.kind == PartKind.SECTION:
            assert text.has_heading(clause.number, clause.heading), clause.number


def test_the_agreement_page_shows_lists_tables_and_labels(client, demo):
    agreement = agreement_on(demo, DUA)
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert '<table class="doc-table">' in page and "<thead>" in page
    assert '<ol class="doc-list">' in page
    # Section H's confidentiality statements, numbered as in the source, with anchors.
    assert (
        '<li id="clause-stanford-research-organization-responsibilities-item-0">'
        '<span class="label">1.</span>'
    ) in page
    # Section J's "a." and "b." items, indented in the source.
    assert '<span class="label">a.</span>' in page
    for letter in SECTIONS[DUA]:
        assert f'<span class="clause__number">{letter}.</span>' in page
    assert '<span class="clause__number">ATTACHMENT A:</span>' in page
    assert ".</span>." not in page and "1. Preamble" not in page
    # The text as read has no markup; only the "propose a change" forms hold the Markdown
    # people edit (and a hint on how to write it).
    form = r'<details class="inline-form propose"[^>]*>.*?</details>'
    forms = re.findall(form, page, re.S)
    assert forms and any("**" in form for form in forms)
    read = re.sub(form, "", page, flags=re.S)
    for markup in ("**", "{.ul}", "\\."):
        assert markup not in read
    # The schedule is a generated part in the document's own attachment series.
    schedule = next(
        c
        for c in consolidated_text(agreement).clauses
        if c.part and c.part.generated == SCHEDULE_KEY
    )
    assert schedule.number == "ATTACHMENT C:"
    # "Attachment B" in Section H.4 links to the attachment.
    assert re.search(r'<a class="ref" href="#clause-list-of-staff[^"]*">', page)
