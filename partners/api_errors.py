"""Every partner API error has one shape: ``{"error": {"code", "message", "details"}}``.

``api_exception_handler`` is the single place exceptions become that body, for DRF's own
exceptions (401, 403, 404, 405, 406, 415, 429), Django's ``Http404``, our ``DomainError``
(422) and anything unexpected (500, logged). ``ParameterError`` names the query parameter
that was unknown or malformed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from collaboratory.errors import DomainError
from collaboratory.errors_http import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, database_unavailable

log = logging.getLogger(__name__)


class ParameterError(exceptions.APIException):
    """A query parameter that is unknown, repeated or malformed: 400 naming it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"

    def __init__(self, parameter: str, message: str, **details: Any) -> None:
        super().__init__(message, code=self.default_code)
        self.parameter = parameter
        self.details = {"parameter": parameter, **details}


class NotImplementedYet(exceptions.APIException):
    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_code = "not_implemented"
    default_detail = "This endpoint is not available yet."


_STATUS_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail: Any) -> str:
    """The first human message in a DRF error detail (str, list or nested dict)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _plain(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def _domain_error_response(exc: DomainError) -> Response:
    if hasattr(exc, "error_dict"):
        details = {"fields": exc.message_dict}
        field, messages = next(iter(exc.message_dict.items()))
        message = messages[0] if field == "__all__" else f"{field}: {messages[0]}"
    else:
        details = {}
        message = " ".join(exc.messages)
    code = getattr(exc, "code", None)  # absent when the error is a dict of fields
    if not isinstance(code, str):
        code = "rule_violation"
    return Response(error_body(code, message, details), status=422)


def api_exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        return _domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if database_unavailable(exc):
        log.warning("Partner API call failed: the database is unreachable (%s)", exc)
        return Response(
            error_body("service_unavailable", UNAVAILABLE_MESSAGE),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if not isinstance(exc, exceptions.APIException):
        log.exception("Unexpected error in the partner API", exc_info=exc)
        return Response(
            error_body("server_error", "Something went wrong on our side; try again later."),
            status=500,
        )
    if isinstance(exc, exceptions.Throttled):
        # Throttled.__init__ sets ``wait`` (seconds or None); the DRF stubs omit it.
        wait = int(getattr(exc, "wait", None) or 1)
        headers["Retry-After"] = str(max(wait, 1))
        return Response(
            error_body(
                "rate_limited",
                f"Too many requests with this token; retry in {max(wait, 1)} seconds.",
                {"retry_after": max(wait, 1)},
            ),
            status=429,
            headers=headers,
        )
    # APIView.handle_exception sets ``auth_header`` on 401s when an authenticator has one.
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, ParameterError):
        return Response(
            error_body(exc.default_code, str(exc.detail), exc.details),
            status=exc.status_code,
        )
    if isinstance(exc, exceptions.ValidationError):
        details = _plain(exc.detail)
        if not isinstance(details, dict):
            details = {"non_field_errors": details}
        return Response(
            error_body("invalid", _first_message(exc.detail), {"fields": details}),
            status=400,
        )
    details = getattr(exc, "details", None)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else None
    if not code or code in ("error", "invalid"):
        code = _STATUS_CODES.get(exc.status_code, "error")
    return Response(
        error_body(
            code, _first_message(exc.detail), details if isinstance(details, dict) else None
        ),
        status=exc.status_code,
        headers=headers,
    )


# --- The error body in the OpenAPI schema ----------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable, e.g. `not_found`.")
    message = serializers.CharField(help_text="For people: what went wrong and what to do.")
    details = serializers.DictField(help_text="More about the error, e.g. the parameter.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_EXAMPLES = {
    400: ("invalid_parameter", "Unknown query parameter 'colour'.", {"parameter": "colour"}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("insufficient_scope", "This token lacks the scope 'agreements:read'.", {}),
    404: ("not_found", "Not found.", {}),
    405: ("method_not_allowed", 'Method "DELETE" not allowed.', {}),
    406: ("not_acceptable", "Could not satisfy the request Accept header.", {}),
    415: ("unsupported_media_type", 'Unsupported media type "text/plain" in request.', {}),
    422: ("rule_violation", "url: Webhook URLs must use https.", {}),
    429: ("rate_limited", "Too many requests with this token; retry in 12 seconds.", {}),
    501: ("not_implemented", "Consent summaries are not available yet.", {}),
}


NOT_MODIFIED = {
    304: OpenApiResponse(description="Not modified: the If-None-Match ETag still matches.")
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error statuses an operation can answer (401, 403, 404, 405,
    406 and 429 are added to every authenticated operation)."""
    wanted = sorted({*codes, 401, 403, 404, 405, 406, 429})
    return {
        code: OpenApiResponse(
            response=ErrorSerializer,
            description=_EXAMPLES[code][1],
            examples=[
                OpenApiExample(
                    _EXAMPLES[code][0],
                    value=error_body(*_EXAMPLES[code]),
                    response_only=True,
                    status_codes=[str(code)],
                )
            ],
        )
        for code in wanted
    }
