"""Every write of research approvals: record (a renewal is a new record), withdraw, the
template's required kinds, and the daily reminders before expiry.

Who records what: the research partner's people record its IRB approval, the district's
people its research office's approval (``rules.HOLDER``), any role of that party, because
the person holding the letter is often the study's staff rather than its lawyer. Anyone who
may record an approval of a kind may withdraw one recorded in error. Facilitators choose a
template's required kinds in the template workspace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from agreements.access import acting_parties, party_ids, roles_by_party
from agreements.approvals import rules
from agreements.approvals.models import ApprovalKind, ApprovalReminderSent, ResearchApproval
from agreements.lifecycle import FINAL
from agreements.models import Agreement, DSATemplate, Status
from agreements.notifications import notify
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory import file_kinds
from collaboratory.errors import DomainError
from partners.models import TrioRole
from partners.selectors import User

#: The largest approval document accepted.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: What an approval letter may be, recognised by its content alone (never by the name or the
#: browser's claim, ``collaboratory.file_kinds``); it is stored with that kind's content type
#: and extension.
DOCUMENT_KINDS = (file_kinds.PDF, file_kinds.WORD, file_kinds.PNG, file_kinds.JPEG)
ALLOWED_DOCUMENTS = file_kinds.describe_kinds(DOCUMENT_KINDS)


def _holder_word(kind: str) -> str:
    return "research partner" if rules.HOLDER[kind] == TrioRole.RESEARCH else "district"


def holder_organisation(*, by: User, agreement: Agreement, kind: str) -> int:
    """The party ``by`` records or withdraws a ``kind`` approval for: the party that holds
    that kind (``rules.HOLDER``), which they must act for (``agreements.access``)."""
    found = acting_parties(by, agreement, party_role=rules.HOLDER[kind])
    if not found:
        raise DomainError(
            f"Only the {_holder_word(kind)}'s people can record or withdraw the "
            f"{rules.kind_label(kind)}.",
            code="not_allowed",
        )
    return found[0]


def kinds_recordable_by(user: User, agreement: Agreement) -> list[str]:
    """The kinds ``user`` may record on ``agreement`` (for the page's form): the rule of
    ``holder_organisation``, asked once for all kinds (``agreements.access.roles_by_party``)."""
    if agreement.status in FINAL:
        return []
    held = roles_by_party(user, agreement)
    parties = party_ids(agreement)
    return [kind for kind in ApprovalKind.values if parties.get(rules.HOLDER[kind]) in held]


@transaction.atomic
def research_approval_record(
    *,
    agreement: Agreement,
    by: User,
    kind: str,
    approving_body: str,
    number: str,
    approved_on: dt.date | None,
    expires_on: dt.date | None,
    document_name: str,
    document: bytes | None,
    today: dt.date | None = None,
) -> ResearchApproval:
    """Record an approval (or its renewal: a new record that ``renews`` the kind's latest,
    which keeps its history). The holder party's people only (``holder_organisation``), while
    the agreement has not ended. The approval date is not in the future, the expiry after
    it; the document is a PDF, Word file or image of at most ``MAX_DOCUMENT_BYTES``, stored
    through Django's storage API and served only after the access check."""
    today = today or timezone.localdate()
    if kind not in ApprovalKind.values:
        raise DomainError(
            {"kind": f"Choose one of: {', '.join(str(k) for k in ApprovalKind.labels)}."}
        )
    locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if locked.status in FINAL:
        raise DomainError(
            f"The agreement is {locked.get_status_display().lower()}: no data may flow under "
            "it any more, so it takes no new research approvals.",
            code="wrong_status",
        )
    organisation_id = holder_organisation(by=by, agreement=agreement, kind=kind)
    errors: dict[str, str] = {}
    approving_body, number = approving_body.strip(), number.strip()
    if not approving_body:
        errors["approving_body"] = (
            "Name the approving body, e.g. “University of X IRB” or “Springfield USD Office "
            "of Research”."
        )
    if not number:
        errors["number"] = "Give the approval number or protocol id from the letter."
    if approved_on is None:
        errors["approved_on"] = "Give the approval date from the letter."
    elif approved_on > today:
        errors["approved_on"] = (
            "The approval date is in the future: record the approval once it is granted."
        )
    if expires_on is None:
        errors["expires_on"] = "Give the expiry date from the letter."
    elif approved_on is not None and expires_on <= approved_on:
        errors["expires_on"] = "The expiry date must be after the approval date."
    kind_of_file = None
    if not document:
        errors["document"] = f"Attach the approval letter: {ALLOWED_DOCUMENTS}."
    elif too_large := file_kinds.size_problem(len(document), MAX_DOCUMENT_BYTES):
        errors["document"] = too_large
    else:
        try:
            kind_of_file = file_kinds.identify_content(document, DOCUMENT_KINDS)
        except file_kinds.FileRefused as refused:
            errors["document"] = refused.message
    if errors:
        raise DomainError(errors, code="invalid")
    # Checked above; the asserts tell the type checker.
    assert document is not None and kind_of_file is not None  # noqa: S101
    assert approved_on is not None and expires_on is not None  # noqa: S101
    content_type, extension = kind_of_file.content_type, kind_of_file.extension
    sha256 = hashlib.sha256(document).hexdigest()
    renews = (
        ResearchApproval.objects.filter(agreement=locked, kind=kind, withdrawn_at__isnull=True)
        .order_by("-recorded_at", "-id")
        .first()
    )
    approval = ResearchApproval(
        agreement=locked,
        kind=kind,
        organisation_id=organisation_id,
        approving_body=approving_body,
        number=number,
        approved_on=approved_on,
        expires_on=expires_on,
        document_name=(PurePath(document_name).name or f"approval{extension}")[:200],
        document_type=content_type,
        document_size=len(document),
        document_sha256=sha256,
        renews=renews,
        recorded_by=by,
    )
    # The stored name is the content's hash: nothing the uploader typed reaches the store.
    approval.document.save(f"{locked.pk}/{sha256}{extension}", ContentFile(document), save=False)
    approval.full_clean()
    approval.save()
    audit_record(
        action=AuditAction.RESEARCH_APPROVAL,
        target=locked,
        actor=by,
        organisation_id=organisation_id,
        payload={
            "approval_id": approval.pk,
            "kind": kind,
            "approving_body": approving_body,
            "number": number,
            "approved_on": approved_on.isoformat(),
            "expires_on": expires_on.isoformat(),
            "document_sha256": sha256,
            "renews": renews.pk if renews else None,
        },
    )
    return approval


@transaction.atomic
def research_approval_withdraw(
    *, approval: ResearchApproval, by: User, reason: str
) -> ResearchApproval:
    """Withdraw an approval recorded in error (or suspended by its body), with a reason; it
    stays in the history and no longer covers any day. The holder party's people only."""
    locked = (
        ResearchApproval.objects.select_for_update().select_related("agreement").get(pk=approval.pk)
    )
    holder_organisation(by=by, agreement=locked.agreement, kind=locked.kind)
    reason = reason.strip()
    if not reason:
        raise DomainError({"reason": "Say why the approval is withdrawn."})
    if locked.withdrawn_at is not None:
        raise DomainError("This approval is already withdrawn.", code="already_withdrawn")
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = by
    locked.withdrawn_reason = reason[:500]
    locked.full_clean()
    locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    audit_record(
        action=AuditAction.RESEARCH_APPROVAL_VOID,
        target=locked.agreement,
        actor=by,
        organisation_id=locked.organisation_id,
        payload={"approval_id": locked.pk, "kind": locked.kind, "reason": locked.withdrawn_reason},
    )
    return locked


@transaction.atomic
def template_research_approvals_set(
    *, template: DSATemplate, kinds: Iterable[str], by: User | None
) -> DSATemplate:
    """Which research approvals agreements made from ``template`` need before data flows
    (facilitators, in the template workspace). It applies to the template's agreements at
    once, in force ones included: an approval is a condition of data flowing, not a term of
    the signed text."""
    wanted = sorted(set(kinds))
    unknown = [k for k in wanted if k not in ApprovalKind.values]
    if unknown:
        raise DomainError(
            {
                "required_research_approvals": "Choose among: "
                + ", ".join(str(label) for label in ApprovalKind.labels)
                + "."
            }
        )
    locked = DSATemplate.objects.select_for_update().get(pk=template.pk)
    before = list(locked.required_research_approvals or [])
    locked.required_research_approvals = [k for k in ApprovalKind.values if k in wanted]
    locked.full_clean()
    locked.save(update_fields=["required_research_approvals"])
    audit_record(
        action=AuditAction.APPROVAL_REQUIREMENTS,
        target=locked,
        actor=by,
        payload={"from": before, "to": locked.required_research_approvals},
    )
    return locked


def research_approvals_send_reminders(*, today: dt.date) -> int:
    """Remind the holder party and the district 60, 30 and 7 days before a required
    approval's expiry, once per approval and threshold (even when the daily job missed a
    day), while the agreement can still have data flow and the approval is the one covering
    its kind (a renewal already recorded needs no reminder). Returns reminders sent."""
    horizon = today + dt.timedelta(days=max(rules.REMINDER_DAYS))
    candidates = (
        ResearchApproval.objects.filter(
            rules.covers_sql(today),
            expires_on__lte=horizon,
            agreement__status__in=[Status.SIGNING, Status.ACTIVE],
        )
        .values_list("pk", flat=True)
        .order_by("expires_on", "pk")
    )
    sent = 0
    for pk in list(candidates):
        with transaction.atomic():
            approval = (
                ResearchApproval.objects.select_for_update()
                .select_related("agreement__template_version__template", "agreement__trio")
                .get(pk=pk)
            )
            agreement = approval.agreement
            if approval.kind not in rules.required_kinds(agreement):
                continue
            others = list(agreement.research_approvals.all())
            standing = next(
                s for s in rules.standings(agreement, others, today) if s.kind == approval.kind
            )
            # A later approval of the kind holds longer: nothing to renew.
            if standing.covering is None or standing.covering.pk != approval.pk:
                continue
            days_left = (approval.expires_on - today).days
            already = set(
                ApprovalReminderSent.objects.filter(approval=approval).values_list(
                    "days_before", flat=True
                )
            )
            due = [d for d in rules.REMINDER_DAYS if days_left <= d and d not in already]
            if not due:
                continue
            ApprovalReminderSent.objects.bulk_create(
                ApprovalReminderSent(approval=approval, days_before=d, sent_on=today) for d in due
            )
            district = next(
                m.organisation_id for m in agreement.trio.members.all() if m.role == "district"
            )
            notify(
                "research_approval_expiring",
                agreement,
                organisation_ids={approval.organisation_id, district},
                fragment="research-approvals",
                days=days_left,
                approval=str(approval),
                kind=rules.kind_label(approval.kind),
                number=approval.number,
                body_name=approval.approving_body,
                expires_on=approval.expires_on.isoformat(),
            )
            sent += 1
    return sent
