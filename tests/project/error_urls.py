"""The project's URLs plus views that fail on purpose, for the error-page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from collaboratory.urls import handler500
from collaboratory.urls import urlpatterns as project_urlpatterns

FAILURES: dict[str, type[Exception]] = {
    "400": SuspiciousOperation,
    "403": PermissionDenied,
    "404": Http404,
    "500": RuntimeError,
    "503": OperationalError,
}


def fail(request: HttpRequest, status: str) -> HttpResponse:
    raise FAILURES[status]("failing on purpose")


urlpatterns = [path("failing/<str:status>/", fail), *project_urlpatterns]

__all__ = ["handler500", "urlpatterns"]
