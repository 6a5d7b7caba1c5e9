"""The ownership page (agreements/web/ownership.py) and the agreement page's summary."""

from __future__ import annotations

from django.urls import reverse

from agreements.models import Agreement, OwnershipPosition
from agreements.selectors import with_agreement_detail
from tests.conftest import login

DASHBOARD_PILOT = "Adaptive Practice Real-Time Dashboard Pilot"


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_the_page_shows_each_partys_position_and_the_conflict(
    client, demo, django_assert_max_num_queries
):
    agreement = demo["agreements"][DASHBOARD_PILOT]
    login(client, demo["users"]["counsel"])
    url = reverse("agreement-ownership", args=[agreement.pk])
    # Queries: session, user, the agreement with its text's rows and every element's
    # positions, differences and confirmations (one), the user's memberships of its parties.
    with django_assert_max_num_queries(4):
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Student roster with practice progress" in page
    assert "Conflict" in page and "differ on owner and steward" in page
    assert "Students and their families" in page
    assert "No position stated yet." in page  # Northfield has not stated one
    assert "State the same position as Riverbend Unified School District" in page
    assert 'name="e' in page and "-data_owner" in page


def test_the_page_does_not_grow_queries_with_positions(client, demo, django_assert_max_num_queries):
    agreement = _fresh(demo["agreements"][DASHBOARD_PILOT])
    element = agreement.data_elements.all()[0]
    login(client, demo["users"]["counsel"])
    client.post(
        reverse("agreement-ownership", args=[agreement.pk]),
        {
            "act": "state",
            "element": element.pk,
            f"e{element.pk}-data_owner": "district",
            f"e{element.pk}-controller": "district",
            f"e{element.pk}-steward": "none",
            f"e{element.pk}-processors": ["developer"],
        },
    )
    with django_assert_max_num_queries(4):
        assert client.get(reverse("agreement-ownership", args=[agreement.pk])).status_code == 200


def test_a_party_states_its_position_through_the_form(client, demo):
    agreement = _fresh(demo["agreements"][DASHBOARD_PILOT])
    element = agreement.data_elements.all()[0]
    login(client, demo["users"]["counsel"])
    response = client.post(
        reverse("agreement-ownership", args=[agreement.pk]),
        {
            "act": "state",
            "element": element.pk,
            f"e{element.pk}-data_owner": "students_families",
            f"e{element.pk}-controller": "district",
            f"e{element.pk}-steward": "district",
            f"e{element.pk}-processors": ["developer"],
            f"e{element.pk}-note": "Families own it.",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#ownership-{element.pk}")
    position = OwnershipPosition.objects.get(
        data_element=element, organisation=demo["orgs"]["northfield-university"]
    )
    assert position.owner == "students_families" and position.note == "Families own it."


def test_a_refused_position_shows_the_page_again_with_the_error(client, demo):
    agreement = _fresh(demo["agreements"][DASHBOARD_PILOT])
    element = agreement.data_elements.all()[0]
    login(client, demo["users"]["counsel"])
    response = client.post(
        reverse("agreement-ownership", args=[agreement.pk]),
        {
            "act": "state",
            "element": element.pk,
            f"e{element.pk}-data_owner": "district",
            f"e{element.pk}-controller": "district",
            f"e{element.pk}-steward": "none",
            f"e{element.pk}-processors": ["district"],
        },
    )
    assert response.status_code == 400
    assert "The controller decides how the data is used" in response.content.decode()
    assert not OwnershipPosition.objects.filter(
        data_element=element, organisation=demo["orgs"]["northfield-university"]
    ).exists()


def test_people_who_only_see_the_agreement_cannot_state_a_position(client, demo):
    agreement = _fresh(demo["agreements"][DASHBOARD_PILOT])
    element = agreement.data_elements.all()[0]
    login(client, demo["users"]["facilitator"])
    page = client.get(reverse("agreement-ownership", args=[agreement.pk])).content.decode()
    assert "Only the parties' legal teams and research directors state positions." in page
    assert "Save your position" not in page
    response = client.post(
        reverse("agreement-ownership", args=[agreement.pk]),
        {"act": "confirm", "element": element.pk, "difference": "1"},
    )
    assert response.status_code == 400


def test_outsiders_get_404(client, demo, outsider):
    agreement = demo["agreements"][DASHBOARD_PILOT]
    login(client, outsider)
    url = reverse("agreement-ownership", args=[agreement.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"act": "state"}).status_code == 404


def test_the_agreement_page_shows_the_conflict_and_the_blocker(client, demo):
    agreement = demo["agreements"][DASHBOARD_PILOT]
    login(client, demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "Ownership and stewardship" in page
    assert "the parties' positions differ on owner and steward" in page
    assert "Ownership of “Student roster with practice progress” is not settled" in page
    assert reverse("agreement-ownership", args=[agreement.pk]) in page
