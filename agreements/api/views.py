"""Partner API: agreements, their sealed documents, machine-readable terms (the consent
summary is consent's: consent/apis.py).

Every lookup goes through the organisation-scoped selectors: an agreement the token's
organisation is not a party to answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.api.odrl import agreement_policy
from agreements.api.selectors import (
    agreement_count,
    agreement_for_organisation,
    agreement_page_rows,
)
from agreements.api.serializers import (
    AgreementDetailSerializer,
    AgreementPageSerializer,
    AgreementSerializer,
)
from agreements.models import Status
from agreements.selectors import agreements_visible_to_organisation, latest_executed_document
from collaboratory.downloads import audited_file_response
from partners.api_errors import NOT_MODIFIED, error_responses
from partners.apis import PageQuery, PartnerApiView, kept_read, paginate_rows
from partners.models import ApiScope


class AgreementQuery(PageQuery):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    trio = serializers.IntegerField(min_value=1, required=False, help_text="A trio's id.")
    updated_after = serializers.DateTimeField(
        required=False, help_text="ISO 8601, e.g. 2026-09-01T00:00:00Z."
    )
    expires_before = serializers.DateField(required=False, help_text="ISO 8601 date.")


def _document_base(request: Request) -> str:
    return request.build_absolute_uri("/api/v1/agreements/")


_LIST_EXAMPLE = OpenApiExample(
    "one page",
    response_only=True,
    value={
        "count": 1,
        "page": 1,
        "page_size": 50,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": "5b2f6a8e-1d7c-4f7e-9a55-3c1f2b7d9e10",
                "reference": "AIMS-2026-001",
                "title": "Adaptive practice and Algebra I outcomes, 2026-27",
                "status": "active",
                "status_changed_at": "2026-08-14T09:30:00Z",
                "trio": {"id": 1, "name": "Adaptive Practice in Algebra I"},
                "template": {"id": 2, "name": "AIMS standard DSA", "version": 2},
                "parties": [
                    {
                        "organisation": {
                            "id": 3,
                            "slug": "northfield-university",
                            "name": "Northfield University Learning Sciences Lab",
                            "kind": "research",
                        },
                        "role": "research",
                        "approved_at": "2026-08-10T12:00:00Z",
                        "signed_at": "2026-08-12T16:20:00Z",
                    }
                ],
                "effective_date": "2026-09-01",
                "expires_on": "2027-08-31",
                "updated_at": "2026-08-14T09:30:00Z",
                "document_url": "https://collaboratory.example.org/api/v1/agreements/"
                "5b2f6a8e-1d7c-4f7e-9a55-3c1f2b7d9e10/document",
            }
        ],
    },
)


class AgreementListApi(PartnerApiView):
    required_scope = ApiScope.AGREEMENTS_READ
    query_serializer = AgreementQuery
    conditional = True

    @extend_schema(
        operation_id="agreements_list",
        summary="Agreements your organisation is a party to",
        description="Newest change first. Filters combine; page_size is at most 200. Answers "
        "304 to a matching If-None-Match.",
        tags=["agreements"],
        parameters=[AgreementQuery],
        responses={200: AgreementPageSerializer, **NOT_MODIFIED, **error_responses(400)},
        examples=[_LIST_EXAMPLE],
    )
    @kept_read
    def get(self, request: Request) -> Response:
        # Queries: token, count, the page (plain rows with their parties as JSON), the same
        # for any page size.
        query = self.query
        filters = {
            "status": query.get("status"),
            "trio_id": query.get("trio"),
            "updated_after": query.get("updated_after"),
            "expires_before": query.get("expires_before"),
        }
        page = paginate_rows(
            request,
            count=partial(agreement_count, self.organisation_id, filters),
            read_page=partial(agreement_page_rows, self.organisation_id, filters),
            page=query["page"],
            page_size=query["page_size"],
        )
        serializer = AgreementSerializer(
            page.pop("items"),
            many=True,
            context={"document_base": _document_base(request)},
        )
        page["results"] = serializer.data
        return Response(page)


class AgreementDetailApi(PartnerApiView):
    required_scope = ApiScope.AGREEMENTS_READ
    conditional = True

    @extend_schema(
        operation_id="agreements_retrieve",
        summary="One agreement, with data elements, deviations, conflicts and timeline",
        tags=["agreements"],
        responses={200: AgreementDetailSerializer, **NOT_MODIFIED, **error_responses(400)},
    )
    @kept_read
    def get(self, request: Request, pk) -> Response:
        agreement = agreement_for_organisation("detail", self.organisation_id, pk)
        if agreement is None:
            raise Http404
        serializer = AgreementDetailSerializer(
            agreement, context={"document_base": _document_base(request)}
        )
        return Response(serializer.data)


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


class AgreementTermsApi(PartnerApiView):
    required_scope = ApiScope.AGREEMENTS_READ
    renderer_classes = [JSONLDRenderer, JSONRenderer]
    conditional = True

    @extend_schema(
        operation_id="agreements_terms",
        summary="What the agreement permits: a W3C ODRL 2.2 policy (JSON-LD)",
        description="Permissions per data element (use by the recipient, distribute by the "
        "source) limited to the agreement's purpose and validity period; prohibitions "
        "(re-identification, sale, commercialisation, targeted advertising, onward transfer); "
        "obligations (delete by the destruction date, inform the source of a breach within "
        "the agreed hours). While a research approval the template requires (IRB, district "
        "research office) is missing or expired there is no permission at all; while they "
        "are current, each permission also ends on their last day (researchApprovals).",
        tags=["agreements"],
        responses={
            200: OpenApiResponse(
                response={
                    "type": "object",
                    "required": ["@context", "@type", "uid", "permission"],
                    "properties": {
                        "@context": {
                            "type": "string",
                            "enum": ["http://www.w3.org/ns/odrl.jsonld"],
                        },
                        "@type": {"type": "string", "enum": ["Agreement"]},
                        "uid": {"type": "string"},
                        "permission": {"type": "array", "items": {"type": "object"}},
                        "prohibition": {"type": "array", "items": {"type": "object"}},
                        "obligation": {"type": "array", "items": {"type": "object"}},
                        "researchApprovals": {
                            "type": "object",
                            "description": "required (kinds), current, asOf, validUntil.",
                        },
                    },
                },
                description="An ODRL Agreement policy.",
            ),
            **NOT_MODIFIED,
            **error_responses(400),
        },
    )
    @kept_read
    def get(self, request: Request, pk) -> Response:
        agreement = agreement_for_organisation("terms", self.organisation_id, pk)
        if agreement is None:
            raise Http404
        return Response(agreement_policy(agreement))


class PDFRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else b""


class AgreementDocumentApi(PartnerApiView):
    required_scope = ApiScope.AGREEMENTS_READ
    renderer_classes = [PDFRenderer, JSONRenderer]

    @extend_schema(
        operation_id="agreements_document",
        summary="The sealed PDF of the executed agreement",
        description="`application/pdf`; the `X-Content-SHA256` header carries the file's "
        "SHA-256. 404 until the sealed PDF exists.",
        tags=["agreements"],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The sealed PDF."
            ),
            **{
                (code, "application/json"): response
                for code, response in error_responses(400).items()
            },
        },
    )
    def get(self, request: Request, pk) -> FileResponse:
        agreement = get_object_or_404(
            agreements_visible_to_organisation(self.organisation_id), pk=pk
        )
        document = latest_executed_document(agreement)
        if document is None:
            raise exceptions.NotFound("This agreement has no sealed document yet.")
        response = audited_file_response(
            document.file,
            filename=f"{agreement.reference}.pdf",
            content_type="application/pdf",
            actor=request.user,
            target=agreement,
            payload={
                "document_id": document.pk,
                "kind": document.kind,
                "sha256": document.sha256,
                "via": "api",
            },
        )
        response["X-Content-SHA256"] = document.sha256
        response["ETag"] = f'"{document.sha256}"'
        return response
