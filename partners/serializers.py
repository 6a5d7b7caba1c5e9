"""Shapes of the partner API's organisation and webhook resources (shape only, no rules)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from partners.models import (
    ApiScope,
    DeliveryStatus,
    Organisation,
    OrganisationKind,
    WebhookEvent,
)
from partners.student_keys import format_of


class OrganisationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=OrganisationKind.choices)

    def to_representation(self, organisation: Organisation) -> dict:
        # Hot path of the agreement list: plain attribute reads instead of field machinery.
        return organisation_summary(organisation)


def organisation_summary(organisation: Organisation) -> dict:
    return {
        "id": organisation.id,
        "slug": organisation.slug,
        "name": organisation.name,
        "kind": organisation.kind,
    }


class TokenInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it.")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiScope.choices))
    expires_at = serializers.DateTimeField(allow_null=True)


class StudentKeyRuleSerializer(serializers.Serializer):
    """A district's student key rule (issue 20): what its consent records accept."""

    format = serializers.CharField(
        allow_blank=True,
        help_text="The district's format (# digit, @ capital letter, * either, the rest "
        "literal; alternatives separated by commas), or empty: then keys shaped like names "
        "are refused (no digit, or a word of four or more letters).",
    )
    description = serializers.CharField(help_text="The rule in words.")
    pattern = serializers.CharField(
        allow_blank=True,
        help_text="The format as an anchored regular expression (empty without a format).",
    )
    examples = serializers.ListField(child=serializers.CharField())


def student_key_rule(organisation: Organisation) -> dict | None:
    """The rule ``StudentKeyRuleSerializer`` describes; None for an organisation that is
    not a district."""
    if organisation.kind != OrganisationKind.DISTRICT:
        return None
    key_format = format_of(organisation)
    if key_format is None:
        return {
            "format": "",
            "description": "Any pseudonymous key not shaped like a name: at least one digit "
            "and no word of four or more letters.",
            "pattern": "",
            "examples": ["S1234567", "stu-0042", "A1B2C3"],
        }
    return {
        "format": key_format.source,
        "description": key_format.description,
        "pattern": key_format.regex,
        "examples": key_format.examples(),
    }


class OrganisationMeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="organisation.id")
    slug = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(source="organisation.name")
    kind = serializers.ChoiceField(choices=OrganisationKind.choices, source="organisation.kind")
    website = serializers.CharField(source="organisation.website", allow_blank=True)
    token = TokenInfoSerializer()
    student_keys = serializers.SerializerMethodField(
        help_text="Districts only (null otherwise): the student keys its consent records "
        "accept; a key outside this rule is refused, and the refusal never repeats it."
    )

    @extend_schema_field(StudentKeyRuleSerializer(allow_null=True))
    def get_student_keys(self, value: dict) -> dict | None:
        return student_key_rule(value["organisation"])


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(
        allow_blank=True,
        help_text="Why it is disabled, e.g. by the circuit breaker after repeated failures.",
    )
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500,
        help_text="https URL that receives POSTed events. It must resolve to public "
        "addresses only.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        min_length=1,
        max_length=len(WebhookEvent.values),
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="The signing secret. Shown only now: store it to verify signatures."
    )


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    manual = serializers.BooleanField()


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event = serializers.ChoiceField(choices=WebhookEvent.choices)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempt_log = WebhookAttemptSerializer(many=True)


class PageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items across all pages.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class WebhookEndpointPageSerializer(PageSerializer):
    results = WebhookEndpointSerializer(many=True)


class WebhookDeliveryPageSerializer(PageSerializer):
    results = WebhookDeliverySerializer(many=True)
