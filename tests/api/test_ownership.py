"""The partner API's ownership fields (``data_elements[].ownership``), with a real token,
and their place in the OpenAPI schema."""

from __future__ import annotations

import pytest

from agreements.models import Agreement
from agreements.ownership.services import (
    ownership_agree_to_differ,
    ownership_difference_confirm,
    ownership_position_state,
)
from agreements.review.services import agreement_reopen, agreement_submit_for_review
from agreements.selectors import with_agreement_detail

PILOT = "Adaptive Practice Real-Time Dashboard Pilot"
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"


@pytest.fixture
def riverbend(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_the_detail_gives_each_partys_position_and_the_conflict(api_world, riverbend):
    agreement = api_world["agreements"][PILOT]
    response = riverbend.get(f"/api/v1/agreements/{agreement.pk}/")
    assert response.status_code == 200
    (element,) = response.json()["data_elements"]
    ownership = element["ownership"]
    assert ownership["state"] == "waiting"
    assert ownership["disputed"] == ["owner", "steward"]
    assert ownership["agreed"] is None and ownership["agreed_to_differ"] is None
    by_party = {p["organisation"]: p for p in ownership["positions"]}
    assert set(by_party) == {"riverbend-usd", "brightpath-learning"}
    assert by_party["riverbend-usd"]["owner"] == "district"
    assert by_party["brightpath-learning"]["owner"] == "students_families"
    assert by_party["brightpath-learning"]["steward"] == "district"
    assert by_party["brightpath-learning"]["processors"] == ["developer"]
    assert "FERPA" in by_party["riverbend-usd"]["note"]


def test_an_element_nobody_raised_is_unstated(api_world, riverbend):
    agreement = api_world["agreements"][IN_REVIEW]
    elements = riverbend.get(f"/api/v1/agreements/{agreement.pk}/").json()["data_elements"]
    assert {e["ownership"]["state"] for e in elements} == {"unstated"}
    assert all(e["ownership"]["positions"] == [] for e in elements)


def test_agreed_and_agreed_to_differ_positions_through_the_api(
    api_world, riverbend, django_assert_max_num_queries
):
    users = api_world["users"]
    agreement = _fresh(api_world["agreements"][IN_REVIEW])
    agreement_reopen(agreement=agreement, by=users["director"], reason="Ownership.")
    first, second = list(_fresh(agreement).data_elements.all())[:2]
    same = {"owner": "district", "controller": "district", "steward": "none"}
    for name in ("director", "counsel", "vendor"):
        ownership_position_state(element=first, by=users[name], processors=["research"], **same)
        ownership_position_state(
            element=second,
            by=users[name],
            processors=["research"],
            **(
                {**same, "owner": "students_families", "steward": "district"}
                if name == "vendor"
                else same
            ),
        )
    difference = ownership_agree_to_differ(
        element=second, by=users["vendor"], wording="The parties differ on ownership."
    )
    for name in ("director", "counsel"):
        ownership_difference_confirm(difference=difference, by=users[name])
    agreement_submit_for_review(agreement=_fresh(agreement), by=users["counsel"])

    riverbend.get(f"/api/v1/agreements/{agreement.pk}/")
    # token, then the agreement with every collection (positions and confirmations among
    # them) as JSON in the same query
    with django_assert_max_num_queries(2):
        body = riverbend.get(f"/api/v1/agreements/{agreement.pk}/").json()
    assert body["status"] == "in_review"
    agreed, differ = (e["ownership"] for e in body["data_elements"][:2])
    assert agreed["state"] == "agreed"
    assert agreed["agreed"] == {
        "owner": "district",
        "controller": "district",
        "steward": "none",
        "processors": ["research"],
    }
    assert differ["state"] == "differ" and differ["disputed"] == ["owner", "steward"]
    assert differ["agreed_to_differ"]["wording"] == "The parties differ on ownership."
    assert set(differ["agreed_to_differ"]["confirmed_by"]) == {
        "riverbend-usd",
        "northfield-university",
        "brightpath-learning",
    }


def test_other_organisations_get_404(api_world, issue_token, api):
    agreement = api_world["agreements"][PILOT]
    lakeshore = api(issue_token(api_world["lakeshore"]))
    assert lakeshore.get(f"/api/v1/agreements/{agreement.pk}/").status_code == 404


def test_the_schema_documents_the_ownership_fields(client):
    schemas = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()[
        "components"
    ]["schemas"]
    assert "ownership" in schemas["DataElement"]["properties"]
    ownership = schemas["Ownership"]["properties"]
    assert {"state", "disputed", "agreed", "agreed_to_differ", "positions"} <= set(ownership)
    position = schemas["OwnershipPosition"]["properties"]
    assert {"organisation", "owner", "controller", "steward", "processors", "note"} <= set(position)
    owner_enum = {
        name: schema
        for name, schema in schemas.items()
        if set(schema.get("enum", [])) == {"district", "students_families", "research", "developer"}
    }
    assert owner_enum, "the owner vocabulary is an enum in the schema"
