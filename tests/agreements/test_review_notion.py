"""One review notion (issue 17, item 5): each party's legal team marks clauses reviewed, and
proposing or accepting a change counts as accepting the clause it produces, for the text it
produced (agreements/review/clause_reviews.py); the review page explains every state."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from agreements.models import Agreement, ClauseReview
from agreements.negotiation.proposals import override_respond
from agreements.negotiation.services import agreement_update
from agreements.review.clause_reviews import deviation_reviews
from agreements.selectors import with_agreement_detail

ACTIVE = "Productive Struggle Classroom Study"  # three changes, each accepted by every party
NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def states(agreement: Agreement) -> dict[str, dict[str, str]]:
    return {
        d.row.key: {p.organisation.slug: p.state for p in d.parties}
        for d in deviation_reviews(fresh(agreement))
    }


def test_after_every_party_accepted_the_changes_no_clause_is_unreviewed(client, demo):
    agreement = demo["agreements"][ACTIVE]
    found = states(agreement)
    assert len(found) == 3
    assert all(s == "accepted" for party in found.values() for s in party.values()), found
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-reviews", args=[agreement.pk])).content.decode()
    parties = page[page.index('class="review__parties"') :]
    assert "not reviewed" not in parties
    assert parties.count("review-state--accepted") == 9  # three clauses, three parties


def test_acceptance_counts_once_the_proposal_is_accepted_for_proposer_and_acceptors(demo):
    agreement = demo["agreements"][NEGOTIATING]
    deletion = agreement.overrides.get(kind="delete")  # Brightpath deletes the audit clause
    override_respond(override=deletion, by=demo["users"]["director"], decision="accept")
    # Still a proposal: the clause reads as before, nothing to record.
    assert not ClauseReview.objects.filter(agreement=agreement, clause_key="audits").exists()
    override_respond(
        override=deletion, by=demo["users"]["counsel"], decision="accept", comment="Fine."
    )
    assert states(agreement)["audits"] == {
        "riverbend-usd": "accepted",
        "northfield-university": "accepted",
        "brightpath-learning": "accepted",
    }
    reviews = {r.organisation.slug: r for r in ClauseReview.objects.filter(clause_key="audits")}
    assert reviews["northfield-university"].comment == "Fine."
    assert reviews["northfield-university"].user == demo["users"]["counsel"]
    assert reviews["brightpath-learning"].user == deletion.proposed_by


def test_a_later_change_of_the_clause_outdates_the_acceptance_and_the_page_says_so(
    client, demo, deviating
):
    assert set(states(deviating)["term"].values()) == {"accepted"}
    # A new expiry is filled into the Term clause: its text is not the one accepted.
    agreement_update(
        agreement=deviating,
        by=demo["users"]["director"],
        expires_on=deviating.expires_on + dt.timedelta(days=30),
    )
    assert set(states(deviating)["term"].values()) == {"outdated"}
    client.force_login(demo["users"]["counsel"])
    page = client.get(reverse("agreement-reviews", args=[deviating.pk])).content.decode()
    assert "What each state means" in page
    for sentence in (
        "proposed or accepted the change that produced it",
        "read the clause as it stands and has not yet said it agrees",
        "The clause changed after the party's mark",
        "has not yet marked the clause as it stands",
        "A mark holds for the exact text it was given on",
    ):
        assert sentence in page, sentence
    assert "reviewed an earlier text" in page


def test_backfill_records_the_acceptance_reviews_older_acceptances_lack(demo):
    """Proposals accepted before accepting counted as review recorded no review:
    ``manage.py backfill_reviews`` records them, keeps a party's own mark, and is idempotent."""
    import io

    from django.core.management import call_command

    agreement = demo["agreements"][NEGOTIATING]
    deletion = agreement.overrides.get(kind="delete")
    override_respond(override=deletion, by=demo["users"]["director"], decision="accept")
    override_respond(override=deletion, by=demo["users"]["counsel"], decision="accept")
    # As data from before the rule has it: no acceptance reviews, but the district's own mark.
    ClauseReview.objects.filter(agreement=agreement).delete()
    assert set(states(agreement)["audits"].values()) == {"unreviewed"}
    own = ClauseReview.objects.create(
        agreement=agreement,
        clause_key="audits",
        organisation=demo["orgs"]["riverbend-usd"],
        user=demo["users"]["director"],
        state="reviewed",
        clause_hash=next(
            d.row.review_hash for d in deviation_reviews(fresh(agreement)) if d.row.key == "audits"
        ),
    )
    out = io.StringIO()
    call_command("backfill_reviews", stdout=out)
    assert f"{agreement.reference}: 2 review(s) recorded" in out.getvalue()
    assert states(agreement)["audits"] == {
        "riverbend-usd": "reviewed",  # its own mark stands
        "northfield-university": "accepted",
        "brightpath-learning": "accepted",
    }
    own.refresh_from_db()
    assert own.state == "reviewed"
    again = io.StringIO()
    call_command("backfill_reviews", agreement.reference, stdout=again)
    assert again.getvalue().strip() == "0 acceptance review(s) recorded."
