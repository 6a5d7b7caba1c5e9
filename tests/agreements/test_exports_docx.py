"""Redline exports (agreements/exports.py): a .docx with real Word tracked changes, read back
with python-docx, and the PDF through the agreements' rendering pipeline."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from agreements.models import Agreement
from agreements.review.redline_word import DOCX_CONTENT_TYPE
from agreements.review.selectors import agreement_comparison
from agreements.selectors import with_agreement_detail
from agreements.text.document.docx_redline import docx_redline
from agreements.text.document.model import Document as TextDocument
from agreements.text.document.model import Paragraph, Part, PartKind, Text
from agreements.text.document.normalise import normalise
from agreements.text.document.redline import diff_documents
from agreements.text.redline import diff_tokens

# publication-review replaced by Hillcrest; breach notice and retention negotiated as terms by
# Riverbend (72 -> 48 hours, 90 -> 60 days); all accepted.
ACTIVE = "Productive Struggle Classroom Study"
WHEN = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


@dataclass
class C:
    key: str
    number: str
    heading: str
    body: str


def attribution(_row):
    return ("Brightpath Learning, Inc.", WHEN)


def read_changes(content: bytes) -> list[tuple[str, str]]:
    """Every w:ins / w:del of the document body in order, with the text it holds."""
    body = Document(io.BytesIO(content)).element.body
    changes = []
    for element in body.iter(qn("w:ins"), qn("w:del")):
        if element.getparent().tag == qn("w:rPr"):
            continue  # a revised paragraph mark, checked separately
        text = ""
        for node in element.iter(qn("w:t"), qn("w:delText"), qn("w:br")):
            text += "\n" if node.tag == qn("w:br") else node.text or ""
        changes.append(("insert" if element.tag == qn("w:ins") else "delete", text))
    return changes


def expected_changes(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the one diff module marks, cut at paragraph breaks as Word paragraphs are."""
    expected: list[tuple[str, str]] = []
    for old, new in pairs:
        for op in diff_tokens(old, new):
            if op.kind == "equal":
                continue
            for piece in re.split(r"\n[ \t]*\n\s*", op.text):
                if piece:
                    expected.append((op.kind, piece))
    return expected


def _document(clauses: list[C]) -> TextDocument:
    """Clauses as a document: one numbered section each, a paragraph per blank-line block."""
    parts = tuple(
        Part(
            c.key,
            PartKind.SECTION,
            (Text(c.heading),),
            tuple(Paragraph((Text(p),)) for p in c.body.split("\n\n") if p.strip()),
        )
        for c in clauses
    )
    return normalise(TextDocument(parts=parts))


def docx_of(old: list[C], new: list[C]) -> bytes:
    author, date = attribution(None)
    diff = diff_documents(_document(old), _document(new))
    return docx_redline(diff, author=author, date=date)


def test_docx_marks_exactly_the_changed_words_as_tracked_changes():
    old = [
        C("breach", "1", "Breach", "Notify the District within 72 hours, in writing."),
        C("audits", "2", "Audits", "The District may audit once a year."),
    ]
    new = [
        C("breach", "1", "Breach", "Notify the District within 24 hours in writing."),
        C("audits", "2", "Audits", "The District may audit once a year."),
    ]

    changes = read_changes(docx_of(old, new))

    assert changes == [("delete", "72"), ("insert", "24"), ("delete", ",")]
    assert changes == expected_changes([(old[0].body, new[0].body)])


def test_every_tracked_change_names_its_author_and_date_and_has_a_unique_id():
    old = [C("a", "1", "A", "One two three.")]
    new = [C("a", "1", "A", "One four three."), C("b", "2", "B", "A new clause.")]

    body = Document(io.BytesIO(docx_of(old, new))).element.body
    marks = list(body.iter(qn("w:ins"), qn("w:del")))

    assert marks
    assert {m.get(qn("w:author")) for m in marks} == {"Brightpath Learning, Inc."}
    assert {m.get(qn("w:date")) for m in marks} == {"2026-03-01T09:30:00Z"}
    ids = [m.get(qn("w:id")) for m in marks]
    assert len(ids) == len(set(ids))


def test_inserted_and_deleted_clauses_are_whole_tracked_paragraphs():
    old = [C("keep", "1", "Keep", "Stays."), C("gone", "2", "Gone", "First.\n\nSecond.")]
    new = [C("keep", "1", "Keep", "Stays."), C("added", "2", "Added", "Brand new text.")]

    content = docx_of(old, new)

    assert read_changes(content) == [
        ("delete", "Gone"),  # where it stood: after the clause that preceded it
        ("delete", "First."),
        ("delete", "Second."),
        ("insert", "Added"),
        ("insert", "Brand new text."),
    ]
    paragraphs = Document(io.BytesIO(content)).paragraphs
    texts = [p.text for p in paragraphs]
    assert "Keep" in texts and "Stays." in texts  # "1." is Word's numbering, not text
    # Their paragraph marks are revised too, so accepting removes the paragraphs entirely.
    revised_marks = [
        p._p.pPr.find(qn("w:rPr"))[0].tag
        for p in paragraphs
        if p._p.pPr is not None and p._p.pPr.find(qn("w:rPr")) is not None
    ]
    assert revised_marks.count(qn("w:ins")) == 2  # heading and body of the new clause
    assert revised_marks.count(qn("w:del")) == 3  # heading and two paragraphs


def test_a_split_paragraph_is_a_tracked_new_paragraph_and_line_breaks_survive():
    old = [C("a", "1", "A", "First sentence. Second sentence.\nA second line.")]
    new = [C("a", "1", "A", "First sentence.\n\nSecond sentence.\nA second line.")]

    content = docx_of(old, new)

    # The new first paragraph is inserted whole (its paragraph mark too); the old paragraph
    # loses the words that moved into it; the line break inside the paragraph survives.
    assert read_changes(content) == [("insert", "First sentence."), ("delete", "First sentence. ")]
    paragraphs = Document(io.BytesIO(content)).paragraphs
    assert [p.text for p in paragraphs if "sentence" in p.text] == [
        "Second sentence.\nA second line."  # python-docx reads only the unchanged runs
    ]
    inserted = next(
        p for p in paragraphs if "First sentence." in "".join(t.text for t in p._p.iter(qn("w:t")))
    )
    assert inserted._p.pPr is not None
    mark = inserted._p.pPr.find(qn("w:rPr"))
    assert mark is not None and mark[0].tag == qn("w:ins")


def test_unicode_and_markup_looking_text_reach_word_as_plain_text():
    old = [C("a", "1", "A", "The Party’s “data” — <b>all</b> of it & more; café.")]
    new = [C("a", "1", "A", "The Party’s “records” — <b>all</b> of it & more; café\x07.")]

    content = docx_of(old, new)

    # A control character XML cannot carry is not part of the text at all.
    assert read_changes(content) == [("delete", "data"), ("insert", "records")]
    # python-docx's paragraph text is the unchanged runs only.
    assert "The Party’s “” — <b>all</b> of it & more; café." in "\n".join(
        p.text for p in Document(io.BytesIO(content)).paragraphs
    )


def test_demo_agreement_docx_download_marks_the_accepted_change(client, demo):
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=demo["agreements"][ACTIVE].pk)
    changed = [r for r in agreement_comparison(agreement).rows if r.changed]
    assert [r.key for r in changed] == [
        "breach-notification",
        "data-retention",
        "publication-review",
    ]
    client.force_login(demo["users"]["director"])

    response = client.get(reverse("agreement-redline-docx", args=[agreement.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == DOCX_CONTENT_TYPE
    assert f'filename="{agreement.reference}-redline.docx"' in response["Content-Disposition"]
    changes = read_changes(response.content)
    deleted = " ".join(text for kind, text in changes if kind == "delete")
    inserted = " ".join(text for kind, text in changes if kind == "insert")
    assert "unfavourable" in deleted and "manuscript" in inserted
    body = Document(io.BytesIO(response.content)).element.body
    authors = {m.get(qn("w:author")) for m in body.iter(qn("w:ins"), qn("w:del"))}
    assert authors == {
        "Hillcrest State University Center for Mathematics Education",
        "Riverbend Unified School District",
    }


def test_demo_agreement_pdf_redline_renders_through_the_agreement_pipeline(client, demo):
    agreement = demo["agreements"][ACTIVE]
    client.force_login(demo["users"]["director"])

    response = client.get(reverse("agreement-redline-pdf", args=[agreement.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "3 of 37 clauses deviate from the standard" in text  # 36 clauses + the schedule
    assert "Publication and Pre-Publication Review" in text


@pytest.mark.parametrize("name", ["agreement-redline-docx", "agreement-redline-pdf"])
def test_outsiders_and_other_districts_get_404_for_redlines(client, demo, outsider, name):
    client.force_login(outsider)
    assert client.get(reverse(name, args=[demo["agreements"][ACTIVE].pk])).status_code == 404
    client.force_login(demo["users"]["director"])
    lakeshore = demo["agreements"]["Lakeshore Fluency Pathways Data Agreement"]
    assert client.get(reverse(name, args=[lakeshore.pk])).status_code == 404
