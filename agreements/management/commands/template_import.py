"""``manage.py template_import PATH --collaboratory SLUG --template SLUG [--create] [--publish]``

For scripts and bulk migration (a facilitator moving fourteen trios' Word files): one file in,
one new template version out, printed as JSON on stdout. Everything else (warnings and notes
of the import, what was created) goes to stderr, and any error leaves nothing behind: the
template (with ``--create``), the version and its publication are one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import Truncator

from agreements.models import DSATemplate, TemplateVersion
from agreements.standards.limits import max_upload_bytes, size_problem
from agreements.standards.report import ImportReport
from agreements.standards.services import (
    template_create,
    template_import,
    template_version_publish,
    version_document,
)
from agreements.standards.upload import parse_upload
from agreements.text.document.plain import outline
from collaboratory.errors import DomainError
from partners.models import Collaboratory

NAME_MAX = DSATemplate._meta.get_field("name").max_length or 200


def version_json(version: TemplateVersion, *, template_created: bool = False) -> dict[str, Any]:
    """What the command prints: the version and its outline (``plain.outline``)."""
    return {
        "version_id": version.pk,
        "collaboratory": version.template.collaboratory.slug,
        "template": version.template.slug,
        "template_created": template_created,
        "number": version.number,
        "title": version.title,
        "status": version.status,
        "outline": outline(version_document(version)),
    }


class Command(BaseCommand):
    help = (
        "Import a Markdown (.md) or Word (.docx) file as a new draft version of a template and "
        "print that version as JSON on stdout: version_id, number, title, status and its "
        "outline (each part's kind, label, title, key, and the labels of its list items, "
        "nested as in the document). The template must already exist in the collaboratory, "
        "unless --create is given: then it is created when missing (named --name, or else "
        "the document's title) and simply gets a new version when it exists, so the same "
        "command line serves a trio's first file and every later one. Without --create a "
        "mistyped slug is an error, never a stray template. --publish publishes the new "
        "version (placeholders are checked as in the admin). Warnings and notes of the import "
        "go to stderr; on any error nothing is created and the exit status is 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the .md or .docx file to import")
        parser.add_argument(
            "--collaboratory", required=True, metavar="SLUG", help="the collaboratory's slug"
        )
        parser.add_argument(
            "--template", required=True, metavar="SLUG", help="the template's slug in it"
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the template when the collaboratory has none with this slug",
        )
        parser.add_argument(
            "--name", help="the name of a template --create makes (default: the file's title)"
        )
        parser.add_argument(
            "--publish", action="store_true", help="publish the new version after importing it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        data = self._read(path)
        collaboratory = Collaboratory.objects.filter(slug=options["collaboratory"]).first()
        if collaboratory is None:
            known = ", ".join(Collaboratory.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(
                f"No collaboratory with the slug “{options['collaboratory']}” (known: {known})."
            )
        with transaction.atomic():
            template, created = self._template(collaboratory, options, path.name, data)
            version, report = template_import(template=template, filename=path.name, data=data)
            self._say_findings(report)
            if version is None:
                raise CommandError(
                    f"{path} was not imported:\n"
                    + "\n".join(f"  {issue}" for issue in report.errors)
                )
            if options["publish"]:
                try:
                    version = template_version_publish(version=version, by=None)
                except DomainError as error:
                    raise CommandError(
                        f"{path} was not imported: version {version.number} could not be "
                        "published:\n" + "\n".join(f"  {m}" for m in error.messages)
                    ) from error
            result = version_json(version, template_created=created)
        if created:
            self.stderr.write(
                f"Created the template “{template.name}” ({template.slug}).", style_func=str
            )
        state = "published" if options["publish"] else "a draft"
        self.stderr.write(
            f"Imported {path.name} as version {version.number} of “{template.name}”, {state}.",
            style_func=str,
        )
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))

    def _read(self, path: Path) -> bytes:
        try:
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            if problem := size_problem(path.stat().st_size, max_upload_bytes()):
                raise CommandError(f"{path}: {problem}")
            return path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path} cannot be read: {error.strerror or error}.") from error

    def _template(
        self, collaboratory: Collaboratory, options: dict[str, Any], filename: str, data: bytes
    ) -> tuple[DSATemplate, bool]:
        """The template to add a version to, and whether it was created now."""
        slug = options["template"]
        template = DSATemplate.objects.filter(collaboratory=collaboratory, slug=slug).first()
        if template is not None:
            return template, False
        if not options["create"]:
            known = ", ".join(collaboratory.templates.values_list("slug", flat=True)) or "none"
            raise CommandError(
                f"The collaboratory “{collaboratory.slug}” has no template “{slug}” (known: "
                f"{known}). Pass --create to create it."
            )
        name = options["name"] or parse_upload(data, filename=filename).title or slug
        try:
            template = template_create(
                collaboratory=collaboratory,
                name=Truncator(name).chars(NAME_MAX),
                slug=slug,
            )
        except ValidationError as error:
            raise CommandError(
                "The template cannot be created: " + " ".join(error.messages)
            ) from error
        return template, True

    def _say_findings(self, report: ImportReport) -> None:
        """Every warning and note of the import, on stderr: nothing is dropped silently."""
        for issue in report.warnings:
            self.stderr.write(f"warning: {issue}", style_func=self.style.WARNING)
        for issue in report.notes:
            self.stderr.write(f"note: {issue}", style_func=str)
