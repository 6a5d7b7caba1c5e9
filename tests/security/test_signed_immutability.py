"""Signed texts and sealed PDFs cannot change after the fact (issue 9, item 9).

From ``signing`` on (signing, active, expired, terminated) every write path that could
change an agreement's consolidated text is refused: by the services with a DomainError, and
by PostgreSQL triggers (agreements/migrations/0004) for anything that bypasses them (admin,
shell, bulk updates). Comments, which are not part of the text, stay allowed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from agreements.models import (
    Agreement,
    ClauseOverride,
    DataElement,
    Document,
    DocumentKind,
    OverrideKind,
    OverrideStatus,
    Status,
    TemplateVersion,
)
from agreements.negotiation.discussions import clause_comment_add
from agreements.negotiation.proposals import (
    conflict_resolve,
    override_propose,
    override_respond,
    override_withdraw,
)
from agreements.negotiation.services import agreement_update, data_element_add
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_terminate
from collaboratory.errors import DomainError
from tests.conftest import otp_verified

pytestmark = pytest.mark.django_db

LOCKED = (Status.SIGNING, Status.ACTIVE, Status.EXPIRED)


def _agreement(status: str) -> Agreement:
    return with_agreement_detail(Agreement.objects.filter(status=status)).order_by("reference")[0]


def _text_hash(agreement: Agreement) -> str:
    return consolidated_text(
        with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    ).sha256


@pytest.fixture
def people(demo):
    return demo["users"]


@pytest.fixture(params=LOCKED)
def locked(request, demo) -> Agreement:
    agreement = _agreement(request.param)
    # The text the parties approved/signed is still the text computed now.
    assert _text_hash(agreement) == agreement.text_hash
    return agreement


def _refused_by_database(action) -> None:
    with pytest.raises(IntegrityError, match="cannot change|cannot be deleted|refused"):
        with transaction.atomic():
            action()


# --- services --------------------------------------------------------------------------------


def test_services_refuse_to_change_parameters_or_placeholders_of_a_locked_agreement(locked, people):
    for changes in (
        {"placeholder_values": {"governing_state": "Elsewhere"}},
        {"expires_on": locked.expires_on + dt.timedelta(days=365)},
        {"purpose": "Something else entirely."},
    ):
        with pytest.raises(DomainError) as refused:
            agreement_update(agreement=locked, by=people["director"], **changes)
        assert refused.value.code == "wrong_status"
    assert _text_hash(locked) == locked.text_hash


def test_services_refuse_new_data_elements_on_a_locked_agreement(locked, people):
    members = {m.role: m.organisation for m in locked.trio.members.all()}
    with pytest.raises(DomainError, match="add data elements"):
        data_element_add(
            agreement=locked,
            by=people["director"],
            name="Attendance",
            source=members["district"],
            recipient=members["research"],
            identifiability="aggregate",
            research_questions=list(locked.trio.research_questions.all()[:1]),
        )
    assert _text_hash(locked) == locked.text_hash


def test_services_refuse_proposals_answers_withdrawals_and_merges_on_a_locked_agreement(
    locked, people
):
    key = locked.template_version.clauses.order_by("order").first().key
    with pytest.raises(DomainError, match="propose changes"):
        override_propose(
            agreement=locked,
            by=people["director"],
            kind=OverrideKind.REPLACE,
            clause_key=key,
            body="New words.",
            rationale="Late change.",
        )
    with pytest.raises(DomainError, match="resolve conflicts"):
        conflict_resolve(
            agreement=locked, clause_key=key, by=people["director"], merged_body="Merged."
        )
    override = locked.overrides.first()
    if override is not None:
        with pytest.raises(DomainError, match="answer proposals"):
            override_respond(
                override=override, by=people["director"], decision="reject", comment="No."
            )
        with pytest.raises(DomainError, match="withdraw proposals"):
            override_withdraw(override=override, by=people["director"])
    assert _text_hash(locked) == locked.text_hash


def test_comments_stay_allowed_on_a_signed_agreement(demo, people):
    active = _agreement(Status.ACTIVE)
    key = active.template_version.clauses.order_by("order").first().key
    comment = clause_comment_add(
        agreement=active, by=people["director"], clause_key=key, body="Noted for the renewal."
    )
    assert comment.pk is not None
    assert _text_hash(active) == active.text_hash


def test_a_negotiating_agreement_can_still_change(demo, people):
    negotiating = _agreement(Status.NEGOTIATING)
    agreement_update(
        agreement=negotiating, by=people["director"], purpose=negotiating.purpose + " Updated."
    )
    negotiating.refresh_from_db()
    assert negotiating.purpose.endswith("Updated.")


# --- the database, for every path that skips the services --------------------------------------


def test_the_database_refuses_changes_to_a_locked_agreements_text_fields(locked):
    rows = Agreement.objects.filter(pk=locked.pk)
    other_version = TemplateVersion.objects.exclude(pk=locked.template_version_id).first()
    for change in (
        {"placeholder_values": {"governing_state": "Elsewhere"}},
        {"purpose": "Rewritten by hand."},
        {"title": "Another title"},
        {"expires_on": locked.expires_on + dt.timedelta(days=1)},
        {"retention_days": 9999},
        {"text_hash": "0" * 64},
        {"template_version": other_version},
        {"status": Status.NEGOTIATING},
    ):
        _refused_by_database(lambda change=change: rows.update(**change))
    _refused_by_database(lambda: Agreement.objects.filter(pk=locked.pk)._raw_delete("default"))
    assert _text_hash(locked) == locked.text_hash


def test_the_database_refuses_clause_override_writes_on_a_locked_agreement(locked):
    key = locked.template_version.clauses.order_by("order").first().key
    organisation = locked.trio.members.first().organisation
    _refused_by_database(
        lambda: ClauseOverride.objects.create(
            agreement=locked,
            organisation=organisation,
            kind=OverrideKind.REPLACE,
            clause_key=key,
            body="Smuggled in.",
            rationale="By hand.",
            status=OverrideStatus.ACCEPTED,
        )
    )
    overrides = ClauseOverride.objects.filter(agreement=locked)
    if overrides.exists():
        _refused_by_database(lambda: overrides.update(body="Edited after signing."))
        _refused_by_database(lambda: overrides.update(status=OverrideStatus.WITHDRAWN))
        _refused_by_database(lambda: overrides._raw_delete("default"))
    assert _text_hash(locked) == locked.text_hash


def test_the_database_refuses_data_element_writes_on_a_locked_agreement(locked):
    elements = DataElement.objects.filter(agreement=locked)
    element = elements.first()
    _refused_by_database(lambda: elements.update(name="Renamed"))
    _refused_by_database(lambda: elements._raw_delete("default"))
    _refused_by_database(
        lambda: DataElement.objects.create(
            agreement=locked,
            name="Smuggled",
            source=element.source,
            recipient=element.recipient,
            identifiability=element.identifiability,
        )
    )
    _refused_by_database(lambda: element.research_questions.clear())
    unlinked = locked.trio.research_questions.exclude(pk__in=element.research_questions.all())
    if unlinked.exists():
        _refused_by_database(lambda: element.research_questions.add(unlinked.first()))
    assert _text_hash(locked) == locked.text_hash


def test_the_database_refuses_rewording_a_research_question_a_signed_schedule_quotes(demo):
    active = _agreement(Status.ACTIVE)
    question = active.data_elements.first().research_questions.first()
    _refused_by_database(
        lambda: type(question).objects.filter(pk=question.pk).update(text="Reworded later?")
    )
    assert _text_hash(active) == active.text_hash


def test_the_database_refuses_changing_the_parties_of_a_signed_agreement(demo):
    active = _agreement(Status.ACTIVE)
    members = active.trio.members.all()
    _refused_by_database(lambda: members._raw_delete("default"))
    organisation = members[0].organisation
    _refused_by_database(
        lambda: type(organisation).objects.filter(pk=organisation.pk).update(name="Renamed Org")
    )
    assert _text_hash(active) == active.text_hash


def test_the_trio_service_refuses_changing_the_parties_of_a_signed_agreement(demo):
    from partners.models import Organisation, OrganisationKind
    from partners.services import trio_set_members

    active = _agreement(Status.ACTIVE)
    members = {m.role: m.organisation for m in active.trio.members.all()}
    other_district = (
        Organisation.objects.filter(kind=OrganisationKind.DISTRICT)
        .exclude(pk=members["district"].pk)
        .first()
    )
    with pytest.raises(DomainError) as refused:
        trio_set_members(
            trio=active.trio,
            research=members["research"],
            district=other_district,
            developer=members["developer"],
        )
    assert refused.value.code == "signed_parties"
    assert _text_hash(active) == active.text_hash


def test_the_database_refuses_changing_signatures_and_locked_approvals(locked):
    if locked.status != Status.SIGNING:
        signatures = locked.signatures.all()
        assert signatures.exists()
        _refused_by_database(lambda: signatures.update(typed_name="Someone Else"))
        _refused_by_database(lambda: signatures._raw_delete("default"))
    approvals = locked.approvals.all()
    assert approvals.exists()
    _refused_by_database(lambda: approvals.update(text_hash="0" * 64))
    _refused_by_database(lambda: approvals._raw_delete("default"))


def test_lifecycle_steps_after_signing_still_work(demo, people):
    active = _agreement(Status.ACTIVE)
    agreement_terminate(
        agreement=active, by=people["director"], ground="immediate", reason="Study ended early."
    )
    active.refresh_from_db()
    assert active.status == Status.TERMINATED
    assert _text_hash(active) == active.text_hash


def _document(agreement: Agreement, **fields) -> Document:
    defaults = {
        "kind": DocumentKind.EXECUTED,
        "text_hash": agreement.text_hash,
        "sha256": "a" * 64,
        "file": "documents/sealed.pdf",
        "size": 100,
        "pages": 3,
        "sealed": True,
    }
    return Document.objects.create(agreement=agreement, **{**defaults, **fields})


def test_the_database_refuses_changing_or_deleting_a_sealed_document(demo):
    active = _agreement(Status.ACTIVE)
    sealed = Document.objects.filter(pk=_document(active).pk)
    for change in (
        {"file": "documents/forged.pdf"},
        {"sha256": "b" * 64},
        {"text_hash": "c" * 64},
        {"sealed": False},
    ):
        _refused_by_database(lambda change=change: sealed.update(**change))
    _refused_by_database(lambda: sealed._raw_delete("default"))
    assert sealed.get().file.name == "documents/sealed.pdf"


def test_review_copies_are_not_frozen(demo):
    draft_copy = _document(
        _agreement(Status.NEGOTIATING), kind=DocumentKind.REVIEW, sealed=False, sha256="d" * 64
    )
    Document.objects.filter(pk=draft_copy.pk).delete()
    assert not Document.objects.filter(pk=draft_copy.pk).exists()


# --- admin and API ------------------------------------------------------------------------------


def test_the_admin_cannot_edit_or_delete_agreements(admin_client, demo):
    active = _agreement(Status.ACTIVE)
    change = admin_client.post(f"/admin/agreements/agreement/{active.pk}/change/", {"title": "X"})
    delete = admin_client.post(f"/admin/agreements/agreement/{active.pk}/delete/", {"post": "yes"})
    assert change.status_code == 403
    assert delete.status_code == 403
    assert _text_hash(active) == active.text_hash


def test_the_partner_api_offers_no_write_to_agreements(demo, client):
    from partners.api_auth import api_token_issue

    agreement = demo["agreements"]["Productive Struggle Classroom Study"]
    _row, token = api_token_issue(
        organisation=demo["orgs"]["riverbend-usd"], name="immutability", scopes=["agreements:read"]
    )
    url = f"/api/v1/agreements/{agreement.pk}/"
    for method in ("put", "patch", "delete", "post"):
        response = getattr(client, method)(
            url,
            data={"title": "X"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 405, method
    assert _text_hash(agreement) == Agreement.objects.get(pk=agreement.pk).text_hash


def test_the_admin_explains_a_refused_rewording_and_changes_nothing(client, demo):
    """No service stands in front of the admin: PostgreSQL refuses, and the page says why
    (409) instead of a server error."""
    from django.urls import reverse

    active = _agreement(Status.ACTIVE)
    question = active.data_elements.first().research_questions.first()
    otp_verified(client, demo["users"]["facilitator"])
    response = client.post(
        reverse("admin:partners_researchquestion_change", args=[question.pk]),
        {"trio": question.trio_id, "position": question.position, "text": "Reworded later?"},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Nothing was changed" in page
    assert "a signed text cannot change" in page
    question.refresh_from_db()
    assert question.text != "Reworded later?"
    assert _text_hash(active) == active.text_hash
