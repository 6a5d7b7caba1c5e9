"""Per-clause review (agreements/review/clause_reviews.py and its page): each party's legal team
marks a deviating clause reviewed or accepted; the page shows what still waits for whom."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from agreements.models import Agreement, ClauseReview
from agreements.negotiation.services import agreement_update
from agreements.review.clause_reviews import (
    clause_review_mark,
    deviation_reviews,
    unreviewed_by_party,
)
from agreements.review.selectors import agreement_comparison
from agreements.selectors import with_agreement_detail
from collaboratory.errors import DomainError

SIGNING = "Open Curriculum Implementation Data Agreement"  # inserted open-licence; signing
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"


@pytest.fixture
def deviating(deviating):
    """The accepted change to "term" with nobody's review recorded, as an agreement whose
    change was accepted before acceptance counted as review has it: these tests are about
    marking by hand (tests/agreements/test_review_notion.py covers review by acceptance)."""
    ClauseReview.objects.filter(agreement=deviating).delete()
    return deviating


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def change_expiry(demo, agreement: Agreement) -> None:
    """A new expiry fills the clause's [[expires_on]]: the clause's text changes without a
    proposal anyone accepted (a revised proposal accepted by all counts as their review)."""
    agreement_update(
        agreement=agreement,
        by=demo["users"]["director"],
        expires_on=agreement.expires_on + dt.timedelta(days=30),
    )


def row_of(agreement: Agreement, key: str):
    return next(r for r in agreement_comparison(agreement).rows if r.key == key)


def test_each_partys_legal_team_marks_a_deviation_for_the_text_it_saw(demo, deviating):
    row = row_of(deviating, "term")

    review = clause_review_mark(
        agreement=deviating,
        by=demo["users"]["vendor"],
        clause_key="term",
        state="accepted",
        comment="  Fine for us.  ",
        clause_hash=row.review_hash,
    )

    assert review.organisation == demo["orgs"]["brightpath-learning"]
    assert review.state == "accepted" and review.comment == "Fine for us."
    assert review.clause_hash == row.review_hash


def test_marking_again_replaces_the_partys_earlier_mark(demo, deviating):
    for state in ("reviewed", "accepted"):
        clause_review_mark(
            agreement=deviating, by=demo["users"]["counsel"], clause_key="term", state=state
        )
    reviews = ClauseReview.objects.filter(agreement=deviating, clause_key="term")
    assert [(r.organisation.slug, r.state) for r in reviews] == [
        ("northfield-university", "accepted")
    ]


def test_only_a_partys_legal_team_may_mark(demo, deviating):
    with pytest.raises(DomainError, match="legal team"):
        clause_review_mark(
            agreement=deviating,
            by=demo["users"]["researcher"],
            clause_key="term",
            state="reviewed",
        )
    assert not ClauseReview.objects.filter(agreement=deviating).exists()


def test_a_clause_that_does_not_deviate_cannot_be_marked(demo, deviating):
    with pytest.raises(DomainError, match="does not deviate"):
        clause_review_mark(
            agreement=deviating, by=demo["users"]["vendor"], clause_key="audits", state="reviewed"
        )


def test_a_mark_on_a_text_that_changed_since_is_refused(demo, deviating):
    stale = row_of(deviating, "term").review_hash
    change_expiry(demo, deviating)

    with pytest.raises(DomainError, match="changed since you opened"):
        clause_review_mark(
            agreement=deviating,
            by=demo["users"]["director"],
            clause_key="term",
            state="reviewed",
            clause_hash=stale,
        )
    assert not ClauseReview.objects.filter(agreement=deviating).exists()


def test_unknown_states_and_signed_agreements_are_refused(demo, deviating):
    with pytest.raises(DomainError):
        clause_review_mark(
            agreement=deviating, by=demo["users"]["vendor"], clause_key="term", state="approved"
        )
    signing = demo["agreements"][SIGNING]
    with pytest.raises(DomainError, match="until signing starts"):
        clause_review_mark(
            agreement=signing,
            by=demo["users"]["counsel"],
            clause_key="open-licence",
            state="reviewed",
        )


def test_a_review_of_an_earlier_text_no_longer_counts(demo, deviating):
    clause_review_mark(
        agreement=deviating, by=demo["users"]["counsel"], clause_key="term", state="reviewed"
    )
    change_expiry(demo, deviating)

    (deviation,) = deviation_reviews(fresh(deviating))

    states = {p.organisation.slug: p.state for p in deviation.parties}
    assert states == {
        "northfield-university": "outdated",
        "riverbend-usd": "unreviewed",
        "brightpath-learning": "unreviewed",
    }


def test_waiting_list_names_each_party_and_the_deviations_it_has_not_reviewed(demo, deviating):
    clause_review_mark(
        agreement=deviating, by=demo["users"]["vendor"], clause_key="term", state="accepted"
    )

    waiting = unreviewed_by_party(deviation_reviews(deviating))

    assert [(o.slug, keys) for o, keys in waiting] == [
        ("northfield-university", ["term"]),
        ("riverbend-usd", ["term"]),
        ("brightpath-learning", []),
    ]


# --- The review page ------------------------------------------------------------------------


def test_review_page_lists_deviations_with_each_partys_state_and_a_form_for_mine(
    client, demo, deviating
):
    clause_review_mark(
        agreement=deviating,
        by=demo["users"]["vendor"],
        clause_key="term",
        state="accepted",
        comment="<b>ok</b>",
    )
    client.force_login(demo["users"]["counsel"])

    html = client.get(reverse("agreement-reviews", args=[deviating.pk])).content.decode()

    assert 'id="review-term"' in html
    assert (
        'Brightpath Learning, Inc.</strong>: <span class="review-state review-state--done">' in html
    )
    assert "&lt;b&gt;ok&lt;/b&gt;" in html
    assert html.count('action="/agreements/') == 1  # one form: counsel's own party
    assert f'value="{row_of(deviating, "term").review_hash}"' in html


def test_review_form_records_the_mark_and_returns_to_the_clause(client, demo, deviating):
    client.force_login(demo["users"]["director"])
    row = row_of(deviating, "term")

    response = client.post(
        reverse("clause-review-mark", args=[deviating.pk]),
        {
            "clause_key": "term",
            "state": "reviewed",
            "comment": "Checked with our counsel.",
            "clause_hash": row.review_hash,
            "organisation": demo["orgs"]["riverbend-usd"].pk,
        },
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"/agreements/{deviating.pk}/reviews/#review-term")
    review = ClauseReview.objects.get(agreement=deviating)
    assert (review.organisation.slug, review.state, review.user) == (
        "riverbend-usd",
        "reviewed",
        demo["users"]["director"],
    )


def test_review_form_for_another_partys_organisation_is_refused(client, demo, deviating):
    client.force_login(demo["users"]["director"])

    response = client.post(
        reverse("clause-review-mark", args=[deviating.pk]),
        {
            "clause_key": "term",
            "state": "reviewed",
            "organisation": demo["orgs"]["brightpath-learning"].pk,
        },
        follow=True,
    )

    assert "you are not one for this agreement" in response.content.decode()
    assert not ClauseReview.objects.filter(agreement=deviating).exists()


def test_review_page_query_count_does_not_grow_with_reviews(
    client, demo, deviating, django_assert_max_num_queries
):
    client.force_login(demo["users"]["counsel"])
    url = reverse("agreement-reviews", args=[deviating.pk])
    # The comparison page's 3, plus the reviews (with their users) and the user's roles.
    with django_assert_max_num_queries(5):
        assert client.get(url).status_code == 200
    for user in ("counsel", "vendor", "director"):
        clause_review_mark(
            agreement=deviating,
            by=demo["users"][user],
            clause_key="term",
            state="reviewed",
            comment="ok",
        )
    with django_assert_max_num_queries(5):
        assert client.get(url).status_code == 200


def test_outsiders_get_404_on_the_review_page_and_form(client, demo, outsider, deviating):
    client.force_login(outsider)
    assert client.get(reverse("agreement-reviews", args=[deviating.pk])).status_code == 404
    response = client.post(
        reverse("clause-review-mark", args=[deviating.pk]),
        {"clause_key": "term", "state": "reviewed"},
    )
    assert response.status_code == 404
    client.force_login(demo["users"]["director"])
    lakeshore = demo["agreements"][LAKESHORE]
    assert client.get(reverse("agreement-reviews", args=[lakeshore.pk])).status_code == 404
    assert not ClauseReview.objects.filter(agreement=deviating).exists()
