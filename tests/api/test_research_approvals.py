"""The partner API and research approvals, through the API with a real token: the detail's
``data_flow_permitted`` and ``research_approvals`` (which are required, whether current, each
approval's state), and the ODRL policy of ``/terms``, which permits nothing while a required
approval is missing or expired and ends its permissions with the approvals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agreements.approvals.demo import approval_letter_pdf
from agreements.approvals.models import ApprovalKind, ResearchApproval
from agreements.approvals.services import (
    research_approval_record,
    template_research_approvals_set,
)

IRB, DISTRICT = ApprovalKind.IRB.value, ApprovalKind.DISTRICT_RESEARCH_OFFICE.value


@pytest.fixture
def riverbend(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


@pytest.fixture
def required(api_world):
    """Productive Struggle (active; Hillcrest, Riverbend, Quadratic) under a template that
    requires both approvals, none recorded yet."""
    agreement = api_world["riverbend_agreement"]
    template_research_approvals_set(
        template=agreement.template_version.template, kinds=[IRB, DISTRICT], by=None
    )
    return agreement


def record(world, agreement, *, kind, approved_on, expires_on, number):
    by = world["users"]["hillcrest" if kind == IRB else "director"]
    return research_approval_record(
        agreement=agreement,
        by=by,
        kind=kind,
        approving_body="Hillcrest State University IRB" if kind == IRB else "Riverbend USD ORE",
        number=number,
        approved_on=approved_on,
        expires_on=expires_on,
        document_name="letter.pdf",
        document=approval_letter_pdf(number),
        today=timezone.localdate(),
    )


def detail(client, agreement):
    response = client.get(f"/api/v1/agreements/{agreement.pk}/")
    assert response.status_code == 200
    return response.json()


def terms(client, agreement):
    response = client.get(f"/api/v1/agreements/{agreement.pk}/terms")
    assert response.status_code == 200
    return response.json()


def test_without_approvals_an_active_agreement_permits_no_data_flow(riverbend, required):
    body = detail(riverbend, required)
    assert body["status"] == "active"
    assert body["data_flow_permitted"] is False
    approvals = body["research_approvals"]
    assert approvals["required"] == [IRB, DISTRICT]
    assert approvals["current"] is False and approvals["valid_until"] is None
    assert approvals["approvals"] == []
    assert "needs a current IRB approval" in approvals["problems"][0]
    policy = terms(riverbend, required)
    assert policy["permission"] == []
    assert policy["prohibition"] and policy["obligation"]  # duties stay
    assert policy["researchApprovals"]["current"] is False


def test_current_approvals_permit_and_end_the_permissions(api_world, riverbend, required):
    today = timezone.localdate()
    irb = record(
        api_world,
        required,
        kind=IRB,
        approved_on=today - dt.timedelta(days=100),
        expires_on=today + dt.timedelta(days=40),
        number="HSU-0412",
    )
    record(
        api_world,
        required,
        kind=DISTRICT,
        approved_on=today - dt.timedelta(days=90),
        expires_on=today + dt.timedelta(days=200),
        number="RUSD-19",
    )
    body = detail(riverbend, required)
    assert body["data_flow_permitted"] is True
    approvals = body["research_approvals"]
    assert approvals["current"] is True and approvals["problems"] == []
    assert approvals["valid_until"] == irb.expires_on.isoformat()
    assert approvals["as_of"] == today.isoformat()
    first = (
        approvals["approvals"][1]
        if approvals["approvals"][0]["kind"] != IRB
        else (approvals["approvals"][0])
    )
    assert first == {
        "id": irb.pk,
        "kind": IRB,
        "approving_body": "Hillcrest State University IRB",
        "number": "HSU-0412",
        "approved_on": irb.approved_on.isoformat(),
        "expires_on": irb.expires_on.isoformat(),
        "state": "current",
        "holder": {
            "id": api_world["orgs"]["hillcrest-state"].pk,
            "slug": "hillcrest-state",
            "name": api_world["orgs"]["hillcrest-state"].name,
            "kind": "research",
        },
        "renews": None,
        "recorded_at": first["recorded_at"],
    }
    policy = terms(riverbend, required)
    assert policy["permission"]
    for permission in policy["permission"]:
        assert {
            "leftOperand": "dateTime",
            "operator": "lteq",
            "rightOperand": {"@value": irb.expires_on.isoformat(), "@type": "xsd:date"},
        } in permission["constraint"]
    assert policy["researchApprovals"] == {
        "required": [IRB, DISTRICT],
        "current": True,
        "asOf": today.isoformat(),
        "validUntil": irb.expires_on.isoformat(),
    }


def test_an_expired_irb_approval_stops_the_data_flow_and_is_named(api_world, riverbend, required):
    today = timezone.localdate()
    record(
        api_world,
        required,
        kind=IRB,
        approved_on=today - dt.timedelta(days=400),
        expires_on=today - dt.timedelta(days=2),
        number="HSU-0001",
    )
    record(
        api_world,
        required,
        kind=DISTRICT,
        approved_on=today - dt.timedelta(days=90),
        expires_on=today + dt.timedelta(days=200),
        number="RUSD-19",
    )
    body = detail(riverbend, required)
    assert body["data_flow_permitted"] is False
    approvals = body["research_approvals"]
    states = {a["number"]: a["state"] for a in approvals["approvals"]}
    assert states == {"HSU-0001": "expired", "RUSD-19": "current"}
    expired_on = (today - dt.timedelta(days=2)).isoformat()
    assert approvals["problems"] == [
        f"The IRB approval HSU-0001 from Hillcrest State University IRB expired on "
        f"{expired_on}: renew it before any data flows."
    ]
    assert terms(riverbend, required)["permission"] == []


def test_an_agreement_whose_template_requires_nothing_is_unchanged(api_world, riverbend):
    agreement = api_world["riverbend_agreement"]
    body = detail(riverbend, agreement)
    assert body["data_flow_permitted"] is True
    assert body["research_approvals"]["required"] == []
    assert body["research_approvals"]["current"] is True
    assert terms(riverbend, agreement)["permission"]
    assert not ResearchApproval.objects.exists()


def test_another_organisations_token_learns_nothing(api_world, required, issue_token, api):
    lakeshore = api(issue_token(api_world["lakeshore"]))
    assert lakeshore.get(f"/api/v1/agreements/{required.pk}/").status_code == 404
    assert lakeshore.get(f"/api/v1/agreements/{required.pk}/terms").status_code == 404


def test_the_schema_declares_the_new_fields(client):
    schema = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()
    components = schema["components"]["schemas"]
    detail_fields = components["AgreementDetail"]["properties"]
    assert detail_fields["data_flow_permitted"]["type"] == "boolean"
    assert "research_approvals" in detail_fields
    approvals = components["ResearchApprovals"]["properties"]
    assert {"required", "current", "as_of", "valid_until", "problems", "approvals"} <= set(
        approvals
    )
    approval = components["ResearchApproval"]["properties"]
    assert {"kind", "approving_body", "number", "approved_on", "expires_on", "state"} <= set(
        approval
    )


def _listed(client) -> dict[str, bool]:
    response = client.get("/api/v1/agreements/?page_size=200")
    assert response.status_code == 200
    return {row["id"]: row["data_flow_permitted"] for row in response.json()["results"]}


def test_the_list_gives_the_same_in_force_answer_as_the_detail(api_world, riverbend, required):
    # The list's answer is SQL (data_flow_permitted_sql), the detail's Python: every agreement
    # of the organisation, before any approval, with an expired IRB approval, and current.
    today = timezone.localdate()

    def agree() -> dict[str, bool]:
        listed = _listed(riverbend)
        for agreement_id, permitted in listed.items():
            body = riverbend.get(f"/api/v1/agreements/{agreement_id}/").json()
            assert body["data_flow_permitted"] is permitted, body["reference"]
        return listed

    assert agree()[str(required.pk)] is False
    record(
        api_world,
        required,
        kind=DISTRICT,
        approved_on=today - dt.timedelta(days=90),
        expires_on=today + dt.timedelta(days=200),
        number="RUSD-19",
    )
    record(
        api_world,
        required,
        kind=IRB,
        approved_on=today - dt.timedelta(days=400),
        expires_on=today - dt.timedelta(days=1),
        number="HSU-0001",
    )
    assert agree()[str(required.pk)] is False
    record(
        api_world,
        required,
        kind=IRB,
        approved_on=today - dt.timedelta(days=1),
        expires_on=today,  # its last day is today: still current
        number="HSU-0002",
    )
    listed = agree()
    assert listed[str(required.pk)] is True
    assert False in listed.values()  # the organisation's agreements that are not active
