"""Every write of destruction duties: open them, certify one, the daily reminders and overdue
flags, and the certificate's render. Rules are in ``rules``; the deadline is
``agreements.terms``'s, read here and never stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agreements.access import acting_party
from agreements.destruction import rules
from agreements.events import emit
from agreements.models import (
    Agreement,
    DataElement,
    DestructionDuty,
    DestructionMethod,
    DestructionReminder,
    Status,
)
from agreements.notifications import notify
from agreements.signing.termination import day_text
from agreements.terms import destruction_deadline, destruction_deadline_sql
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory import file_kinds
from collaboratory.errors import DomainError
from partners.models import Organisation
from partners.selectors import User

log = logging.getLogger(__name__)

#: Agreements that are or have been in force: their recipients hold data to destroy.
HAS_BEEN_IN_FORCE = (Status.ACTIVE, Status.EXPIRED, Status.TERMINATED)
#: The evidence file: at most this size, one of these kinds by its name, and its content must
#: agree with the name (``collaboratory.file_kinds.check_named_content``).
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_KINDS = (file_kinds.PDF, file_kinds.PNG, file_kinds.JPEG, file_kinds.TEXT)

#: What the certifier affirms (filled in Python, never by a template engine).
ATTESTATION = (
    "I, {name}, {title} of {organisation}, attest that every copy of \u201c{element}\u201d "
    "that {organisation} received under agreement {reference}, including copies held by its "
    "staff, contractors and backups, was destroyed on {destroyed_on} by {method}, and that "
    "{organisation} keeps no copy of it."
)


def attestation_text(
    *,
    duty: DestructionDuty,
    name: str,
    title: str,
    method: str,
    destroyed_on: dt.date | None,
) -> str:
    """The attestation as the certifier reads it on the form and as the certificate states it."""
    return ATTESTATION.format(
        name=name or "[your name]",
        title=title or "[your title]",
        organisation=duty.recipient.name,
        element=duty.data_element.name,
        reference=duty.agreement.reference,
        destroyed_on=day_text(destroyed_on) if destroyed_on else "[the date]",
        method=(DestructionMethod(method).label.lower() if method else "[the method]"),
    )


def duties_url(agreement_id: Any) -> str:
    return reverse("destruction-agreement", args=[agreement_id])


# --- opening duties --------------------------------------------------------------------------


@transaction.atomic
def destruction_duties_open(*, agreement_id: Any) -> int:
    """Open the missing duties of an agreement that is or has been in force: one per data
    element and its recipient. Safe to run twice; returns how many were opened."""
    agreement = Agreement.objects.filter(pk=agreement_id, status__in=HAS_BEEN_IN_FORCE).first()
    if agreement is None:
        return 0
    have = set(
        DestructionDuty.objects.filter(agreement=agreement).values_list(
            "data_element_id", flat=True
        )
    )
    missing = [
        DestructionDuty(
            agreement=agreement, data_element=element, recipient_id=element.recipient_id
        )
        for element in DataElement.objects.filter(agreement=agreement).order_by("position", "id")
        if element.pk not in have
    ]
    for duty in missing:
        duty.full_clean(exclude=["agreement", "data_element", "recipient"], validate_unique=False)
    created = DestructionDuty.objects.bulk_create(missing, ignore_conflicts=True)
    return len(created)


def on_status_changed(event: str, payload: dict) -> None:
    """After commit: an agreement that became active opens its destruction duties."""
    if payload.get("to") == Status.ACTIVE:
        destruction_duties_open(agreement_id=payload["agreement_id"])


def destruction_duties_open_missing() -> int:
    """Open duties for every agreement in force or ended that lacks some (the daily job)."""
    agreement_ids = (
        Agreement.objects.filter(status__in=HAS_BEEN_IN_FORCE)
        .filter(data_elements__destruction_duties__isnull=True)
        .values_list("pk", flat=True)
        .distinct()
    )
    return sum(destruction_duties_open(agreement_id=pk) for pk in list(agreement_ids))


# --- certifying --------------------------------------------------------------------------------


def earliest_destruction(agreement: Agreement) -> dt.date:
    """The first day data can have been shared: the agreement's effective date."""
    return rules.shared_from(agreement)


def _evidence(upload: UploadedFile | None) -> tuple[bytes, str, str] | None:
    """The evidence file's bytes, its cleaned name and extension, or None; refuses what is
    too large or not what its name says it is."""
    if upload is None:
        return None
    name = PurePath(upload.name or "evidence").name[-200:]
    try:
        # A wrong kind or a declared size over the limit is refused before any byte is read.
        file_kinds.kind_named(name, EVIDENCE_KINDS)
        file_kinds.check_size(upload.size or 0, EVIDENCE_MAX_BYTES)
        data = upload.read(EVIDENCE_MAX_BYTES + 1)
        file_kinds.check_size(len(data), EVIDENCE_MAX_BYTES)
        file_kinds.check_named_content(data, name=name, kinds=EVIDENCE_KINDS)
    except file_kinds.FileRefused as refused:
        raise DomainError({"evidence": refused.message}) from None
    extension = PurePath(name).suffix.lower()
    return data, name, extension


@transaction.atomic
def destruction_certify(
    *,
    duty_id: int,
    by: User,
    method: str,
    destroyed_on: dt.date | None,
    certifier_title: str,
    attested: bool,
    evidence: UploadedFile | None = None,
    today: dt.date | None = None,
) -> DestructionDuty:
    """The receiving party certifies that it destroyed one data element. Only someone acting
    for the recipient may; once, with a method, a destruction date that is neither in the
    future nor before data could be shared, the certifier's title and the attestation
    ticked. The certificate of destruction is rendered and sealed after commit."""
    today = today or timezone.localdate()
    duty = (
        DestructionDuty.objects.select_for_update(of=("self",))
        .select_related("agreement", "data_element", "recipient")
        .get(pk=duty_id)
    )
    agreement = duty.agreement
    organisation_id = acting_party(
        by,
        agreement,
        organisation_id=duty.recipient_id,
        action=f"certify the destruction of data {duty.recipient.name} received",
    )
    if duty.certified_at is not None:
        raise DomainError(
            f"The destruction of {duty.data_element.name} was already certified on "
            f"{day_text(timezone.localdate(duty.certified_at))} by {duty.certifier_name}.",
            code="already_certified",
        )
    errors: dict[str, str] = {}
    if method not in DestructionMethod.values:
        errors["method"] = "Choose how the data was destroyed."
    if destroyed_on is None:
        errors["destroyed_on"] = "Enter the day the data was destroyed."
    elif destroyed_on > today:
        errors["destroyed_on"] = (
            f"The destruction date cannot be in the future: enter {day_text(today)} or earlier."
        )
    else:
        earliest = earliest_destruction(agreement)
        if destroyed_on < earliest:
            errors["destroyed_on"] = (
                f"The destruction date cannot be before {day_text(earliest)}, when data could "
                f"first be shared under {agreement.reference}."
            )
    title = " ".join(certifier_title.split())
    if not title:
        errors["certifier_title"] = "Enter your title (for example Principal Investigator)."
    if not attested:
        errors["attested"] = "Tick the attestation to confirm the destruction."
    if errors:
        raise DomainError(errors)
    evidence_file = _evidence(evidence)

    name = by.get_full_name().strip() or by.get_username()
    duty.method = method
    duty.destroyed_on = destroyed_on
    duty.certified_by = by
    duty.certifier_name = name
    duty.certifier_title = title
    duty.attestation = attestation_text(
        duty=duty, name=name, title=title, method=method, destroyed_on=destroyed_on
    )
    duty.certified_at = timezone.now()
    fields = [
        "method",
        "destroyed_on",
        "certified_by",
        "certifier_name",
        "certifier_title",
        "attestation",
        "certified_at",
    ]
    if evidence_file is not None:
        data, filename, extension = evidence_file
        digest = hashlib.sha256(data).hexdigest()
        stored = default_storage.save(
            f"destruction/evidence/{duty.pk}-{digest[:20]}{extension}", ContentFile(data)
        )
        duty.evidence.name = stored
        duty.evidence_name = filename
        duty.evidence_sha256 = digest
        fields += ["evidence", "evidence_name", "evidence_sha256"]
    duty.full_clean()
    duty.save(update_fields=fields)
    audit_record(
        action=AuditAction.DESTRUCTION_CERTIFIED,
        target=duty,
        actor=by,
        organisation_id=organisation_id,
        payload={
            "agreement": agreement.reference,
            "data_element_id": duty.data_element_id,
            "data_element": duty.data_element.name,
            "method": method,
            "destroyed_on": destroyed_on.isoformat() if destroyed_on else None,
            "certifier": f"{name}, {title}",
            "evidence_sha256": duty.evidence_sha256,
            "destruction_deadline": destruction_deadline(agreement).isoformat(),
        },
    )
    source_id = duty.data_element.source_id
    notify(
        "destruction_certified",
        agreement,
        actor=by,
        organisation_ids=[source_id, duty.recipient_id],
        org=duty.recipient.name,
        element=duty.data_element.name,
        certifier=f"{name}, {title}",
        destroyed_on=day_text(destroyed_on) if destroyed_on else "",
        method=DestructionMethod(method).label.lower(),
        destruction_url=_absolute(duties_url(agreement.pk)),
    )
    emit(
        "destruction.certified",
        {
            "agreement_id": str(agreement.pk),
            "organisation": _organisation(duty.recipient),
            "data_element": {"id": duty.data_element_id, "name": duty.data_element.name},
            "method": method,
            "destroyed_on": destroyed_on.isoformat() if destroyed_on else None,
            "certified_at": duty.certified_at.isoformat(),
        },
    )
    transaction.on_commit(lambda: _enqueue_certificate(duty.pk), robust=True)
    return duty


def _absolute(path: str) -> str:
    from django.conf import settings

    return f"{(settings.SITE_URL or '').rstrip('/')}{path}"


def _organisation(organisation: Organisation) -> dict[str, Any]:
    return {"id": organisation.pk, "slug": organisation.slug, "name": organisation.name}


def _enqueue_certificate(duty_id: int) -> None:
    from agreements.destruction.tasks import render_destruction_certificate

    try:
        render_destruction_certificate.delay(duty_id)
    except Exception:  # the broker is down: the daily job queues it again
        log.warning("could not queue the certificate of duty %s", duty_id, exc_info=True)


# --- the certificate ----------------------------------------------------------------------------


def destruction_certificate_render(*, duty_id: int) -> str:
    """Render, seal and store the certificate of a certified duty (once). Safe to run twice:
    the duty's row is locked while it renders and a stored certificate is never redone."""
    from agreements.destruction import certificate

    with transaction.atomic():
        duty = (
            DestructionDuty.objects.select_for_update(of=("self",))
            .select_related("agreement", "data_element", "data_element__source", "recipient")
            .get(pk=duty_id)
        )
        if duty.certified_at is None:
            return "not certified"
        if duty.certificate:
            return "nothing to do"
        data = certificate.render_sealed(duty)
        digest = hashlib.sha256(data).hexdigest()
        name = f"destruction/certificates/{digest}.pdf"
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(data))
            if saved != name:
                default_storage.delete(saved)
        duty.certificate.name = name
        duty.certificate_sha256 = digest
        duty.save(update_fields=["certificate", "certificate_sha256"])
    return "done"


def destruction_certificates_enqueue_missing() -> int:
    """Queue the certificates of certified duties that have none yet (the daily job)."""
    ids = list(
        DestructionDuty.objects.filter(certified_at__isnull=False, certificate="").values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        _enqueue_certificate(pk)
    return len(ids)


# --- the daily job: reminders and overdue flags ------------------------------------------------


def _element_names(duties: Iterable[DestructionDuty]) -> str:
    return ", ".join(d.data_element.name for d in duties)


def _announce(
    agreement: Agreement,
    *,
    event: str,
    notification: str,
    duties: list[DestructionDuty],
    deadline: dt.date,
    days: int,
    tell_sources: bool = False,
) -> None:
    """One notification and one webhook event per receiving party; ``tell_sources`` also
    notifies the parties the data came from (the district hears of an overdue duty)."""
    by_recipient: dict[int, list[DestructionDuty]] = defaultdict(list)
    for duty in duties:
        by_recipient[duty.recipient_id].append(duty)
    for recipient_id, theirs in sorted(by_recipient.items()):
        recipient = theirs[0].recipient
        sources = {d.data_element.source_id for d in theirs} if tell_sources else set()
        notify(
            notification,
            agreement,
            organisation_ids=sorted({recipient_id, *sources}),
            org=recipient.name,
            deadline=day_text(deadline),
            days=days,
            elements=_element_names(theirs),
            destruction_url=_absolute(duties_url(agreement.pk)),
        )
        emit(
            event,
            {
                "agreement_id": str(agreement.pk),
                "organisation": _organisation(recipient),
                "days": days,
                "deadline": deadline.isoformat(),
                "data_elements": [
                    {"id": d.data_element_id, "name": d.data_element.name} for d in theirs
                ],
            },
        )


def _open_duties(agreement: Agreement) -> list[DestructionDuty]:
    return list(
        DestructionDuty.objects.select_for_update(of=("self",))
        .filter(agreement=agreement, certified_at__isnull=True)
        .select_related("data_element", "recipient")
        .order_by("recipient_id", "data_element__position", "data_element_id")
    )


def _agreements_with_open_duties(**conditions: Any) -> list[Any]:
    """The ids of agreements in force or ended that have an uncertified duty and meet
    ``conditions``: on ``deadline`` (the destruction deadline, computed in SQL) or on that
    same duty (one ``filter()``, so every ``destruction_duties__`` condition holds for one
    duty)."""
    return list(
        Agreement.objects.annotate(deadline=destruction_deadline_sql())
        .filter(
            status__in=HAS_BEEN_IN_FORCE,
            destruction_duties__certified_at__isnull=True,
            **conditions,
        )
        .values_list("pk", flat=True)
        .distinct()
    )


def destruction_send_reminders(*, today: dt.date) -> int:
    """Remind each receiving party 30, 7 and 1 days before the deadline of its uncertified
    duties, once per duty and threshold, even when the daily job missed a day (the missed
    thresholds are recorded with the one reminder sent). Returns the agreements reminded."""
    horizon = today + dt.timedelta(days=max(rules.REMINDER_DAYS))
    sent = 0
    for pk in _agreements_with_open_duties(deadline__gte=today, deadline__lte=horizon):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            deadline = destruction_deadline(agreement)
            days_left = (deadline - today).days
            duties = _open_duties(agreement)
            already: dict[int, set[int]] = defaultdict(set)
            for duty_id, days_before in DestructionReminder.objects.filter(
                duty__in=duties
            ).values_list("duty_id", "days_before"):
                already[duty_id].add(days_before)
            rows = []
            due_duties = []
            for duty in duties:
                due = [
                    d for d in rules.REMINDER_DAYS if days_left <= d and d not in already[duty.pk]
                ]
                if due:
                    due_duties.append(duty)
                    rows += [
                        DestructionReminder(duty=duty, days_before=d, sent_on=today) for d in due
                    ]
            if not rows:
                continue
            DestructionReminder.objects.bulk_create(rows)
            _announce(
                agreement,
                event="destruction.due_soon",
                notification="destruction_due",
                duties=due_duties,
                deadline=deadline,
                days=days_left,
            )
            sent += 1
    return sent


def destruction_flag_overdue(*, today: dt.date) -> int:
    """The day after the deadline, flag each uncertified duty overdue once: the receiving
    party is told and ``destruction.overdue`` is sent. Returns the duties flagged."""
    flagged = 0
    for pk in _agreements_with_open_duties(
        deadline__lt=today, destruction_duties__overdue_notified_on__isnull=True
    ):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            deadline = destruction_deadline(agreement)
            if deadline >= today:  # a withdrawn notice moved it since the query
                continue
            duties = [d for d in _open_duties(agreement) if d.overdue_notified_on is None]
            if not duties:
                continue
            DestructionDuty.objects.filter(pk__in=[d.pk for d in duties]).update(
                overdue_notified_on=today
            )
            _announce(
                agreement,
                event="destruction.overdue",
                notification="destruction_overdue",
                duties=duties,
                deadline=deadline,
                days=(deadline - today).days,
                tell_sources=True,
            )
            flagged += len(duties)
    return flagged


def destruction_daily(*, today: dt.date) -> dict[str, int]:
    """The daily job: open missing duties, remind, flag overdue, queue missing certificates."""
    return {
        "destruction_opened": destruction_duties_open_missing(),
        "destruction_reminded": destruction_send_reminders(today=today),
        "destruction_overdue": destruction_flag_overdue(today=today),
        "destruction_certificates": destruction_certificates_enqueue_missing(),
    }
