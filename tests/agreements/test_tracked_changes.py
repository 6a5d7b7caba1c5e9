"""Proposals as tracked changes (issue 17, item 1): on the agreement page, on the comparison
with the standard and in the redline downloads, each party's changes named as that party's,
pending proposals included unless only accepted changes are asked for."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from django.urls import reverse
from docx import Document as WordDocument
from docx.oxml.ns import qn

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose
from agreements.selectors import with_agreement_detail
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import ListItem, OrderedList, Paragraph, Param, Text
from agreements.text.tracked import Author, proposal_changes
from tests.agreements.pdf_support import pdf_text
from tests.agreements.test_fillins import corpus_text
from tests.conftest import login

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
NORTHFIELD = "Northfield University Learning Sciences Lab"  # counsel: 72 -> 24 hours
BRIGHTPATH = "Brightpath Learning, Inc."  # vendor: deletes the audits clause
RIVERBEND = "Riverbend Unified School District"  # director


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _revisions(content: bytes) -> list:
    body = WordDocument(io.BytesIO(content)).element.body
    return list(body.iter(qn("w:ins"), qn("w:del")))


def _words(revision) -> str:
    return "".join(t.text or "" for t in revision.iter(qn("w:t"), qn("w:delText")))


def _visible(html: str) -> str:
    """The words a mark shows (its cue for screen readers and its tags taken out)."""
    return re.sub(r"<[^>]+>", "", re.sub(r'<span class="visually-hidden">.*?</span>', "", html))


@pytest.fixture
def term_proposal(demo) -> Agreement:
    """The negotiating agreement plus the district's pending proposal that only changes a
    term: data retention 90 -> 60 days, the clause's words as the template has them."""
    agreement = _fresh(demo["agreements"][NEGOTIATING])
    clause = agreement.template_version.clauses.get(key="data-retention")
    override_propose(
        agreement=agreement,
        by=demo["users"]["director"],
        kind="replace",
        clause_key="data-retention",
        body=clause.body,
        rationale="Sixty days is enough for a pilot.",
        terms={"retention_days": "60"},
    )
    return _fresh(agreement)


# --- The marks themselves (pure) ------------------------------------------------------------


def test_a_term_change_is_its_filled_values_marked_as_the_term():
    blocks = (Paragraph((Text("Notice within "), Param("breach_notice_hours"), Text(" hours."))),)
    tracked = proposal_changes(
        base=blocks,
        proposed=blocks,
        base_values={"breach_notice_hours": 72},
        proposed_values={"breach_notice_hours": 48},
        document=None,
        key="breach-notification",
        author=Author(name="Riverbend Unified School District", party="district"),
        id_prefix="p-",
        labels={"breach_notice_hours": "Breach notice window"},
    )
    html = str(tracked.body)
    assert tracked.changes == 1
    assert "[[" not in html
    deleted = re.findall(r"<del [^>]*>(.*?)</del>", html)
    inserted = re.findall(r"<ins [^>]*>(.*?)</ins>", html)
    assert len(deleted) == len(inserted) == 1
    assert 'title="Term: Breach notice window">72</span>' in deleted[0]
    assert 'title="Term: Breach notice window">48</span>' in inserted[0]
    # Named, not colour alone: the cue, label and title say whose change it is.
    assert 'title="Inserted by Riverbend Unified School District"' in html
    assert "[deleted by Riverbend Unified School District: </span>" in html
    assert 'class="document redline party--district"' in html


# --- The agreement page ---------------------------------------------------------------------


def test_the_agreement_page_marks_a_pending_term_change_against_the_current_text(
    client, demo, term_proposal
):
    login(client, demo["users"]["counsel"])
    url = reverse("agreement-detail", args=[term_proposal.pk])
    html = client.get(url).content.decode()
    proposal = html[html.index("Sixty days is enough") - 6000 : html.index("Sixty days is enough")]
    block = proposal[proposal.rindex('class="proposal__text proposal__tracked') :]
    assert "party--district" in block
    assert f'<span class="party-chip party--district">{RIVERBEND}</span>' in block
    deleted = re.findall(r'<del class="redline-del"[^>]*>(.*?)</del>', block)
    inserted = re.findall(r'<ins class="redline-ins"[^>]*>(.*?)</ins>', block)
    # Exactly the term: 90 days become 60, shown as values of the term, the rest unmarked.
    assert [_visible(d) for d in deleted] == ["90"]
    assert [_visible(i) for i in inserted] == ["60"]
    assert "[[retention_days]]" not in block
    assert f'title="Inserted by {RIVERBEND}"' in block
    assert "Show against the standard" in block


def test_the_switch_marks_proposals_against_the_standard(client, demo):
    login(client, demo["users"]["counsel"])
    agreement = demo["agreements"][NEGOTIATING]
    html = client.get(reverse("agreement-detail", args=[agreement.pk]) + "?against=standard")
    page = html.content.decode()
    assert "changes the standard" in page
    assert "Show against the current text" in page
    # Northfield's rewrite of the breach clause is its own colour and name; 24 hours a term.
    assert f'title="Inserted by {NORTHFIELD}"' in page
    assert re.search(r'data-name="breach_notice_hours=24"[^>]*>24</span>', page)


# --- Compare pages and downloads ------------------------------------------------------------


def test_the_word_redline_of_an_agreement_in_negotiation_has_the_pending_proposals(
    client, demo, term_proposal
):
    login(client, demo["users"]["counsel"])
    response = client.get(reverse("agreement-redline-docx", args=[term_proposal.pk]))
    assert response.status_code == 200
    revisions = _revisions(response.content)
    authors = {r.get(qn("w:author")) for r in revisions}
    # Three parties' pending proposals, three authors (Brightpath's competing rewrite of the
    # breach clause cannot share the text with Northfield's earlier one and is named instead).
    assert authors == {NORTHFIELD, BRIGHTPATH, RIVERBEND}
    by_riverbend = sorted(
        (r.tag == qn("w:ins"), _words(r)) for r in revisions if r.get(qn("w:author")) == RIVERBEND
    )
    assert by_riverbend == [(False, "90"), (True, "60")]
    northfield_inserted = " ".join(
        _words(r) for r in revisions if r.get(qn("w:author")) == NORTHFIELD and r.tag == qn("w:ins")
    )
    assert "no event later than 24 hours after discovery" in northfield_inserted
    assert any(
        r.tag == qn("w:del") and "audit" in _words(r).lower()
        for r in revisions
        if r.get(qn("w:author")) == BRIGHTPATH
    )
    words = "\n".join(p.text for p in WordDocument(io.BytesIO(response.content)).paragraphs)
    assert "Includes 3 pending proposals" in words
    assert f"Not shown: {BRIGHTPATH}'s proposal on" in words
    assert "[[" not in words


def test_accepted_only_leaves_pending_proposals_out_of_the_redlines(client, demo):
    login(client, demo["users"]["counsel"])
    agreement = demo["agreements"][NEGOTIATING]
    url = reverse("agreement-redline-docx", args=[agreement.pk])
    assert _revisions(client.get(url + "?changes=accepted").content) == []
    assert len({r.get(qn("w:author")) for r in _revisions(client.get(url).content)}) == 2
    page = client.get(reverse("agreement-compare", args=[agreement.pk]) + "?changes=accepted")
    assert page.context["comparison"].changed_rows == []
    assert '?changes=accepted">Word, with tracked changes (.docx)</a>' in page.content.decode()


def test_the_comparison_including_pending_names_each_clause_s_party(client, demo):
    login(client, demo["users"]["counsel"])
    agreement = demo["agreements"][NEGOTIATING]
    page = client.get(reverse("agreement-compare", args=[agreement.pk]))
    rows = {row.key: row for row in page.context["comparison"].changed_rows}
    assert {key: row.author for key, row in rows.items()} == {
        "breach-notification": NORTHFIELD,
        "audits": BRIGHTPATH,
    }
    assert rows["audits"].note.startswith(f"Pending: proposed by {BRIGHTPATH}")
    html = page.content.decode()
    assert 'aria-current="page">Including pending proposals</a>' in html
    assert f'title="Deleted by {BRIGHTPATH}"' in html


def test_the_pdf_redline_including_pending_names_the_parties(client, demo):
    login(client, demo["users"]["counsel"])
    agreement = demo["agreements"][NEGOTIATING]
    response = client.get(reverse("agreement-redline-pdf", args=[agreement.pk]))
    assert response.status_code == 200
    text = " ".join(pdf_text(response.content).split())
    assert "Includes 2 pending proposals" in text
    assert f"Modified · by {NORTHFIELD}".upper() in text.upper()
    assert f"Pending: proposed by {BRIGHTPATH}" in text


def test_an_outsider_gets_404_for_the_redlines_with_either_choice(client, demo, outsider):
    login(client, outsider)
    agreement = demo["agreements"][NEGOTIATING]
    for name in ("agreement-compare", "agreement-redline-docx", "agreement-redline-pdf"):
        for choice in ("pending", "accepted"):
            url = reverse(name, args=[agreement.pk]) + f"?changes={choice}"
            assert client.get(url).status_code == 404


def test_a_proposal_on_a_real_agreement_is_marked_over_its_structure():
    """The SFUSD–Stanford master agreement (shared/corpus): the district adds an item to the
    termination clause's nested list and shortens a deadline; the item is one inserted list
    item with its own label, the deadline a word change, every mark the district's."""
    document = import_markdown(corpus_text("sfusd-stanford-master-agreement.md")).document
    termination = next(part for part in document.parts if part.key == "termination")
    outer = termination.blocks[0]
    assert isinstance(outer, OrderedList)
    first = outer.items[0]
    nested = first.blocks[1]
    assert isinstance(nested, OrderedList)
    added = ListItem((Paragraph((Text("By SFUSD immediately where a law requires it."),)),))
    proposed_first = replace(
        first, blocks=(first.blocks[0], replace(nested, items=(*nested.items, added)))
    )
    second = outer.items[1]
    lead = second.blocks[0]
    assert isinstance(lead, Paragraph)
    shorter = Paragraph(
        tuple(
            Text(i.text.replace("within 7 days of", "within 5 business days of"))
            if isinstance(i, Text)
            else i
            for i in lead.inlines
        )
    )
    proposed = (
        replace(
            outer,
            items=(proposed_first, replace(second, blocks=(shorter,)), *outer.items[2:]),
        ),
        *termination.blocks[1:],
    )
    tracked = proposal_changes(
        base=termination.blocks,
        proposed=proposed,
        base_values={},
        proposed_values={},
        document=document,
        key="termination",
        author=Author(name="San Francisco Unified School District", party="district"),
        id_prefix="p-",
    )
    html = str(tracked.body)
    assert tracked.changes == 2  # the item; "7" -> "5 business"
    inserted_items = re.findall(
        r'<li class="inserted"[^>]*><span class="label">([^<]*)</span>', html
    )
    assert inserted_items == ["c."]
    assert [
        _visible(d) for d in re.findall(r'<del class="redline-del"[^>]*>(.*?)</del>', html)
    ] == ["7"]
    marks = re.findall(r"<(?:ins|del) class=\"redline-[^\"]*\"[^>]*>", html)
    assert marks and all("by San Francisco Unified School District" in mark for mark in marks)
