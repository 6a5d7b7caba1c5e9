"""The dashboard asks the review page's question (agreements/dashboard.py): a deviation waits
for a party's legal team until it is reviewed in its current text, so "Review N changed
clauses" and the review page's "still to review" always give the same N."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from agreements import dashboard
from agreements.access import acting_parties
from agreements.models import Agreement, ClauseReview
from agreements.negotiation.services import agreement_update
from agreements.review.clause_reviews import clause_review_mark
from agreements.selectors import with_agreement_detail
from partners.models import Role

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
LEGAL_USERS = ("director", "counsel", "vendor")


@pytest.fixture
def deviating(deviating):
    """The accepted change to "term" with nobody's review recorded, as an agreement whose
    change was accepted before acceptance counted as review has it: these tests are about
    marking by hand (tests/agreements/test_review_notion.py covers review by acceptance)."""
    ClauseReview.objects.filter(agreement=deviating).delete()
    return deviating


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def dashboard_count(user, agreement: Agreement) -> int:
    """N of the dashboard's "Review N changed clauses" for ``agreement`` (0: no such item)."""
    for item in dashboard.waiting_for(user):
        if item.action == "review" and item.agreement.pk == agreement.pk:
            return int(re.match(r"Review (\d+) changed clause", item.label)[1])
    return 0


def review_page_count(client, user, agreement: Agreement) -> int:
    """The deviations the review page lists as still to review by the user's legal team."""
    client.force_login(user)
    context = client.get(reverse("agreement-reviews", args=[agreement.pk])).context
    mine = set(acting_parties(user, agreement, Role.LEGAL))
    assert mine and context["legal_of"] == mine
    return len({key for org, keys in context["waiting"] if org.pk in mine for key in keys})


def assert_counts_agree(client, demo, agreement: Agreement) -> dict[str, int]:
    counts = {}
    for name in LEGAL_USERS:
        user = demo["users"][name]
        counts[name] = dashboard_count(user, agreement)
        assert counts[name] == review_page_count(client, user, agreement), name
    return counts


def test_dashboard_and_review_page_agree_after_an_override_is_accepted(client, demo, deviating):
    before = assert_counts_agree(client, demo, deviating)
    assert all(n >= 1 for n in before.values())  # "term" waits for every party

    counsel = demo["users"]["counsel"]
    clause_review_mark(agreement=deviating, by=counsel, clause_key="term", state="reviewed")
    after = assert_counts_agree(client, demo, deviating)
    assert after["counsel"] == before["counsel"] - 1
    assert after["vendor"] == before["vendor"]


def test_a_review_of_an_earlier_text_no_longer_counts_on_the_dashboard(client, demo, deviating):
    counsel = demo["users"]["counsel"]
    clause_review_mark(agreement=deviating, by=counsel, clause_key="term", state="reviewed")
    reviewed = dashboard_count(counsel, deviating)
    # The new expiry fills the clause's [[expires_on]]: the reviewed text is not the text now,
    # though no change was accepted since the review.
    agreement_update(
        agreement=deviating,
        by=demo["users"]["director"],
        expires_on=deviating.expires_on + dt.timedelta(days=30),
    )
    assert dashboard_count(counsel, deviating) == reviewed + 1
    assert_counts_agree(client, demo, deviating)


def test_dashboard_query_count_with_changes_to_review(
    client, demo, deviating, django_assert_max_num_queries
):
    client.force_login(demo["users"]["counsel"])
    # session, user, trio page (+members, organisations and the count), memberships,
    # waiting, the texts and reviews of the agreements to review, coming up, research
    # approvals (their panel), destruction duties overdue or due soon, consent coverage,
    # recent activity.
    with django_assert_max_num_queries(11):
        page = client.get(reverse("dashboard")).content.decode()
    assert reverse("agreement-reviews", args=[deviating.pk]) in page
