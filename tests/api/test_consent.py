"""GET /api/v1/consent/summary (consent/apis.py): aggregate counts of one of the
organisation's agreements, never student-level rows; another organisation's agreement is a
404."""

from __future__ import annotations

import pytest

from consent.apis import _aggregate_only


@pytest.fixture
def riverbend(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


def test_consent_summary_gives_aggregate_counts_for_own_agreements_only(api_world, riverbend):
    ours = api_world["riverbend_agreement"]
    response = riverbend.get(f"/api/v1/consent/summary?agreement={ours.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["agreement"] == str(ours.pk)
    assert isinstance(body["coverage"], dict)
    assert not any(isinstance(v, list) for v in body["coverage"].values())
    theirs = api_world["lakeshore_agreement"]
    assert riverbend.get(f"/api/v1/consent/summary?agreement={theirs.pk}").status_code == 404
    missing = riverbend.get("/api/v1/consent/summary")
    assert missing.status_code == 400
    assert missing.json()["error"]["details"]["parameter"] == "agreement"


def test_aggregate_filter_drops_row_like_values():
    summary = {"students": 3, "buckets": {"granted": 2}, "rows": [{"student_key": "S1"}]}
    assert _aggregate_only(summary) == {"students": 3, "buckets": {"granted": 2}}
