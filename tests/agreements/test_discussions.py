"""Clause discussions (issue 17 item 2): start on a clause or a quoted passage, reply, internal
notes, @mentions with notifications, resolve and reopen, the negotiation record.

An internal note (only the author's organisation sees it) must reach no other organisation:
these tests look for its words in the agreement page, the history, the audit trail, the API,
search, the negotiation record export, notifications and webhook deliveries, as the other
parties' people (and a facilitator)."""

from __future__ import annotations

import subprocess

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pghistory.models import Events

from agreements.models import ClauseComment, CommentVisibility, Notification
from agreements.negotiation import discussions
from agreements.negotiation.record import negotiation_record, render_record_pdf
from agreements.selectors import consolidated_text
from agreements.tasks import deliver_notifications
from agreements.text.titles import clause_title
from collaboratory.errors import DomainError
from partners.models import WebhookDelivery

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"
CLAUSE = "audits"
NORTHFIELD = "Northfield University Learning Sciences Lab"
SECRET = "Zanzibar fallback position: we could live with two audits a year."


@pytest.fixture
def agreement(demo):
    return demo["agreements"][NEGOTIATING]


@pytest.fixture
def users(demo):
    return demo["users"]


@pytest.fixture
def internal_note(agreement, users):
    """Northfield University's internal note (counsel), with a reply by a colleague."""
    note = discussions.discussion_start(
        agreement=agreement,
        by=users["counsel"],
        clause_key=CLAUSE,
        body=SECRET,
        visibility=CommentVisibility.INTERNAL,
    )
    discussions.discussion_reply(
        comment=note, by=users["researcher"], body="Agreed, Zanzibar it is if they push."
    )
    return note


def _passage(agreement, words: int = 6) -> str:
    return " ".join(consolidated_text(agreement).clause(CLAUSE).body.split()[:words])


# --- the services ---------------------------------------------------------------------------


def test_a_discussion_starts_on_a_quoted_passage_and_takes_replies(agreement, users):
    quote = _passage(agreement)
    start = discussions.discussion_start(
        agreement=agreement,
        by=users["director"],
        clause_key=CLAUSE,
        body="Does this\r\ncover   \r\nsubcontractors?  ",
        quote=f"  {quote}\r\n",
    )
    assert (start.body, start.quote) == ("Does this\ncover\nsubcontractors?", quote)
    assert start.visibility == CommentVisibility.PARTIES
    reply = discussions.discussion_reply(comment=start, by=users["vendor"], body="It does.")
    assert (reply.parent, reply.visibility, reply.clause_key) == (start, "parties", CLAUSE)
    threads = discussions.threads_by_clause(
        discussions.visible_comments(agreement, users["counsel"])
    )
    assert [(t.start, t.replies) for t in threads[CLAUSE]] == [(start, [reply])]


def test_a_passage_the_clause_does_not_contain_is_refused(agreement, users):
    with pytest.raises(DomainError) as error:
        discussions.discussion_start(
            agreement=agreement,
            by=users["director"],
            clause_key=CLAUSE,
            body="Hm.",
            quote="words that are nowhere in the clause",
        )
    assert "The quoted passage is not in" in error.value.message_dict["quote"][0]
    assert not ClauseComment.objects.filter(agreement=agreement, body="Hm.").exists()


def test_an_unknown_clause_and_an_empty_comment_are_refused(agreement, users):
    with pytest.raises(DomainError) as error:
        discussions.discussion_start(
            agreement=agreement, by=users["director"], clause_key="no-such-clause", body="Hm."
        )
    assert error.value.message_dict == {
        "clause_key": ["There is no clause “no-such-clause” in this agreement."]
    }
    with pytest.raises(DomainError) as error:
        discussions.discussion_start(
            agreement=agreement, by=users["director"], clause_key=CLAUSE, body="  \r\n "
        )
    assert error.value.message_dict == {"body": ["Write your comment."]}


def test_people_who_act_for_no_party_cannot_post(agreement, users, outsider):
    for user in (users["facilitator"], outsider):
        with pytest.raises(DomainError) as error:
            discussions.discussion_start(
                agreement=agreement, by=user, clause_key=CLAUSE, body="Hello."
            )
        assert error.value.code == "not_allowed"


def test_replies_to_an_internal_note_stay_internal(internal_note):
    reply = internal_note.replies.get()
    assert reply.visibility == CommentVisibility.INTERNAL


def test_another_organisation_cannot_answer_or_resolve_an_internal_note(internal_note, users):
    for act in (
        lambda: discussions.discussion_reply(comment=internal_note, by=users["vendor"], body="x"),
        lambda: discussions.discussion_resolve(comment=internal_note, by=users["director"]),
    ):
        with pytest.raises(DomainError) as error:
            act()
        assert error.value.code == "not_found"


def test_resolving_and_reopening_is_recorded_with_who_and_when(agreement, users):
    start = discussions.discussion_start(
        agreement=agreement, by=users["director"], clause_key=CLAUSE, body="Settled?"
    )
    resolved = discussions.discussion_resolve(comment=start, by=users["vendor"])
    assert resolved.resolved_by == users["vendor"] and resolved.resolved_at is not None
    with pytest.raises(DomainError, match="already resolved"):
        discussions.discussion_resolve(comment=start, by=users["counsel"])
    reopened = discussions.discussion_reopen(comment=start, by=users["counsel"])
    assert (reopened.resolved_at, reopened.resolved_by) == (None, None)
    # The trigger-written history keeps both steps.
    diffs = [
        e.pgh_diff
        for e in Events.objects.references(start).filter(pgh_label="update").order_by("pgh_id")
    ]
    assert [set(d) >= {"resolved_at", "resolved_by_id"} for d in diffs] == [True, True]
    # Answering a resolved discussion reopens it.
    discussions.discussion_resolve(comment=start, by=users["vendor"])
    discussions.discussion_reply(comment=start, by=users["director"], body="One more thing.")
    start.refresh_from_db()
    assert start.resolved_at is None


# --- mentions and notifications ---------------------------------------------------------------


def test_a_mentioned_person_is_notified_and_e_mailed(
    agreement, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        comment = discussions.discussion_start(
            agreement=agreement,
            by=users["director"],
            clause_key=CLAUSE,
            body="@counsel, can Northfield accept yearly audits?",
        )
    assert list(comment.mentions.all()) == [users["counsel"]]
    notification = Notification.objects.get(recipient=users["counsel"], event="mentioned")
    assert notification.subject.endswith("Maya Okafor mentioned you on " + _title(agreement))
    assert "can Northfield accept yearly audits?" in notification.body
    # The link lands on the comment itself, in the page and in the e-mail.
    assert notification.url.endswith(f"/#comment-{comment.pk}")
    assert f"#comment-{comment.pk}" in notification.body
    assert not Notification.objects.filter(event="mentioned").exclude(pk=notification.pk).exists()
    deliver_notifications()
    sent = [m for m in mail.outbox if m.to == [users["counsel"].email]]
    assert sent and "mentioned you" in sent[-1].subject


def _title(agreement) -> str:
    return clause_title(consolidated_text(agreement).clause(CLAUSE))


def test_a_person_chosen_from_the_list_is_notified(agreement, users):
    discussions.discussion_start(
        agreement=agreement,
        by=users["vendor"],
        clause_key=CLAUSE,
        body="Over to the district.",
        mention_ids=[users["director"].pk],
    )
    assert Notification.objects.filter(recipient=users["director"], event="mentioned").exists()


def test_mentioning_someone_who_cannot_see_an_internal_note_is_refused(agreement, users):
    with pytest.raises(DomainError) as error:
        discussions.discussion_start(
            agreement=agreement,
            by=users["counsel"],
            clause_key=CLAUSE,
            body=f"{SECRET} @vendor",
            visibility=CommentVisibility.INTERNAL,
        )
    assert error.value.message_dict["mentions"] == [
        "Priya Natarajan cannot see this internal note: only your organisation sees it. "
        "Remove the mention, or make the comment visible to all parties."
    ]
    assert not ClauseComment.objects.filter(body__contains="Zanzibar").exists()
    assert not Notification.objects.filter(event="mentioned").exists()


def test_mentioning_a_colleague_in_an_internal_note_notifies_only_them(agreement, users):
    discussions.discussion_start(
        agreement=agreement,
        by=users["counsel"],
        clause_key=CLAUSE,
        body=f"@researcher {SECRET}",
        visibility=CommentVisibility.INTERNAL,
    )
    mentioned = Notification.objects.filter(event="mentioned")
    assert [n.recipient for n in mentioned] == [users["researcher"]]
    assert f"an internal note that only {NORTHFIELD} sees" in mentioned.get().body


def test_a_mention_of_no_one_on_the_agreement_is_refused_and_e_mail_addresses_are_not_mentions(
    agreement, users
):
    with pytest.raises(DomainError) as error:
        discussions.discussion_start(
            agreement=agreement, by=users["director"], clause_key=CLAUSE, body="Ask @lakeshore."
        )
    assert error.value.message_dict["mentions"][0].startswith("@lakeshore: no one by that name")
    comment = discussions.discussion_start(
        agreement=agreement,
        by=users["director"],
        clause_key=CLAUSE,
        body="Write to audits@riverbend.example.org.",
    )
    assert not comment.mentions.exists()


# --- an internal note reaches no other organisation -------------------------------------------


def test_internal_notes_are_visible_only_to_their_organisation(agreement, users, internal_note):
    def bodies(user):
        return {c.body for c in discussions.visible_comments(agreement, user)}

    assert SECRET in bodies(users["counsel"]) and SECRET in bodies(users["researcher"])
    for other in ("director", "vendor", "facilitator"):
        assert not any("Zanzibar" in body for body in bodies(users[other]))


def test_the_agreement_page_shows_the_note_only_to_its_organisation(
    client, agreement, users, internal_note
):
    url = reverse("agreement-detail", args=[agreement.pk])
    client.force_login(users["researcher"])
    page = client.get(url).content.decode()
    assert SECRET in page
    assert f"Internal note — only {NORTHFIELD} sees this" in page
    for other in ("director", "vendor", "facilitator"):
        client.force_login(users[other])
        page = client.get(url).content.decode()
        assert "Zanzibar" not in page and "Internal note" not in page


def test_the_history_and_audit_trail_never_show_another_organisations_note(
    client, agreement, users, internal_note
):
    discussions.discussion_resolve(comment=internal_note, by=users["counsel"])
    for other in ("director", "vendor", "facilitator"):
        client.force_login(users[other])
        for name in ("agreement-history", "agreement-audit-trail"):
            response = client.get(reverse(name, args=[agreement.pk]))
            assert response.status_code == 200
            assert "Zanzibar" not in response.content.decode(), (other, name)


def test_the_api_never_carries_an_internal_note(client, demo, agreement, internal_note):
    from partners.api_auth import api_token_issue

    for slug in ("riverbend-usd", "brightpath-learning", "northfield-university"):
        _, token = api_token_issue(
            organisation=demo["orgs"][slug], name="test", scopes=("agreements:read",)
        )
        for path in ("", "terms", "document"):
            response = client.get(
                f"/api/v1/agreements/{agreement.pk}/{path}", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            assert "Zanzibar" not in response.content.decode(errors="replace"), (slug, path)


def test_search_never_finds_an_internal_note(client, agreement, users, internal_note):
    from agreements.search import Filters, Markers, search

    for user in ("director", "vendor", "counsel"):
        found = search(users[user], "Zanzibar", Filters(), Markers.new())
        assert {kind: list(rows) for kind, rows in found.items() if rows.exists()} == {}, user
        client.force_login(users[user])
        page = client.get(reverse("search"), {"q": "Zanzibar"}).content.decode()
        assert "fallback position" not in page and "live with two audits" not in page


def test_notifications_and_webhooks_carry_no_internal_note(agreement, users, internal_note):
    assert (
        not Notification.objects.filter(body__contains="Zanzibar")
        .exclude(recipient__in=[users["counsel"], users["researcher"]])
        .exists()
    )
    assert not WebhookDelivery.objects.filter(payload__icontains="Zanzibar").exists()


def test_the_negotiation_record_has_own_notes_marked_and_never_anothers(
    client, agreement, users, internal_note
):
    shared = discussions.discussion_start(
        agreement=agreement, by=users["director"], clause_key=CLAUSE, body="Shared question."
    )
    discussions.discussion_resolve(comment=shared, by=users["vendor"])
    discussions.discussion_reopen(comment=shared, by=users["counsel"])
    discussions.discussion_resolve(comment=shared, by=users["director"])
    own = negotiation_record(agreement, users["counsel"])
    # Each resolution and reopening is in the record. (A reopening is dated by the history
    # trigger with its transaction's start: the whole test is one transaction, so only the
    # entries, not their order, are compared here.)
    assert sorted(e.kind for e in own if e.kind in ("resolved", "reopened")) == [
        "reopened",
        "resolved",
        "resolved",
    ]
    assert [e.what for e in own if e.kind == "resolved"][0].startswith("Priya Natarajan marked")
    assert [e.internal_to for e in own if "Zanzibar" in e.text] == [NORTHFIELD] * 2
    assert any(e.kind == "resolved" for e in own)
    assert [e.at for e in own] == sorted(e.at for e in own)
    assert {"status", "proposal", "discussion", "resolved"} <= {e.kind for e in own}
    # Proposals read with their terms filled in, as on the agreement page.
    assert not [e.text for e in own if "[[" in e.text]
    for other in ("director", "vendor", "facilitator"):
        entries = negotiation_record(agreement, users[other])
        assert not any("Zanzibar" in e.text for e in entries)
        assert any(e.text == "Shared question." for e in entries)

    client.force_login(users["vendor"])
    response = client.get(reverse("negotiation-record", args=[agreement.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "Zanzibar" not in _pdf_text(response.content)
    assert "Shared question." in _pdf_text(response.content)


def _pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode()


def test_the_record_pdf_reads_in_the_readers_time_zone(agreement, users, internal_note):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    text = _pdf_text(
        render_record_pdf(
            agreement,
            users["counsel"],
            generated_at=timezone.now(),
            zone=ZoneInfo("America/Chicago"),
        )
    )
    assert "Negotiation record" in text and "America/Chicago" in text
    assert f"Internal note — only {NORTHFIELD} sees this" in text
    assert SECRET in " ".join(text.split())


# --- the pages --------------------------------------------------------------------------------


def test_a_refused_comment_comes_back_with_everything_typed(client, agreement, users):
    client.force_login(users["counsel"])
    response = client.post(
        reverse("discussion-start", args=[agreement.pk]),
        {
            "clause_key": CLAUSE,
            "body": "My long question about audits, typed with care.",
            "quote": "not a passage of this clause",
            "visibility": "internal",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "My long question about audits, typed with care." in page
    assert "not a passage of this clause</textarea>" in page
    assert 'value="internal" checked' in page
    assert "The quoted passage is not in" in page


def test_a_comment_posted_through_the_page_is_shown_threaded(client, agreement, users):
    client.force_login(users["vendor"])
    response = client.post(
        reverse("discussion-start", args=[agreement.pk]),
        {"clause_key": CLAUSE, "body": "Why twice a year?", "visibility": "parties"},
        follow=True,
    )
    assert "Comment added: every party sees it." in response.content.decode()
    start = ClauseComment.objects.get(body="Why twice a year?")
    client.force_login(users["director"])
    client.post(
        reverse("discussion-reply", args=[agreement.pk, start.pk]),
        {"body": "Because of the pilot."},
    )
    client.post(reverse("discussion-resolve", args=[agreement.pk, start.pk]))
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "Because of the pilot." in page and "Resolved by Maya Okafor" in page
    assert "Reopen</button>" in page


def test_a_reader_sees_shared_comments_but_no_forms(client, agreement, users):
    discussions.discussion_start(
        agreement=agreement, by=users["vendor"], clause_key=CLAUSE, body="A shared remark."
    )
    client.force_login(users["facilitator"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "A shared remark." in page
    assert "Start a discussion on this clause" not in page


@pytest.mark.parametrize(
    "name", ["discussion-start", "discussion-reply", "discussion-resolve", "discussion-reopen"]
)
def test_strangers_and_other_organisations_get_404(
    client, demo, users, internal_note, outsider, name
):
    lakeshore = demo["agreements"][LAKESHORE]
    args = {
        "discussion-start": [lakeshore.pk],
    }.get(name, [lakeshore.pk, internal_note.pk])
    client.force_login(outsider)
    assert client.post(reverse(name, args=args), {"body": "x"}).status_code == 404
    if name != "discussion-start":
        # Another organisation's internal note is as absent as a stranger's agreement.
        client.force_login(users["vendor"])
        url = reverse(name, args=[internal_note.agreement_id, internal_note.pk])
        assert client.post(url, {"body": "x"}).status_code == 404


def test_strangers_get_404_for_the_record(client, demo, outsider, users):
    lakeshore = demo["agreements"][LAKESHORE]
    for user in (outsider, users["director"]):
        client.force_login(user)
        assert client.get(reverse("negotiation-record", args=[lakeshore.pk])).status_code == 404


def test_the_notifications_page_lists_only_ones_own_and_marks_them_read(client, agreement, users):
    discussions.discussion_start(
        agreement=agreement, by=users["director"], clause_key=CLAUSE, body="@vendor see this."
    )
    client.force_login(users["vendor"])
    page = client.get(reverse("notification-list")).content.decode()
    assert "Maya Okafor mentioned you on " + _title(agreement) in page
    assert not Notification.objects.filter(recipient=users["vendor"], read_at=None).exists()
    client.force_login(users["counsel"])
    assert (
        "Maya Okafor mentioned you" not in client.get(reverse("notification-list")).content.decode()
    )


def test_the_old_comment_endpoint_still_adds_a_shared_comment(agreement, users):
    client = Client()
    client.force_login(users["director"])
    client.post(
        reverse("clause-comment", args=[agreement.pk]), {"clause_key": CLAUSE, "body": "Old way."}
    )
    assert ClauseComment.objects.get(body="Old way.").visibility == CommentVisibility.PARTIES


def test_each_page_offers_the_people_of_its_own_parties_from_one_built_statement(demo):
    """page_context's people (whom a comment may @mention) come from a statement built once
    (collaboratory.prepared.shaped_rows) with the agreement's trio as its value: every
    agreement offers exactly the active people of its own parties, by organisation."""
    from agreements.access import acting_memberships
    from agreements.models import Agreement
    from collaboratory import prepared

    prepared.clear()
    seen = set()
    for agreement in Agreement.objects.select_related("trio").order_by("reference"):
        members = {m.organisation_id for m in agreement.trio.members.all()}
        context = discussions.page_context(agreement, {min(members)})
        offered = {(name, user.pk) for name, people in context["people"] for user in people}
        expected = {
            (m.organisation.name, m.user_id)
            for m in acting_memberships(agreement).select_related("organisation")
        }
        assert offered == expected, agreement.reference
        seen.add(frozenset(offered))
    assert len(seen) > 1, "the demo's agreements have different parties"
