"""Legal review of the consolidated text: what blocks review, submit, reopen, approve, and what
a change to the text voids.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agreements import extensions, lifecycle, parameters
from agreements.access import User, acting_party
from agreements.lifecycle import lock, reload, require_status
from agreements.models import (
    Agreement,
    Approval,
    Status,
)
from agreements.negotiation.coherence import identifiability_mismatches
from agreements.negotiation.pending import end_sentence, party_names, pending_proposals
from agreements.notifications import notify
from agreements.ownership.rules import ownership_blockers
from agreements.selectors import (
    conflicts,
    consolidated_text,
    live_approvals,
    parties,
)
from agreements.terms_check import term_problems
from agreements.text.consolidation import ConsolidatedText
from agreements.text.titles import clause_titles
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Role


def text_changed(agreement: Agreement, *, by: User | None, reason: str) -> ConsolidatedText:
    """Recompute the text hash; a different text voids every live approval.

    Called by every service that can change the consolidated text.
    """
    fresh = reload(agreement)
    text = consolidated_text(fresh)
    if text.sha256 == fresh.text_hash:
        return text
    Agreement.objects.filter(pk=fresh.pk).update(text_hash=text.sha256, updated_at=timezone.now())
    agreement.text_hash = text.sha256
    voided = live_approvals(fresh)
    if voided:
        Approval.objects.filter(pk__in=[a.pk for a in voided]).update(
            voided_at=timezone.now(), voided_reason=reason[:500]
        )
        notify(
            "approval_voided",
            fresh,
            actor=by,
            user_ids=[a.user_id for a in voided],
            reason=reason,
        )
    if fresh.status == Status.IN_REVIEW:
        lifecycle.transition(fresh, Status.NEGOTIATING, by=by, reason=reason)
        agreement.status = Status.NEGOTIATING
    return text


def review_blockers(agreement: Agreement) -> list[str]:
    """Why the agreement cannot go to review yet (empty when it can): conflicts, open
    proposals, unfilled placeholders, open fill-in blanks (each named), no data element, and
    what the apps above agreements register in ``agreements.extensions.review_blockers``."""
    blockers = []
    text = consolidated_text(agreement)
    titles = clause_titles(text)
    open_conflicts = conflicts(agreement)
    for key, overrides in open_conflicts.items():
        names = party_names(sorted({o.organisation for o in overrides}, key=lambda o: o.name))
        blockers.append(
            f"{names} propose different changes to {titles.get(key, 'a clause')}: "
            "settle the conflict first."
        )
    for item in pending_proposals(agreement, titles):
        if item.override.clause_key in open_conflicts:
            continue
        blockers.append(
            end_sentence(
                f"{item.override.organisation.name}'s proposal on {item.title} waits for an "
                f"answer from {item.waits_for_names}"
            )
        )
    if text.unfilled:
        blockers.append(
            "Terms not filled in yet: "
            + ", ".join(parameters.label(name) for name in text.unfilled)
            + "."
        )
    # Every blank is filled in or marked not applicable (agreements.text.document.blanks).
    blockers.extend(fillin.not_filled for fillin in text.open_blanks)
    if not agreement.data_elements.all():
        blockers.append("List at least one data element: what data will be shared.")
    # Identifiable or pseudonymous data under the aggregate-only mode (the wizard flags it too).
    blockers.extend(identifiability_mismatches(agreement))
    # Ownership raised on a data element is settled: one position, or agreed to differ.
    blockers.extend(ownership_blockers(agreement))
    # What the text states is what every output says (agreements.terms_check).
    blockers.extend(str(problem) for problem in term_problems(agreement, text))
    # The apps above agreements add theirs (consent: a consent requirement where needed).
    for blockers_of in extensions.review_blockers:
        blockers.extend(blockers_of(agreement))
    return blockers


@transaction.atomic
def agreement_submit_for_review(*, agreement: Agreement, by: User) -> Agreement:
    """negotiating -> in_review: needs no conflicts, no open proposals, no unfilled
    placeholders or blanks. Freezes the text for approval."""
    agreement = lock(agreement)
    acting_party(by, agreement, action="change this agreement")
    lifecycle.step_for(agreement.status, Status.IN_REVIEW)
    blockers = review_blockers(agreement)
    if blockers:
        raise DomainError(blockers, code="not_ready_for_review")
    text_changed(agreement, by=by, reason="submitted for review")
    lifecycle.transition(agreement, Status.IN_REVIEW, by=by)
    notify("ready_for_review", agreement)
    return agreement


@transaction.atomic
def agreement_reopen(*, agreement: Agreement, by: User, reason: str) -> Agreement:
    """in_review -> negotiating by a party's legal team; live approvals are voided."""
    agreement = lock(agreement)
    acting_party(by, agreement, Role.LEGAL)
    lifecycle.transition(agreement, Status.NEGOTIATING, by=by, reason=reason)
    voided = live_approvals(agreement)
    if voided:
        Approval.objects.filter(pk__in=[a.pk for a in voided]).update(
            voided_at=timezone.now(), voided_reason=f"negotiation reopened: {reason.strip()}"[:500]
        )
        notify(
            "approval_voided",
            agreement,
            actor=by,
            user_ids=[a.user_id for a in voided],
            reason=reason.strip(),
        )
    return agreement


@transaction.atomic
def agreement_approve(
    *,
    agreement: Agreement,
    by: User,
    text_hash: str,
    ip_address: str | None = None,
    user_agent: str = "",
    organisation_id: int | None = None,
) -> Approval:
    """A party's legal approves the exact text it saw (``text_hash``). When every party has
    approved the same text, the agreement moves to signing."""
    agreement = lock(agreement)
    require_status(agreement, (Status.IN_REVIEW,), "approve")
    organisation_id = acting_party(by, agreement, Role.LEGAL, organisation_id=organisation_id)
    current = consolidated_text(agreement).sha256
    if text_hash != current:
        raise DomainError(
            "The text changed since you opened it. Reload the page, read the current text and "
            "approve that.",
            code="stale_text",
        )
    if any(a.organisation_id == organisation_id for a in live_approvals(agreement)):
        raise DomainError("Your organisation has already approved this text.")
    approval = Approval.objects.create(
        agreement=agreement,
        organisation_id=organisation_id,
        user=by,
        text_hash=current,
        ip_address=ip_address,
        user_agent=user_agent[:500],
    )
    audit_record(
        action=AuditAction.APPROVAL,
        target=agreement,
        actor=by,
        organisation_id=organisation_id,
        payload={"approval_id": approval.pk, "text_hash": current, "ip_address": ip_address},
    )
    approved = {
        a.organisation_id
        for a in Approval.objects.filter(
            agreement=agreement, voided_at__isnull=True, text_hash=current
        )
    }
    if approved >= {m.organisation_id for m in parties(agreement)}:
        # The last check before signatures: the text and every output agree on the terms.
        problems = term_problems(agreement)
        if problems:
            raise DomainError([str(p) for p in problems], code="terms_disagree")
        lifecycle.transition(agreement, Status.SIGNING, by=by)
        notify("ready_to_sign", agreement)
    return approval
