"""Partner API: the aggregate consent coverage of one agreement (routed in
collaboratory/api_urls.py with the other partner endpoints).

The agreement is found through the organisation-scoped selector: one the token's organisation
is not a party to answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.selectors import agreements_visible_to_organisation
from consent.selectors import consent_summary
from partners.api_errors import error_responses
from partners.apis import PartnerApiView
from partners.models import ApiScope


class ConsentQuery(serializers.Serializer):
    agreement = serializers.UUIDField(help_text="The agreement's id.")


class ConsentSummarySerializer(serializers.Serializer):
    agreement = serializers.UUIDField()
    coverage = serializers.DictField(
        help_text="Aggregate counts only (e.g. granted, refused, withdrawn, no response), "
        "possibly grouped; never student-level rows."
    )


def _aggregate_only(value: Any) -> Any:
    """Keep scalars and (nested) mappings; drop sequences, the only shape rows could take,
    so no student-level data can leave through this endpoint whatever the summary holds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {
            str(key): _aggregate_only(item)
            for key, item in value.items()
            if not isinstance(item, list | tuple | set)
        }
    return str(value)


class ConsentSummaryApi(PartnerApiView):
    required_scope = ApiScope.CONSENT_READ
    query_serializer = ConsentQuery

    @extend_schema(
        operation_id="consent_summary",
        summary="Aggregate consent coverage of one agreement",
        description="Counts only, never student-level rows. 501 until the consent module "
        "is installed.",
        tags=["consent"],
        parameters=[ConsentQuery],
        responses={200: ConsentSummarySerializer, **error_responses(400, 501)},
    )
    def get(self, request: Request) -> Response:
        agreement = get_object_or_404(
            agreements_visible_to_organisation(self.organisation_id),
            pk=self.query["agreement"],
        )
        summary = consent_summary(agreement, recipient_id=self.organisation_id)
        coverage = _aggregate_only(summary)
        if not isinstance(coverage, dict):
            coverage = {}
        return Response({"agreement": str(agreement.pk), "coverage": coverage})
