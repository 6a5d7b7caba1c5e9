"""The organisation admin's pages: create (shown once), list and revoke tokens; register and
disable webhooks; see deliveries with their attempts; redeliver. Everyone else gets 404."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.management import call_command

from partners import webhooks
from partners.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import otp_verified

SETTINGS_URL = "/organisations/riverbend-usd/api/"


@pytest.fixture
def admin_client(api_world, client):
    # Admin of Riverbend, in a session verified with two-factor authentication (needed for
    # API access: partners/two_factor.py).
    return otp_verified(client, api_world["users"]["director"])


def test_an_admin_creates_a_token_that_is_shown_once_and_works(admin_client, api):
    response = admin_client.post(
        f"{SETTINGS_URL}tokens/",
        {"name": "SIS sync", "scopes": ["agreements:read"], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = re.search(r">(clb_[^<]+)</textarea>", response.content.decode()).group(1)
    assert api(token).get("/api/v1/agreements/").status_code == 200
    row = ApiToken.objects.get(name="SIS sync")
    assert row.expires_at is not None and row.created_by.username == "director"
    page = admin_client.get(SETTINGS_URL).content.decode()
    assert "SIS sync" in page and row.prefix in page
    assert token not in page


def test_an_admin_revokes_a_token(admin_client, api_world, issue_token, api):
    token = issue_token(api_world["riverbend"], name="Old pipeline")
    row = ApiToken.objects.get(name="Old pipeline")
    response = admin_client.post(f"{SETTINGS_URL}tokens/{row.pk}/revoke/")
    assert response.status_code == 302
    assert api(token).get("/api/v1/agreements/").status_code == 401
    assert "Revoked" in admin_client.get(SETTINGS_URL).content.decode()


def test_a_token_form_without_scopes_is_refused(admin_client):
    response = admin_client.post(f"{SETTINGS_URL}tokens/", {"name": "x"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_an_admin_registers_a_webhook_and_sees_its_secret_once(admin_client, monkeypatch):
    monkeypatch.setattr(webhooks, "resolve_host", lambda host, port: ["93.184.216.34"])
    response = admin_client.post(
        f"{SETTINGS_URL}webhooks/",
        {"url": "https://hooks.example.org/in", "events": ["agreement.status_changed"]},
    )
    assert response.status_code == 200
    secret = re.search(r">(whsec_[^<]+)</textarea>", response.content.decode()).group(1)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret
    assert secret not in admin_client.get(SETTINGS_URL).content.decode()


def test_a_webhook_to_an_internal_address_is_refused_with_the_reason(
    admin_client, monkeypatch, settings
):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    monkeypatch.setattr(webhooks, "resolve_host", lambda host, port: ["169.254.169.254"])
    response = admin_client.post(
        f"{SETTINGS_URL}webhooks/",
        {"url": "https://metadata.example.org/", "events": ["agreement.expiring"]},
    )
    assert response.status_code == 400
    assert "internal address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def _endpoint_with_deliveries(api_world, count=3):
    endpoint = WebhookEndpoint.objects.create(
        organisation=api_world["riverbend"],
        # One active endpoint per URL: each call its own.
        url=f"https://hooks.example.org/in/{uuid.uuid4().hex[:8]}",
        secret="whsec_x",
        events=["agreement.status_changed"],
    )
    for n in range(count):
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=uuid.uuid4(),
            event="agreement.status_changed",
            payload={},
            status="retrying",
            attempts=2,
        )
        for number in (1, 2):
            WebhookAttempt.objects.create(
                delivery=delivery,
                number=number,
                started_at=delivery.created_at,
                response_code=500 + n,
                error=f"The endpoint answered HTTP {500 + n}.",
            )
    return endpoint


def test_the_delivery_log_shows_every_attempt_in_constant_queries(
    admin_client, api_world, django_assert_max_num_queries
):
    small = _endpoint_with_deliveries(api_world, 1)
    big = _endpoint_with_deliveries(api_world, 10)
    # session, user, verified 2FA device, organisation, endpoint, count, page of deliveries,
    # their attempts
    for endpoint in (small, big):
        with django_assert_max_num_queries(8):
            response = admin_client.get(f"{SETTINGS_URL}webhooks/{endpoint.pk}/")
        assert response.status_code == 200
    assert response.content.decode().count("The endpoint answered HTTP 509.") == 2


def test_the_settings_page_query_count_does_not_grow_with_tokens(
    admin_client, api_world, issue_token, django_assert_max_num_queries
):
    for n in range(8):
        issue_token(api_world["riverbend"], name=f"token {n}")
    _endpoint_with_deliveries(api_world, 1)
    # session, user, verified 2FA device, organisation, tokens (with creators), endpoints
    with django_assert_max_num_queries(6):
        assert admin_client.get(SETTINGS_URL).status_code == 200


def test_an_admin_redelivers_by_hand(
    admin_client, api_world, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(webhooks, "_enqueue", lambda pk, **kw: queued.append((pk, kw)))
    endpoint = _endpoint_with_deliveries(api_world, 1)
    delivery = endpoint.deliveries.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{SETTINGS_URL}webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"
        )
    assert response.status_code == 302
    assert queued == [(delivery.pk, {"manual": True})]


def test_an_admin_disables_a_webhook(admin_client, api_world):
    endpoint = _endpoint_with_deliveries(api_world, 1)
    admin_client.post(f"{SETTINGS_URL}webhooks/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.deliveries.get().status == "failed"


@pytest.mark.parametrize("username", ["counsel", "researcher", "vendor", "outsider"])
def test_non_admins_of_the_organisation_get_404_everywhere(api_world, client, outsider, username):
    user = outsider if username == "outsider" else api_world["users"][username]
    client.force_login(user)
    endpoint = _endpoint_with_deliveries(api_world, 1)
    delivery = endpoint.deliveries.get()
    token = ApiToken.objects.create(
        organisation=api_world["riverbend"],
        name="t",
        prefix="clb_x",
        digest="d" * 64,
        scopes=["agreements:read"],
    )
    gets = [SETTINGS_URL, f"{SETTINGS_URL}webhooks/{endpoint.pk}/"]
    posts = [
        f"{SETTINGS_URL}tokens/",
        f"{SETTINGS_URL}tokens/{token.pk}/revoke/",
        f"{SETTINGS_URL}webhooks/",
        f"{SETTINGS_URL}webhooks/{endpoint.pk}/disable/",
        f"{SETTINGS_URL}webhooks/{endpoint.pk}/enable/",
        f"{SETTINGS_URL}webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {"name": "x", "scopes": ["agreements:read"]}).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_organisations_webhook_is_404_for_an_admin(admin_client, api_world):
    theirs = WebhookEndpoint.objects.create(
        organisation=api_world["lakeshore"],
        url="https://hooks.example.org/",
        secret="s",
        events=["agreement.expiring"],
    )
    assert admin_client.get(f"{SETTINGS_URL}webhooks/{theirs.pk}/").status_code == 404
    assert admin_client.get("/organisations/lakeshore-cps/api/").status_code == 404


def test_the_api_access_page_leads_an_admin_to_their_organisation(admin_client, client, api_world):
    response = admin_client.get("/api-access/")
    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    client.force_login(api_world["users"]["counsel"])
    assert "no organisation" in client.get("/api-access/").content.decode()


def test_issue_api_token_prints_only_a_working_token(api_world, api, capsys):
    call_command(
        "issue_api_token",
        "--org",
        "lakeshore-cps",
        "--name",
        "Nightly sync",
        "--scopes",
        "agreements:read",
        "consent:read",
        "--expires-in-days",
        "7",
    )
    output = capsys.readouterr().out
    token = output.strip()
    assert output == token + "\n" and token.startswith("clb_")
    body = api(token).get("/api/v1/organisations/me").json()
    assert body["slug"] == "lakeshore-cps"
    assert body["token"]["scopes"] == ["agreements:read", "consent:read"]


def test_issue_api_token_names_an_unknown_organisation(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no-such-org"):
        call_command("issue_api_token", "--org", "no-such-org", "--name", "x")
