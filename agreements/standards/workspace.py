"""Reads behind the template workspace (``agreements.web.template_workspace``): the templates
and versions a facilitator manages, what the wizard offers, and the changes a publication
makes against the last published version.

Only the facilitators (staff) of a template's collaboratory reach these rows; the views answer
404 to everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from agreements.choices import TemplateUsage, VersionStatus
from agreements.models import Clause, DSATemplate, TemplateVersion
from agreements.text.consolidation import read_frame, template_part
from agreements.text.document.model import Document
from agreements.text.titles import OPENING, numbered_heading
from partners.selectors import AnyUser, staffed_collaboratories


def workspace_templates(user: AnyUser) -> QuerySet[DSATemplate]:
    """The templates of the collaboratories ``user`` facilitates."""
    return DSATemplate.objects.filter(
        collaboratory__in=staffed_collaboratories(user)
    ).select_related("collaboratory")


def workspace_templates_with_versions(user: AnyUser) -> QuerySet[DSATemplate]:
    """:func:`workspace_templates`, each with its versions newest first (who published them
    and how many agreements use them) in one more query."""
    versions = (
        TemplateVersion.objects.select_related("published_by", "retired_by")
        .annotate(agreement_count=Count("agreements"))
        .order_by("-number")
    )
    return (
        workspace_templates(user)
        .prefetch_related(Prefetch("versions", queryset=versions))
        .order_by("collaboratory__name", "name")
    )


def workspace_versions(user: AnyUser) -> QuerySet[TemplateVersion]:
    """Versions of the templates ``user`` facilitates (drafts included)."""
    return TemplateVersion.objects.filter(
        template__collaboratory__in=staffed_collaboratories(user)
    ).select_related("template__collaboratory", "published_by", "retired_by")


def offered_versions() -> QuerySet[TemplateVersion]:
    """What the agreement wizard offers: published, not retired versions of templates
    published for use (never a draft or test template)."""
    return TemplateVersion.objects.filter(
        status=VersionStatus.PUBLISHED,
        retired_at__isnull=True,
        template__usage=TemplateUsage.IN_USE,
    ).select_related("template")


def last_published_before(version: TemplateVersion) -> TemplateVersion | None:
    """The newest published version of the same template numbered below ``version``."""
    return (
        TemplateVersion.objects.filter(
            template_id=version.template_id,
            status=VersionStatus.PUBLISHED,
            number__lt=version.number,
        )
        .order_by("-number")
        .first()
    )


def clause_label(clause: Clause) -> str:
    """ "7. Data security": a clause as the document names it."""
    return numbered_heading(clause.number, clause.heading) or OPENING


@dataclass(frozen=True)
class VersionChanges:
    """What ``new`` changes against ``old``, clause by clause (matched by key), in titles."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    moved: list[str]

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.moved)


def version_changes(old: TemplateVersion | None, new: TemplateVersion) -> VersionChanges:
    """Clauses added, removed, changed (heading or text) and moved between two versions."""
    new_clauses = list(new.clauses.order_by("order"))
    if old is None:
        return VersionChanges([clause_label(c) for c in new_clauses], [], [], [])
    old_clauses = {c.key: c for c in old.clauses.order_by("order")}
    new_keys = {c.key for c in new_clauses}
    added, changed = [], []
    for clause in new_clauses:
        before = old_clauses.get(clause.key)
        if before is None:
            added.append(clause_label(clause))
        elif (before.heading, before.body.strip()) != (clause.heading, clause.body.strip()):
            was, now = clause_label(before), clause_label(clause)
            changed.append(now if was == now else f"{was} → {now}")
    removed = [clause_label(c) for key, c in old_clauses.items() if key not in new_keys]
    old_order = [k for k in old_clauses if k in new_keys]
    new_order = [c.key for c in new_clauses if c.key in old_clauses]
    moved = []
    if old_order != new_order:
        moved = [
            clause_label(c)
            for c in new_clauses
            if c.key in old_clauses and old_order.index(c.key) != new_order.index(c.key)
        ]
    return VersionChanges(added, removed, changed, moved)


def version_document_of(version: TemplateVersion, clauses: list[Clause]) -> Document:
    """The version as a document, from clauses already read (in order)."""
    frame = read_frame(version.frame) or Document()
    return Document(
        frame.title, tuple(template_part(c) for c in clauses), frame.sections, frame.attachments
    )
