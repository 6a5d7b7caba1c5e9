"""The partner API's common ground and its organisation and webhook endpoints.

``PartnerApiView`` is what every endpoint builds on: bearer-token authentication, scopes,
the per-token rate limit, one error shape, strict query parameters (unknown or malformed
answer 400 naming the parameter), page pagination and ETags. Views stay thin: they read
through selectors scoped to the token's organisation (another organisation's object is a
404) and write through services.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collaboratory.answers import KEPT, kept_answer
from partners import webhooks
from partners.api_auth import (
    RATE_LIMIT_ATTRIBUTE,
    BearerTokenAuthentication,
    HasRequiredScope,
    TokenRateThrottle,
    request_token,
)
from partners.api_errors import (
    NOT_MODIFIED,
    ParameterError,
    api_exception_handler,
    error_responses,
)
from partners.models import ApiScope, ApiToken, WebhookDelivery, WebhookEndpoint
from partners.serializers import (
    OrganisationMeSerializer,
    WebhookDeliveryPageSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointPageSerializer,
    WebhookEndpointSerializer,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class NoQuery(serializers.Serializer):
    """Endpoints without query parameters: any parameter is unknown."""


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1, help_text="Page number, from 1.")
    page_size = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        default=DEFAULT_PAGE_SIZE,
        help_text=f"Items per page, at most {MAX_PAGE_SIZE}.",
    )


@functools.cache
def _parameter_names(query_serializer: type[serializers.Serializer]) -> list[str]:
    """The query parameters ``query_serializer`` declares (a serializer deep-copies its
    fields each time it is made, so this is worked out once per class)."""
    return sorted(query_serializer().fields)


def parse_query(request: Request, query_serializer: type[serializers.Serializer]) -> dict:
    """Validate the query string strictly against ``query_serializer``'s fields."""
    allowed = _parameter_names(query_serializer)
    if not allowed and not request.query_params:
        return {}  # nothing declared, nothing given: nothing to validate
    for name in request.query_params:
        if name not in allowed:
            accepted = ", ".join(allowed) if allowed else "none"
            raise ParameterError(
                name,
                f"Unknown query parameter {name!r}; this endpoint accepts: {accepted}.",
                allowed=list(allowed),
            )
        if len(request.query_params.getlist(name)) > 1:
            raise ParameterError(name, f"Give the query parameter {name!r} only once.")
    serializer = query_serializer(data=request.query_params.dict())
    if not serializer.is_valid():
        name, messages = next(iter(serializer.errors.items()))
        raise ParameterError(name, f"Query parameter {name!r}: {messages[0]}")
    return serializer.validated_data


class PartnerApiView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated, HasRequiredScope]
    throttle_classes = [TokenRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    #: The scope a token needs for this endpoint.
    required_scope: ClassVar[str | None] = None
    #: The query parameters GET accepts (others answer 400; other methods take none).
    query_serializer: ClassVar[type[serializers.Serializer]] = NoQuery
    #: Answer GET with an ETag and 304 to a matching If-None-Match.
    conditional: ClassVar[bool] = False

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in self.allowed_methods:
            # dispatch() answers 405 with Allow; the query string is no business of a
            # method this endpoint does not take (it used to answer 400 for it).
            self.query = {}
            return
        reads = request.method in ("GET", "HEAD")
        self.query = parse_query(request, self.query_serializer if reads else NoQuery)

    @property
    def token(self) -> ApiToken:
        """The token that authenticated this request (the permission check requires one)."""
        return request_token(self.request)

    @property
    def organisation_id(self) -> int:
        return self.token.organisation_id

    # DRF's stubs narrow finalize_response to Response; DRF itself takes and returns any
    # HttpResponseBase (documents are FileResponses, a conditional GET may answer a bare 304).
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(
            request,
            response,  # type: ignore[arg-type]  # see above
            *args,
            **kwargs,
        )
        if isinstance(response, Response) and isinstance(response.data, dict):
            if "error" in response.data:
                # Errors are JSON whatever the endpoint's success type (e.g. a PDF).
                response.accepted_renderer = JSONRenderer()
                response.accepted_media_type = "application/json"
        limits = getattr(request, RATE_LIMIT_ATTRIBUTE, None)
        if limits:
            response["RateLimit-Limit"], response["RateLimit-Remaining"] = limits[0], limits[1]
            response["RateLimit-Reset"] = limits[2]
        patch_vary_headers(response, ["Authorization"])
        patch_cache_control(response, private=True, no_cache=True)
        if (
            self.conditional
            and request.method in ("GET", "HEAD")
            and response.status_code == 200
            and isinstance(response, Response)
        ):
            response.render()
            etag = '"' + hashlib.sha256(response.content).hexdigest()[:40] + '"'
            response["ETag"] = etag
            conditional = get_conditional_response(request._request, etag=etag, response=response)
            return response if conditional is None else conditional  # None only without response
        return response


def kept_read[V: PartnerApiView](
    get: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """A read-only GET of a ``PartnerApiView`` answered from ``collaboratory.answers``: the
    data of a 200 kept for the token and the database snapshot it was read from (the token,
    its scopes and the rate limit are still checked on every request, before this runs)."""

    name = f"api:{get.__module__}.{get.__qualname__}"
    KEPT.append(name)

    @functools.wraps(get)
    def read(self: V, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        token = self.token
        parts = [token.pk, token.organisation_id, sorted(token.scopes), type(self).__qualname__]
        return kept_answer(
            name,
            request._request,
            parts,
            lambda: get(self, request, *args, **kwargs),
            keep=_data_to_keep,
            rebuild=Response,
        )

    return read


def _data_to_keep(response: HttpResponseBase) -> Any:
    """A plain 200's data (what ``Response(data)`` answers again); None for anything else."""
    if not isinstance(response, Response) or type(response) is not Response:
        return None  # a subclass (or a file) answers in its own way
    return response.data if response.status_code == 200 and not response.cookies else None


class PageNotFound(exceptions.NotFound):
    default_code = "page_not_found"

    def __init__(self, page: int, last: int) -> None:
        super().__init__(f"Page {page} is past the last page ({last}).", code=self.default_code)
        self.details = {"parameter": "page", "last": last}


def paginate(request: Request, queryset: QuerySet, *, page: int, page_size: int) -> dict:
    """One page of ``queryset`` with the list envelope (2 queries: its count and the page)."""
    return paginate_rows(
        request,
        count=queryset.count,
        read_page=lambda start, stop: list(queryset[start:stop]),
        page=page,
        page_size=page_size,
    )


def paginate_rows(
    request: Request,
    *,
    count: Callable[[], int],
    read_page: Callable[[int, int], list],
    page: int,
    page_size: int,
) -> dict:
    """One page with the list envelope: ``count()`` rows in all, ``read_page(start, stop)``
    the page's (not read when there are none)."""
    total = count()
    last = max(math.ceil(total / page_size), 1)
    if page > last:
        # Well-formed but out of range: like a missing object, a 404 (not a 400).
        raise PageNotFound(page, last)
    start = (page - 1) * page_size
    items = read_page(start, start + page_size) if total else []

    def link(number: int) -> str:
        query = request.query_params.copy()
        query["page"] = str(number)
        return request.build_absolute_uri(request.path) + "?" + query.urlencode()

    return {
        "count": total,
        "page": page,
        "page_size": page_size,
        "next": link(page + 1) if page < last else None,
        "previous": link(page - 1) if page > 1 else None,
        "items": items,
    }


# --- Organisation -----------------------------------------------------------------------------


class OrganisationMeApi(PartnerApiView):
    conditional = True

    @extend_schema(
        operation_id="organisations_me",
        summary="The organisation this token belongs to",
        tags=["organisations"],
        responses={200: OrganisationMeSerializer, **NOT_MODIFIED, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        token = self.token
        return Response(
            OrganisationMeSerializer({"organisation": token.organisation, "token": token}).data
        )


# --- Webhooks ---------------------------------------------------------------------------------

_WEBHOOK_EXAMPLE = OpenApiExample(
    "register",
    value={
        "url": "https://sis.example.org/hooks/collaboratory",
        "events": ["agreement.status_changed", "agreement.document_ready"],
        "description": "Student information system",
    },
    request_only=True,
)


class WebhookListApi(PartnerApiView):
    required_scope = ApiScope.WEBHOOKS_MANAGE
    query_serializer = PageQuery

    @extend_schema(
        operation_id="webhooks_list",
        summary="Your organisation's webhook endpoints",
        tags=["webhooks"],
        parameters=[PageQuery],
        responses={200: WebhookEndpointPageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        page = paginate(
            request,
            webhooks.endpoints_of_organisation(self.organisation_id),
            page=self.query["page"],
            page_size=self.query["page_size"],
        )
        page["results"] = WebhookEndpointSerializer(page.pop("items"), many=True).data
        return Response(page)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register a webhook endpoint (its secret is shown only in this response)",
        tags=["webhooks"],
        parameters=[],
        request=WebhookEndpointCreateSerializer,
        examples=[_WEBHOOK_EXAMPLE],
        responses={201: WebhookEndpointCreatedSerializer, **error_responses(400, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = webhooks.webhook_endpoint_create(
            organisation=self.token.organisation,
            url=serializer.validated_data["url"],
            events=serializer.validated_data["events"],
            description=serializer.validated_data.get("description", ""),
        )
        data = WebhookEndpointSerializer(endpoint).data
        return Response({**data, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailApi(PartnerApiView):
    required_scope = ApiScope.WEBHOOKS_MANAGE

    def get_endpoint(self, pk: int) -> WebhookEndpoint:
        return get_object_or_404(webhooks.endpoints_of_organisation(self.organisation_id), pk=pk)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="One webhook endpoint",
        tags=["webhooks"],
        responses={200: WebhookEndpointSerializer, **error_responses(400)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(WebhookEndpointSerializer(self.get_endpoint(pk)).data)

    @extend_schema(
        operation_id="webhooks_disable",
        summary="Disable a webhook endpoint (its delivery log stays visible)",
        tags=["webhooks"],
        responses={204: None, **error_responses(400)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        webhooks.webhook_endpoint_disable(endpoint=self.get_endpoint(pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(PartnerApiView):
    required_scope = ApiScope.WEBHOOKS_MANAGE
    query_serializer = PageQuery

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="Deliveries to one endpoint, newest first, with every attempt",
        tags=["webhooks"],
        parameters=[PageQuery],
        responses={200: WebhookDeliveryPageSerializer, **error_responses(400)},
    )
    def get(self, request: Request, pk: int) -> Response:
        endpoint = get_object_or_404(
            webhooks.endpoints_of_organisation(self.organisation_id), pk=pk
        )
        page = paginate(
            request,
            webhooks.deliveries_of_endpoint(endpoint.pk),
            page=self.query["page"],
            page_size=self.query["page_size"],
        )
        page["results"] = WebhookDeliverySerializer(page.pop("items"), many=True).data
        return Response(page)


class WebhookRedeliverApi(PartnerApiView):
    required_scope = ApiScope.WEBHOOKS_MANAGE

    @extend_schema(
        operation_id="webhooks_deliveries_redeliver",
        summary="Send a delivery again now (same event id)",
        tags=["webhooks"],
        request=None,
        responses={202: WebhookDeliverySerializer, **error_responses(400, 422)},
    )
    def post(self, request: Request, pk: int, delivery_id: int) -> Response:
        delivery: WebhookDelivery = get_object_or_404(
            webhooks.deliveries_of_organisation(self.organisation_id),
            endpoint_id=pk,
            pk=delivery_id,
        )
        delivery = webhooks.webhook_redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# --- Anything else under /api/v1/ -------------------------------------------------------------


class ApiNotFound(APIView):
    """Unknown paths answer the API's 404 body (not an HTML page), with a hint when only the
    trailing slash is off."""

    authentication_classes = []
    permission_classes = []
    renderer_classes = [JSONRenderer]
    schema = None

    def get_exception_handler(self):
        return api_exception_handler

    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        path = request.path
        alternative = path[:-1] if path.endswith("/") else path + "/"
        message = "No such endpoint."
        try:
            match = resolve(alternative)
        except Resolver404:
            match = None
        if match is not None and getattr(match.func, "view_class", None) is not ApiNotFound:
            message = f"No such endpoint; did you mean {alternative}?"
        return Response(
            {"error": {"code": "not_found", "message": message, "details": {}}},
            status=status.HTTP_404_NOT_FOUND,
        )

    get = post = put = patch = delete = head = options = _answer
