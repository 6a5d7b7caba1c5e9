"""Destruction duties (issue 20, item 3): one per data element and receiving party of an
agreement that has been in force, its deadline from agreements.terms (a termination moves it),
reminders 30, 7 and 1 days before (once each), an overdue flag (once), certification by the
receiving party only, and a sealed certificate of destruction that verifies like an agreement's
PDF."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from agreements import events
from agreements.choices import TerminationGround
from agreements.destruction import rules, selectors, services
from agreements.destruction.rules import DutyState
from agreements.documents import jobs as documents
from agreements.documents import sealing
from agreements.models import (
    Agreement,
    DestructionDuty,
    DestructionReminder,
    Notification,
    Status,
)
from agreements.selectors import with_agreement_detail
from agreements.signing.services import agreement_terminate
from agreements.terms import destruction_deadline
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError
from tests.agreements.pdf_support import flip_byte, middle_of_a_stream, pdf_text

PILOT = "Adaptive Practice Pilot 2024"  # expired last year: its duty is overdue
ACTIVE = "Productive Struggle Classroom Study"


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _duty(agreement: Agreement) -> DestructionDuty:
    return DestructionDuty.objects.select_related("recipient", "data_element").get(
        agreement=agreement
    )


def _day(value: dt.date) -> str:
    return formats.date_format(value, "j F Y")


def demo_user_ids(agreement: Agreement, trio_role: str) -> set[int]:
    """People of the party with ``trio_role`` who belong to no other party of the agreement."""
    members = {m.role: m.organisation for m in agreement.trio.members.all()}
    theirs = set(members[trio_role].memberships.values_list("user_id", flat=True))
    others = {
        uid
        for role, org in members.items()
        if role != trio_role
        for uid in org.memberships.values_list("user_id", flat=True)
    }
    return theirs - others


def _deadline_of(duty: DestructionDuty) -> dt.date:
    return (
        DestructionDuty.objects.annotate(deadline=selectors.deadline_sql()).get(pk=duty.pk).deadline
    )


@pytest.fixture
def emitted(monkeypatch):
    """The events services emit (recorded at emit time, whatever the transaction does)."""
    seen: list[tuple[str, dict]] = []
    real = events.emit

    def record(event, payload):
        seen.append((event, payload))
        real(event, payload)

    monkeypatch.setattr(services, "emit", record)
    return seen


@pytest.fixture
def pilot(demo) -> Agreement:
    return _fresh(demo["agreements"][PILOT])


def _certify(duty, user, **overrides):
    values = {
        "duty_id": duty.pk,
        "by": user,
        "method": "secure_deletion",
        "destroyed_on": timezone.localdate() - dt.timedelta(days=2),
        "certifier_title": "Principal Investigator",
        "attested": True,
    }
    values.update(overrides)
    return services.destruction_certify(**values)


# --- when duties exist, and their deadline ----------------------------------------------------


def test_an_agreement_that_became_active_has_one_duty_per_data_element(demo):
    for agreement in Agreement.objects.filter(status__in=services.HAS_BEEN_IN_FORCE):
        elements = {(e.pk, e.recipient_id) for e in agreement.data_elements.all()}
        duties = set(
            DestructionDuty.objects.filter(agreement=agreement).values_list(
                "data_element_id", "recipient_id"
            )
        )
        assert duties == elements and duties
    drafts = Agreement.objects.exclude(status__in=services.HAS_BEEN_IN_FORCE)
    assert not DestructionDuty.objects.filter(agreement__in=drafts).exists()


def test_opening_duties_twice_opens_nothing_more(pilot):
    before = DestructionDuty.objects.count()
    assert services.destruction_duties_open(agreement_id=pilot.pk) == 0
    assert services.destruction_duties_open_missing() == 0
    assert DestructionDuty.objects.count() == before


def test_the_status_change_to_active_opens_duties_after_commit(pilot):
    DestructionDuty.objects.filter(agreement=pilot).delete()
    services.on_status_changed(
        "agreement.status_changed", {"agreement_id": str(pilot.pk), "to": "signing"}
    )
    assert not DestructionDuty.objects.filter(agreement=pilot).exists()
    services.on_status_changed(
        "agreement.status_changed", {"agreement_id": str(pilot.pk), "to": Status.ACTIVE}
    )
    assert DestructionDuty.objects.filter(agreement=pilot).count() == pilot.data_elements.count()


def test_the_deadline_is_the_terms_one_and_a_termination_moves_it(demo):
    agreement = _fresh(demo["agreements"][ACTIVE])
    duty = DestructionDuty.objects.filter(agreement=agreement).first()
    assert duty is not None
    before = destruction_deadline(agreement)
    assert _deadline_of(duty) == before
    agreement_terminate(
        agreement=agreement,
        by=demo["users"]["director"],
        ground=TerminationGround.CONVENIENCE,
        reason="Funding ends.",
    )
    agreement = _fresh(agreement)
    after = destruction_deadline(agreement)
    assert after != before
    assert _deadline_of(duty) == after
    row = selectors.duty_rows(
        [DestructionDuty.objects.annotate(deadline=selectors.deadline_sql()).get(pk=duty.pk)],
        acting_for=set(),
    )[0]
    assert row.deadline == after


def test_the_states_follow_the_deadline():
    today = dt.date(2027, 1, 10)
    assert (
        rules.duty_state(certified=False, deadline=dt.date(2027, 1, 9), today=today)
        == DutyState.OVERDUE
    )
    assert rules.duty_state(certified=False, deadline=today, today=today) == DutyState.DUE_SOON
    assert (
        rules.duty_state(certified=False, deadline=dt.date(2027, 2, 9), today=today)
        == DutyState.DUE_SOON
    )
    assert (
        rules.duty_state(certified=False, deadline=dt.date(2027, 2, 10), today=today)
        == DutyState.PENDING
    )
    assert (
        rules.duty_state(certified=True, deadline=dt.date(2026, 1, 1), today=today)
        == DutyState.CERTIFIED
    )


def test_the_demo_shows_an_overdue_duty(pilot):
    duty = _duty(pilot)
    assert pilot.status == Status.EXPIRED
    assert _deadline_of(duty) < timezone.localdate()
    assert duty.certified_at is None


# --- reminders and the overdue flag ----------------------------------------------------------


def test_reminders_go_30_7_and_1_days_before_once_each(pilot, emitted):
    duty = _duty(pilot)
    deadline = _deadline_of(duty)
    counsel = pilot.trio.members.get(role="research").organisation
    sent = [
        (days, services.destruction_send_reminders(today=deadline - dt.timedelta(days=days)))
        for days in (40, 30, 29, 7, 7, 3, 1, 1, 0)
    ]
    # The daily job running twice on a day (7, 1) reminds once.
    assert sent == [(40, 0), (30, 1), (29, 0), (7, 1), (7, 0), (3, 0), (1, 1), (1, 0), (0, 0)]
    assert sorted(
        DestructionReminder.objects.filter(duty=duty).values_list("days_before", flat=True)
    ) == [1, 7, 30]
    due = [payload for event, payload in emitted if event == "destruction.due_soon"]
    assert [p["days"] for p in due] == [30, 7, 1]
    assert due[0]["organisation"]["slug"] == counsel.slug
    assert due[0]["data_elements"] == [{"id": duty.data_element_id, "name": duty.data_element.name}]
    mails = Notification.objects.filter(agreement=pilot, event="destruction_due")
    recipients = {n.recipient_id for n in mails}
    # The receiving party's legal team and directors, nobody from the district.
    assert recipients
    assert all(counsel.memberships.filter(user_id=uid).exists() for uid in recipients)
    # Its legal team (counsel) and its staff holding the data (the researcher).
    assert {"counsel", "researcher"} <= set(mails.values_list("recipient__username", flat=True))
    first = mails.order_by("pk").first()
    assert first.subject.endswith("must destroy the shared data within 30 days")
    assert f"by {_day(deadline)}" in first.body and "Certify the destruction here" in first.body


def test_a_missed_day_sends_one_reminder_and_records_the_thresholds_passed(pilot):
    duty = _duty(pilot)
    deadline = _deadline_of(duty)
    assert services.destruction_send_reminders(today=deadline - dt.timedelta(days=5)) == 1
    assert sorted(
        DestructionReminder.objects.filter(duty=duty).values_list("days_before", flat=True)
    ) == [7, 30]
    assert (
        Notification.objects.filter(agreement=pilot, event="destruction_due")
        .values("subject")
        .distinct()
        .count()
        == 1
    )


def test_overdue_is_flagged_once_with_a_webhook_event(pilot, emitted):
    today = timezone.localdate()
    assert services.destruction_flag_overdue(today=today) >= 1
    assert services.destruction_flag_overdue(today=today) == 0
    assert services.destruction_flag_overdue(today=today + dt.timedelta(days=1)) == 0
    overdue = [
        p for e, p in emitted if e == "destruction.overdue" and p["agreement_id"] == str(pilot.pk)
    ]
    assert len(overdue) == 1 and overdue[0]["days"] < 0
    assert _duty(pilot).overdue_notified_on == today
    told = Notification.objects.filter(agreement=pilot, event="destruction_overdue")
    district = pilot.trio.members.get(role="district").organisation
    research = pilot.trio.members.get(role="research").organisation
    # The receiving party and the district the data came from; not the developer.
    for party in (district, research):
        assert any(party.memberships.filter(user_id=n.recipient_id).exists() for n in told)
    vendor = demo_user_ids(pilot, "developer")
    assert not {n.recipient_id for n in told} & vendor


def test_a_certified_duty_is_neither_reminded_nor_flagged(pilot, demo):
    duty = _duty(pilot)
    _certify(duty, demo["users"]["researcher"])
    deadline = _deadline_of(duty)
    assert services.destruction_send_reminders(today=deadline - dt.timedelta(days=1)) == 0
    assert services.destruction_flag_overdue(today=timezone.localdate()) == 0 or not (
        DestructionDuty.objects.filter(pk=duty.pk, overdue_notified_on__isnull=False).exists()
    )


# --- certification ------------------------------------------------------------------------------


def test_the_receiving_party_certifies_with_an_audit_entry_and_an_event(pilot, demo, emitted):
    duty = _duty(pilot)
    researcher = demo["users"]["researcher"]
    certified = _certify(duty, researcher)
    assert certified.certified_at is not None
    assert certified.certifier_name == (researcher.get_full_name() or researcher.username)
    assert certified.certifier_title == "Principal Investigator"
    assert duty.data_element.name in certified.attestation
    entry = AuditEntry.objects.filter(action=AuditAction.DESTRUCTION_CERTIFIED).latest("seq")
    assert entry.object_id == str(duty.pk) and entry.payload["method"] == "secure_deletion"
    assert [e for e, _ in emitted] == ["destruction.certified"]
    # The district (the data's source) hears about it.
    district = pilot.trio.members.get(role="district").organisation
    told = Notification.objects.filter(agreement=pilot, event="destruction_certified")
    assert any(district.memberships.filter(user_id=n.recipient_id).exists() for n in told)


@pytest.mark.parametrize("who", ["director", "vendor", "facilitator", "lakeshore"])
def test_only_the_receiving_party_may_certify(pilot, demo, who):
    duty = _duty(pilot)
    with pytest.raises(DomainError) as raised:
        _certify(duty, demo["users"][who])
    assert "Northfield" in str(raised.value) or "certify" in str(raised.value)
    assert _duty(pilot).certified_at is None


def test_an_outsider_may_not_certify(pilot, outsider):
    with pytest.raises(DomainError):
        _certify(_duty(pilot), outsider)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"destroyed_on": timezone.localdate() + dt.timedelta(days=3)}, "destroyed_on", "future"),
        ({"destroyed_on": dt.date(2000, 1, 1)}, "destroyed_on", "first be shared"),
        ({"destroyed_on": None}, "destroyed_on", "Enter the day"),
        ({"method": "shredded-ish"}, "method", "Choose how"),
        ({"certifier_title": "  "}, "certifier_title", "title"),
        ({"attested": False}, "attested", "attestation"),
    ],
)
def test_bad_certifications_are_refused_naming_what_to_fix(pilot, demo, overrides, field, words):
    with pytest.raises(DomainError) as raised:
        _certify(_duty(pilot), demo["users"]["researcher"], **overrides)
    assert words in " ".join(raised.value.message_dict[field])
    assert _duty(pilot).certified_at is None


def test_a_duty_is_certified_once(pilot, demo):
    duty = _duty(pilot)
    _certify(duty, demo["users"]["researcher"])
    with pytest.raises(DomainError, match="already certified"):
        _certify(duty, demo["users"]["counsel"])


def test_evidence_is_stored_and_checked(pilot, demo, monkeypatch):
    duty = _duty(pilot)
    user = demo["users"]["researcher"]
    with pytest.raises(DomainError) as raised:
        _certify(duty, user, evidence=SimpleUploadedFile("log.exe", b"MZ..."))
    assert "PDF" in raised.value.message_dict["evidence"][0]
    with pytest.raises(DomainError) as raised:
        _certify(duty, user, evidence=SimpleUploadedFile("log.pdf", b"not a pdf"))
    assert "not a PDF" in raised.value.message_dict["evidence"][0]
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 10)
    with pytest.raises(DomainError) as raised:
        _certify(duty, user, evidence=SimpleUploadedFile("log.txt", b"x" * 11))
    assert "larger" in raised.value.message_dict["evidence"][0]
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
    certified = _certify(
        duty, user, evidence=SimpleUploadedFile("wipe-log.txt", b"nwipe: 3 passes, verified")
    )
    assert certified.evidence_name == "wipe-log.txt"
    with certified.evidence.open("rb") as handle:
        assert handle.read() == b"nwipe: 3 passes, verified"


# --- the certificate ------------------------------------------------------------------------------


@pytest.fixture
def certificate(pilot, demo) -> tuple[DestructionDuty, bytes]:
    duty = _certify(_duty(pilot), demo["users"]["researcher"])
    assert services.destruction_certificate_render(duty_id=duty.pk) == "done"
    assert services.destruction_certificate_render(duty_id=duty.pk) == "nothing to do"
    duty.refresh_from_db()
    with duty.certificate.open("rb") as handle:
        return duty, handle.read()


def test_the_certificate_is_sealed_and_verifies_like_an_agreement(certificate):
    duty, data = certificate
    assert data.startswith(b"%PDF-")
    assert sealing.check(data).ok
    result = documents.document_verify(data)
    assert result.ok and result.signed_by_platform and result.problems == ()
    assert hashlib.sha256(data).hexdigest() == duty.certificate_sha256


def test_a_tampered_certificate_fails_the_check(certificate):
    _, data = certificate
    tampered = flip_byte(data, middle_of_a_stream(data))
    assert not sealing.check(tampered).ok
    result = documents.document_verify(tampered)
    assert not result.ok and "The signed content was altered after sealing." in result.problems


def test_the_certificate_states_what_was_destroyed(certificate):
    duty, data = certificate
    text = pdf_text(data)
    assert "Certificate of Destruction" in text
    assert duty.data_element.name in text
    assert "Principal Investigator" in text
    assert duty.agreement.reference in text


def test_the_database_refuses_changing_or_deleting_a_certified_duty(pilot, demo):
    duty = _certify(_duty(pilot), demo["users"]["researcher"])
    for change in (
        {"destroyed_on": dt.date(2026, 1, 1)},
        {"method": "physical"},
        {"certifier_name": "Someone Else"},
        {"attestation": "Nothing."},
    ):
        with transaction.atomic(), pytest.raises(IntegrityError, match="cannot change"):
            DestructionDuty.objects.filter(pk=duty.pk).update(**change)
    with transaction.atomic(), pytest.raises(IntegrityError, match="cannot be deleted"):
        DestructionDuty.objects.filter(pk=duty.pk).delete()
    # The certificate is written once, then frozen too.
    services.destruction_certificate_render(duty_id=duty.pk)
    with transaction.atomic(), pytest.raises(IntegrityError, match="cannot change"):
        DestructionDuty.objects.filter(pk=duty.pk).update(certificate_sha256="0" * 64)
