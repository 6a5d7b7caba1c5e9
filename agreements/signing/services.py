"""Signing and ending an agreement: sign, give or withdraw notice of termination, end
agreements whose notice ran out or whose term ended, remind before the end.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from agreements import lifecycle
from agreements.access import User, acting_parties, acting_party
from agreements.choices import AuthMethod, TerminationGround
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
from agreements.signing import termination
from agreements.terms import destruction_deadline, end_date, end_date_sql
from agreements.text.placeholders import format_date
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Role, TrioRole


def text_version(agreement: Agreement) -> str:
    """Which text a signatory signs, in words: "version of 3 December 2026, on the standard
    AIMS Standard Three-Party DSA v3". The date is the day the text was frozen for legal
    review (the last move to review with this text); every approval and signature is of it."""
    frozen = next(
        (
            t.at
            for t in reversed(agreement.transitions.all())
            if t.to_status == Status.IN_REVIEW and t.text_hash == agreement.text_hash
        ),
        None,
    )
    day = timezone.localdate(frozen) if frozen else timezone.localdate(agreement.status_changed_at)
    return f"version of {format_date(day)}, on the standard {agreement.template_version}"


def _sentence(text: str) -> str:
    """``text`` ended with one full stop: a name such as "Brightpath Learning, Inc." already
    has one."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def intent_statement(*, agreement: Agreement, name: str, title: str, organisation: str) -> str:
    """What the signatory declares, in plain words: who signs, in which capacity, which
    agreement (title and reference) in which version, for whom. The text's SHA-256 is kept
    beside it on the signature (``Signature.text_hash``) rather than read out in it."""
    who = f"{name}, {title} of {organisation}" if title.strip() else name
    return (
        f"I, {who}, sign the agreement “{agreement.title}” ({agreement.reference}), "
        f"{text_version(agreement)}, on behalf of {organisation}, and agree to be bound by it. "
        + _sentence(
            f"I intend my typed name to be my signature, and I am authorised to bind {organisation}"
        )
    )


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
    signer_title: str = "",
    auth_method: str = "",
    authenticated_at: dt.datetime | None = None,
) -> Signature:
    """A party's signatory signs the approved text with an explicit statement of intent,
    naming their title. ``auth_method`` and ``authenticated_at`` record how the signer's
    session proved who they are (password, plus an authenticator app or a backup code) and
    when, for the audit certificate. The last signature makes the agreement active."""
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
    signer_title = " ".join(signer_title.split())
    errors: dict[str, str] = {}
    if not _same_name(typed_name, full_name):
        errors["typed_name"] = f"Type your full name exactly as “{full_name}” to sign."
    if not intent_confirmed:
        errors["intent_confirmed"] = "Tick the box to confirm you intend to sign."
    if errors:
        raise DomainError(errors, code="intent_missing")
    if auth_method and auth_method not in AuthMethod.values:
        raise DomainError(f"Unknown way of authenticating: {auth_method!r}.", code="invalid")
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
        signer_title=signer_title,
        intent_statement=intent_statement(
            agreement=agreement,
            name=full_name,
            title=signer_title,
            organisation=organisation.name,
        ),
        auth_method=auth_method,
        authenticated_at=authenticated_at,
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
            "signer_title": signature.signer_title,
            "auth_method": auth_method,
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
def agreement_terminate(
    *, agreement: Agreement, by: User, ground: str, reason: str, today: dt.date | None = None
) -> Agreement:
    """Give notice of termination on one of the text's grounds (``signing.termination``): a
    party's signatory or director, with a reason. For convenience the agreement ends after
    the notice period, for an uncured breach after the cure period; it stays active until
    then, and ``agreements_terminate_due`` ends it. Only the District may terminate with
    immediate effect: the agreement is terminated at once. A notice that would end the
    agreement after its expiry is refused (it simply expires), and so is one that would end
    it later than notice already given. Returns the agreement as it now is."""
    agreement = lock(agreement)
    today = today or timezone.localdate()
    if ground not in TerminationGround.values:
        raise DomainError({"ground": "Choose why the agreement is terminated."}, code="invalid")
    organisation_id = acting_party(by, agreement, termination.TERMINATORS, action="terminate")
    if ground in termination.DISTRICT_ONLY:
        district = acting_parties(
            by, agreement, termination.TERMINATORS, party_role=TrioRole.DISTRICT
        )
        if not district:
            raise DomainError(
                "Only the District's signatory or research director can terminate with "
                "immediate effect; the other parties give notice (for convenience, or for a "
                "breach that is not cured).",
                code="not_allowed",
            )
        organisation_id = district[0]
    step = lifecycle.step_for(agreement.status, Status.TERMINATED)
    reason = reason.strip()
    if step.needs_reason and not reason:
        raise DomainError({"reason": f"Give a reason to {step.name}."}, code="reason_required")
    timing = termination.termination_timing(
        agreement,
        ground,
        noticed_on=today,
        stated=termination.stated_periods(consolidated_text(agreement)),
    )
    if timing is None:
        raise DomainError(
            {
                "ground": "The agreement's text gives no notice period for ending it for "
                "convenience, so no end date follows from notice."
            },
            code="no_notice_period",
        )
    if timing.after_expiry:
        expires, ends = (
            termination.day_text(agreement.expires_on),
            termination.day_text(timing.ends_on),
        )
        raise DomainError(
            f"The agreement expires on {expires}, before notice given today would take effect "
            f"({ends}): it simply expires then, and destruction duties start as usual.",
            code="ends_after_expiry",
        )
    if termination.notice_pending(agreement) and timing.ends_on >= end_date(agreement):
        raise DomainError(
            f"Notice of termination was already given: the agreement ends on "
            f"{termination.day_text(end_date(agreement))}.",
            code="notice_pending",
        )
    agreement.termination_ground = ground
    agreement.termination_noticed_on = today
    agreement.ends_on = timing.ends_on
    agreement.full_clean(validate_unique=False, validate_constraints=False)
    agreement.save(
        update_fields=["termination_ground", "termination_noticed_on", "ends_on", "updated_at"]
    )
    organisation = _party_name(agreement, organisation_id)
    audit_record(
        action=AuditAction.TRANSITION,
        target=agreement,
        actor=by,
        organisation_id=organisation_id,
        payload={
            termination.NOTICE_KEY: ground,
            "noticed_on": today.isoformat(),
            "ends_on": timing.ends_on.isoformat(),
            "destruction_deadline": timing.destruction_deadline.isoformat(),
            "reason": reason,
            "reference": agreement.reference,
        },
    )
    emit(
        "agreement.termination_noticed",
        {
            "agreement_id": str(agreement.pk),
            "ground": ground,
            "noticed_on": today.isoformat(),
            "ends_on": timing.ends_on.isoformat(),
            "destruction_deadline": timing.destruction_deadline.isoformat(),
        },
    )
    if timing.immediate:
        lifecycle.transition(agreement, Status.TERMINATED, by=by, reason=reason)
        notify("terminated", agreement, actor=by, reason=reason)
    else:
        notify(
            "termination_noticed",
            agreement,
            actor=by,
            reason=reason,
            org=organisation,
            ground=termination.ground_phrase(ground),
            ends_on=timing.ends_on,
        )
    return agreement


@transaction.atomic
def agreement_termination_withdraw(*, agreement: Agreement, by: User, reason: str) -> Agreement:
    """The party that gave notice of termination withdraws it before it takes effect (a
    breach was cured, the parties agreed to carry on): the agreement runs to its expiry."""
    agreement = lock(agreement)
    if not termination.notice_pending(agreement):
        raise DomainError("No notice of termination is pending.", code="no_notice")
    noticed_by = termination.notice_given_by(agreement)
    acting_party(by, agreement, termination.TERMINATORS, action="withdraw the notice")
    if noticed_by is None or noticed_by.pk not in acting_parties(
        by, agreement, termination.TERMINATORS
    ):
        raise DomainError("Only the party that gave notice can withdraw it.", code="not_allowed")
    organisation_id = noticed_by.pk
    reason = reason.strip()
    if not reason:
        raise DomainError(
            {"reason": "Give a reason to withdraw the notice."}, code="reason_required"
        )
    ends_on = agreement.ends_on
    agreement.termination_ground = ""
    agreement.termination_noticed_on = None
    agreement.ends_on = None
    agreement.save(
        update_fields=["termination_ground", "termination_noticed_on", "ends_on", "updated_at"]
    )
    audit_record(
        action=AuditAction.TRANSITION,
        target=agreement,
        actor=by,
        organisation_id=organisation_id,
        payload={
            termination.WITHDRAWAL_KEY: True,
            "ends_on": agreement.expires_on.isoformat(),
            "destruction_deadline": destruction_deadline(agreement).isoformat(),
            "reason": reason,
            "reference": agreement.reference,
        },
    )
    emit(
        "agreement.termination_withdrawn",
        {
            "agreement_id": str(agreement.pk),
            "ends_on": agreement.expires_on.isoformat(),
            "destruction_deadline": destruction_deadline(agreement).isoformat(),
        },
    )
    notify(
        "termination_withdrawn",
        agreement,
        actor=by,
        reason=reason,
        org=noticed_by.name,
        was_ending=ends_on,
    )
    return agreement


def _party_name(agreement: Agreement, organisation_id: int) -> str:
    return next(
        (m.organisation.name for m in parties(agreement) if m.organisation_id == organisation_id),
        "",
    )


def agreements_terminate_due(*, today: dt.date) -> int:
    """Terminate every active agreement whose notice period ran out (its ``ends_on`` has
    passed). Safe to rerun: each row is locked and checked again."""
    terminated = 0
    due = Agreement.objects.filter(status=Status.ACTIVE, ends_on__lt=today).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            agreement = lock(Agreement(pk=pk))
            if agreement.status != Status.ACTIVE or agreement.ends_on is None:
                continue
            if agreement.ends_on >= today:
                continue
            noticed_by = termination.notice_given_by(agreement)
            by = f" by {noticed_by.name}" if noticed_by else ""
            noticed_on = agreement.termination_noticed_on
            on = f" on {noticed_on.isoformat()}" if noticed_on else ""
            reason = (
                f"{termination.ground_phrase(agreement.termination_ground).capitalize()}{by}"
                f"{on}: its last day was {agreement.ends_on.isoformat()}."
            )
            lifecycle.transition(agreement, Status.TERMINATED, reason=reason)
            notify("terminated", agreement, reason=reason)
            terminated += 1
    return terminated


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
    """Remind parties 90, 30 and 7 days before the agreement's actual end (its expiry, or
    the day a termination takes effect), once per threshold, even when the daily job missed
    a day."""
    sent = 0
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    candidates = (
        Agreement.objects.annotate(end=end_date_sql())
        .filter(status=Status.ACTIVE, end__gte=today, end__lte=horizon)
        .values_list("pk", flat=True)
    )
    for pk in list(candidates):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            end = end_date(agreement)
            days_left = (end - today).days
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
            if termination.notice_pending(agreement):
                notify("ending", agreement, days=days_left, ends_on=end)
            else:
                notify("expiring", agreement, days=days_left)
            emit(
                "agreement.expiring",
                {"agreement_id": str(agreement.pk), "days": days_left, "ends_on": end.isoformat()},
            )
            sent += 1
    return sent
