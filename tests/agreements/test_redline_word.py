"""The agreement's redline as a Word file keeps the structure and says who changed what."""

from __future__ import annotations

import datetime as dt
import io

from docx import Document
from docx.oxml.ns import qn

from agreements.models import Agreement
from agreements.review.redline_word import redline_docx
from agreements.review.selectors import agreement_comparison, standard_text
from agreements.selectors import consolidated_text, with_agreement_detail

# publication-review replaced by Hillcrest; breach notice (72 -> 48 hours) and retention
# (90 -> 60 days) changed as terms by Riverbend; all accepted.
ACTIVE = "Productive Struggle Classroom Study"
HILLCREST = "Hillcrest State University Center for Mathematics Education"
RIVERBEND = "Riverbend Unified School District"
WHEN = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def _texts(agreement: Agreement):
    text = consolidated_text(agreement)
    # The standard as the product reads it: with the terms from before the accepted changes.
    return standard_text(agreement, text), text


def test_the_word_redline_marks_the_accepted_change_by_its_party_and_keeps_numbering(demo):
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=demo["agreements"][ACTIVE].pk)
    standard, text = _texts(agreement)
    changed = [r for r in agreement_comparison(agreement).rows if r.changed]
    assert [r.key for r in changed] == [
        "breach-notification",
        "data-retention",
        "publication-review",
    ]
    overrides = {o.pk: o for o in agreement.overrides.all()}

    def party(override_id):
        override = overrides.get(override_id or 0)
        return (override.organisation.name, WHEN) if override else ("Collaboratory", None)

    content = redline_docx(
        standard=standard,
        text=text,
        title=f"{agreement.reference} {agreement.title}",
        summary="3 of 37 clauses deviate from the standard.",
        party=party,
    )
    body = Document(io.BytesIO(content)).element.body
    revisions = list(body.iter(qn("w:ins"), qn("w:del")))
    assert revisions
    authors = {r.get(qn("w:author")) for r in revisions}
    assert authors == {HILLCREST, RIVERBEND}
    inserted = " ".join(t.text or "" for r in revisions for t in r.iter(qn("w:t")))
    deleted = " ".join(t.text or "" for r in revisions for t in r.iter(qn("w:delText")))
    # The negotiated terms are marked as the district's: exactly the numbers that changed.
    by_riverbend = [r for r in revisions if r.get(qn("w:author")) == RIVERBEND]
    assert sorted(
        (r.tag == qn("w:ins"), "".join(t.text or "" for t in r.iter(qn("w:t"), qn("w:delText"))))
        for r in by_riverbend
    ) == [(False, "72"), (False, "90"), (True, "48"), (True, "60")]
    row = changed[2]
    assert "manuscript" in inserted and "manuscript" not in row.old_body
    assert "unfavourable" in deleted and "unfavourable" not in row.new_body
    # Sections are numbered by Word (no typed "18."), tables are tables, no markup anywhere.
    paragraphs = Document(io.BytesIO(content)).paragraphs
    numbered = [p for p in paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None]
    assert len(numbered) >= 36
    assert len(Document(io.BytesIO(content)).tables) >= 1  # Schedule A
    words = "\n".join(p.text for p in paragraphs)
    for markup in ("**", "{#", "\\.", "{.ul}", "]{", "## "):
        assert markup not in words
