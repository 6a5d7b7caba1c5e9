"""Fill-ins (issue 15, item 6): every blank of the text is filled in, or marked not applicable
with a reason, before legal review, and the refusal names each one.

The real data use agreement (shared/corpus) has nine blanks the parties fill in — the study's
title and investigator, the researcher's name, the date, the purpose and scope summaries, the
end date ("Month, Day, Year"), the designee's name and title — and five signature lines, which
signing completes.
"""

from __future__ import annotations

import datetime as dt
import os
from html import unescape
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from playwright.sync_api import expect

from agreements.models import Agreement, DSATemplate, Status
from agreements.negotiation.fillins import agreement_fillins_update
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    data_element_add,
)
from agreements.review.services import agreement_submit_for_review, review_blockers
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.standards.services import template_import, template_version_publish
from agreements.text.document import canonical
from agreements.text.document.blanks import (
    Entry,
    FillInProblem,
    State,
    clean_reason,
    clean_value,
    fill_blanks,
    list_blanks,
    parse_date,
)
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import BlankKind, Text, Underline
from agreements.text.document.plain import plain_text
from collaboratory.errors import DomainError
from partners.api_auth import api_token_issue
from tests.api.conftest import ApiClient
from tests.conftest import login

DUA = "sfusd-stanford-data-use-agreement-template.md"

#: The DUA's blanks: id -> where the refusal says it is and what it asks.
DUA_BLANKS = {
    "preamble.1.text": "Preamble, table row 1: [Fill in Title of Research Study here]",
    "preamble.2.name": "Preamble, table row 1: [Fill in Stanford Principal Investigator name here]",
    "preamble.3.name": "Preamble: [Fill in Researcher name here]",
    "preamble.4.date": "Preamble: [date]",
    "purpose.1.text": "Section B (PURPOSE): [Summarize the purpose of the research. The form "
    "will expand as you type]",
    "scope.1.text": "Section C (SCOPE): [Describe the scope of the research. Who is being "
    "studied, which school(s)…]",
    "period-of-agreement.1.date": "Section G (PERIOD OF AGREEMENT): [Month, Day, Year]",
    "stanford-research-organization-responsibilities.1.name": "Section H.2 (STANFORD RESEARCH "
    "ORGANIZATION RESPONSIBILITIES): [Name]",
    "stanford-research-organization-responsibilities.2.title": "Section H.2 (STANFORD RESEARCH "
    "ORGANIZATION RESPONSIBILITIES): [title]",
}
SIGNATURE_LINES = 5


def corpus_text(name: str) -> str:
    """A real agreement from shared/corpus beside the checkout (or $COLLABORATORY_CORPUS)."""
    candidates = [Path(__file__).resolve().parents[2].parent / "shared" / "corpus"]
    if os.environ.get("COLLABORATORY_CORPUS"):
        candidates.append(Path(os.environ["COLLABORATORY_CORPUS"]))
    for candidate in candidates:
        if (candidate / name).is_file():
            return (candidate / name).read_text(encoding="utf-8")
    pytest.skip("the corpus of real agreements is not present (set COLLABORATORY_CORPUS)")


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


# --- the pure part: listing, writing in, checking values --------------------------------------


@pytest.fixture(scope="module")
def dua_document():
    report = import_markdown(corpus_text(DUA))
    assert report.ok, report.messages()
    return report.document


def test_the_dua_lists_each_blank_with_where_it_is(dua_document):
    fillins = list_blanks(dua_document)

    open_ones = [f for f in fillins if f.state == State.OPEN]
    assert {f.id: f"{f.place}: {f.asks}" for f in open_ones} == DUA_BLANKS
    assert [f.id for f in open_ones] == list(DUA_BLANKS)  # in document order
    signatures = [f for f in fillins if f.state == State.AT_SIGNING]
    assert len(signatures) == SIGNATURE_LINES
    assert {f.kind for f in signatures} == {BlankKind.SIGNATURE}
    by_id = {f.id: f for f in fillins}
    designee = by_id["stanford-research-organization-responsibilities.1.name"]
    assert (designee.part_label, designee.item_labels, designee.row) == ("H.", ("2.",), None)
    assert designee.excerpt.startswith(
        "Stanford Research Organization/Stanford Researcher shall designate [Name], [title] as "
        "the person responsible"
    )
    end = by_id["period-of-agreement.1.date"]
    assert (
        "will terminate on [Month, Day, Year] unless terminated earlier by either party "
        "pursuant to Section J." in end.excerpt
    )
    assert by_id["preamble.1.text"].row == 1


def test_entries_are_written_in_underlined_and_checked_boxes_read_x(dua_document):
    by_id = {f.id: f for f in list_blanks(dua_document)}

    def entry(blank_id: str, **fields: str) -> Entry:
        found = by_id[blank_id]
        return Entry(prompt=found.prompt, anchor=found.anchor, **fields)

    filled = fill_blanks(
        dua_document,
        {
            "purpose.1.text": entry("purpose.1.text", value="To learn what helps.\nAnd why."),
            "period-of-agreement.1.date": entry("period-of-agreement.1.date", value="2027-06-30"),
            "preamble.4.date": entry("preamble.4.date", value="2026-09-01"),
            "scope.1.text": entry("scope.1.text", not_applicable="Section B says it all."),
        },
    )

    text = plain_text(filled.document)
    assert "To learn what helps.\nAnd why." in text
    assert "will terminate on June 30, 2027 unless terminated earlier" in text  # as asked
    assert "is dated for convenience 1 September 2026." in text  # as the product writes dates
    assert "C. SCOPE\n\nN/A\n\nD. NATURE OF DATA" in text
    assert "Section B says it all." not in text  # the reason is not agreement text
    scope = next(p for p in filled.document.parts if p.key == "scope")
    assert Underline((Text("N/A"),)) in scope.blocks[0].inlines
    states = {f.id: (f.state, f.shown) for f in filled.fillins}
    assert states["period-of-agreement.1.date"] == (State.FILLED, "June 30, 2027")
    assert states["scope.1.text"] == (State.NOT_APPLICABLE, "N/A")
    assert len(filled.open) == len(DUA_BLANKS) - 4
    assert filled.stale == ()
    # Only the parts written in change; the others are the very same objects.
    unchanged = [a is b for a, b in zip(filled.document.parts, dua_document.parts, strict=True)]
    assert unchanged.count(False) == 4  # the preamble, purpose, scope and period of agreement

    box = import_markdown("# T\n\n## 1. Consent {#consent}\n\n[ ] I agree.\n").document
    found = list_blanks(box)[0]
    assert (found.id, found.kind) == ("consent.1.choice", BlankKind.CHOICE)
    ticked = fill_blanks(
        box, {found.id: Entry(value="checked", prompt="", anchor=found.anchor)}
    ).document
    assert "[X] I agree." in plain_text(ticked)


SOURCE = """# Agreement

## 1. Designee {#designee}

The Researcher designates [Name], [title] as the person responsible for the data.

## 2. Term {#term}

This Agreement ends on Month, Day, Year.
"""


def _entries(document, values: dict[str, str]) -> dict[str, Entry]:
    by_id = {f.id: f for f in list_blanks(document)}
    return {
        key: Entry(value=value, prompt=by_id[key].prompt, anchor=by_id[key].anchor)
        for key, value in values.items()
    }


def test_ids_survive_changes_elsewhere_and_an_entry_never_lands_in_another_blank():
    before = import_markdown(SOURCE).document
    entries = _entries(before, {"designee.1.name": "Jane Doe", "term.1.date": "2027-06-30"})

    # A clause inserted before them, another paragraph in the term: ids and entries hold.
    elsewhere = import_markdown(
        SOURCE.replace("## 1. Designee", "## 1. Purpose {#purpose}\n\nTo learn.\n\n## 2. Designee")
        .replace("## 2. Term", "## 3. Term")
        .replace("Year.\n", "Year.\n\nIt may be renewed in writing.\n")
    ).document
    kept = fill_blanks(elsewhere, entries)
    assert kept.stale == ()
    assert [f.id for f in kept.open] == ["designee.2.title"]
    text = plain_text(kept.document)
    assert "2. Designee\n\nThe Researcher designates Jane Doe, [title] as the person" in text
    assert "3. Term\n\nThis Agreement ends on June 30, 2027." in text

    # The words next to the date change: it may not be the same date any more; ask again.
    reworded = import_markdown(SOURCE.replace("ends on", "may be renewed on")).document
    assert [s.id for s in fill_blanks(reworded, entries).stale] == ["term.1.date"]

    # The designee clause is replaced with a deputy named first: the entry for the first
    # [Name] was written for the designee, so it is stale, not given to the deputy.
    replaced = import_markdown(
        SOURCE.replace(
            "The Researcher designates [Name], [title]",
            "The Researcher names a deputy [Name], [title] and designates [Name], [title]",
        )
    ).document
    moved = fill_blanks(replaced, entries)
    assert "Jane Doe" not in plain_text(moved.document)
    assert [(s.id, s.entry.value, s.why) for s in moved.stale] == [
        (
            "designee.1.name",
            "Jane Doe",
            "the text around this blank changed since it was filled in",
        )
    ]
    assert [f.id for f in moved.open] == [
        "designee.1.name",
        "designee.2.title",
        "designee.3.name",
        "designee.4.title",
    ]


def test_values_are_checked_with_messages_that_name_the_blank():
    document = import_markdown(SOURCE).document
    name, title, date = list_blanks(document)

    assert clean_value(date, " June 30, 2027 ") == "2027-06-30"
    assert clean_value(date, "30 June 2027") == "2027-06-30"
    assert clean_value(date, "2027-06-30") == "2027-06-30"
    assert parse_date("2027-02-30") is None
    assert clean_value(name, "  Jane   Doe ") == "Jane   Doe"
    assert clean_value(name, "") == ""
    problems = {
        (date, "30/06/2027"): "Section 2 (Term), [Month, Day, Year]: “30/06/2027” is not a "
        "date; enter it as 2027-06-30, 30 June 2027 or June 30, 2027.",
        (date, "2027-02-30"): "“2027-02-30” is not a date",
        (name, "Jane\nDoe"): "Section 1 (Designee), [Name] must be on one line.",
        (name, "x" * 201): "must be at most 200 characters, got 201.",
        (title, "Chief\x07Officer"): "contains a control character (U+0007)",
        (title, "Chief \u202eOfficer"): "changes the direction of the text (U+202E)",
    }
    for (fillin, raw), message in problems.items():
        with pytest.raises(FillInProblem) as problem:
            clean_value(fillin, raw)
        assert message in str(problem.value), (raw, str(problem.value))
    with pytest.raises(FillInProblem, match=r"\[Name\]: say why it does not apply"):
        clean_reason(name, "   ")


# --- an agreement on the data use agreement ---------------------------------------------------


@pytest.fixture
def users(demo):
    return demo["users"]


@pytest.fixture
def dua_agreement(demo, users) -> Agreement:
    """A negotiating agreement of the adaptive-practice trio on the imported DUA, with a data
    element: the blanks are all that keeps it from review."""
    template = DSATemplate.objects.create(
        collaboratory=demo["collaboratory"], name="SFUSD data use agreement", slug="sfusd-dua"
    )
    version, report = template_import(
        template=template, filename=DUA, data=corpus_text(DUA).encode()
    )
    assert version is not None, report.errors
    version = template_version_publish(version=version, by=users["facilitator"])
    trio = demo["trios"]["adaptive-practice"]
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=users["counsel"],
        title="Algebra pathways study",
        purpose="Learn which practice helps.",
        sharing_mode="analysis",
        start_date=dt.date(2027, 1, 1),
        term_months=12,
        breach_notice_hours=48,
        retention_days=60,
        research_questions=list(trio.research_questions.all()),
    )
    members = {m.role: m.organisation for m in trio.members.all()}
    data_element_add(
        agreement=agreement,
        by=users["counsel"],
        name="Unit test scores",
        source=members["district"],
        recipient=members["research"],
        # Keyed by a study ID only the district can link: what analysis mode admits.
        identifiability="deidentified",
        research_questions=list(trio.research_questions.all()[:1]),
    )
    agreement_open_negotiation(agreement=fresh(agreement), by=users["counsel"])
    return fresh(agreement)


#: What the parties write: everything but the scope, which does not apply.
VALUES = {
    "preamble.1.text": "Algebra Pathways",
    "preamble.2.name": "Dr. Ada Lovelace",
    "preamble.3.name": "Grace Hopper",
    "preamble.4.date": "2026-12-01",
    "purpose.1.text": "To learn which practice sequences help students most.",
    "period-of-agreement.1.date": "2027-12-31",
    "stanford-research-organization-responsibilities.1.name": "Katherine Johnson",
    "stanford-research-organization-responsibilities.2.title": "Data Manager",
}
NOT_APPLICABLE = {"scope.1.text": "The scope is the purpose's; Attachment A lists the data."}


def test_an_agreement_on_the_dua_cannot_go_to_review_naming_every_blank(dua_agreement, users):
    assert review_blockers(dua_agreement) == [
        f"{blank} is not filled in." for blank in DUA_BLANKS.values()
    ]
    with pytest.raises(DomainError) as refused:
        agreement_submit_for_review(agreement=dua_agreement, by=users["counsel"])
    assert refused.value.messages == [f"{b} is not filled in." for b in DUA_BLANKS.values()]
    assert fresh(dua_agreement).status == Status.NEGOTIATING


def test_filling_in_and_marking_not_applicable_lets_it_through(dua_agreement, users):
    before = consolidated_text(dua_agreement)

    # Two parties, two saves: each names only its own blanks, neither undoes the other.
    agreement_fillins_update(
        agreement=dua_agreement,
        by=users["counsel"],
        values={k: v for k, v in VALUES.items() if k.startswith("preamble")},
        not_applicable={},
    )
    agreement_fillins_update(
        agreement=fresh(dua_agreement),
        by=users["director"],
        values={k: v for k, v in VALUES.items() if not k.startswith("preamble")},
        not_applicable=NOT_APPLICABLE,
    )

    agreement = fresh(dua_agreement)
    text = consolidated_text(agreement)
    assert text.open_blanks == ()
    assert text.sha256 != before.sha256
    assert agreement.text_hash == text.sha256  # text_changed recorded the new text
    body = plain_text(text.document)
    for shown in (
        "Algebra Pathways",
        "on behalf of its Principal Investigator, Grace Hopper,",
        "and is dated for convenience 1 December 2026.",
        "To learn which practice sequences help students most.",
        "will terminate on December 31, 2027 unless terminated earlier",
        "shall designate Katherine Johnson, Data Manager as the person responsible",
        "C. SCOPE\n\nN/A",
    ):
        assert shown in body, shown
    assert "Attachment A lists the data" not in body
    assert '"Katherine Johnson"' in canonical.to_json(text.document)  # in the hashed text
    assert agreement.fillins["scope.1.text"]["not_applicable"] == NOT_APPLICABLE["scope.1.text"]
    assert review_blockers(agreement) == []

    agreement_submit_for_review(agreement=agreement, by=users["counsel"])
    assert fresh(agreement).status == Status.IN_REVIEW
    # In review the text is frozen for approval: no more fill-ins.
    with pytest.raises(DomainError) as refused:
        agreement_fillins_update(
            agreement=fresh(agreement),
            by=users["counsel"],
            values={"preamble.1.text": "Another title"},
            not_applicable={},
        )
    assert refused.value.code == "wrong_status"


def _snapshot(agreement: Agreement) -> tuple:
    row = Agreement.objects.get(pk=agreement.pk)
    return row.fillins, row.text_hash, row.updated_at


def test_bad_values_get_clear_errors_and_nothing_is_saved(dua_agreement, users):
    agreement_fillins_update(
        agreement=dua_agreement,
        by=users["counsel"],
        values={"purpose.1.text": "Kept."},
        not_applicable={},
    )
    before = _snapshot(dua_agreement)

    with pytest.raises(DomainError) as refused:
        agreement_fillins_update(
            agreement=fresh(dua_agreement),
            by=users["counsel"],
            values={
                "purpose.1.text": "Changed.",  # fine on its own, but not saved with the rest
                "period-of-agreement.1.date": "31/12/2027",
                "preamble.3.name": "Grace\nHopper",
                "preamble.1.text": "Study\x00title",
                "stanford-research-organization-responsibilities.2.title": "Manager",
                "party-signatures-to-the-agreement.1.signature": "Ada",
                "no-such-part.1.text": "?",
            },
            not_applicable={
                "stanford-research-organization-responsibilities.2.title": "Not needed.",
                "scope.1.text": " ",
            },
        )

    assert refused.value.message_dict == {
        "period-of-agreement.1.date": [
            "Section G (PERIOD OF AGREEMENT), [Month, Day, Year]: “31/12/2027” is not a date; "
            "enter it as 2027-06-30, 30 June 2027 or June 30, 2027."
        ],
        "preamble.3.name": ["Preamble, [Fill in Researcher name here] must be on one line."],
        "preamble.1.text": [
            "Preamble, table row 1, [Fill in Title of Research Study here] contains a control "
            "character (U+0000); retype it as plain text."
        ],
        "stanford-research-organization-responsibilities.2.title": [
            "Section H.2 (STANFORD RESEARCH ORGANIZATION RESPONSIBILITIES), [title]: either "
            "fill it in or mark it not applicable, not both."
        ],
        "party-signatures-to-the-agreement.1.signature": [
            "Section L, table row 2 (PARTY SIGNATURES TO THE AGREEMENT), the blank in "
            "“__________” is a signature line: signing completes it."
        ],
        "no-such-part.1.text": [
            "There is no blank “no-such-part.1.text” in this agreement's text now; reload the "
            "page and fill in what it shows."
        ],
        "scope.1.text": [
            "Section C (SCOPE), [Describe the scope of the research. Who is being studied, "
            "which school(s)…]: say why it does not apply."
        ],
    }
    assert _snapshot(dua_agreement) == before


def test_only_the_parties_people_fill_in(dua_agreement, users, demo):
    before = _snapshot(dua_agreement)
    lakeshore = users["lakeshore"]  # acts for a party of another trio only
    for stranger in (lakeshore, users["facilitator"]):
        with pytest.raises(DomainError) as refused:
            agreement_fillins_update(
                agreement=fresh(dua_agreement),
                by=stranger,
                values={"purpose.1.text": "Not yours to write."},
                not_applicable={},
            )
        assert refused.value.code == "not_allowed"
        assert "Only the parties' people can fill in this agreement's blanks." in (
            refused.value.messages
        )
    assert _snapshot(dua_agreement) == before


@pytest.mark.parametrize("status", [Status.SIGNING, Status.ACTIVE])
def test_signed_agreements_refuse_fillins_in_the_service_and_the_database(demo, users, status):
    # An agreement the director acts for: the refusal is about the text, not about who asks.
    agreement = with_agreement_detail(
        Agreement.objects.filter(status=status, trio__members__organisation__slug="riverbend-usd")
    ).first()
    assert agreement is not None
    with pytest.raises(DomainError) as refused:
        agreement_fillins_update(
            agreement=agreement, by=users["director"], values={"x.1.text": "y"}, not_applicable={}
        )
    assert refused.value.code == "wrong_status"
    assert "You can fill in blanks only while the agreement is draft or negotiating" in str(
        refused.value.messages
    )
    with pytest.raises(IntegrityError, match="its text is signed or being signed"):
        with transaction.atomic():
            Agreement.objects.filter(pk=agreement.pk).update(
                fillins={"x.1.text": {"value": "Smuggled in"}}
            )
    assert Agreement.objects.get(pk=agreement.pk).fillins == {}


# --- the pages and the API --------------------------------------------------------------------


def test_the_fillins_page_shows_every_blank_and_saves_what_changed(
    client, dua_agreement, users, django_assert_max_num_queries
):
    url = reverse("agreement-fillins", args=[dua_agreement.pk])
    login(client, users["counsel"])

    # Queries: session, user, the agreement with everything its text reads (one), the
    # user's memberships of its parties.
    with django_assert_max_num_queries(4):
        page = client.get(url).content.decode()
    for blank_id in DUA_BLANKS:
        assert f'name="{blank_id}"' in page and f'name="{blank_id}.na"' in page
    assert 'name="party-signatures-to-the-agreement.1.signature"' not in page
    assert "5 signature lines are completed when the parties sign" in page
    assert 'type="date"' in page
    detail = client.get(reverse("agreement-detail", args=[dua_agreement.pk])).content.decode()
    assert "9 blanks in the text are still open" in detail
    assert f'href="{url}"' in detail

    form = {
        **{f"initial-{k}": "" for k in DUA_BLANKS},
        **{f"initial-{k}.na": "False" for k in DUA_BLANKS},
        **{f"initial-{k}.reason": "" for k in DUA_BLANKS},
    }
    # A date that is no date: the form again, the message beside the blank, nothing saved.
    answer = client.post(url, {**form, "period-of-agreement.1.date": "someday"})
    assert answer.status_code == 200
    assert "“someday” is not a date" in answer.content.decode()
    assert Agreement.objects.get(pk=dua_agreement.pk).fillins == {}

    answer = client.post(
        url,
        {
            **form,
            "purpose.1.text": "To learn.",
            "scope.1.text.na": "on",
            "scope.1.text.reason": "Covered by Section B.",
        },
    )
    assert answer.status_code == 302 and answer.url == url
    stored = Agreement.objects.get(pk=dua_agreement.pk).fillins
    assert {k: {f: v for f, v in e.items() if f != "anchor"} for k, e in stored.items()} == {
        "purpose.1.text": {
            "value": "To learn.",
            "prompt": "Summarize the purpose of the research. The form will expand as you type",
        },
        "scope.1.text": {
            "not_applicable": "Covered by Section B.",
            "prompt": "Describe the scope of the research. Who is being studied, which "
            "school(s), grades, what year(s), what topics, what type of access (data or "
            "surveys or interviews) etc.",
        },
    }
    page = client.get(url).content.decode()
    assert "7 blanks still open" in page and "Fill-ins saved." in page

    # A page opened before that save does not undo it: unchanged blanks are not sent.
    client.post(url, {**form, "preamble.1.text": "Algebra Pathways"})
    stored = Agreement.objects.get(pk=dua_agreement.pk).fillins
    assert set(stored) == {"purpose.1.text", "scope.1.text", "preamble.1.text"}


def test_strangers_get_404_and_people_who_only_see_it_cannot_save(
    client, dua_agreement, users, outsider
):
    url = reverse("agreement-fillins", args=[dua_agreement.pk])
    for stranger in (outsider, users["lakeshore"]):
        login(client, stranger)
        assert client.get(url).status_code == 404
        assert client.post(url, {"purpose.1.text": "x"}).status_code == 404
    login(client, users["facilitator"])
    page = client.get(url).content.decode()
    assert 'name="purpose.1.text"' not in page  # sees the blanks, has no form
    assert "Only the parties' people can fill in the blanks." in page
    answer = client.post(url, {"purpose.1.text": "x", "initial-purpose.1.text": ""})
    assert "Only the parties' people can fill in this agreement's blanks." in unescape(
        answer.content.decode()
    )
    assert Agreement.objects.get(pk=dua_agreement.pk).fillins == {}


def test_the_api_detail_lists_the_open_blanks(dua_agreement, demo):
    _row, token = api_token_issue(
        organisation=demo["orgs"]["northfield-university"], name="t", scopes=("agreements:read",)
    )
    answer = ApiClient(token).get(f"/api/v1/agreements/{dua_agreement.pk}/")
    assert answer.status_code == 200, answer.content
    blanks = answer.json()["open_blanks"]
    assert [b["id"] for b in blanks] == list(DUA_BLANKS)
    assert blanks[4] == {
        "id": "purpose.1.text",
        "part_key": "purpose",
        "where": "Section B (PURPOSE)",
        "kind": "text",
        "prompt": "Summarize the purpose of the research. The form will expand as you type",
        "excerpt": "[Summarize the purpose of the research. The form will expand as you type]",
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_a_party_fills_in_a_date_and_marks_a_blank_not_applicable(
    page, live_server, dua_agreement, tmp_path
):
    page.goto(f"{live_server.url}/login/?next=/agreements/{dua_agreement.pk}/fillins/")
    page.get_by_label("Username").fill("counsel")
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    end = page.locator('[id="blank-period-of-agreement.1.date"]')
    end.get_by_label("Month, Day, Year").fill("2027-12-31")
    scope = page.locator('[id="blank-scope.1.text"]')
    scope.get_by_text("Does not apply?").click()
    scope.get_by_label("Not applicable").check()
    page.get_by_role("button", name="Save the fill-ins").click()

    # No reason: the page again, the message beside the blank, and nothing saved.
    expect(scope.get_by_text("say why it does not apply")).to_be_visible()
    assert Agreement.objects.get(pk=dua_agreement.pk).fillins == {}
    scope.get_by_label("Why it does not apply").fill("Section B covers it.")
    page.get_by_role("button", name="Save the fill-ins").click()

    expect(page.get_by_text("Fill-ins saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="7 blanks still open")).to_be_visible()
    page.screenshot(path=tmp_path / "fillins.png", full_page=True)
    stored = Agreement.objects.get(pk=dua_agreement.pk).fillins
    assert stored["period-of-agreement.1.date"]["value"] == "2027-12-31"
    assert stored["scope.1.text"]["not_applicable"] == "Section B covers it."
