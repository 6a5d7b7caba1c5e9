"""``manage.py template_export VERSION_ID --format md|docx|pdf --out PATH``

Writes a template version as Markdown, Word or PDF through
:func:`agreements.standards.export.version_export`, the same writer as the admin's export links.
The file appears complete or not at all (written beside its destination, then renamed), and
the export is recorded in the audit chain like the admin's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from agreements.documents.pdf import RenderError
from agreements.models import TemplateVersion
from agreements.standards.export import FORMATS, version_export
from audit.models import AuditAction
from audit.services import record as audit_record


class Command(BaseCommand):
    help = (
        "Write a template version as Markdown (md: pandoc Markdown that imports back to the "
        "same text), Word (docx: Word's own numbering, lists and tables) or PDF. --out is the "
        "file to write, or an existing folder to write <template>-v<number>.<format> into; an "
        "existing file is replaced. Prints the path written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version_id", type=int, help="the template version's id")
        parser.add_argument("--format", required=True, choices=list(FORMATS), dest="fmt")
        parser.add_argument("--out", required=True, type=Path, help="a file or a folder")

    def handle(self, *args: Any, version_id: int, fmt: str, out: Path, **options: Any) -> None:
        version = (
            TemplateVersion.objects.select_related("template__collaboratory")
            .filter(pk=version_id)
            .first()
        )
        if version is None:
            raise CommandError(f"No template version with the id {version_id}.")
        try:
            export = version_export(version, fmt)
        except (ValueError, RenderError) as error:
            raise CommandError(f"{version} cannot be exported as {fmt}: {error}") from error
        target = out / export.filename if out.is_dir() else out
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent}: no such folder.")
        with transaction.atomic():
            audit_record(
                action=AuditAction.EXPORT,
                target=version,
                actor_label="manage.py template_export",
                payload={"export": "template", "format": fmt, "via": "command"},
            )
            _write_whole(target, export.data)
        self.stdout.write(str(target))


def _write_whole(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that it is never seen half-written."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            # mkstemp makes the file private; give it the permissions a new file gets.
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle, 0o666 & ~umask)
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise CommandError(f"{target} cannot be written: {error.strerror or error}.") from error
