"""Every error is ``{"error": {"code", "message", "details"}}`` with the right status."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def client(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_unknown_paths_answer_json_404_with_a_hint_for_the_trailing_slash(client):
    assert _error(client.get("/api/v1/contracts/"), 404)["code"] == "not_found"
    hint = _error(client.get("/api/v1/agreements"), 404)["message"]
    assert "/api/v1/agreements/" in hint
    assert _error(client.delete("/api/v1/nothing/here"), 404)["code"] == "not_found"


def test_a_malformed_agreement_id_is_a_404(client):
    assert _error(client.get("/api/v1/agreements/not-a-uuid/"), 404)["code"] == "not_found"


def test_wrong_method_answers_405_with_allow(client):
    response = client.post("/api/v1/agreements/", data="{}", content_type="application/json")
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_an_unsatisfiable_accept_header_answers_406(client):
    error = _error(client.get("/api/v1/agreements/", headers={"Accept": "text/csv"}), 406)
    assert error["code"] == "not_acceptable"


def test_a_pdf_endpoint_answers_errors_as_json(api_world, client):
    agreement = api_world["riverbend_agreement"]
    response = client.get(
        f"/api/v1/agreements/{agreement.pk}/document", headers={"Accept": "application/pdf"}
    )
    assert _error(response, 404)["code"] == "not_found"


def test_bodies_must_be_json(client):
    response = client.post("/api/v1/webhooks/", data="url=x", content_type="text/plain")
    assert _error(response, 415)["code"] == "unsupported_media_type"
    response = client.post("/api/v1/webhooks/", data="{oops", content_type="application/json")
    assert _error(response, 400)["code"] == "parse_error"


def test_invalid_fields_answer_400_naming_the_field(client):
    response = client.post(
        "/api/v1/webhooks/",
        data=json.dumps({"url": "https://example.org/", "events": ["agreement.deleted"]}),
        content_type="application/json",
    )
    error = _error(response, 400)
    assert error["code"] == "invalid"
    assert "events" in error["details"]["fields"]
    assert error["message"].startswith("events:")


def test_a_broken_domain_rule_answers_422_with_the_services_message(client, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    response = client.post(
        "/api/v1/webhooks/",
        data=json.dumps({"url": "https://10.1.2.3/hook", "events": ["agreement.expiring"]}),
        content_type="application/json",
    )
    error = _error(response, 422)
    assert "internal address" in error["message"]
    assert "url" in error["details"]["fields"]


def test_too_many_requests_answer_429_with_retry_after(api_world, issue_token, api, settings):
    settings.API_RATE_LIMIT = "3/minute"
    client = api(issue_token(api_world["riverbend"]))
    statuses = [client.get("/api/v1/organisations/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/organisations/me")
    error = _error(response, 429)
    assert error["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response["RateLimit-Remaining"] == "0"
    # The limit is per token: another token of the same organisation is not affected.
    assert (
        api(issue_token(api_world["riverbend"])).get("/api/v1/organisations/me").status_code == 200
    )


def test_an_unexpected_failure_answers_json_500_without_details(client, monkeypatch):
    import agreements.api.views

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(agreements.api.views, "agreement_count", explode)
    error = _error(client.get("/api/v1/agreements/"), 500)
    assert error["code"] == "server_error"
    assert "fire" not in error["message"]


def test_a_malformed_authorization_header_is_a_401(api_world, api):
    client = api(None)
    for header in ("Token abc", "Bearer", "Bearer a b"):
        response = client.get("/api/v1/agreements/", headers={"Authorization": header})
        assert _error(response, 401)["code"] in {"invalid_authorization", "not_authenticated"}


@pytest.mark.parametrize(
    ("path", "scope", "given"),
    [
        ("/api/v1/agreements/", "agreements:read", "consent:read"),
        ("/api/v1/webhooks/", "webhooks:manage", "agreements:read"),
    ],
)
def test_a_missing_scope_is_named_as_documented(api_world, issue_token, api, path, scope, given):
    # As in the README and the schema's example: the scope's name, not ApiScope.AGREEMENTS_READ.
    client = api(issue_token(api_world["riverbend"], [given]))
    error = _error(client.get(path), 403)
    assert (error["code"], error["message"]) == (
        "insufficient_scope",
        f"This token lacks the scope '{scope}'.",
    )
