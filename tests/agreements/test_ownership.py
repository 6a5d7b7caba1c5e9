"""Ownership and stewardship positions per data element (agreements.ownership): the
vocabulary, conflicts, agreeing to differ, the gate to review, frozen after review, audit and
notifications, and the schedule of the text."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from agreements.models import (
    Agreement,
    Notification,
    OwnershipDifference,
    OwnershipPosition,
    Status,
)
from agreements.ownership.rules import State, agreement_ownership, ownership_blockers
from agreements.ownership.services import (
    ownership_agree_to_differ,
    ownership_difference_confirm,
    ownership_position_state,
)
from agreements.review.services import agreement_submit_for_review, review_blockers
from agreements.selectors import consolidated_text, with_agreement_detail
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError

DISTRICT_OWNS = {
    "owner": "district",
    "controller": "district",
    "steward": "none",
    "processors": ["research"],
}
STUDENT_OWNS = {
    "owner": "students_families",
    "controller": "district",
    "steward": "district",
    "processors": ["research"],
}
PARTIES = ("counsel", "director", "vendor")


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _element(agreement: Agreement, index: int = 0):
    return _fresh(agreement).data_elements.all()[index]


def _state(agreement: Agreement, index: int = 0):
    return agreement_ownership(_fresh(agreement))[index]


def _all_state(agreement, users, answers, names=PARTIES, index=0):
    for name in names:
        ownership_position_state(element=_element(agreement, index), by=users[name], **answers)


def test_each_party_states_its_own_position_and_all_alike_is_agreed(demo, deviating):
    users = demo["users"]
    ownership_position_state(
        element=_element(deviating), by=users["director"], note="FERPA.", **DISTRICT_OWNS
    )
    state = _state(deviating)
    assert state.state == State.WAITING
    assert [m.organisation.slug for m in state.not_stated] == [
        "northfield",
        "brightpath",
    ] or len(state.not_stated) == 2
    blockers = ownership_blockers(_fresh(deviating))
    assert len(blockers) == 1
    assert "“Algebra I end-of-unit assessment scores”" in blockers[0]
    assert "not stated a position" in blockers[0]

    _all_state(deviating, users, DISTRICT_OWNS, names=("counsel", "vendor"))
    state = _state(deviating)
    assert state.state == State.AGREED
    assert state.agreed_position is not None
    assert ownership_blockers(_fresh(deviating)) == []


def test_positions_that_differ_are_a_conflict_naming_the_questions(demo, deviating):
    users = demo["users"]
    _all_state(deviating, users, DISTRICT_OWNS, names=("counsel", "director"))
    ownership_position_state(element=_element(deviating), by=users["vendor"], **STUDENT_OWNS)
    state = _state(deviating)
    assert state.state == State.CONFLICT
    assert state.disputed == ("owner", "steward")
    (blocker,) = ownership_blockers(_fresh(deviating))
    assert "in conflict" in blocker and "owner and steward" in blocker
    assert "Algebra I end-of-unit assessment scores" in blocker


def test_the_vocabulary_refuses_unknown_answers_naming_the_choices(demo, deviating):
    users = demo["users"]
    with pytest.raises(DomainError) as refused:
        ownership_position_state(
            element=_element(deviating),
            by=users["director"],
            **{**DISTRICT_OWNS, "owner": "the state"},
        )
    assert "“the state” is not a owner" in str(refused.value.messages) or "owner" in str(
        refused.value.messages
    )
    assert "Students and their families" in str(refused.value.messages)
    with pytest.raises(DomainError, match="controller decides"):
        ownership_position_state(
            element=_element(deviating),
            by=users["director"],
            **{**DISTRICT_OWNS, "processors": ["district"]},
        )
    with pytest.raises(DomainError):
        ownership_position_state(
            element=_element(deviating),
            by=users["director"],
            **{**DISTRICT_OWNS, "controller": "students_families"},
        )
    assert not _fresh(deviating).data_elements.all()[0].ownership_positions.all()


def test_only_the_parties_legal_or_director_state_positions(demo, deviating, outsider):
    users = demo["users"]
    for person in (outsider, users["researcher"], users["facilitator"]):
        with pytest.raises(DomainError) as refused:
            ownership_position_state(element=_element(deviating), by=person, **DISTRICT_OWNS)
        assert refused.value.code == "not_allowed"


def test_a_conflicting_position_notifies_the_other_partys_legal_team_and_is_audited(
    demo, deviating
):
    users = demo["users"]
    ownership_position_state(element=_element(deviating), by=users["director"], **DISTRICT_OWNS)
    before = set(Notification.objects.values_list("pk", flat=True))
    ownership_position_state(element=_element(deviating), by=users["vendor"], **STUDENT_OWNS)
    sent = Notification.objects.exclude(pk__in=before).filter(event="ownership_conflict")
    assert {n.recipient.username for n in sent} == {"director"}
    (note,) = sent
    assert "Brightpath" in note.subject and "ownership" in note.subject
    assert "“Algebra I end-of-unit assessment scores”" in note.body
    assert note.url.endswith(f"#ownership-{_element(deviating).pk}")
    entries = AuditEntry.objects.filter(
        action=AuditAction.OWNERSHIP_STATED, object_id=str(deviating.pk)
    ).order_by("seq")
    assert [e.payload["owner"] for e in entries] == ["district", "students_families"]
    assert entries.last().actor_id == users["vendor"].pk


def _conflict(demo, agreement):
    users = demo["users"]
    _all_state(agreement, users, DISTRICT_OWNS, names=("director", "counsel"))
    ownership_position_state(element=_element(agreement), by=users["vendor"], **STUDENT_OWNS)


WORDING = "The parties differ on who owns this data; nothing here transfers ownership."


def test_agreeing_to_differ_needs_every_partys_confirmation(demo, deviating):
    users = demo["users"]
    _conflict(demo, deviating)
    difference = ownership_agree_to_differ(
        element=_element(deviating), by=users["vendor"], wording=f"  {WORDING} "
    )
    assert difference.wording == WORDING
    state = _state(deviating)
    assert state.state == State.CONFLICT
    assert "waits for confirmation from" in ownership_blockers(_fresh(deviating))[0]
    ownership_difference_confirm(difference=difference, by=users["director"])
    with pytest.raises(DomainError, match="already confirmed"):
        ownership_difference_confirm(difference=difference, by=users["director"])
    ownership_difference_confirm(difference=difference, by=users["counsel"])
    assert _state(deviating).state == State.DIFFER
    assert ownership_blockers(_fresh(deviating)) == []
    assert AuditEntry.objects.filter(action=AuditAction.OWNERSHIP_CONFIRMED).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.OWNERSHIP_DIFFER).count() == 1


def test_agreeing_to_differ_is_refused_without_a_difference_or_wording(demo, deviating):
    users = demo["users"]
    ownership_position_state(element=_element(deviating), by=users["director"], **DISTRICT_OWNS)
    with pytest.raises(DomainError, match="waiting for"):
        ownership_agree_to_differ(element=_element(deviating), by=users["director"], wording="x")
    _all_state(deviating, users, DISTRICT_OWNS, names=("counsel", "vendor"))
    with pytest.raises(DomainError, match="nothing to differ"):
        ownership_agree_to_differ(element=_element(deviating), by=users["director"], wording="x")
    ownership_position_state(element=_element(deviating), by=users["vendor"], **STUDENT_OWNS)
    with pytest.raises(DomainError) as refused:
        ownership_agree_to_differ(element=_element(deviating), by=users["director"], wording=" ")
    assert "wording" in refused.value.message_dict


def test_a_changed_position_voids_the_agreement_to_differ(demo, deviating):
    users = demo["users"]
    _conflict(demo, deviating)
    difference = ownership_agree_to_differ(
        element=_element(deviating), by=users["vendor"], wording=WORDING
    )
    ownership_position_state(
        element=_element(deviating),
        by=users["counsel"],
        **{**DISTRICT_OWNS, "processors": ["developer"]},
    )
    difference.refresh_from_db()
    assert difference.voided_at is not None
    with pytest.raises(DomainError, match="replaced or voided"):
        ownership_difference_confirm(difference=difference, by=users["director"])
    # Restating the same answers (a new note) keeps it.
    again = ownership_agree_to_differ(
        element=_element(deviating), by=users["vendor"], wording=WORDING
    )
    ownership_position_state(
        element=_element(deviating), by=users["vendor"], note="Still.", **STUDENT_OWNS
    )
    assert OwnershipDifference.objects.get(pk=again.pk).voided_at is None


def test_a_conflict_keeps_the_agreement_from_review_naming_the_element(demo, deviating):
    users = demo["users"]
    assert review_blockers(_fresh(deviating)) == []
    _conflict(demo, deviating)
    with pytest.raises(DomainError) as refused:
        agreement_submit_for_review(agreement=_fresh(deviating), by=users["counsel"])
    assert any(
        "Ownership of “Algebra I end-of-unit assessment scores” is in conflict" in m
        for m in refused.value.messages
    )
    assert _fresh(deviating).status == Status.NEGOTIATING
    # Settled: the vendor states the same position; review may start.
    ownership_position_state(element=_element(deviating), by=users["vendor"], **DISTRICT_OWNS)
    agreement_submit_for_review(agreement=_fresh(deviating), by=users["counsel"])
    assert _fresh(deviating).status == Status.IN_REVIEW


def test_positions_are_frozen_once_the_agreement_is_in_review(demo, deviating):
    users = demo["users"]
    _all_state(deviating, users, DISTRICT_OWNS)
    agreement_submit_for_review(agreement=_fresh(deviating), by=users["counsel"])
    with pytest.raises(DomainError) as refused:
        ownership_position_state(element=_element(deviating), by=users["vendor"], **STUDENT_OWNS)
    assert refused.value.code == "wrong_status"
    assert "state a position on ownership only while the agreement is draft or negotiating" in (
        str(refused.value.messages[0])
    )


def test_the_schedule_states_the_agreed_positions_and_they_are_hashed(demo, deviating):
    users = demo["users"]
    before = consolidated_text(_fresh(deviating))
    _all_state(deviating, users, DISTRICT_OWNS)
    text = consolidated_text(_fresh(deviating))
    assert text.sha256 != before.sha256
    assert _fresh(deviating).text_hash == text.sha256
    schedule = next(c for c in text.clauses if c.part and c.part.generated == "data-elements")
    body = schedule.body
    assert "Ownership and stewardship" in body
    assert "Riverbend Unified School District" in body
    assert "Agreed by all parties" in body
    assert "Northfield University" in body  # the processor


def test_the_schedule_shows_each_position_and_the_wording_agreed_to_differ(demo, deviating):
    users = demo["users"]
    _conflict(demo, deviating)
    difference = ownership_agree_to_differ(
        element=_element(deviating), by=users["vendor"], wording=WORDING
    )
    for name in ("director", "counsel"):
        ownership_difference_confirm(difference=difference, by=users[name])
    text = consolidated_text(_fresh(deviating))
    body = "\n".join(c.body for c in text.clauses)
    assert f"Agreed to differ: {WORDING}" in body
    assert "Brightpath Learning, Inc.: Students and their families" in body
    assert "Riverbend Unified School District: Riverbend Unified School District" in body


def test_an_agreement_without_positions_keeps_its_text_hash(demo):
    """Texts signed before ownership was recorded: no table, the same bytes."""
    for agreement in Agreement.objects.exclude(status__in=["draft", "negotiating"]):
        fresh = _fresh(agreement)
        assert consolidated_text(fresh).sha256 == fresh.text_hash, agreement.title


def test_the_demo_has_an_ownership_conflict_in_negotiation(demo):
    agreement = _fresh(demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"])
    (state,) = agreement_ownership(agreement)
    # The district and the developer differ; the university has not stated a position yet.
    assert state.in_conflict and state.state == State.WAITING
    assert state.disputed == ("owner", "steward")
    assert any("Ownership of" in b for b in review_blockers(agreement))


def test_the_signed_pdf_states_the_positions_and_they_cannot_change(demo, deviating):
    """Approved, signed, rendered: the executed PDF's schedule shows the agreed position and
    the wording agreed to differ; nothing about them changes after signing."""
    from agreements.demo import _approve_all, _sign
    from agreements.documents import pdf
    from agreements.models import DocumentKind
    from tests.agreements.pdf_support import pdf_text

    users = demo["users"]
    _all_state(deviating, users, DISTRICT_OWNS)
    _all_state(deviating, users, DISTRICT_OWNS, names=("director", "counsel"), index=1)
    ownership_position_state(element=_element(deviating, 1), by=users["vendor"], **STUDENT_OWNS)
    difference = ownership_agree_to_differ(
        element=_element(deviating, 1), by=users["vendor"], wording=WORDING
    )
    for name in ("director", "counsel"):
        ownership_difference_confirm(difference=difference, by=users[name])
    agreement_submit_for_review(agreement=_fresh(deviating), by=users["counsel"])
    _approve_all(_fresh(deviating), users, ["counsel", "director", "vendor"])
    _sign(_fresh(deviating), users, ["researcher", "director", "vendor"])
    signed = _fresh(deviating)
    assert signed.status == Status.ACTIVE
    text = consolidated_text(signed)
    assert text.sha256 == signed.text_hash == signed.signatures.all()[0].text_hash

    rendered = pdf.render_agreement(
        signed, text, DocumentKind.EXECUTED, generated_at=timezone.now()
    )
    content = pdf_text(rendered.pdf)
    assert "Ownership and stewardship" in content
    assert "Agreed by all parties" in content
    assert f"Agreed to differ: {WORDING}" in content
    assert "Students and their families" in content

    with pytest.raises(DomainError):
        ownership_position_state(element=_element(signed), by=users["vendor"], **STUDENT_OWNS)
    with pytest.raises(DomainError):
        ownership_difference_confirm(difference=difference, by=users["vendor"])
    # Nor through any other path: PostgreSQL refuses it (migration 0017).
    for model, change in (
        (OwnershipPosition, {"note": "changed"}),
        (OwnershipDifference, {"voided_reason": "changed"}),
    ):
        with pytest.raises(DatabaseError, match="cannot change"), transaction.atomic():
            model.objects.filter(data_element__agreement=signed).update(**change)


def test_the_text_at_an_earlier_point_shows_the_positions_then_and_verifies(demo, deviating):
    # Positions agreed, the text goes to review (its hash recorded), negotiation reopens and
    # every party restates: the text as it went to review is rebuilt from the positions'
    # recorded states, shows the district as owner and verifies against the recorded hash.
    from agreements.review.selectors import earlier_points, text_as_of
    from agreements.review.services import agreement_reopen
    from agreements.selectors import agreement_detail_for_user

    users = demo["users"]
    _all_state(deviating, users, DISTRICT_OWNS)
    agreement_submit_for_review(agreement=_fresh(deviating), by=users["counsel"])
    agreement_reopen(agreement=_fresh(deviating), by=users["counsel"], reason="Ownership.")
    _all_state(deviating, users, STUDENT_OWNS)

    detail = agreement_detail_for_user(users["director"]).get(pk=deviating.pk)
    # Points are newest first: the step to review just taken (the demo made an earlier one).
    to_review = next(p for p in earlier_points(detail) if p.label == "Negotiating → In review")
    earlier = text_as_of(detail, to_review)
    assert earlier is not None and earlier.verified
    now = consolidated_text(_fresh(deviating))
    assert now.sha256 != to_review.text_hash
    then, current = earlier.text.schedule[0].ownership, now.schedule[0].ownership
    assert then is not None and current is not None and then != current
    # Who owns the data: the district then, the students and their families now.
    assert then.answers[0] == ("Riverbend Unified School District",)
    assert current.answers[0] != then.answers[0]
