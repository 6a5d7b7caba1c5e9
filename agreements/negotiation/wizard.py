"""Creating a draft from the answers of the guided "new agreement" flow (agreements/web/wizard.py).

One service, so the view only collects answers: the trio's new research question, the draft,
its data elements and what the steps of the apps above agreements add (consent's requirement,
``agreements.extensions.wizard_steps``) are written in one transaction.

Only the purpose statement binds: it fills ``[[purpose_summary]]`` in the text. The informal
answers (goals, how success is measured, what each partner gains) go to the agreement's
non-binding ``project_summary`` and never into the text (issue 16): a gain written into the
Purpose clause would widen what the data may be used for. ``binding_purpose`` shows the
summary step the clause as it will read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from agreements import extensions
from agreements.access import User
from agreements.models import Agreement, TemplateVersion
from agreements.negotiation.coherence import mismatches
from agreements.negotiation.services import agreement_create, data_element_add
from agreements.selectors import placeholder_values as agreement_values
from agreements.text.consolidation import (
    ConsolidatedClause,
    ConsolidatedText,
    consolidate,
    read_frame,
    template_part,
)
from agreements.text.document.plain import blocks_text
from collaboratory.errors import DomainError
from partners.models import Organisation, Trio
from partners.services import research_question_add

#: How the answers name the research question added in the flow (the others by their id).
NEW_QUESTION = "new"

#: The keys of ``Agreement.project_summary`` the flow writes, with how pages name them.
PROJECT_SUMMARY = {
    "goals": "What the partnership hopes to achieve",
    "success": "How success will be measured",
    "benefits": "What each partner gains",
}

#: The placeholder the purpose statement fills.
PURPOSE_PLACEHOLDER = "purpose_summary"


@dataclass(frozen=True)
class DataElementAnswer:
    """One data element as the data step collected it."""

    name: str
    source: Organisation
    recipient: Organisation
    identifiability: str
    #: Research questions it answers: the ids of the trio's questions, or ``NEW_QUESTION``.
    research_questions: Sequence[str]
    description: str = ""


@transaction.atomic
def agreement_create_from_wizard(
    *,
    trio: Trio,
    by: User,
    template_version: TemplateVersion,
    title: str,
    purpose: str,
    sharing_mode: str,
    start_date: dt.date,
    term_months: int | None,
    expires_on: dt.date,
    destruction_date: dt.date,
    breach_notice_hours: int,
    retention_days: int,
    placeholder_values: Mapping[str, Any],
    research_questions: Sequence[str],
    new_question: str = "",
    elements: Sequence[DataElementAnswer],
    step_answers: Mapping[str, Any] | None = None,
    project_summary: Mapping[str, str] | None = None,
) -> Agreement:
    """The draft, its data elements and what the other apps' steps add, all or nothing.

    The rule: a refusal anywhere (the draft, an element that answers no question, an element
    the sharing mode does not admit, consent's requirement) leaves nothing behind, not even the
    new research question. ``research_questions`` are ids of the trio's questions (others are
    ignored); ``new_question``, when given, is added to the trio first so the agreement and its
    elements can answer it. ``step_answers`` holds the answers of the registered
    ``extensions.wizard_steps`` by slug; a step without answers adds nothing.

    ``purpose`` is the purpose statement alone: the words the Purpose clause quotes.
    ``project_summary`` holds the informal answers, stored as ``Agreement.project_summary``
    and never part of the text; its keys (``PROJECT_SUMMARY``):

    - ``goals``: what the partnership hopes to achieve;
    - ``success``: how success will be measured;
    - ``benefits``: what each partner gains.

    Empty answers are left out; another key is refused.
    """
    summary = {k: (v or "").strip() for k, v in (project_summary or {}).items()}
    unknown = sorted(set(summary) - set(PROJECT_SUMMARY))
    if unknown:
        raise DomainError(f"The project summary has no {', '.join(unknown)}.")
    blockers = mismatches(sharing_mode, [(e.name, e.identifiability) for e in elements])
    if blockers:
        raise DomainError(blockers)
    chosen = {str(q.pk): q for q in trio.research_questions.all()}
    if new_question:
        chosen[NEW_QUESTION] = research_question_add(trio=trio, text=new_question)
    wanted = [*research_questions, *([NEW_QUESTION] if new_question else [])]
    agreement = agreement_create(
        trio=trio,
        template_version=template_version,
        by=by,
        title=title,
        purpose=purpose,
        sharing_mode=sharing_mode,
        start_date=start_date,
        term_months=term_months,
        expires_on=expires_on,
        breach_notice_hours=breach_notice_hours,
        retention_days=retention_days,
        destruction_date=destruction_date,
        research_questions=[chosen[q] for q in wanted if q in chosen],
        placeholder_values=dict(placeholder_values),
    )
    agreement.project_summary = {k: v for k, v in summary.items() if v}
    if agreement.project_summary:
        agreement.save(update_fields=["project_summary"])
    for element in elements:
        data_element_add(
            agreement=agreement,
            by=by,
            name=element.name,
            description=element.description,
            source=element.source,
            recipient=element.recipient,
            identifiability=element.identifiability,
            research_questions=[chosen[q] for q in element.research_questions if q in chosen],
        )
    answers = step_answers or {}
    for step in extensions.wizard_steps:
        if step.slug in answers:
            step.create(agreement=agreement, by=by, answers=answers[step.slug])
    return agreement


def binding_purpose(draft: Agreement) -> tuple[ConsolidatedText, list[ConsolidatedClause]]:
    """The text of ``draft`` (an agreement not saved yet, made from the answers) and the parts
    of it that quote the purpose statement, as they will read once the draft is created: its
    template's parts, no proposals, the parameters filled as the agreement page fills them.
    An empty list means the template does not quote the purpose (it may have a blank there
    instead, filled in on the agreement page)."""
    clauses = list(draft.template_version.clauses.all())
    quoting = {
        clause.key
        for clause in clauses
        if f"[[{PURPOSE_PLACEHOLDER}]]" in "\n".join(blocks_text(template_part(clause).blocks))
    }
    text = consolidate(
        clauses=clauses,
        accepted_overrides=(),
        values=agreement_values(draft),
        frame=read_frame(draft.template_version.frame),
    )
    return text, [clause for clause in text.clauses if clause.key in quoting]
