"""Language a lawyer reads (issue 17, item 3): pages name clauses by the document's own label
and heading, never by the keys the software files them under; terms show as their values,
never as [[parameters]]; every open proposal says whose answer it waits for, and only those
who still must act get the buttons to act."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from agreements import dashboard
from agreements.models import Agreement, Clause, ClauseOverride
from agreements.negotiation.proposals import override_respond
from agreements.review.services import review_blockers
from agreements.selectors import with_agreement_detail

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
ACTIVE = "Productive Struggle Classroom Study"
LEGAL_USERS = ("director", "counsel", "vendor")


class _VisibleText(HTMLParser):
    """The words a reader sees: text outside <script>, <style> and <textarea> (a textarea
    holds the clause's source for editing, the one place where it is shown as written)."""

    HIDDEN = {"script", "style", "textarea", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def clause_keys() -> set[str]:
    """Every key a reader could be shown by mistake: the standards' and inserted clauses'.
    Keys that are plain words ("term", "audits") read as words, so a key is caught when it
    has a hyphen ("breach-notification") or stands in quotes (“audits”)."""
    return set(Clause.objects.values_list("key", flat=True)) | {
        k for k in ClauseOverride.objects.values_list("new_key", flat=True) if k
    }


def assert_no_keys(text: str, keys: set[str], where: str) -> None:
    # A term's parameter as typed in the source ([[breach_notice_hours]]); the forms' help
    # may still explain the notation itself ("keep its [[parameter]] in the text").
    raw = set(re.findall(r"\[\[(\w+)\]\]", text)) - {"parameter", "parameters"}
    assert not raw, (where, raw)
    for key in keys:
        if "-" in key:
            found = re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text)
            assert found is None, (where, text[found.start() - 150 : found.end() + 50])
        assert f"“{key}”" not in text, (where, key)
    # A sentence ending in a name that ends with a stop gets no second one ("Inc..").
    doubled = re.search(r"\b(?:Inc|Ltd|Co|Corp|LLC)\.\.(?!\.)", text)
    assert doubled is None, (where, text[doubled.start() - 120 : doubled.end() + 20])


def page_text(client, agreement: Agreement) -> str:
    url = reverse("agreement-detail", args=[agreement.pk])
    return visible_text(client.get(url).content.decode())


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_pages_name_clauses_as_the_document_does_never_by_key(client, demo):
    keys = clause_keys()
    assert "breach-notification" in keys
    for name in LEGAL_USERS:
        client.force_login(demo["users"][name])
        assert_no_keys(visible_text(client.get(reverse("dashboard")).content.decode()), keys, name)
        for agreement in Agreement.objects.all():
            for url in (
                reverse("agreement-detail", args=[agreement.pk]),
                reverse("agreement-reviews", args=[agreement.pk]),
            ):
                response = client.get(url)
                if response.status_code == 404:  # not this user's agreement
                    continue
                assert response.status_code == 200
                assert_no_keys(visible_text(response.content.decode()), keys, f"{name} {url}")


def test_review_pages_name_clauses_by_title_in_deviations_and_upgrades(client, demo):
    keys = clause_keys()
    # The facilitator's deviations report: every failing clause by its label and heading.
    client.force_login(demo["users"]["facilitator"])
    url = reverse("deviation-analytics", args=["aims", "standard-dsa"])
    response = client.get(url)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert re.search(r"\d+\. Security Incidents and Breach Notification", text), text[:500]
    assert_no_keys(text, keys, url)
    # The move to a newer template version names the accepted changes it carries over, and
    # the clauses whose standard text changed, by title.
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-compare-upgrade", args=[demo["agreements"][ACTIVE].pk])
    text = visible_text(client.get(url).content.decode())
    assert "This agreement's accepted changes" in text
    assert re.search(r"The standard text of \d+\. \w[^;]* changed in the newer version", text)
    assert_no_keys(text, keys, url)


def test_what_happens_next_names_the_clause_and_whom_it_waits_for(demo):
    agreement = fresh(demo["agreements"][NEGOTIATING])
    blockers = review_blockers(agreement)
    # The two conflicting changes to the breach notice, and the vendor's deletion of the
    # audit clause that waits for the two other parties.
    assert any(
        re.fullmatch(
            r"Brightpath Learning, Inc\. and Northfield University Learning Sciences Lab propose "
            r"different changes to \d+\. Security Incidents and Breach Notification: settle the "
            r"conflict first\.",
            b,
        )
        for b in blockers
    ), blockers
    deletion = next(b for b in blockers if "proposal on" in b)
    assert re.fullmatch(
        r"Brightpath Learning, Inc\.'s proposal on \d+\. Audits and Monitoring waits for an "
        r"answer from (Riverbend Unified School District and Northfield University Learning "
        r"Sciences Lab|Northfield University Learning Sciences Lab and Riverbend Unified School "
        r"District)\.",
        deletion,
    ), deletion


def test_each_open_proposal_says_whose_answer_it_waits_for(client, demo):
    agreement = demo["agreements"][NEGOTIATING]
    deletion = agreement.overrides.get(kind="delete")
    client.force_login(demo["users"]["director"])
    text = visible_text(
        client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    )
    waits = re.findall(r"Waits for ([^.]+)\.", text)
    assert waits, text[:500]
    # Brightpath's deletion waits for the district and the university, not its proposer.
    assert any("Riverbend" in w and "Northfield" in w and "Brightpath" not in w for w in waits)
    override_respond(override=deletion, by=demo["users"]["director"], decision="accept")
    text = visible_text(
        client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    )
    assert "Waits for Northfield University Learning Sciences Lab." in text


def test_a_wait_for_a_party_whose_name_ends_with_a_stop_ends_with_one_stop(client, demo):
    agreement = demo["agreements"][NEGOTIATING]
    client.force_login(demo["users"]["director"])
    text = page_text(client, agreement)
    # The university's proposals wait for Brightpath Learning, Inc. among others.
    assert re.search(r"Waits for [^.]*Brightpath Learning, Inc\.(?!\.)", text), text[:300]
    assert "Inc.." not in text


def test_accept_and_reject_disappear_once_your_organisation_answered(client, demo):
    agreement = demo["agreements"][NEGOTIATING]
    deletion = agreement.overrides.get(kind="delete")
    respond = reverse("override-respond", args=[agreement.pk, deletion.pk])
    withdraw = reverse("override-withdraw", args=[agreement.pk, deletion.pk])
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert f'action="{respond}"' in page
    assert f'action="{withdraw}"' not in page  # only the proposer withdraws

    response = client.post(respond, {"decision": "accept"}, follow=True)
    page = response.content.decode()
    assert f'action="{respond}"' not in page
    assert "Your organisation (Riverbend Unified School District) accepted it on" in visible_text(
        page
    )

    # The proposer never gets Accept/Reject for its own proposal, but may withdraw it.
    client.force_login(demo["users"]["vendor"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert f'action="{respond}"' not in page
    assert f'action="{withdraw}"' in page


def test_the_dashboard_says_whose_proposals_wait_and_names_clauses_in_the_feed(demo):
    counsel = {i.action: i for i in dashboard.waiting_for(demo["users"]["counsel"])}
    assert counsel["answer"].label == "Answer 2 proposals from Brightpath Learning, Inc."
    feed = dashboard.recent_activity(demo["users"]["director"], limit=50)
    proposals = [i.what for i in feed if i.kind == "proposal"]
    assert any(
        re.fullmatch(r"proposed deleting \d+\. Audits and Monitoring", w) for w in proposals
    ), proposals
    assert any(
        re.fullmatch(r"proposed a change to \d+\. Security Incidents and Breach Notification", w)
        for w in proposals
    )


@pytest.mark.parametrize("user", ["director", "counsel"])
def test_a_proposal_notification_names_the_clause_by_its_title(demo, user):
    from agreements.models import Notification

    subjects = list(
        Notification.objects.filter(
            event="override_proposed", recipient=demo["users"][user]
        ).values_list("subject", flat=True)
    )
    assert subjects
    for subject in subjects:
        assert "“" not in subject or "new clause" in subject, subject
        assert not re.search(r"\b[a-z]+-[a-z]+\b", subject.split(": ", 1)[1]), subject


def test_what_happens_next_says_whose_approval_or_signature_is_awaited(client, demo):
    client.force_login(demo["users"]["counsel"])
    # Counsel and the vendor approved the text in review; the district has not.
    text = page_text(client, demo["agreements"]["Adaptive Practice Outcomes Study 2026-2028"])
    assert "Waits for the approval of Riverbend Unified School District." in text
    client.force_login(demo["users"]["director"])
    # The research partner and the developer signed; the district has not.
    text = page_text(client, demo["agreements"]["Open Curriculum Implementation Data Agreement"])
    assert "Waits for the signature of Riverbend Unified School District." in text


def test_who_is_no_party_gets_a_sentence_instead_of_the_submit_button(client, demo):
    client.force_login(demo["users"]["facilitator"])
    url = reverse("agreement-detail", args=[demo["agreements"][NEGOTIATING].pk])
    page = client.get(url).content.decode()
    assert "Submit for legal review</button>" not in page
    assert "The parties' people submit it for legal review." in visible_text(page)
