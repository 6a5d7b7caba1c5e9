"""Every endpoint x {no token, revoked, expired, wrong scope, other organisation, own}.

Each endpoint is called on an object of its own organisation ("own") with tokens of every
kind; "other org" is a valid token of the other organisation with every scope, which must get
404 for objects it is not a party to (never 403, never the data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # formatted with {agreement}, {endpoint}, {delivery}
    scope: str | None
    own_status: int
    body: dict | None = None


ENDPOINTS = [
    Endpoint("agreement list", "get", "/api/v1/agreements/", "agreements:read", 200),
    Endpoint("agreement", "get", "/api/v1/agreements/{agreement}/", "agreements:read", 200),
    Endpoint("document", "get", "/api/v1/agreements/{agreement}/document", "agreements:read", 200),
    Endpoint("terms", "get", "/api/v1/agreements/{agreement}/terms", "agreements:read", 200),
    Endpoint("organisation", "get", "/api/v1/organisations/me", None, 200),
    Endpoint(
        "consent summary",
        "get",
        "/api/v1/consent/summary?agreement={agreement}",
        "consent:read",
        200,
    ),
    Endpoint("webhook list", "get", "/api/v1/webhooks/", "webhooks:manage", 200),
    Endpoint(
        "webhook create",
        "post",
        "/api/v1/webhooks/",
        "webhooks:manage",
        201,
        {"url": "http://127.0.0.1:9/new-hook", "events": ["agreement.status_changed"]},
    ),
    Endpoint("webhook", "get", "/api/v1/webhooks/{endpoint}/", "webhooks:manage", 200),
    Endpoint("webhook disable", "delete", "/api/v1/webhooks/{endpoint}/", "webhooks:manage", 204),
    Endpoint(
        "deliveries",
        "get",
        "/api/v1/webhooks/{endpoint}/deliveries/",
        "webhooks:manage",
        200,
    ),
    Endpoint(
        "redeliver",
        "post",
        "/api/v1/webhooks/{endpoint}/deliveries/{delivery}/redeliver",
        "webhooks:manage",
        202,
    ),
]
#: Collections answer 200 to another organisation, listing only its own objects.
COLLECTIONS = {"agreement list", "webhook list", "webhook create", "organisation"}
WRONG_SCOPE = {
    "agreements:read": ["consent:read", "webhooks:manage"],
    "consent:read": ["agreements:read"],
    "webhooks:manage": ["agreements:read", "consent:read"],
}


def _objects_of(organisation, agreement, tmp_path):
    """A sealed document, a webhook endpoint and one delivery for ``organisation``."""
    from agreements.models import Document
    from partners.models import WebhookDelivery, WebhookEndpoint

    Document.objects.create(
        agreement=agreement,
        kind="executed",
        text_hash=agreement.text_hash,
        sha256=f"{organisation.pk:064d}",
        file=ContentFile(b"%PDF-1.7", name="sealed.pdf"),
        size=8,
        sealed=True,
    )
    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation,
        # Named after its organisation: another organisation's answer must not contain it.
        url=f"http://127.0.0.1:9/hook/{organisation.slug}",
        secret="whsec_test",
        events=["agreement.status_changed"],
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="8a4f7b36-0a4f-4c51-9b0f-3d1d6b0c2a11",
        event="agreement.status_changed",
        payload={"id": "x"},
        status="failed",
    )
    return {"agreement": agreement.pk, "endpoint": endpoint.pk, "delivery": delivery.pk}


@pytest.fixture
def world(api_world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return {
        "own": _objects_of(api_world["riverbend"], api_world["riverbend_agreement"], tmp_path),
        "other": _objects_of(api_world["lakeshore"], api_world["lakeshore_agreement"], tmp_path),
        "riverbend": api_world["riverbend"],
        "lakeshore": api_world["lakeshore"],
    }


def _call(api, token, endpoint: Endpoint, ids: dict):
    client = api(token)
    url = endpoint.path.format(**ids)
    if endpoint.body is not None:
        return getattr(client, endpoint.method)(
            url, data=json.dumps(endpoint.body), content_type="application/json"
        )
    return getattr(client, endpoint.method)(url)


def _error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_permission_matrix(world, endpoint, issue_token, expired_token, api):
    own, riverbend = world["own"], world["riverbend"]
    all_scopes = [endpoint.scope] if endpoint.scope else ["agreements:read"]

    response = _call(api, None, endpoint, own)
    assert (response.status_code, _error_code(response)) == (401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")

    revoked = issue_token(riverbend, all_scopes, revoked=True)
    response = _call(api, revoked, endpoint, own)
    assert (response.status_code, _error_code(response)) == (401, "token_revoked")

    response = _call(api, expired_token(riverbend, all_scopes), endpoint, own)
    assert (response.status_code, _error_code(response)) == (401, "token_expired")

    response = _call(api, "clb_not-a-token", endpoint, own)
    assert (response.status_code, _error_code(response)) == (401, "invalid_token")

    if endpoint.scope:
        wrong = issue_token(riverbend, WRONG_SCOPE[endpoint.scope])
        response = _call(api, wrong, endpoint, own)
        assert (response.status_code, _error_code(response)) == (403, "insufficient_scope")

    # Another organisation's token, with every scope, on our objects.
    other = issue_token(world["lakeshore"])
    response = _call(api, other, endpoint, own)
    if endpoint.name in COLLECTIONS:
        assert response.status_code in (200, 201)
        text = response.content.decode()
        assert str(own["agreement"]) not in text
        # No endpoint of ours among the items (the id alone is a small number, which other
        # objects' ids in the answer can share: compare the endpoints' own rows).
        data = response.json()
        items = data.get("results", []) if isinstance(data, dict) else data
        assert not any(
            isinstance(item, dict) and "url" in item and item.get("id") == own["endpoint"]
            for item in items
        )
        assert "riverbend" not in text.lower()
    else:
        assert (response.status_code, _error_code(response)) == (404, "not_found")
        assert "Riverbend" not in response.content.decode()

    response = _call(api, issue_token(riverbend, all_scopes), endpoint, own)
    assert response.status_code == endpoint.own_status, response.content


def test_a_token_revoked_while_in_use_stops_working_at_once(world, issue_token, api):
    from partners.api_auth import api_token_revoke, token_digest
    from partners.models import ApiToken

    token = issue_token(world["riverbend"])
    client = api(token)
    assert client.get("/api/v1/agreements/").status_code == 200
    api_token_revoke(token=ApiToken.objects.get(digest=token_digest(token)))
    assert client.get("/api/v1/agreements/").status_code == 401


def test_only_the_digest_of_a_token_is_stored(world, issue_token):
    from partners.models import ApiToken

    token = issue_token(world["riverbend"])
    row = ApiToken.objects.get(prefix=token[:12])
    assert token not in {row.digest, row.prefix, row.name}
    assert len(row.digest) == 64
