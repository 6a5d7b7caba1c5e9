"""Upload limits that hold before any view runs, without reading an oversized body.

Two lines of defence, both driven by ``UPLOAD_MAX_BYTES`` (the largest request body any
upload may have; each kind of upload has its own, smaller limit checked by its form):

- :class:`UploadLimitMiddleware` refuses a request whose declared ``Content-Length`` is over
  the limit with a 413 and a message saying what to do, before anything reads the body.
  Django only ever reads ``Content-Length`` bytes of a body, so this bounds every request.
- :class:`LimitedUploadHandler`, the first upload handler, counts the bytes of a multipart
  body as they stream in and stops the upload (``StopUpload``) as soon as they pass the
  limit; the middleware then answers 413 instead of letting the view see a partial form. It
  guards servers that hand Django a body without a trustworthy length.

Below the limit Django keeps at most ``FILE_UPLOAD_MAX_MEMORY_SIZE`` of a file in memory and
spools the rest to a temporary file, so memory use stays flat whatever arrives.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

REFUSED_ATTRIBUTE = "upload_refused"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def max_request_bytes() -> int:
    return int(getattr(settings, "UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def describe_size(size: int) -> str:
    """Sizes as people read them: "1.0 GB", "25.0 MB", "300 KB"."""
    if size >= 1_000_000_000:
        return f"{size / 1_000_000_000:.1f} GB"
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(size, 1) / 1000:.0f} KB"


def refusal_message(size: int | None, limit: int) -> str:
    what = f"This upload is {describe_size(size)}" if size else "This upload is too large"
    return (
        f"{what}; the largest upload accepted is {describe_size(limit)}. Nothing was saved. "
        "Upload a smaller file: split a consent CSV into several files, or remove images "
        "and embedded objects from a Word template."
    )


class LimitedUploadHandler(FileUploadHandler):
    """Stops reading a multipart body once more than ``UPLOAD_MAX_BYTES`` arrived."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = max_request_bytes()
        self.received = 0

    def _refuse(self, size: int | None) -> None:
        if self.request is not None:
            setattr(self.request, REFUSED_ATTRIBUTE, refusal_message(size, self.limit))
        # connection_reset: do not read (and so do not wait for) the rest of the body.
        raise StopUpload(connection_reset=True)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit:
            self._refuse(content_length)
        return None  # let the other handlers do the parsing

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse(None)
        return raw_data

    def file_complete(self, file_size: int):
        return None


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": {"code": "upload_too_large", "message": message, "details": {}}},
            status=413,
        )
    else:
        response = HttpResponse(
            render_to_string("413.html", {"message": message}, request=request), status=413
        )
    return response


class UploadLimitMiddleware:
    """413 for bodies over ``UPLOAD_MAX_BYTES``: by declared length before anything reads
    the body, or after :class:`LimitedUploadHandler` stopped a streamed upload."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max_request_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _refusal(request, refusal_message(declared, limit))
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        """Parse a multipart body here, before the view (and before CSRF's check reads it),
        so a stopped upload never reaches a view as a half-filled form."""
        if request.method == "POST" and (request.content_type or "").startswith("multipart/"):
            request.POST  # noqa: B018 - parsing runs the upload handlers
        message = getattr(request, REFUSED_ATTRIBUTE, None)
        if message:
            return _refusal(request, message)
        return None
