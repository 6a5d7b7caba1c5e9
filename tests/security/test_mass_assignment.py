"""Mass assignment (issue 9, item 4): no form or serializer lets a user set status,
organisation, signatures or hashes directly.

Two halves:

- Introspection: every Django form defined in the project's apps and every DRF serializer a
  writable API view reads a body with is enumerated, and none of their writable fields may
  be in the forbidden set below (the few exceptions are listed with the reason).
- Behaviour: posting extra fields (``status=active``, ``organisation=<another id>``,
  ``text_hash=…``, ``signed_at=…``, …) to the pages and endpoints that write leaves those
  values exactly as the services decide them: views hand services named, cleaned values
  only, never ``request.POST`` or ``request.data`` as a whole.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest
from django import forms as django_forms
from django.urls import reverse
from rest_framework.views import APIView

from tests.api.conftest import ALL_SCOPES, ApiClient

APPS = ("agreements", "partners", "consent", "audit", "collaboratory")
#: Field names nobody may set through a form or an API body.
FORBIDDEN = re.compile(
    r"^("
    r"status|state|organi[sz]ation(_id)?|owner|created_by|updated_by|approved_by|signed_by"
    r"|signed_.*|.*_hash|sha256|digest|signatures?|is_staff|is_superuser|is_active"
    r"|user_permissions|groups|secret|prefix|revoked_at|voided_at|proposed_by|recorded_by"
    r"|uploaded_by|finished_by|set_by|ip_address|user_agent|sealed|user|by"
    r")$"
)
#: (form, field): why it is not mass assignment.
ALLOWED = {
    # The hash of the text the person read: the services compare it with the freshly
    # computed hash and refuse a mismatch; the stored hash is always the computed one
    # (see test_a_forged_text_hash_is_refused_not_stored).
    ("agreements.web.forms.ApproveForm", "text_hash"): "confirmation of the text read",
    ("agreements.web.forms.SignForm", "text_hash"): "confirmation of the text read",
    # Query-string filters of list pages: they narrow what is shown, write nothing.
    ("agreements.web.forms.AgreementFilterForm", "status"): "list filter (GET)",
    ("consent.forms.StudentFilterForm", "state"): "list filter (GET)",
    ("agreements.web.search.SearchForm", "status"): "search filter (GET)",
    # A legal reviewer's own mark on one clause: the review state they choose ("reviewed" or
    # "accepted", not the agreement's status), the clause text they saw (refused when stale)
    # and, when they are legal for two parties, which of *their* organisations they act
    # for: the service accepts only organisations where they hold the legal role
    # (see test_a_review_mark_cannot_act_for_another_organisation).
    ("agreements.web.review.ReviewMarkForm", "state"): "the reviewer's own mark",
    ("agreements.web.review.ReviewMarkForm", "clause_hash"): "confirmation of the text read",
    ("agreements.web.review.ReviewMarkForm", "organisation"): "one of the user's own",
}


def _import_app_modules() -> None:
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)


def _subclasses(base: type) -> set[type]:
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return {c for c in found if c.__module__.split(".")[0] in APPS}


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def project_forms() -> list[type]:
    _import_app_modules()
    return sorted(_subclasses(django_forms.BaseForm), key=_name)


def writable_api_views() -> list[type]:
    _import_app_modules()
    return sorted(
        (
            view
            for view in _subclasses(APIView)
            if any(hasattr(view, m) for m in ("post", "put", "patch"))
        ),
        key=_name,
    )


def input_serializers() -> dict[str, type]:
    """Serializers that writable API views build from a request body (``…(data=…)``) or
    declare as ``serializer_class``."""
    found: dict[str, type] = {}
    for view in writable_api_views():
        module = inspect.getmodule(view)
        declared = getattr(view, "serializer_class", None)
        if declared is not None:
            found[_name(declared)] = declared
        for method in ("post", "put", "patch"):
            handler = getattr(view, method, None)
            if handler is None:
                continue
            for name in re.findall(r"(\w+Serializer)\(\s*data=", inspect.getsource(handler)):
                serializer = getattr(module, name)
                found[_name(serializer)] = serializer
    return found


def _forbidden(fields: dict, owner: str) -> list[str]:
    return [
        f"{owner}.{name}"
        for name in fields
        if FORBIDDEN.match(name) and (owner, name) not in ALLOWED
    ]


def test_the_enumeration_finds_the_forms_and_serializers():
    names = {_name(form) for form in project_forms()}
    assert {
        "agreements.web.forms.OverrideProposeForm",
        "agreements.web.forms.SignForm",
        "agreements.web.wizard_forms.NeedForm",
        "consent.forms.RecordForm",
        "partners.forms_api.ApiTokenForm",
        "partners.forms_api.WebhookEndpointForm",
    } <= names
    assert "partners.serializers.WebhookEndpointCreateSerializer" in input_serializers()


def test_no_form_has_a_forbidden_field():
    offending = []
    for form in project_forms():
        offending += _forbidden(form.base_fields, _name(form))
    assert not offending, f"forms that let a user set protected values: {offending}"


def test_no_input_serializer_has_a_forbidden_writable_field():
    offending = []
    for name, serializer in input_serializers().items():
        writable = {
            field_name: field
            for field_name, field in serializer().fields.items()
            if not field.read_only
        }
        offending += _forbidden(writable, name)
    assert not offending, f"serializers that let a client set protected values: {offending}"


def test_no_output_serializer_reads_a_request_body():
    """Output shapes (with status, hashes, parties) are never fed a body: only the input
    serializers above are built with ``data=`` anywhere in the apps."""
    _import_app_modules()
    allowed = {name.rsplit(".", 1)[1] for name in input_serializers()}
    used = set()
    for app in APPS:
        for path in Path(importlib.import_module(app).__path__[0]).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            used |= set(re.findall(r"(\w+Serializer)\(\s*data=", path.read_text()))
    assert used <= allowed, f"serializers fed a request body: {sorted(used - allowed)}"


# --- behaviour -------------------------------------------------------------------------------
EXTRAS = {
    "status": "active",
    "state": "active",
    "text_hash": "0" * 64,
    "sha256": "0" * 64,
    "signed_at": "2000-01-01T00:00:00Z",
    "approved_by": "1",
    "created_by": "1",
    "proposed_by": "1",
    "is_staff": "on",
    "is_superuser": "on",
}


@pytest.fixture
def verified(client, demo):
    """``verified(username)``: a client signed in with a session verified by two-factor
    authentication (django-otp keeps the verified device's id in the session)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def login(username: str):
        user = demo["users"][username]
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        client.force_login(user)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        return client

    return login


def _extras(demo, **more) -> dict:
    lakeshore = demo["orgs"]["lakeshore-cps"]
    return {
        **EXTRAS,
        "organisation": str(lakeshore.pk),
        "organization": str(lakeshore.pk),
        "organisation_id": str(lakeshore.pk),
        "user": str(demo["users"]["lakeshore"].pk),
        **more,
    }


def _agreement(title: str):
    from agreements.models import Agreement

    return Agreement.objects.get(title=title)


NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
SIGNING = "Open Curriculum Implementation Data Agreement"


def test_override_proposal_ignores_status_organisation_and_author(client, demo):
    from agreements.models import ClauseOverride

    agreement = _agreement(NEGOTIATING)
    client.force_login(demo["users"]["counsel"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "replace",
            "clause_key": "audits",
            "body": "Audits once a year.",
            "rationale": "Keep audits, less often.",
            **_extras(demo, status="accepted", agreement=str(_agreement(IN_REVIEW).pk)),
        },
    )
    assert response.status_code == 302
    override = ClauseOverride.objects.filter(agreement=agreement).latest("pk")
    assert override.body == "Audits once a year."
    assert override.status == "proposed"
    assert override.organisation == demo["orgs"]["northfield-university"]
    assert override.proposed_by == demo["users"]["counsel"]
    assert _agreement(NEGOTIATING).status == "negotiating"


def test_approval_records_the_approver_and_the_computed_hash(client, demo):
    from agreements.models import Approval

    agreement = _agreement(IN_REVIEW)
    client.force_login(demo["users"]["director"])
    response = client.post(
        reverse("agreement-approve", args=[agreement.pk]),
        {**_extras(demo, text_hash=agreement.text_hash, status="active"), "confirmed": "on"},
    )
    assert response.status_code == 302
    approval = Approval.objects.filter(agreement=agreement).latest("pk")
    assert approval.user == demo["users"]["director"]
    assert approval.organisation == demo["orgs"]["riverbend-usd"]
    assert approval.text_hash == agreement.text_hash
    # The last approval moves the agreement to signing (the lifecycle), never to "active".
    assert _agreement(IN_REVIEW).status == "signing"


def test_a_forged_text_hash_is_refused_not_stored(client, demo):
    from agreements.models import Approval

    agreement = _agreement(IN_REVIEW)
    before = Approval.objects.count()
    client.force_login(demo["users"]["director"])
    client.post(
        reverse("agreement-approve", args=[agreement.pk]),
        {"text_hash": "0" * 64, "confirmed": "on"},
    )
    assert Approval.objects.count() == before
    assert _agreement(IN_REVIEW).status == "in_review"


def test_signature_records_who_when_and_where_from_the_request(verified, demo):
    from django.utils import timezone

    from agreements.models import Signature
    from tests.consent.conftest import text_hash

    agreement = _agreement(SIGNING)
    current = text_hash(agreement)
    client = verified("director")
    started = timezone.now()
    response = client.post(
        reverse("agreement-sign", args=[agreement.pk]),
        {
            **_extras(demo),
            "text_hash": current,
            "signer_title": "Superintendent",
            "typed_name": "Maya Okafor",
            "intent_confirmed": "on",
            "ip_address": "203.0.113.66",
        },
        REMOTE_ADDR="127.0.0.1",
    )
    assert response.status_code == 302, response.context["form"].errors
    signature = Signature.objects.filter(agreement=agreement).latest("pk")
    assert signature.user == demo["users"]["director"]
    assert signature.organisation == demo["orgs"]["riverbend-usd"]
    assert signature.signed_at >= started
    assert signature.ip_address == "127.0.0.1"
    assert signature.text_hash == current


def test_data_element_cannot_name_a_stranger_organisation(client, demo):
    from agreements.models import DataElement

    agreement = _agreement(NEGOTIATING)
    members = {m.role: m.organisation for m in agreement.trio.members.all()}
    question = agreement.trio.research_questions.first()
    before = DataElement.objects.count()
    client.force_login(demo["users"]["vendor"])
    response = client.post(
        reverse("data-element-add", args=[agreement.pk]),
        {
            "name": "Everything",
            "source": demo["orgs"]["lakeshore-cps"].pk,
            "recipient": members["developer"].pk,
            "identifiability": "identifiable",
            "research_questions": [question.pk],
            **_extras(demo, agreement=str(_agreement(IN_REVIEW).pk)),
        },
    )
    assert response.status_code == 200  # the form again, with an error on "source"
    assert "source" in response.context["form"].errors
    assert DataElement.objects.count() == before


def test_wizard_keeps_only_the_steps_fields(client, demo):
    from agreements.web.wizard_forms import NeedForm

    trio = demo["trios"]["adaptive-practice"]
    client.force_login(demo["users"]["director"])
    response = client.post(
        reverse("agreement-wizard", args=["aims", trio.slug, "need"]),
        {
            "title": "Practice study",
            "need": "Whether adaptive practice helps ninth graders in Algebra I.",
            "success": "Higher unit test scores for students who practise.",
            "research_questions": [str(q.pk) for q in trio.research_questions.all()],
            **_extras(demo, trio=str(demo["trios"]["lakeshore-fluency"].pk)),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    state = next(v for k, v in client.session.items() if isinstance(v, dict) and "need" in v)
    assert set(state["need"]) <= set(NeedForm.base_fields)


def test_api_token_page_issues_for_the_addressed_organisation_only(verified, demo):
    from partners.models import ApiToken

    client = verified("director")
    response = client.post(
        reverse("organisation-api-token-create", args=["riverbend-usd"]),
        {
            "name": "SIS sync",
            "scopes": ["agreements:read"],
            "digest": "0" * 64,
            "prefix": "clb_mine",
            "revoked_at": "2000-01-01T00:00:00Z",
            **_extras(demo),
        },
    )
    assert response.status_code == 200
    token = ApiToken.objects.latest("pk")
    assert token.name == "SIS sync"
    assert token.organisation == demo["orgs"]["riverbend-usd"]
    assert token.digest != "0" * 64 and token.prefix != "clb_mine"
    assert token.revoked_at is None
    assert token.scopes == ["agreements:read"]


def test_webhook_page_registers_for_the_addressed_organisation_with_a_fresh_secret(
    verified, demo, settings
):
    from partners.models import WebhookEndpoint

    settings.WEBHOOK_ALLOW_LOOPBACK = True
    client = verified("director")
    client.post(
        reverse("organisation-webhook-create", args=["riverbend-usd"]),
        {
            "url": "http://127.0.0.1:9/hook",
            "events": ["agreement.status_changed"],
            "secret": "whsec_mine",
            "active": "",
            **_extras(demo),
        },
    )
    endpoint = WebhookEndpoint.objects.latest("pk")
    assert endpoint.url == "http://127.0.0.1:9/hook"
    assert endpoint.organisation == demo["orgs"]["riverbend-usd"]
    assert endpoint.secret != "whsec_mine"
    assert endpoint.active is True


def test_api_webhook_create_ignores_organisation_secret_and_state(demo, settings):
    from partners.api_auth import api_token_issue
    from partners.models import WebhookEndpoint

    settings.WEBHOOK_ALLOW_LOOPBACK = True
    riverbend = demo["orgs"]["riverbend-usd"]
    _, token = api_token_issue(organisation=riverbend, name="test", scopes=ALL_SCOPES)
    api = ApiClient(token)
    response = api.post(
        "/api/v1/webhooks/",
        data=json.dumps(
            {
                "url": "http://127.0.0.1:9/hook",
                "events": ["agreement.status_changed"],
                "organisation": demo["orgs"]["lakeshore-cps"].pk,
                "secret": "whsec_mine",
                "active": False,
                "id": 999999,
                "created_at": "2000-01-01T00:00:00Z",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    assert endpoint.pk != 999999
    assert endpoint.organisation == riverbend
    assert endpoint.secret != "whsec_mine"
    assert endpoint.active is True
    assert endpoint.created_at.year > 2000


def test_a_review_mark_cannot_act_for_another_organisation(client, demo):
    """Counsel is legal for Northfield only: naming Riverbend is refused."""
    from agreements.models import ClauseReview

    agreement = _agreement(NEGOTIATING)
    before = ClauseReview.objects.count()
    client.force_login(demo["users"]["counsel"])
    response = client.post(
        reverse("clause-review-mark", args=[agreement.pk]),
        {
            "clause_key": "breach-notification",
            "state": "accepted",
            "organisation": demo["orgs"]["riverbend-usd"].pk,
        },
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("you are not one for this agreement" in m for m in shown), shown
    assert ClauseReview.objects.count() == before
