"""Fixtures of the partner API tests: the demo world, tokens of two organisations, a client.

Riverbend (district) is a party to five demo agreements; Lakeshore (another district) to
one, which Riverbend must never see — and the other way round.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

ALL_SCOPES = ("agreements:read", "consent:read", "webhooks:manage")


@pytest.fixture
def api_world(demo):
    from agreements.demo import seed_agreements
    from agreements.models import Agreement

    seed_agreements(demo["collaboratory"])
    demo["agreements"] = {a.title: a for a in Agreement.objects.all()}
    demo["riverbend"] = demo["orgs"]["riverbend-usd"]
    demo["lakeshore"] = demo["orgs"]["lakeshore-cps"]
    demo["lakeshore_agreement"] = demo["agreements"]["Lakeshore Fluency Pathways Data Agreement"]
    demo["riverbend_agreement"] = demo["agreements"]["Productive Struggle Classroom Study"]
    return demo


@pytest.fixture
def issue_token(db):
    """``issue_token(org, scopes=..., expires_at=..., revoked=False) -> str``."""
    from partners.api_auth import api_token_issue, api_token_revoke

    def issue(organisation, scopes=ALL_SCOPES, *, expires_at=None, revoked=False, name="test"):
        row, token = api_token_issue(
            organisation=organisation, name=name, scopes=scopes, expires_at=expires_at
        )
        if revoked:
            api_token_revoke(token=row)
        return token

    return issue


@pytest.fixture
def expired_token(issue_token):
    """A token that expired a minute ago (issued valid, then moved into the past)."""
    from partners.api_auth import token_digest
    from partners.models import ApiToken

    def make(organisation, scopes=ALL_SCOPES):
        token = issue_token(organisation, scopes, expires_at=timezone.now() + dt.timedelta(days=1))
        ApiToken.objects.filter(digest=token_digest(token)).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        return token

    return make


class ApiClient(Client):
    """A test client that sends ``Authorization: Bearer``."""

    def __init__(self, token: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.token = token

    def request(self, **request):
        if self.token is not None:
            request.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.token}")
        return super().request(**request)


@pytest.fixture
def api():
    """``api(token)`` -> a client sending that bearer token."""
    return ApiClient
