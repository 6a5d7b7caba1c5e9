"""Writes to templates and their versions: create, copy, edit a draft clause, publish, import.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing. Lifecycle moves go through ``agreements.lifecycle.transition`` only. Text is stored in
the entry normal form (``agreements.text.entry``) whichever way it came: a form, the admin, an
import, a copy of an older version, the demo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agreements.access import User
from agreements.choices import TemplateUsage, key_validator
from agreements.models import (
    Clause,
    DSATemplate,
    PartKind,
    TemplateVersion,
    VersionStatus,
)
from agreements.standards.report import ImportReport, Issue
from agreements.standards.upload import parse_upload
from agreements.text.consolidation import (
    frame_json,
    read_body,
    read_frame,
    storable,
    template_part,
)
from agreements.text.document.model import Document
from agreements.text.document.resolver import Resolver
from agreements.text.entry import normalise_plain_text, normalise_text
from agreements.text.placeholders import (
    malformed_placeholders,
    unknown_placeholders,
)
from agreements.text.titles import numbered_heading
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError


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


def version_document(version: TemplateVersion) -> Document:
    """A template version as a document: its frame and its clauses as parts, in order."""
    frame = read_frame(version.frame) or Document()
    parts = tuple(template_part(c) for c in version.clauses.order_by("order"))
    return Document(frame.title, parts, frame.sections, frame.attachments)


@transaction.atomic
def template_create(
    *,
    collaboratory,
    name: str,
    slug: str,
    description: str = "",
    usage: str = TemplateUsage.IN_USE,
    by: User | None = None,
) -> DSATemplate:
    template = DSATemplate(
        collaboratory=collaboratory,
        name=normalise_plain_text(name).strip(),
        slug=slug,
        description=normalise_plain_text(description).strip(),
        usage=usage,
    )
    if DSATemplate.objects.filter(collaboratory=collaboratory, slug=slug).exists():
        raise DomainError(
            {"slug": [f"The collaboratory already has a template with the short name “{slug}”."]}
        )
    template.full_clean()
    template.save()
    audit_record(
        action=AuditAction.TEMPLATE_CREATED,
        target=template,
        actor=by,
        payload={"name": template.name, "slug": template.slug, "usage": template.usage},
    )
    return template


@transaction.atomic
def template_usage_set(*, template: DSATemplate, usage: str, by: User | None) -> DSATemplate:
    """Mark a template as published for use, a draft or a test: the agreement wizard offers
    only templates published for use."""
    if usage not in TemplateUsage.values:
        raise DomainError({"usage": [f"Choose one of: {', '.join(TemplateUsage.labels)}."]})
    locked = DSATemplate.objects.select_for_update().get(pk=template.pk)
    before = locked.usage
    locked.usage = usage
    locked.full_clean()
    locked.save(update_fields=["usage"])
    audit_record(
        action=AuditAction.TEMPLATE_USAGE,
        target=locked,
        actor=by,
        payload={"from": before, "to": usage},
    )
    return locked


def _clause_name(key: str, number: str, heading: str) -> str:
    label = f"{number}." if number and number[-1].isalnum() else number
    return f"Clause '{key}' ({' '.join(p for p in (label, heading) if p)})"


@transaction.atomic
def template_version_create(
    *,
    template: DSATemplate,
    title: str,
    clauses: Sequence[Any],
    notes: str = "",
    copied_from: TemplateVersion | None = None,
    frame: Document | None = None,
    by: User | None = None,
) -> TemplateVersion:
    """A new draft version holding ``clauses`` (objects with key, number, heading, body and
    optionally mandatory_for, and the structured ``kind``, ``label``, ``generated`` and
    ``blocks``: tuples of blocks from an importer or stored JSON). ``frame`` is the document
    around them (title, numbering series). Keys must be unique and every clause needs text; a
    refusal names each clause at fault, and nothing is created."""
    keys = [c.key for c in clauses]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DomainError(f"Clause keys must be unique; repeated: {', '.join(duplicates)}.")
    rows: list[Clause] = []
    problems: list[str] = []
    for order, clause in enumerate(clauses, start=1):
        kind = getattr(clause, "kind", "") or PartKind.SECTION
        # Stored blocks stay as they are: the normal form reads as the text it came from.
        body = normalise_text(clause.body or "")
        heading = normalise_plain_text(clause.heading or "").strip()
        blocks = getattr(clause, "blocks", None)
        if isinstance(blocks, tuple):
            blocks = storable(blocks)
        elif blocks is None:
            parsed, unreadable = read_body(body, key=clause.key)
            problems.extend(f"Clause “{clause.key}”: {message}" for message in unreadable)
            blocks = storable(parsed)
        row = Clause(
            key=clause.key,
            number=clause.number or ("" if kind != PartKind.SECTION else str(order)),
            heading=heading,
            body=body,
            blocks=blocks,
            kind=kind,
            label=getattr(clause, "label", "") or "",
            generated=getattr(clause, "generated", "") or "",
            order=order,
            mandatory_for=getattr(clause, "mandatory_for", "") or "",
        )
        name = _clause_name(clause.key, clause.number, heading)
        if not body.strip() and not row.generated:
            problems.append(
                f"{name} has no text: a template clause needs its text. "
                "Write it, or leave the clause out."
            )
            continue
        try:
            row.full_clean(exclude=["version"], validate_constraints=False)
        except ValidationError as error:
            problems.extend(
                f"{name}, {field}: {message}"
                for field, messages in error.message_dict.items()
                for message in messages
            )
        rows.append(row)
    if problems:
        raise DomainError(problems, code="invalid_clauses")
    number = (template.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    if frame is None and copied_from is not None:
        frame = read_frame(copied_from.frame)
    version = TemplateVersion(
        template=template,
        number=number,
        title=normalise_plain_text(title).strip(),
        notes=normalise_plain_text(notes).strip(),
        copied_from=copied_from,
        frame=frame_json(frame) if frame is not None else None,
    )
    version.full_clean()
    version.save()
    document = read_frame(version.frame) or Document()
    resolver = Resolver(replace(document, parts=tuple(template_part(r) for r in rows)))
    for row in rows:
        row.version = version
        row.number = resolver.part_label(row.key)
    Clause.objects.bulk_create(rows)
    audit_record(
        action=AuditAction.VERSION_CREATED,
        target=version,
        actor=by,
        payload={
            "template": template.pk,
            "number": version.number,
            "clauses": len(rows),
            "copied_from": copied_from.pk if copied_from else None,
            "notes": version.notes,
        },
    )
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
        by=by,
    )


@transaction.atomic
def clause_update(
    *,
    clause: Clause,
    heading: str | None = None,
    body: str | None = None,
    mandatory_for: str | None = None,
    by: User | None = None,
) -> Clause:
    """Edit a clause of a draft version; published versions are immutable."""
    locked = _draft(clause.version_id)
    if heading is not None:
        heading = normalise_plain_text(heading).strip()
    if body is not None:
        body = normalise_text(body)
    for name, value in (("heading", heading), ("body", body), ("mandatory_for", mandatory_for)):
        if value is not None:
            setattr(clause, name, value)
    if body is not None:
        blocks, unreadable = read_body(body, key=clause.key, context=version_document(locked))
        if unreadable:
            raise DomainError({"body": unreadable})
        clause.blocks = storable(blocks)
    clause.full_clean()
    clause.save(update_fields=["heading", "body", "blocks", "mandatory_for"])
    if by is not None:
        _renumber(locked)
        clause.refresh_from_db(fields=["number"])
        _audit_edit(locked, by, "changed", clause.key)
    return clause


def _draft(version_id: int) -> TemplateVersion:
    """The version, locked for the edit, if it is still a draft."""
    locked = (
        TemplateVersion.objects.select_for_update().select_related("template").get(pk=version_id)
    )
    if locked.is_published:
        raise DomainError(
            f"{locked} is published and can no longer change. Create a new version from it "
            "and edit that instead.",
            code="published_immutable",
        )
    return locked


def _renumber(version: TemplateVersion) -> None:
    """Recompute every clause's shown label from the outline (after adding, removing or
    moving a clause, or changing its heading)."""
    rows = list(version.clauses.order_by("order"))
    document = read_frame(version.frame) or Document()
    resolver = Resolver(replace(document, parts=tuple(template_part(r) for r in rows)))
    changed = []
    for row in rows:
        label = resolver.part_label(row.key)
        if row.number != label:
            row.number = label
            changed.append(row)
    if changed:
        Clause.objects.bulk_update(changed, ["number"])


def _audit_edit(version: TemplateVersion, by: User | None, what: str, key: str) -> None:
    audit_record(
        action=AuditAction.VERSION_EDITED,
        target=version,
        actor=by,
        payload={"clause": key, "edit": what},
    )


def _heading_and_body(heading: str, body: str) -> tuple[str, str]:
    heading = normalise_plain_text(heading or "").strip()
    body = normalise_text(body or "")
    errors: dict[str, list[str]] = {}
    if not heading:
        errors["heading"] = ["Give the clause a heading."]
    if not body.strip():
        errors["body"] = ["Write the clause's text: a template clause needs its text."]
    if errors:
        raise DomainError(errors)
    return heading, body


@transaction.atomic
def clause_edit(*, clause: Clause, heading: str, body: str, by: User | None) -> Clause:
    """The workspace's edit of a draft clause: a heading and text are both required."""
    heading, body = _heading_and_body(heading, body)
    return clause_update(clause=clause, heading=heading, body=body, by=by)


@transaction.atomic
def clause_add(
    *, version: TemplateVersion, key: str, heading: str, body: str, by: User | None
) -> Clause:
    """Add a clause at the end of a draft version. The key names the clause for proposals
    and comparisons: unique within the version, lower-case letters, digits and hyphens."""
    locked = _draft(version.pk)
    key = (key or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        key_validator(key)
    except ValidationError as error:
        errors["key"] = [
            "Give the clause a key of lower-case letters, digits and hyphens "
            f"(for example “data-security”): {' '.join(error.messages)}"
        ]
    if not errors.get("key") and locked.clauses.filter(key=key).exists():
        errors["key"] = [f"This version already has a clause with the key “{key}”: choose another."]
    try:
        heading, body = _heading_and_body(heading, body)
    except DomainError as error:
        errors.update(error.message_dict if hasattr(error, "message_dict") else {})
    if errors:
        raise DomainError(errors)
    order = (locked.clauses.aggregate(m=Max("order"))["m"] or 0) + 1
    blocks, unreadable = read_body(body, key=key, context=version_document(locked))
    if unreadable:
        raise DomainError({"body": unreadable})
    clause = Clause(
        version=locked,
        key=key,
        heading=heading,
        body=body,
        blocks=storable(blocks),
        kind=PartKind.SECTION,
        order=order,
    )
    clause.full_clean()
    clause.save()
    _renumber(locked)
    clause.refresh_from_db(fields=["number"])
    _audit_edit(locked, by, "added", key)
    return clause


@transaction.atomic
def clause_remove(*, clause: Clause, by: User | None) -> None:
    """Remove a clause from a draft version."""
    locked = _draft(clause.version_id)
    key = clause.key
    Clause.objects.filter(pk=clause.pk).delete()
    _renumber(locked)
    _audit_edit(locked, by, "removed", key)


@transaction.atomic
def clause_move(*, clause: Clause, direction: str, by: User | None) -> None:
    """Move a clause of a draft version one place up or down."""
    if direction not in ("up", "down"):
        raise DomainError("Move a clause “up” or “down”.")
    locked = _draft(clause.version_id)
    rows = list(locked.clauses.order_by("order"))
    index = next(i for i, row in enumerate(rows) if row.pk == clause.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        raise DomainError(
            f"{numbered_heading(clause.number, clause.heading)} is already the "
            f"{'first' if direction == 'up' else 'last'} clause."
        )
    first, second = rows[index], rows[other]
    first_order, second_order = first.order, second.order
    # (version, order) is unique: park one row outside the range while the two swap.
    parked = (max(r.order for r in rows) or 0) + 1
    Clause.objects.filter(pk=first.pk).update(order=parked)
    Clause.objects.filter(pk=second.pk).update(order=first_order)
    Clause.objects.filter(pk=first.pk).update(order=second_order)
    _renumber(locked)
    _audit_edit(locked, by, f"moved {direction}", clause.key)


@transaction.atomic
def template_version_publish(
    *, version: TemplateVersion, by: User | None, retire_earlier: bool = False
) -> TemplateVersion:
    """Publish a draft version: it must have clauses and only known, well-formed placeholders.
    After this it never changes. ``retire_earlier`` also retires the template's earlier
    published versions, so the wizard offers only this one."""
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
    audit_record(
        action=AuditAction.VERSION_PUBLISHED,
        target=locked,
        actor=by,
        payload={"template": locked.template_id, "number": locked.number},
    )
    if retire_earlier:
        for older in TemplateVersion.objects.filter(
            template_id=locked.template_id,
            status=VersionStatus.PUBLISHED,
            retired_at__isnull=True,
            number__lt=locked.number,
        ):
            template_version_retire(version=older, by=by)
    return locked


@transaction.atomic
def template_version_retire(*, version: TemplateVersion, by: User | None) -> TemplateVersion:
    """Retire a published version: the wizard no longer offers it for new agreements;
    agreements on it keep it."""
    locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
    if not locked.is_published:
        raise DomainError(
            f"{locked} is a draft: only published versions are retired (a draft is never offered).",
            code="not_published",
        )
    if locked.retired_at is not None:
        raise DomainError(f"{locked} is already retired.", code="already_retired")
    locked.retired_at = timezone.now()
    locked.retired_by = by
    locked.full_clean()
    locked.save(update_fields=["retired_at", "retired_by"])
    audit_record(
        action=AuditAction.VERSION_RETIRED,
        target=locked,
        actor=by,
        payload={"template": locked.template_id, "number": locked.number},
    )
    return locked


@transaction.atomic
def template_import(
    *, template: DSATemplate, filename: str, data: bytes, by: User | None = None
) -> tuple[TemplateVersion | None, ImportReport]:
    """Import an uploaded Markdown or .docx file as a new draft version of ``template``.

    The file is read by :func:`agreements.standards.upload.parse_upload`, the one reader of
    template uploads (accepted names, size limit, UTF-8, messages). Returns ``(version or None,
    report)``: when the report has any error, the file was refused and nothing is created.
    """
    report = parse_upload(data, filename=filename)
    if not report.ok:
        return None, report
    try:
        version = template_version_create(
            template=template,
            title=report.title or template.name,
            clauses=report.clauses,
            notes=f"Imported from {filename}.",
            frame=report.frame,
            by=by,
        )
    except DomainError as error:
        # Refused before anything was written: the report shows why, naming each clause.
        report.errors.extend(Issue(None, None, message) for message in error.messages)
        return None, report
    return version, report
