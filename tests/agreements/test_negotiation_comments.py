"""Comments on clauses: only on a clause of the agreement's consolidated text."""

import pytest
from django.urls import reverse

from agreements.models import ClauseComment
from agreements.negotiation.discussions import clause_comment_add
from agreements.selectors import consolidated_text
from collaboratory.errors import DomainError

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"


@pytest.fixture
def agreement(demo):
    return demo["agreements"][NEGOTIATING]


def test_a_comment_on_a_clause_of_the_agreement_is_kept(demo, agreement):
    key = consolidated_text(agreement).clauses[0].key
    comment = clause_comment_add(
        agreement=agreement, by=demo["users"]["director"], clause_key=key, body="Looks right."
    )
    assert (comment.clause_key, comment.body) == (key, "Looks right.")


@pytest.mark.parametrize("key", ["no-such-clause", "", "<script>"])
def test_a_comment_on_a_clause_the_agreement_does_not_have_is_refused(demo, agreement, key):
    with pytest.raises(DomainError) as error:
        clause_comment_add(
            agreement=agreement, by=demo["users"]["director"], clause_key=key, body="Hm."
        )
    assert error.value.message_dict == {
        "clause_key": [f"There is no clause “{key}” in this agreement."]
    }
    assert not ClauseComment.objects.filter(agreement=agreement, body="Hm.").exists()


def test_the_comments_endpoint_names_the_unknown_clause(client, demo, agreement):
    client.force_login(demo["users"]["director"])
    response = client.post(
        reverse("clause-comment", args=[agreement.pk]),
        {"clause_key": "no-such-clause", "body": "Hm."},
        follow=True,
    )
    assert "There is no clause “no-such-clause” in this agreement." in response.content.decode()
    assert not ClauseComment.objects.filter(agreement=agreement, body="Hm.").exists()
