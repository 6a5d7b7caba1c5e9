"""Writes while an agreement is drafted: create, edit, data elements, open negotiation.
Proposals, answers, conflicts and comments are in ``negotiation/proposals.py``.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements import lifecycle
from agreements.access import User, acting_party
from agreements.lifecycle import lock, require_status
from agreements.models import (
    Agreement,
    DataElement,
    Status,
    TemplateVersion,
)
from agreements.parameters import add_months
from agreements.review.services import text_changed
from agreements.text.placeholders import (
    PLACEHOLDERS,
    validate_value,
)
from collaboratory.errors import DomainError
from partners.models import Membership, ResearchQuestion, Trio


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
    text_changed(agreement, by=by, reason="created")
    return agreement


EDITABLE_FIELDS = {
    "termination_notice_days",
    "cure_days",
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
    agreement = lock(agreement)
    require_status(agreement, lifecycle.EDITABLE, "change the agreement's parameters")
    acting_party(by, agreement, action="change this agreement")
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
    text_changed(agreement, by=by, reason="parameters changed")
    return agreement


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
    agreement = lock(agreement)
    require_status(agreement, lifecycle.EDITABLE, "add data elements")
    acting_party(by, agreement, action="change this agreement")
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
    text_changed(agreement, by=by, reason=f"data element “{element.name}” added")
    return element


@transaction.atomic
def agreement_open_negotiation(*, agreement: Agreement, by: User) -> Agreement:
    acting_party(by, agreement, action="change this agreement")
    return lifecycle.transition(agreement, Status.NEGOTIATING, by=by)
