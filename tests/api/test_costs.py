"""The partner API's view of an agreement's costs (issue 20, item 1): the calling
organisation's entries, the other parties' shared ones, its totals and the trio's shared
totals; never another party's private entry; 404 for a stranger; in the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from agreements.costs.services import cost_entry_record

PILOT = "Adaptive Practice Real-Time Dashboard Pilot"


def _record(agreement, user, hours, *, shared, rate=None):
    values = {"hours": hours, "legal_role": "in_house_counsel"}
    if rate:
        values["hourly_rate"] = rate
    return cost_entry_record(
        agreement=agreement,
        by=user,
        kind="legal_review",
        occurred_on=dt.date(2026, 11, 2),
        values=values,
        shared=shared,
    )


def test_an_organisation_sees_its_own_entries_and_shared_ones(
    api_world, issue_token, api, django_assert_max_num_queries
):
    pilot = api_world["agreements"][PILOT]
    users = api_world["users"]
    mine = _record(pilot, users["director"], "2", shared=False, rate="100")
    theirs_shared = _record(pilot, users["counsel"], "3", shared=True)
    theirs_private = _record(pilot, users["counsel"], "17.5", shared=False, rate="999")
    client = api(issue_token(api_world["riverbend"]))
    client.get("/api/v1/organisations/me")  # warm up: the token's first use is recorded
    # Queries: token, the agreement, totals, the entries (+organisation), stages.
    with django_assert_max_num_queries(5):
        response = client.get(f"/api/v1/agreements/{pilot.pk}/costs")
    assert response.status_code == 200
    body = response.json()
    ids = {e["id"]: e for e in body["entries"]}
    assert set(ids) == {mine.pk, theirs_shared.pk}
    assert theirs_private.pk not in ids
    assert ids[mine.pk]["own"] is True and ids[theirs_shared.pk]["own"] is False
    assert Decimal(body["own_totals"]["legal_hours"]) == Decimal("2")
    assert body["own_totals"]["legal_fees"] == [{"currency": "USD", "amount": "200.00"}]
    assert Decimal(body["shared_totals"]["legal_hours"]) == Decimal("3")
    assert "17.5" not in response.content.decode() and "999" not in response.content.decode()
    assert [s["stage"] for s in body["cycle_time"]][:2] == ["draft", "negotiating"]


def test_a_stranger_gets_404(api_world, issue_token, api):
    pilot = api_world["agreements"][PILOT]
    client = api(issue_token(api_world["lakeshore"]))
    assert client.get(f"/api/v1/agreements/{pilot.pk}/costs").status_code == 404


def test_the_endpoint_is_in_the_schema(client):
    paths = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()["paths"]
    operation = paths["/api/v1/agreements/{id}/costs"]["get"]
    assert operation["operationId"] == "agreements_costs_retrieve"
    assert "200" in operation["responses"]
