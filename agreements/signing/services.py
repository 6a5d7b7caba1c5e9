"""Signing and ending an agreement: sign, terminate, expire, remind before expiry.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from agreements import lifecycle
from agreements.access import User, acting_party
from agreements.events import emit
from agreements.lifecycle import REMINDER_DAYS, lock, require_status
from agreements.models import (
    Agreement,
    ReminderSent,
    Signature,
    Status,
)
from agreements.notifications import notify
from agreements.selectors import (
    consolidated_text,
    parties,
)
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Role

INTENT_STATEMENT = (
    "I, {name}, sign this agreement on behalf of {organisation}. I intend my typed name to be "
    "my signature, I am authorised to bind {organisation}, and I have read the text identified "
    "by SHA-256 {text_hash}."
)


def intent_statement(*, name: str, organisation: str, text_hash: str) -> str:
    return INTENT_STATEMENT.format(name=name, organisation=organisation, text_hash=text_hash)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@transaction.atomic
def agreement_sign(
    *,
    agreement: Agreement,
    by: User,
    typed_name: str,
    intent_confirmed: bool,
    text_hash: str,
    ip_address: str | None = None,
    user_agent: str = "",
    organisation_id: int | None = None,
) -> Signature:
    """A party's signatory signs the approved text with an explicit statement of intent.
    The last signature makes the agreement active."""
    agreement = lock(agreement)
    require_status(agreement, (Status.SIGNING,), "sign")
    organisation_id = acting_party(by, agreement, Role.SIGNATORY, organisation_id=organisation_id)
    current = consolidated_text(agreement).sha256
    if text_hash != current or current != agreement.text_hash:
        raise DomainError(
            "The text changed since you opened it; reload and read it again before signing.",
            code="stale_text",
        )
    full_name = by.get_full_name() or by.get_username()
    errors: dict[str, str] = {}
    if not _same_name(typed_name, full_name):
        errors["typed_name"] = f"Type your full name exactly as “{full_name}” to sign."
    if not intent_confirmed:
        errors["intent_confirmed"] = "Tick the box to confirm you intend to sign."
    if errors:
        raise DomainError(errors, code="intent_missing")
    if any(s.organisation_id == organisation_id for s in agreement.signatures.all()):
        raise DomainError("Your organisation has already signed this agreement.")
    organisation = next(
        m.organisation for m in parties(agreement) if m.organisation_id == organisation_id
    )
    signature = Signature.objects.create(
        agreement=agreement,
        organisation_id=organisation_id,
        user=by,
        typed_name=" ".join(typed_name.split()),
        intent_statement=intent_statement(
            name=full_name, organisation=organisation.name, text_hash=current
        ),
        text_hash=current,
        ip_address=ip_address,
        user_agent=user_agent[:500],
    )
    audit_record(
        action=AuditAction.SIGNATURE,
        target=agreement,
        actor=by,
        organisation_id=organisation_id,
        payload={
            "signature_id": signature.pk,
            "typed_name": signature.typed_name,
            "text_hash": current,
            "ip_address": ip_address,
        },
    )
    signed = set(
        Signature.objects.filter(agreement=agreement).values_list("organisation_id", flat=True)
    )
    if signed >= {m.organisation_id for m in parties(agreement)}:
        lifecycle.transition(agreement, Status.ACTIVE, by=by)
        notify("executed", agreement)
    return signature


@transaction.atomic
def agreement_terminate(*, agreement: Agreement, by: User, reason: str) -> Agreement:
    """End an active agreement early; a party's signatory or director must give a reason."""
    agreement = lock(agreement)
    acting_party(by, agreement, (Role.SIGNATORY, Role.DIRECTOR), action="terminate")
    lifecycle.transition(agreement, Status.TERMINATED, by=by, reason=reason)
    notify("terminated", agreement, actor=by, reason=reason.strip())
    return agreement


def agreements_expire_due(*, today: dt.date) -> int:
    """Move every active agreement whose last day has passed to expired. Safe to rerun."""
    expired = 0
    due = Agreement.objects.filter(status=Status.ACTIVE, expires_on__lt=today).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            if agreement.status != Status.ACTIVE or agreement.expires_on >= today:
                continue
            lifecycle.transition(
                agreement, Status.EXPIRED, reason=f"term ended on {agreement.expires_on}"
            )
            notify("expired", agreement)
            expired += 1
    return expired


def agreements_send_expiry_reminders(*, today: dt.date) -> int:
    """Remind parties 90, 30 and 7 days before expiry, once per threshold, even when the
    daily job missed a day."""
    sent = 0
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    candidates = Agreement.objects.filter(
        status=Status.ACTIVE, expires_on__gte=today, expires_on__lte=horizon
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            days_left = (agreement.expires_on - today).days
            already = set(
                ReminderSent.objects.filter(agreement=agreement).values_list(
                    "days_before", flat=True
                )
            )
            due = [d for d in REMINDER_DAYS if days_left <= d and d not in already]
            if not due:
                continue
            ReminderSent.objects.bulk_create(
                ReminderSent(agreement=agreement, days_before=d, sent_on=today) for d in due
            )
            notify("expiring", agreement, days=days_left)
            emit("agreement.expiring", {"agreement_id": str(agreement.pk), "days": days_left})
            sent += 1
    return sent
