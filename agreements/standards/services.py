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
def template_create(*, collaboratory, name: str, slug: str, description: str = "") -> DSATemplate:
    template = DSATemplate(
        collaboratory=collaboratory,
        name=normalise_plain_text(name).strip(),
        slug=slug,
        description=normalise_plain_text(description).strip(),
    )
    template.full_clean()
    template.save()
    return template


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
        )
    except DomainError as error:
        # Refused before anything was written: the report shows why, naming each clause.
        report.errors.extend(Issue(None, None, message) for message in error.messages)
        return None, report
    return version, report
