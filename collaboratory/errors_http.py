"""The server-error handler: 503 when the database is unreachable, the usual 500 otherwise.

While PostgreSQL restarts or a connection is cut, every request fails the same way, and none
of it is the person's fault or a bug to report: the page says so, asks them to try again in a
moment, and sends ``Retry-After`` (the API answers JSON). It renders without touching the
database. Everything else is a real error: Django's 500 page (``templates/500.html``).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

RETRY_AFTER_SECONDS = 10
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; try again in a few seconds."


def database_unavailable(exc: BaseException | None) -> bool:
    """A lost or refused database connection (or one cut mid-query), not a bad query."""
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if not database_unavailable(exc):
        return defaults.server_error(request)
    if request.path.startswith("/api/"):
        # The partner API's error shape (partners/api_errors.py), for what fails before
        # its own handler runs (authentication middleware, the session).
        body = {"error": {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE}}
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
