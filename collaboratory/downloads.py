"""Serving a stored file once the access check has passed: one response for every download.

A download view (HTML or API) finds the row through its selector, which is the access check,
then returns :func:`audited_file_response`. It opens the file from Django's storage API (the
bucket stays private; nothing is served from a public URL), records a ``DOWNLOAD`` entry in
the audit chain with the caller's payload (which file, its SHA-256), and answers with the same
headers everywhere:

- ``Content-Disposition: attachment`` with :func:`safe_filename`: the browser saves the file
  and never shows it inline, under a name with no control or direction characters and no path;
- ``X-Content-Type-Options: nosniff``: the declared type is the only one a browser uses (the
  security middleware sends it too; a download does not depend on that setting);
- Django's never-cache set (``Cache-Control: max-age=0, no-cache, no-store, must-revalidate,
  private`` and ``Expires``): approval letters, destruction evidence and signed agreements are
  confidential, and neither a shared cache nor the browser's disk keeps a copy.

The file is opened before the entry is recorded, so a file missing from the store fails the
request without claiming a download happened. ``collaboratory`` imports ``audit`` here: audit
imports no app and nothing of ``collaboratory``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from django.utils.cache import add_never_cache_headers

from audit.models import AuditAction
from audit.services import record as audit_record

MAX_FILENAME_CHARS = 200


def safe_filename(name: str, *, default: str) -> str:
    """``name`` as a download may carry it: without control, format or direction characters
    (a right-to-left override can disguise ``.exe`` as ``.pdf``), without a folder, white
    space folded, at most ``MAX_FILENAME_CHARS``; ``default`` when nothing is left. Quotes and
    non-ASCII letters stay: Django escapes them in ``Content-Disposition``."""
    visible = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    last_part = visible.replace("\\", "/").rsplit("/", 1)[-1]
    folded = " ".join(last_part.split()).strip(" .")
    return folded[-MAX_FILENAME_CHARS:] or default


def file_response(
    stored: FieldFile, *, filename: str, content_type: str | None = None
) -> FileResponse:
    """``stored`` as an attachment with the safe headers of every download (module docstring).
    Without ``content_type`` the type follows the filename's extension (``FileResponse``)."""
    response = FileResponse(
        stored.open("rb"),
        as_attachment=True,
        filename=safe_filename(filename, default="download"),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response


def audited_file_response(
    stored: FieldFile,
    *,
    filename: str,
    content_type: str | None = None,
    actor: Any,
    target: models.Model,
    payload: dict[str, Any],
) -> FileResponse:
    """:func:`file_response`, recorded in the audit chain as a ``DOWNLOAD`` of ``target`` by
    ``actor`` with ``payload`` (which file and its hash). Call it only after the access
    check: it checks nothing itself."""
    response = file_response(stored, filename=filename, content_type=content_type)
    try:
        audit_record(action=AuditAction.DOWNLOAD, target=target, actor=actor, payload=payload)
    except BaseException:
        response.close()  # the opened file, which no one will stream now
        raise
    return response
