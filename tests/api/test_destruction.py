"""Destruction duties in the partner API (real tokens) and as webhook events delivered to a
local receiver: the agreement detail states each duty's deadline and state and whether one is
overdue; ``destruction.due_soon``, ``destruction.overdue`` and ``destruction.certified`` reach
the parties' subscribed endpoints, signed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from agreements.destruction import services
from agreements.models import DestructionDuty
from agreements.terms import destruction_deadline
from partners import webhooks
from partners.models import WebhookDelivery
from tests.api.receiver import Receiver

PILOT = "Adaptive Practice Pilot 2024"  # expired last year; its duty is overdue


@pytest.fixture
def riverbend(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


@pytest.fixture
def lakeshore(api_world, issue_token, api):
    return api(issue_token(api_world["lakeshore"]))


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def pilot(api_world):
    return api_world["agreements"][PILOT]


def test_the_detail_states_each_duty_and_the_overdue_flag(riverbend, pilot):
    duty = DestructionDuty.objects.get(agreement=pilot)
    body = riverbend.get(f"/api/v1/agreements/{pilot.pk}/").json()
    assert body["destruction_overdue"] is True
    (item,) = body["destruction_duties"]
    assert item["id"] == duty.pk
    assert item["data_element_id"] == duty.data_element_id
    assert item["recipient"]["slug"] == "northfield-university"
    assert item["deadline"] == destruction_deadline(pilot).isoformat()
    assert item["deadline"] == body["destruction_deadline"]
    assert (item["state"], item["overdue"]) == ("overdue", True)
    assert item["certified_at"] is None and item["certificate_sha256"] is None


def test_a_certified_duty_reads_certified_with_its_certificate_hash(riverbend, pilot, api_world):
    duty = DestructionDuty.objects.get(agreement=pilot)
    services.destruction_certify(
        duty_id=duty.pk,
        by=api_world["users"]["researcher"],
        method="crypto_erasure",
        destroyed_on=timezone.localdate(),
        certifier_title="Data Manager",
        attested=True,
    )
    services.destruction_certificate_render(duty_id=duty.pk)
    duty.refresh_from_db()
    body = riverbend.get(f"/api/v1/agreements/{pilot.pk}/").json()
    (item,) = body["destruction_duties"]
    assert body["destruction_overdue"] is False
    assert (item["state"], item["overdue"], item["method"]) == (
        "certified",
        False,
        "crypto_erasure",
    )
    assert item["destroyed_on"] == timezone.localdate().isoformat()
    assert item["certifier"].endswith(", Data Manager")
    assert item["certificate_sha256"] == duty.certificate_sha256


def test_an_agreement_not_yet_in_force_has_no_duties(riverbend, api_world):
    negotiating = api_world["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    body = riverbend.get(f"/api/v1/agreements/{negotiating.pk}/").json()
    assert body["destruction_duties"] == [] and body["destruction_overdue"] is False


def test_another_district_cannot_see_the_duties(lakeshore, pilot):
    assert lakeshore.get(f"/api/v1/agreements/{pilot.pk}/").status_code == 404


def test_the_detail_keeps_its_query_count(riverbend, pilot, django_assert_max_num_queries):
    riverbend.get(f"/api/v1/agreements/{pilot.pk}/")  # the token's first use is recorded
    # The token (with its organisation) and the agreement with its collections as JSON,
    # the destruction duties among them.
    with django_assert_max_num_queries(2):
        assert riverbend.get(f"/api/v1/agreements/{pilot.pk}/").status_code == 200


def test_the_schema_declares_the_duties(tmp_path, client):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schemas = client.get("/api/v1/schema/", headers={"Accept": "application/json"}).json()[
        "components"
    ]["schemas"]
    detail = schemas["AgreementDetail"]["properties"]
    assert "destruction_duties" in detail and "destruction_overdue" in detail
    duty = schemas["DestructionDuty"]["properties"]
    assert {"deadline", "state", "overdue", "certified_at", "method", "certificate_sha256"} <= set(
        duty
    )
    events = json.dumps(schemas)
    assert "destruction.overdue" in events and "destruction.certified" in events


def _deliver_all(receiver) -> list[dict]:
    for delivery in WebhookDelivery.objects.order_by("pk"):
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "delivered"
    return [json.loads(request.body) for request in receiver.requests]


def test_overdue_due_soon_and_certified_events_reach_the_parties_signed(
    api_world, pilot, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(webhooks, "_enqueue", lambda *args, **kwargs: None)
    secrets = {}
    for slug in ("riverbend-usd", "northfield-university"):
        endpoint, secret = webhooks.webhook_endpoint_create(
            organisation=api_world["orgs"][slug],
            url=receiver.url,
            events=["destruction.due_soon", "destruction.overdue", "destruction.certified"],
        )
        secrets[endpoint.pk] = secret
    deadline = destruction_deadline(pilot)
    with django_capture_on_commit_callbacks(execute=True):
        services.destruction_send_reminders(today=deadline - dt.timedelta(days=7))
        services.destruction_flag_overdue(today=timezone.localdate())
        services.destruction_certify(
            duty_id=DestructionDuty.objects.get(agreement=pilot).pk,
            by=api_world["users"]["counsel"],
            method="secure_deletion",
            destroyed_on=timezone.localdate(),
            certifier_title="University Counsel",
            attested=True,
        )
    bodies = _deliver_all(receiver)
    # Three events, each to both parties' endpoints (one event id per event).
    assert sorted(b["type"] for b in bodies) == sorted(
        ["destruction.due_soon", "destruction.overdue", "destruction.certified"] * 2
    )
    for request in receiver.requests:
        assert any(
            webhooks.verify_signature(s, request.headers["Collaboratory-Signature"], request.body)
            for s in secrets.values()
        )
    by_type = {b["type"]: b["data"] for b in bodies}
    assert by_type["destruction.due_soon"]["days"] == 7
    assert by_type["destruction.due_soon"]["deadline"] == deadline.isoformat()
    assert by_type["destruction.overdue"]["days"] < 0
    assert by_type["destruction.overdue"]["organisation"]["slug"] == "northfield-university"
    assert by_type["destruction.overdue"]["agreement"]["id"] == str(pilot.pk)
    certified = by_type["destruction.certified"]
    assert certified["method"] == "secure_deletion"
    assert certified["data_element"]["name"] == pilot.data_elements.get().name
