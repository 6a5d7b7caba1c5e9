"""The history page tells what happened in sentences: organisations and people, clauses by
their document names, terms by their values, local times by day; internal notes stay with
their organisation; the technical audit trail is one clearly named link away."""

import pytest
from django.urls import reverse

from agreements.history import AUTOMATIC, agreement_history, comment_visible
from agreements.models import Clause, ClauseComment, CommentVisibility
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.selectors import agreement_detail_for_user

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
RETENTION = "17. Data Retention and Destruction"


@pytest.fixture
def agreement(demo):
    return demo["agreements"][NEGOTIATING]


def history_of(agreement, user):
    return agreement_history(agreement_detail_for_user(user).get(pk=agreement.pk), user)


def sentences(entries):
    return [f"{e.actor} {e.sentence}" for e in entries]


def page_text(client, user, agreement, **cookies):
    client.force_login(user)
    for name, value in cookies.items():
        client.cookies[name] = value
    response = client.get(reverse("agreement-history", args=[agreement.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_negotiation_reads_as_sentences_with_clause_names_and_filled_terms(
    client, demo, agreement
):
    users = demo["users"]
    standard = Clause.objects.get(version=agreement.template_version, key="data-retention")
    proposal = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key="data-retention",
        body=standard.body + "\n\nCopies held by subcontractors are destroyed on the same day.",
        rationale="Subcontractors hold copies too.",
        terms={"retention_days": "180"},
    )
    before = agreement.retention_days
    override_respond(override=proposal, by=users["director"], decision="accept")
    override_respond(override=proposal, by=users["vendor"], decision="accept", comment="Fine.")

    told = sentences(history_of(agreement, users["director"]))
    university = "Northfield University Learning Sciences Lab"
    assert f"{university} proposed a change to {RETENTION}" in told
    for party in ("Riverbend Unified School District", "Brightpath Learning, Inc."):
        assert f"{party} accepted {university}’s change to {RETENTION}" in told
    assert (
        f"{AUTOMATIC} {university}’s change to {RETENTION} was accepted by every party and is "
        "now text" in told
    )
    assert any(
        s.endswith(f"changed the retention period from {before} days to 180 days") for s in told
    )
    assert "Brightpath Learning, Inc. opened negotiation" in told

    page = page_text(client, users["director"], agreement, tz="Europe/Berlin")
    assert "Times are in Europe/Berlin" in page
    assert "Daniel Ruiz" in page  # the person, under the organisation that acted
    assert "data-retention" not in page and "[[" not in page
    assert "retention_days" not in page and "snake" not in page
    assert "180 days" in page  # the proposal's terms, filled
    # What the proposal changes in the standard's clause, not the clause's first lines.
    assert "<dt>Adds</dt><dd>“Copies held by subcontractors are destroyed on the same day.”" in page
    assert '<h2 id="history-day-1"' in page  # grouped by day
    audit = reverse("agreement-audit-trail", args=[agreement.pk])
    assert f'<a href="{audit}">technical audit trail (hash chain)</a>' in page
    assert ">system<" not in page


def test_internal_notes_stay_with_their_organisation(client, demo, agreement):
    users = demo["users"]
    university = users["counsel"].memberships.first().organisation
    ClauseComment.objects.create(
        agreement=agreement,
        clause_key="audits",
        organisation=university,
        author=users["counsel"],
        body="Our own view: keep the audit right.",
        visibility=CommentVisibility.INTERNAL,
    )
    ClauseComment.objects.create(
        agreement=agreement,
        clause_key="audits",
        organisation=university,
        author=users["counsel"],
        body="Could the audit be remote?",
    )
    own = sentences(history_of(agreement, users["researcher"]))
    assert any("wrote an internal note on 21. Audits and Monitoring" in s for s in own)
    for other in ("director", "vendor", "facilitator"):
        told = sentences(history_of(agreement, users[other]))
        assert not any("internal note" in s for s in told), other
        assert any(s.endswith("commented on 21. Audits and Monitoring") for s in told), other
        page = page_text(client, users[other], agreement)
        assert "keep the audit right" not in page and "Could the audit be remote?" in page
        trail = client.get(reverse("agreement-audit-trail", args=[agreement.pk]))
        assert "keep the audit right" not in trail.content.decode()


def test_the_visibility_rule_on_row_data():
    note = {"visibility": CommentVisibility.INTERNAL, "organisation_id": 7}
    assert comment_visible(note, [7])
    assert not comment_visible(note, [8])
    assert not comment_visible(note, [])
    assert comment_visible({"visibility": CommentVisibility.PARTIES, "organisation_id": 7}, [])
    assert comment_visible({"organisation_id": 7}, [])  # written before notes existed


def test_the_audit_trail_says_what_it_is_and_links_back(client, demo, agreement):
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-audit-trail", args=[agreement.pk])).content.decode()
    assert "<h1>Technical audit trail (hash chain)</h1>" in page
    assert f'<a href="{reverse("agreement-history", args=[agreement.pk])}">history</a>' in page
    detail = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert ">History</a>" in detail and ">Technical audit trail (hash chain)</a>" in detail


def test_history_page_query_count(client, demo, agreement, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-history", args=[agreement.pk])
    # session, user, the agreement (the access rule; its detail travels in the row), its
    # events, its proposals, their answers' events, transitions, the standard's clauses, the
    # parties, the people named, their memberships, the viewer's parties, documents.
    with django_assert_max_num_queries(13):
        page = client.get(url).content.decode()
    assert "Security Incidents and Breach Notification" in page


def test_lifecycle_steps_read_as_what_the_person_did(demo):
    """Each step says what it did ("sent the text to legal review"), not which statuses the
    row moved between."""
    active = demo["agreements"]["Productive Struggle Classroom Study"]
    told = sentences(history_of(active, demo["users"]["director"]))
    for done in (
        "opened negotiation",
        "sent the text to legal review",
        "gave the last approval: the text went to signing",
        "signed last: the agreement came into force",
    ):
        assert any(s.endswith(done) for s in told), (done, told)
    assert not any("moved the agreement from" in s for s in told), told
