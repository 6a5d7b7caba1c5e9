"""Reads behind the legal-review pages: comparisons of visible agreements, the text of an
agreement at an earlier point, visible template versions and facilitators' templates.

Agreements are found through ``agreement_detail_for_user`` by the views; the functions here
take rows found that way. The pure comparison logic lives in ``agreements.comparisons``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.apps import apps
from django.db.models import Model, Q, QuerySet

from agreements import parameters
from agreements.models import (
    Agreement,
    Clause,
    ClauseOverride,
    DataElement,
    DSATemplate,
    OverrideStatus,
    TemplateVersion,
    VersionStatus,
)
from agreements.ownership.models import OwnershipPosition
from agreements.ownership.selectors import ownership_as_of
from agreements.selectors import (
    TEXT_PREFETCHES,
    agreements_visible_to,
    conflicts,
    consolidated_text,
    placeholder_values,
)
from agreements.text import comparisons
from agreements.text.comparisons import Comparison
from agreements.text.consolidation import ConsolidatedText, read_frame
from collaboratory.json_prefetch import with_json_prefetch
from partners.models import ResearchQuestion
from partners.selectors import AnyUser, staffed_collaboratories, trios_visible_to

# --- Agreement against its template ---------------------------------------------------------


def agreement_for_comparison(user: AnyUser) -> QuerySet[Agreement]:
    """Agreements ``user`` may see, with what their consolidated text, conflicts and redline
    authors need and nothing more, in one query (``agreement_detail_for_user`` also loads
    approvals, signatures and transitions, which comparisons do not show)."""
    return with_json_prefetch(
        agreements_visible_to(user).select_related(
            "trio__collaboratory", "template_version__template"
        ),
        *TEXT_PREFETCHES,
    )


def standard_text(agreement: Agreement, text: ConsolidatedText | None = None) -> ConsolidatedText:
    """The agreement's template version as this agreement would read with no overrides: its
    parameters as they were before any accepted proposal changed them, its fill-ins and
    data-element schedule (so none of those is a deviation)."""
    text = text or consolidated_text(agreement)
    version = agreement.template_version
    return comparisons.standard_text(
        list(version.clauses.all()),
        # The values before any accepted proposal changed a term: a negotiated term is a
        # deviation from the standard like any changed words.
        parameters.before_changes(placeholder_values(agreement), accepted_overrides(agreement)),
        read_frame(version.frame),
        text.schedule,
        agreement.fillins,
    )


def agreement_comparison(agreement: Agreement, text: ConsolidatedText | None = None) -> Comparison:
    """The agreement's consolidated text against its template version, clause by clause
    (use on a row from ``agreement_for_comparison`` or ``agreement_detail_for_user``: no
    further queries)."""
    text = text or consolidated_text(agreement)
    version = agreement.template_version
    standard = standard_text(agreement, text)
    return comparisons.agreement_vs_template(
        text,
        standard,
        conflict_keys=set(conflicts(agreement)),
        template_label=f"{version.template.name} v{version.number}",
        agreement_label=agreement.reference,
    )


def accepted_overrides(agreement: Agreement) -> list[ClauseOverride]:
    return [o for o in agreement.overrides.all() if o.status == OverrideStatus.ACCEPTED]


# --- The text at an earlier point -----------------------------------------------------------


@dataclass(frozen=True)
class EarlierPoint:
    """A moment whose text a legal user may want to compare with the text now."""

    ident: str
    label: str
    at: dt.datetime
    text_hash: str
    same_as_now: bool


def earlier_points(agreement: Agreement) -> list[EarlierPoint]:
    """Approvals (voided ones first of all) and lifecycle steps, newest first, from the
    prefetched rows of ``agreement_detail_for_user``."""
    points = []
    for approval in agreement.approvals.all():
        who = approval.user.get_full_name() or approval.user.get_username()
        label = f"Text approved by {approval.organisation.name} ({who})"
        if approval.voided_at:
            label += " — approval voided"
            if approval.voided_reason:
                label += f": {approval.voided_reason}"
        points.append(
            EarlierPoint(
                ident=f"approval-{approval.pk}",
                label=label,
                at=approval.created_at,
                text_hash=approval.text_hash,
                same_as_now=approval.text_hash == agreement.text_hash,
            )
        )
    for step in agreement.transitions.all():
        if not step.text_hash:
            continue
        points.append(
            EarlierPoint(
                ident=f"transition-{step.pk}",
                label=f"{step.get_from_status_display()} → {step.get_to_status_display()}",
                at=step.at,
                text_hash=step.text_hash,
                same_as_now=step.text_hash == agreement.text_hash,
            )
        )
    return sorted(points, key=lambda p: p.at, reverse=True)


def _prefetched[M: Model](instance: Model, name: str, model: type[M], objects: list[M]) -> None:
    """Make ``instance.<name>.all()`` return ``objects`` without a query, as a prefetch does,
    so the one ``consolidated_text`` function serves reconstructed rows too."""
    queryset = model._default_manager.all()
    queryset._result_cache = objects
    queryset._prefetch_done = True  # type: ignore[attr-defined]  # private, not in the stubs
    # The cache Django's prefetch keeps on the instance (set only once something is prefetched).
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


class _RecordedState(Protocol):
    """A pghistory event: one state of a tracked row, plus pghistory's own columns."""

    @property
    def pgh_obj_id(self) -> object: ...


def _events(model: type[Model], **filters: object) -> QuerySet[Any]:
    """pghistory's recorded states of rows of ``model``, oldest first. pghistory builds the
    event models at run time, so their rows are typed ``Any``: they carry the tracked model's
    fields under the same names, plus ``pgh_obj_id`` and ``pgh_created_at``."""
    events = apps.get_model(model._meta.app_label, f"{model.__name__}Event")
    return events._default_manager.filter(**filters).order_by("pgh_id")


def _as_of[E: _RecordedState](
    events: Iterable[E], at: dt.datetime, when: Callable[[E], dt.datetime]
) -> list[E]:
    """The last state of each row that took effect at or before ``at``.

    ``when`` gives the moment a state took effect from the row's own timestamps, set by the
    services with the clock as they write (``decided_at``, ``updated_at``), rather than
    pghistory's ``pgh_created_at``, which is the start of the writing transaction and so the
    same for every step of a long one.
    """
    latest: dict[object, E] = {}
    for event in events:
        if when(event) <= at:
            latest[event.pgh_obj_id] = event
    return list(latest.values())


def _override_took_effect(event: Any) -> dt.datetime:
    if event.status != OverrideStatus.PROPOSED and event.decided_at:
        return event.decided_at
    return event.created_at


def _row[M: Model](model: type[M], event: Model) -> M:
    """A ``model`` instance (not saved) with the field values recorded in ``event``."""
    return model(**{f.attname: getattr(event, f.attname) for f in model._meta.concrete_fields})


def _snapshot(agreement: Agreement, at: dt.datetime) -> Agreement | None:
    """``agreement`` as its history records it at ``at``: its fields, its overrides (with the
    status each had then) and its data elements. None before it existed."""
    states = _as_of(_events(Agreement, pgh_obj_id=agreement.pk), at, lambda e: e.updated_at)
    if not states:
        return None
    state = states[0]
    snapshot = _row(Agreement, state)
    snapshot.trio = agreement.trio
    if snapshot.template_version_id == agreement.template_version_id:
        snapshot.template_version = agreement.template_version
    else:
        version = TemplateVersion.objects.select_related("template").get(
            pk=snapshot.template_version_id
        )
        _prefetched(version, "clauses", Clause, list(version.clauses.order_by("order")))
        snapshot.template_version = version
    overrides = sorted(
        (
            _row(ClauseOverride, e)
            for e in _as_of(_events(ClauseOverride, agreement=agreement), at, _override_took_effect)
        ),
        key=lambda o: (o.created_at, o.pk),
    )
    _prefetched(snapshot, "overrides", ClauseOverride, overrides)
    current_elements = {e.pk: e for e in agreement.data_elements.all()}
    elements = []
    # Data elements carry no timestamp of their own; they are only ever added.
    element_events = _events(DataElement, agreement=agreement).select_related("source", "recipient")
    # Each party's ownership position as it stood then (restating one replaces the row).
    positions: dict[int, list[OwnershipPosition]] = {}
    position_events = _events(OwnershipPosition, data_element__agreement=agreement)
    for event in _as_of(position_events, at, lambda e: e.stated_at):
        positions.setdefault(event.data_element_id, []).append(_row(OwnershipPosition, event))
    for event in _as_of(element_events, at, lambda e: e.pgh_created_at):
        element = _row(DataElement, event)
        element.source, element.recipient = event.source, event.recipient
        # Which questions an element answers is set when it is added and never changes.
        current = current_elements.get(element.pk)
        questions = list(current.research_questions.all()) if current else []
        _prefetched(element, "research_questions", ResearchQuestion, questions)
        ownership_as_of(
            element,
            current,
            at,
            sorted(positions.get(element.pk, []), key=lambda p: (p.organisation_id, p.pk)),
        )
        elements.append(element)
    elements.sort(key=lambda e: (e.position, e.pk))
    _prefetched(snapshot, "data_elements", DataElement, elements)
    return snapshot


@dataclass(frozen=True)
class EarlierText:
    text: ConsolidatedText
    verified: bool  # its SHA-256 is the one recorded for that point


def text_as_of(agreement: Agreement, point: EarlierPoint) -> EarlierText | None:
    """The consolidated text at ``point``, rebuilt from the history of the agreement, its
    overrides and its data elements, and checked against the SHA-256 recorded then.

    When the state at the point's moment does not give that hash (a change committed by a
    transaction that began just before), the moments the agreement's stored hash became that
    value are tried too. None when nothing was recorded before the point.
    """
    moments = [point.at]
    agreement_events = apps.get_model("agreements", "AgreementEvent")
    moments += list(
        agreement_events.objects.filter(
            pgh_obj_id=agreement.pk, text_hash=point.text_hash, updated_at__lte=point.at
        )
        .order_by("-pgh_id")
        .values_list("updated_at", flat=True)[:3]
    )
    first: ConsolidatedText | None = None
    for moment in moments:
        snapshot = _snapshot(agreement, moment)
        if snapshot is None:
            continue
        text = consolidated_text(snapshot)
        if text.sha256 == point.text_hash:
            return EarlierText(text=text, verified=True)
        first = first or text
    return EarlierText(text=first, verified=False) if first else None


# --- Templates and collaboratories ----------------------------------------------------------


def template_versions_visible_to(user: AnyUser) -> QuerySet[TemplateVersion]:
    """Published versions of the templates of collaboratories where ``user`` sees a trio;
    drafts too for the collaboratory's facilitators."""
    in_reach = trios_visible_to(user).values("collaboratory_id")
    staffed = staffed_collaboratories(user).values("id")
    return TemplateVersion.objects.filter(
        Q(template__collaboratory_id__in=in_reach, status=VersionStatus.PUBLISHED)
        | Q(template__collaboratory_id__in=staffed)
    ).select_related("template")


def templates_for_facilitator(user: AnyUser) -> QuerySet[DSATemplate]:
    """Templates of the collaboratories ``user`` staffs (with their collaboratory)."""
    return DSATemplate.objects.filter(
        collaboratory__in=staffed_collaboratories(user)
    ).select_related("collaboratory")


def template_for_facilitator(user: AnyUser, collaboratory: str, template: str) -> DSATemplate:
    """The template ``collaboratory/template`` (slugs) if ``user`` staffs its collaboratory;
    raises ``DSATemplate.DoesNotExist`` otherwise (the view answers 404)."""
    return templates_for_facilitator(user).get(collaboratory__slug=collaboratory, slug=template)


def newer_versions(version: TemplateVersion) -> QuerySet[TemplateVersion]:
    """Published versions of the same template with a higher number, newest first."""
    return (
        TemplateVersion.objects.filter(
            template_id=version.template_id,
            number__gt=version.number,
            status=VersionStatus.PUBLISHED,
        )
        .select_related("template")
        .order_by("-number")
    )
