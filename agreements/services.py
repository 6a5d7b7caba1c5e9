"""Every write to templates and agreements goes through these services.

Each is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agreements import lifecycle
from agreements.consolidation import ConsolidatedText
from agreements.events import emit
from agreements.models import (
    OPEN_OVERRIDE_STATUSES,
    Agreement,
    Approval,
    Clause,
    ClauseComment,
    ClauseOverride,
    DataElement,
    Decision,
    DSATemplate,
    OverrideKind,
    OverrideResponse,
    OverrideStatus,
    ReminderSent,
    Signature,
    Status,
    TemplateVersion,
    VersionStatus,
)
from agreements.notifications import notify
from agreements.placeholders import (
    PLACEHOLDERS,
    malformed_placeholders,
    unknown_placeholders,
    validate_value,
)
from agreements.selectors import (
    conflicts,
    consolidated_text,
    live_approvals,
    parties,
    with_agreement_detail,
)
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Membership, ResearchQuestion, Role, Trio

type User = AbstractBaseUser

INTENT_STATEMENT = (
    "I, {name}, sign this agreement on behalf of {organisation}. I intend my typed name to be "
    "my signature, I am authorised to bind {organisation}, and I have read the text identified "
    "by SHA-256 {text_hash}."
)
REMINDER_DAYS = (90, 30, 7)


# --- helpers ------------------------------------------------------------------------------


def _reload(agreement: Agreement) -> Agreement:
    """The agreement with everything the consolidated text needs, fresh from the database."""
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _acting_party(
    user: User, agreement: Agreement, role: str, organisation_id: int | None = None
) -> int:
    """The party organisation ``user`` acts for in ``role``; refuses anyone else."""
    party_ids = [m.organisation_id for m in agreement.trio.members.all()]
    memberships = Membership.objects.filter(
        user=user, organisation_id__in=party_ids, role=role
    ).values_list("organisation_id", flat=True)
    if organisation_id is not None:
        memberships = memberships.filter(organisation_id=organisation_id)
    organisation_ids = sorted(set(memberships))
    if not organisation_ids:
        raise DomainError(
            f"Only a party's {Role(role).label.lower()} can do this, and you are not one for "
            "this agreement.",
            code="not_allowed",
        )
    return organisation_ids[0]


def _require_status(agreement: Agreement, allowed: Sequence[str], action: str) -> None:
    if agreement.status not in allowed:
        needed = " or ".join(Status(s).label.lower() for s in allowed)
        raise DomainError(
            f"You can {action} only while the agreement is {needed}; it is "
            f"{agreement.get_status_display().lower()}.",
            code="wrong_status",
        )


def _lock(agreement: Agreement) -> Agreement:
    """Lock the agreement row for this transaction and return it freshly loaded."""
    Agreement.objects.select_for_update().filter(pk=agreement.pk).first()
    return _reload(agreement)


def _text_changed(agreement: Agreement, *, by: User | None, reason: str) -> ConsolidatedText:
    """Recompute the text hash; a different text voids every live approval.

    Called by every service that can change the consolidated text.
    """
    fresh = _reload(agreement)
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


# --- templates ----------------------------------------------------------------------------


def _check_clause_text(clauses: Iterable[tuple[str, str, str]]) -> list[str]:
    """Problems with placeholders in (key, heading, body) triples, as messages."""
    problems = []
    for key, heading, body in clauses:
        text = f"{heading}\n{body}"
        for name in unknown_placeholders(text):
            problems.append(f"Clause “{key}” uses the unknown placeholder [[{name}]].")
        for bad in malformed_placeholders(text):
            problems.append(f"Clause “{key}” has a malformed placeholder: {bad.message}")
    return problems


@transaction.atomic
def template_create(*, collaboratory, name: str, slug: str, description: str = "") -> DSATemplate:
    template = DSATemplate(
        collaboratory=collaboratory, name=name, slug=slug, description=description
    )
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def template_version_create(
    *,
    template: DSATemplate,
    title: str,
    clauses: Sequence[Any],
    notes: str = "",
    copied_from: TemplateVersion | None = None,
) -> TemplateVersion:
    """A new draft version holding ``clauses`` (objects with key, number, heading, body and
    optionally mandatory_for). Keys must be unique."""
    keys = [c.key for c in clauses]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DomainError(f"Clause keys must be unique; repeated: {', '.join(duplicates)}.")
    number = (template.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = TemplateVersion(
        template=template, number=number, title=title, notes=notes, copied_from=copied_from
    )
    version.full_clean()
    version.save()
    rows = []
    for order, clause in enumerate(clauses, start=1):
        row = Clause(
            version=version,
            key=clause.key,
            number=clause.number or str(order),
            heading=clause.heading,
            body=clause.body,
            order=order,
            mandatory_for=getattr(clause, "mandatory_for", "") or "",
        )
        row.full_clean(exclude=["version"], validate_constraints=False)
        rows.append(row)
    Clause.objects.bulk_create(rows)
    return version


@transaction.atomic
def template_version_copy(*, source: TemplateVersion, by: User | None = None) -> TemplateVersion:
    """A new draft version of the same template starting from ``source``'s clauses."""
    return template_version_create(
        template=source.template,
        title=source.title,
        clauses=list(source.clauses.order_by("order")),
        notes=f"Copied from version {source.number}.",
        copied_from=source,
    )


@transaction.atomic
def clause_update(
    *,
    clause: Clause,
    heading: str | None = None,
    body: str | None = None,
    mandatory_for: str | None = None,
) -> Clause:
    """Edit a clause of a draft version; published versions are immutable."""
    locked = TemplateVersion.objects.select_for_update().get(pk=clause.version_id)
    if locked.is_published:
        raise DomainError(
            f"{locked} is published and can no longer change. Create a new version from it "
            "and edit that instead.",
            code="published_immutable",
        )
    for name, value in (("heading", heading), ("body", body), ("mandatory_for", mandatory_for)):
        if value is not None:
            setattr(clause, name, value)
    clause.full_clean()
    clause.save(update_fields=["heading", "body", "mandatory_for"])
    return clause


@transaction.atomic
def template_version_publish(*, version: TemplateVersion, by: User | None) -> TemplateVersion:
    """Publish a draft version: it must have clauses and only known, well-formed placeholders.
    After this it never changes."""
    locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
    if locked.is_published:
        raise DomainError(f"{locked} is already published.", code="already_published")
    clauses = list(locked.clauses.order_by("order"))
    if not clauses:
        raise DomainError("A version needs at least one clause before it can be published.")
    problems = _check_clause_text((c.key, c.heading, c.body) for c in clauses)
    if problems:
        raise DomainError(problems, code="placeholder_problems")
    locked.status = VersionStatus.PUBLISHED
    locked.published_at = timezone.now()
    locked.published_by = by
    locked.save(update_fields=["status", "published_at", "published_by"])
    return locked


# --- agreements ---------------------------------------------------------------------------


def _next_reference(trio: Trio, year: int) -> str:
    """AIMS-2026-007: collaboratory code, year, a sequence per collaboratory and year."""
    collaboratory = (
        type(trio.collaboratory).objects.select_for_update().get(pk=trio.collaboratory_id)
    )
    prefix = f"{collaboratory.code}-{year}-"
    last = (
        Agreement.objects.filter(reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:03d}"


def _clean_placeholder_values(raw: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name, value in (raw or {}).items():
        if name not in PLACEHOLDERS:
            raise DomainError(
                {"placeholder_values": f"[[{name}]] is not a placeholder this product knows."}
            )
        if value in ("", None):
            continue
        parsed = validate_value(name, str(value))
        cleaned[name] = parsed.isoformat() if isinstance(parsed, dt.date) else str(parsed)
    return cleaned


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@transaction.atomic
def agreement_create(
    *,
    trio: Trio,
    template_version: TemplateVersion,
    by: User,
    title: str,
    purpose: str,
    sharing_mode: str,
    start_date: dt.date,
    breach_notice_hours: int,
    retention_days: int,
    research_questions: Iterable[ResearchQuestion] = (),
    term_months: int | None = None,
    expires_on: dt.date | None = None,
    destruction_date: dt.date | None = None,
    placeholder_values: dict[str, Any] | None = None,
) -> Agreement:
    """A draft agreement for ``trio`` from a published template version, by a trio member."""
    if not Membership.objects.filter(user=by, organisation__trio_memberships__trio=trio).exists():
        raise DomainError("Only people of the trio's organisations can start its agreements.")
    if not template_version.is_published:
        raise DomainError(
            {"template_version": f"{template_version} is a draft; choose a published version."}
        )
    if expires_on is None and term_months:
        expires_on = add_months(start_date, term_months)
    if expires_on is None:
        raise DomainError({"expires_on": "Give either a term in months or an expiry date."})
    questions = list(research_questions)
    foreign = [q for q in questions if q.trio_id != trio.pk]
    if foreign:
        raise DomainError({"research_questions": "Choose research questions of this trio."})
    agreement = Agreement(
        trio=trio,
        template_version=template_version,
        title=title.strip(),
        purpose=purpose.strip(),
        sharing_mode=sharing_mode,
        start_date=start_date,
        term_months=term_months,
        expires_on=expires_on,
        breach_notice_hours=breach_notice_hours,
        retention_days=retention_days,
        destruction_date=destruction_date,
        placeholder_values=_clean_placeholder_values(placeholder_values or {}),
        status=Status.DRAFT,
        status_changed_at=timezone.now(),
        created_by=by,
        reference=_next_reference(trio, start_date.year),
    )
    if expires_on <= start_date:
        raise DomainError({"expires_on": "The agreement must expire after it starts."})
    agreement.full_clean()
    agreement.save()
    agreement.research_questions.set(questions)
    _text_changed(agreement, by=by, reason="created")
    return agreement


EDITABLE_FIELDS = {
    "title",
    "purpose",
    "sharing_mode",
    "start_date",
    "term_months",
    "expires_on",
    "breach_notice_hours",
    "retention_days",
    "destruction_date",
    "placeholder_values",
}


@transaction.atomic
def agreement_update(*, agreement: Agreement, by: User, **changes: Any) -> Agreement:
    """Change parameters while the text may still change (draft or negotiating)."""
    agreement = _lock(agreement)
    _require_status(agreement, lifecycle.EDITABLE, "change the agreement's parameters")
    _acting_party_any(by, agreement)
    unknown = set(changes) - EDITABLE_FIELDS - {"research_questions"}
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    questions = changes.pop("research_questions", None)
    if "placeholder_values" in changes:
        changes["placeholder_values"] = _clean_placeholder_values(changes["placeholder_values"])
    for name, value in changes.items():
        setattr(agreement, name, value)
    agreement.full_clean()
    agreement.save(update_fields=[*changes.keys(), "updated_at"])
    if questions is not None:
        if any(q.trio_id != agreement.trio_id for q in questions):
            raise DomainError({"research_questions": "Choose research questions of this trio."})
        agreement.research_questions.set(questions)
    _text_changed(agreement, by=by, reason="parameters changed")
    return agreement


def _acting_party_any(user: User, agreement: Agreement) -> int:
    party_ids = [m.organisation_id for m in agreement.trio.members.all()]
    organisation_id = (
        Membership.objects.filter(user=user, organisation_id__in=party_ids)
        .values_list("organisation_id", flat=True)
        .first()
    )
    if organisation_id is None:
        raise DomainError("Only the parties' people can change this agreement.", code="not_allowed")
    return organisation_id


@transaction.atomic
def data_element_add(
    *,
    agreement: Agreement,
    by: User,
    name: str,
    source,
    recipient,
    identifiability: str,
    research_questions: Iterable[ResearchQuestion],
    description: str = "",
) -> DataElement:
    """Add a data element; it must answer at least one of the trio's research questions."""
    agreement = _lock(agreement)
    _require_status(agreement, lifecycle.EDITABLE, "add data elements")
    _acting_party_any(by, agreement)
    questions = list(research_questions)
    if not questions:
        raise DomainError(
            {
                "research_questions": f"“{name}” answers no research question. Collect only what "
                "answers a question: tie it to at least one, or leave it out."
            },
            code="element_without_question",
        )
    if any(q.trio_id != agreement.trio_id for q in questions):
        raise DomainError({"research_questions": "Choose research questions of this trio."})
    party_ids = {m.organisation_id for m in agreement.trio.members.all()}
    if source.pk not in party_ids or recipient.pk not in party_ids:
        raise DomainError("Source and recipient must both be parties to the agreement.")
    if source.pk == recipient.pk:
        raise DomainError({"recipient": "The recipient must differ from the source."})
    position = agreement.data_elements.count() + 1
    element = DataElement(
        agreement=agreement,
        name=name.strip(),
        description=description.strip(),
        source=source,
        recipient=recipient,
        identifiability=identifiability,
        position=position,
    )
    element.full_clean()
    element.save()
    element.research_questions.set(questions)
    _text_changed(agreement, by=by, reason=f"data element “{element.name}” added")
    return element


@transaction.atomic
def agreement_open_negotiation(*, agreement: Agreement, by: User) -> Agreement:
    _acting_party_any(by, agreement)
    return lifecycle.transition(agreement, Status.NEGOTIATING, by=by)


# --- overrides ----------------------------------------------------------------------------


@transaction.atomic
def override_propose(
    *,
    agreement: Agreement,
    by: User,
    kind: str,
    clause_key: str,
    rationale: str,
    body: str = "",
    heading: str = "",
    new_key: str = "",
    organisation_id: int | None = None,
) -> ClauseOverride:
    """A party's legal team proposes to replace, insert after, or delete one clause.

    A party has one open proposal per clause: a new one supersedes its earlier one.
    Mandatory clauses cannot be deleted. Two parties changing one clause is a conflict.
    """
    agreement = _lock(agreement)
    _require_status(agreement, (Status.NEGOTIATING,), "propose changes")
    organisation_id = _acting_party(by, agreement, Role.LEGAL, organisation_id)
    if kind not in OverrideKind.values:
        raise DomainError({"kind": "Choose replace, insert or delete."})
    rationale, body, heading = rationale.strip(), body.strip(), heading.strip()
    if not rationale:
        raise DomainError({"rationale": "Explain why: every proposed change needs a rationale."})
    text = consolidated_text(agreement)
    template_clauses = {c.key: c for c in agreement.template_version.clauses.all()}
    target = text.clause(clause_key)
    if target is None:
        raise DomainError({"clause_key": f"There is no clause “{clause_key}” in this agreement."})
    if kind == OverrideKind.DELETE:
        template_clause = template_clauses.get(clause_key)
        if template_clause and template_clause.is_mandatory(agreement.sharing_mode):
            raise DomainError(
                {
                    "clause_key": f"“{target.heading}” is mandatory for {agreement.sharing_mode}"
                    "-mode agreements and cannot be deleted. Propose a replacement text instead."
                },
                code="mandatory_clause",
            )
    else:
        if not body:
            raise DomainError({"body": "Write the clause text you propose."})
        problems = _check_clause_text([(new_key or clause_key, heading, body)])
        if problems:
            raise DomainError({"body": problems})
    if kind == OverrideKind.INSERT:
        if not heading:
            raise DomainError({"heading": "Give the new clause a heading."})
        existing_keys = set(template_clauses) | {
            o.new_key
            for o in agreement.overrides.all()
            if o.kind == OverrideKind.INSERT and o.status in OPEN_OVERRIDE_STATUSES
        }
        if not new_key:
            raise DomainError({"new_key": "Give the new clause a key, e.g. data-escrow."})
        if new_key in existing_keys:
            raise DomainError(
                {"new_key": f"The key “{new_key}” is already used in this agreement."}
            )
    if (
        kind == OverrideKind.REPLACE
        and body == target.body
        and (not heading or heading == target.heading)
    ):
        raise DomainError({"body": "The proposed text is the same as the current text."})
    earlier = [
        o
        for o in agreement.overrides.all()
        if o.organisation_id == organisation_id
        and o.status in OPEN_OVERRIDE_STATUSES
        and o.kind != OverrideKind.INSERT
        and kind != OverrideKind.INSERT
        and o.clause_key == clause_key
    ]
    override = ClauseOverride(
        agreement=agreement,
        organisation_id=organisation_id,
        proposed_by=by,
        kind=kind,
        clause_key=clause_key,
        new_key=new_key if kind == OverrideKind.INSERT else "",
        heading=heading,
        body=body if kind != OverrideKind.DELETE else "",
        rationale=rationale,
    )
    override.full_clean()
    override.save()
    had_accepted = any(o.status == OverrideStatus.ACCEPTED for o in earlier)
    if earlier:
        ClauseOverride.objects.filter(pk__in=[o.pk for o in earlier]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
    fresh = _reload(agreement)
    clause_heading = target.heading
    notify(
        "override_proposed",
        fresh,
        actor=by,
        organisation_ids=[
            m.organisation_id
            for m in fresh.trio.members.all()
            if m.organisation_id != organisation_id
        ],
        org=override.organisation.name,
        clause=clause_heading,
        kind=kind,
        rationale=rationale,
    )
    if clause_key in conflicts(fresh) and kind != OverrideKind.INSERT:
        notify("conflict", fresh, actor=by, clause=clause_heading)
    if had_accepted:
        _text_changed(agreement, by=by, reason=f"proposal on “{clause_heading}” revised")
    return override


def _override_for_update(override: ClauseOverride) -> tuple[ClauseOverride, Agreement]:
    agreement = _lock(override.agreement)
    fresh = next(o for o in agreement.overrides.all() if o.pk == override.pk)
    return fresh, agreement


@transaction.atomic
def override_respond(
    *,
    override: ClauseOverride,
    by: User,
    decision: str,
    comment: str = "",
    organisation_id: int | None = None,
) -> ClauseOverride:
    """Another party accepts or rejects a proposal. Accepted by every other party, it becomes
    part of the text; rejected by any, it is out. Conflicted clauses must be resolved first."""
    override, agreement = _override_for_update(override)
    _require_status(agreement, (Status.NEGOTIATING,), "answer proposals")
    organisation_id = _acting_party(by, agreement, Role.LEGAL, organisation_id)
    if organisation_id == override.organisation_id:
        raise DomainError("You cannot answer your own organisation's proposal.")
    if override.status != OverrideStatus.PROPOSED:
        raise DomainError(f"This proposal is already {override.get_status_display().lower()}.")
    if decision not in Decision.values:
        raise DomainError({"decision": "Choose accept or reject."})
    if any(r.organisation_id == organisation_id for r in override.responses.all()):
        raise DomainError("Your organisation has already answered this proposal.")
    if (
        decision == Decision.ACCEPT
        and override.clause_key in conflicts(agreement)
        and (override.kind != OverrideKind.INSERT)
    ):
        raise DomainError(
            "Other parties propose different changes to this clause. Resolve the conflict first: "
            "keep one position or agree a merged text.",
            code="conflict_open",
        )
    if decision == Decision.REJECT and not comment.strip():
        raise DomainError({"comment": "Say why you reject it, so the proposer can respond."})
    OverrideResponse.objects.create(
        override=override,
        organisation_id=organisation_id,
        user=by,
        decision=decision,
        comment=comment.strip(),
    )
    others = {m.organisation_id for m in agreement.trio.members.all()} - {override.organisation_id}
    answered = {r.organisation_id for r in override.responses.all()} | {organisation_id}
    if decision == Decision.REJECT:
        override.status = OverrideStatus.REJECTED
    elif others <= answered:
        override.status = OverrideStatus.ACCEPTED
    if override.status != OverrideStatus.PROPOSED:
        override.decided_at = timezone.now()
        override.save(update_fields=["status", "decided_at"])
    if override.status == OverrideStatus.ACCEPTED:
        _text_changed(agreement, by=by, reason="a proposed change was accepted")
    return override


@transaction.atomic
def override_withdraw(*, override: ClauseOverride, by: User) -> ClauseOverride:
    override, agreement = _override_for_update(override)
    _require_status(agreement, (Status.NEGOTIATING,), "withdraw proposals")
    _acting_party(by, agreement, Role.LEGAL, override.organisation_id)
    if override.status not in OPEN_OVERRIDE_STATUSES:
        raise DomainError(f"This proposal is already {override.get_status_display().lower()}.")
    was_accepted = override.status == OverrideStatus.ACCEPTED
    override.status = OverrideStatus.WITHDRAWN
    override.decided_at = timezone.now()
    override.save(update_fields=["status", "decided_at"])
    if was_accepted:
        _text_changed(agreement, by=by, reason="an accepted change was withdrawn")
    return override


@transaction.atomic
def conflict_resolve(
    *,
    agreement: Agreement,
    clause_key: str,
    by: User,
    keep: ClauseOverride | None = None,
    merged_body: str = "",
    merged_heading: str = "",
    rationale: str = "",
) -> ClauseOverride:
    """End a conflict: keep one party's position, or propose a merged text that replaces
    all of them. What is kept still needs the other parties' acceptance as usual."""
    agreement = _lock(agreement)
    _require_status(agreement, (Status.NEGOTIATING,), "resolve conflicts")
    organisation_id = _acting_party(by, agreement, Role.LEGAL)
    competing = conflicts(agreement).get(clause_key)
    if not competing:
        raise DomainError("There is no open conflict on this clause.")
    if keep is not None:
        if keep.pk not in {o.pk for o in competing}:
            raise DomainError("Choose one of the competing proposals.")
        losers = [o for o in competing if o.pk != keep.pk]
        ClauseOverride.objects.filter(pk__in=[o.pk for o in losers]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
        ClauseComment.objects.create(
            agreement=agreement,
            clause_key=clause_key,
            organisation_id=organisation_id,
            author=by,
            body=f"Conflict resolved: kept the position of {keep.organisation.name}. "
            + rationale.strip(),
        )
        result = next(o for o in competing if o.pk == keep.pk)
    else:
        if not merged_body.strip():
            raise DomainError({"merged_body": "Write the merged clause text."})
        ClauseOverride.objects.filter(pk__in=[o.pk for o in competing]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
        result = ClauseOverride(
            agreement=agreement,
            organisation_id=organisation_id,
            proposed_by=by,
            kind=OverrideKind.REPLACE,
            clause_key=clause_key,
            heading=merged_heading.strip(),
            body=merged_body.strip(),
            rationale=rationale.strip() or "Merged text resolving conflicting proposals.",
        )
        result.full_clean()
        result.save()
        result.resolves.set(competing)
    if any(o.status == OverrideStatus.ACCEPTED for o in competing):
        _text_changed(agreement, by=by, reason="a conflict was resolved")
    return result


@transaction.atomic
def clause_comment_add(
    *, agreement: Agreement, by: User, clause_key: str, body: str
) -> ClauseComment:
    organisation_id = _acting_party_any(by, agreement)
    if not body.strip():
        raise DomainError({"body": "Write a comment."})
    comment = ClauseComment(
        agreement=agreement,
        clause_key=clause_key,
        organisation_id=organisation_id,
        author=by,
        body=body.strip(),
    )
    comment.full_clean()
    comment.save()
    return comment


# --- review, approval, signature ----------------------------------------------------------


def review_blockers(agreement: Agreement) -> list[str]:
    """Why the agreement cannot go to review yet (empty when it can)."""
    blockers = []
    for key, overrides in conflicts(agreement).items():
        names = " and ".join(sorted({o.organisation.name for o in overrides}))
        blockers.append(f"Conflict on clause “{key}” between {names}: resolve it first.")
    pending = [o for o in agreement.overrides.all() if o.status == OverrideStatus.PROPOSED]
    pending = [o for o in pending if o.clause_key not in conflicts(agreement)]
    for override in pending:
        blockers.append(
            f"{override.organisation.name}'s proposal on “{override.target_key}” still waits for "
            "an answer."
        )
    text = consolidated_text(agreement)
    if text.unfilled:
        blockers.append(
            "Unfilled placeholders: " + ", ".join(f"[[{n}]]" for n in text.unfilled) + "."
        )
    if not agreement.data_elements.all():
        blockers.append("List at least one data element: what data will be shared.")
    from consent.rules import consent_blockers

    blockers.extend(consent_blockers(agreement))
    return blockers


@transaction.atomic
def agreement_submit_for_review(*, agreement: Agreement, by: User) -> Agreement:
    """negotiating -> in_review: needs no conflicts, no open proposals, no unfilled
    placeholders. Freezes the text for approval."""
    agreement = _lock(agreement)
    _acting_party_any(by, agreement)
    lifecycle.step_for(agreement.status, Status.IN_REVIEW)
    blockers = review_blockers(agreement)
    if blockers:
        raise DomainError(blockers, code="not_ready_for_review")
    _text_changed(agreement, by=by, reason="submitted for review")
    lifecycle.transition(agreement, Status.IN_REVIEW, by=by)
    notify("ready_for_review", agreement)
    return agreement


@transaction.atomic
def agreement_reopen(*, agreement: Agreement, by: User, reason: str) -> Agreement:
    """in_review -> negotiating by a party's legal team; live approvals are voided."""
    agreement = _lock(agreement)
    _acting_party(by, agreement, Role.LEGAL)
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
    agreement = _lock(agreement)
    _require_status(agreement, (Status.IN_REVIEW,), "approve")
    organisation_id = _acting_party(by, agreement, Role.LEGAL, organisation_id)
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
        lifecycle.transition(agreement, Status.SIGNING, by=by)
        notify("ready_to_sign", agreement)
    return approval


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
    agreement = _lock(agreement)
    _require_status(agreement, (Status.SIGNING,), "sign")
    organisation_id = _acting_party(by, agreement, Role.SIGNATORY, organisation_id)
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
    agreement = _lock(agreement)
    allowed = False
    for role in (Role.SIGNATORY, Role.DIRECTOR):
        try:
            _acting_party(by, agreement, role)
            allowed = True
            break
        except DomainError:
            continue
    if not allowed:
        raise DomainError(
            "Only a party's signatory or research director can terminate.", code="not_allowed"
        )
    lifecycle.transition(agreement, Status.TERMINATED, by=by, reason=reason)
    notify("terminated", agreement, actor=by, reason=reason.strip())
    return agreement


# --- scheduled ----------------------------------------------------------------------------


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


@transaction.atomic
def template_import(*, template: DSATemplate, filename: str, data: bytes, by: User | None = None):
    """Import a Markdown or .docx file as a new draft version of ``template``.

    Returns ``(version or None, report)``: with any error in the report nothing is created.
    """
    from agreements.template_io import parse_docx, parse_markdown

    lowered = filename.lower()
    if lowered.endswith(".docx"):
        report = parse_docx(data)
    elif lowered.endswith((".md", ".markdown", ".txt")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                f"{filename} is not UTF-8 text. Save it as UTF-8 Markdown, or upload a .docx."
            ) from None
        report = parse_markdown(text)
    else:
        raise DomainError(
            f"{filename}: upload a Markdown file (.md) with one ## heading per clause, or a Word "
            "file (.docx) whose Heading 2 paragraphs start clauses."
        )
    if not report.ok:
        return None, report
    version = template_version_create(
        template=template,
        title=report.title or template.name,
        clauses=report.clauses,
        notes=f"Imported from {filename}.",
    )
    return version, report
