"""The agreement lifecycle as one explicit transition table (see DOMAIN.md).

    draft -> negotiating -> in_review -> signing -> active -> expired | terminated
                  ^-------------'  (reopened: a change voids approvals)

``TRANSITIONS`` lists every allowed step and what it needs; ``transition()`` is the only
code that changes ``Agreement.status``. It locks the row, refuses anything not in the table
with a message naming the allowed steps, records who/when/from/to/why, and changes nothing
when refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from agreements.events import emit
from agreements.models import Agreement, Status, Transition
from agreements.selectors import with_agreement_detail
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError


@dataclass(frozen=True)
class Step:
    source: str
    target: str
    name: str
    needs_reason: bool = False


TRANSITIONS: tuple[Step, ...] = (
    Step(Status.DRAFT, Status.NEGOTIATING, "open negotiation"),
    Step(Status.NEGOTIATING, Status.IN_REVIEW, "submit for legal review"),
    Step(Status.IN_REVIEW, Status.NEGOTIATING, "reopen negotiation", needs_reason=True),
    Step(Status.IN_REVIEW, Status.SIGNING, "all parties approved"),
    Step(Status.SIGNING, Status.ACTIVE, "all parties signed"),
    Step(Status.ACTIVE, Status.EXPIRED, "term ended"),
    Step(Status.ACTIVE, Status.TERMINATED, "terminate", needs_reason=True),
)
_BY_PAIR = {(step.source, step.target): step for step in TRANSITIONS}

#: Statuses in which the consolidated text may still change.
EDITABLE = (Status.DRAFT, Status.NEGOTIATING)
#: Statuses after which the agreement is over.
FINAL = (Status.EXPIRED, Status.TERMINATED)


def allowed_targets(status: str) -> list[str]:
    return [step.target for step in TRANSITIONS if step.source == status]


def step_for(source: str, target: str) -> Step:
    step = _BY_PAIR.get((source, target))
    if step is None:
        allowed = allowed_targets(source)
        where = (
            "it can only move to " + " or ".join(Status(t).label.lower() for t in allowed)
            if allowed
            else "it cannot move any further"
        )
        raise DomainError(
            f"An agreement that is {Status(source).label.lower()} cannot become "
            f"{Status(target).label.lower()}; {where}.",
            code="illegal_transition",
        )
    return step


@transaction.atomic
def transition(
    agreement: Agreement,
    target: str,
    *,
    by=None,
    reason: str = "",
    expected_source: str | None = None,
) -> Agreement:
    """Move ``agreement`` to ``target`` if the table allows it; record the step.

    The row is locked and re-read, so two concurrent requests cannot both move it; with
    ``expected_source`` the caller states what it believed the status was.
    """
    locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if expected_source is not None and locked.status != expected_source:
        raise DomainError(
            f"This agreement is now {locked.get_status_display().lower()}, not "
            f"{Status(expected_source).label.lower()}; reload the page and try again.",
            code="stale_status",
        )
    step = step_for(locked.status, target)
    reason = reason.strip()
    if step.needs_reason and not reason:
        raise DomainError({"reason": f"Give a reason to {step.name}."}, code="reason_required")
    now = timezone.now()
    Transition.objects.create(
        agreement=locked,
        from_status=locked.status,
        to_status=target,
        by=by,
        reason=reason,
        text_hash=locked.text_hash,
    )
    locked.status = target
    locked.status_changed_at = now
    locked.save(update_fields=["status", "status_changed_at", "updated_at"])
    audit_record(
        action=AuditAction.TRANSITION,
        target=locked,
        actor=by,
        payload={
            "from": step.source,
            "to": target,
            "reason": reason,
            "text_hash": locked.text_hash,
            "reference": locked.reference,
        },
    )
    emit(
        "agreement.status_changed",
        {"agreement_id": str(locked.pk), "from": step.source, "to": target, "at": now.isoformat()},
    )
    agreement.status = locked.status
    agreement.status_changed_at = locked.status_changed_at
    agreement.text_hash = locked.text_hash
    return agreement


#: Days before expiry at which the parties are reminded (daily job, dashboard, calendar).
REMINDER_DAYS = (90, 30, 7)
#: Statuses in which a deviating clause can still be reviewed.
REVIEWABLE = (Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW)


def reload(agreement: Agreement) -> Agreement:
    """The agreement with everything the consolidated text needs, fresh from the database."""
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def require_status(agreement: Agreement, allowed: Sequence[str], action: str) -> None:
    if agreement.status not in allowed:
        needed = " or ".join(Status(s).label.lower() for s in allowed)
        raise DomainError(
            f"You can {action} only while the agreement is {needed}; it is "
            f"{agreement.get_status_display().lower()}.",
            code="wrong_status",
        )


def lock(agreement: Agreement) -> Agreement:
    """Lock the agreement row for this transaction and return it freshly loaded."""
    Agreement.objects.select_for_update().filter(pk=agreement.pk).first()
    return reload(agreement)
