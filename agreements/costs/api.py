"""The partner API's view of an agreement's costs: what the calling organisation's people see
(``agreements.costs.selectors``): its own entries, private and shared, the other parties'
shared entries, its own totals and the trio's shared totals, and the cycle time per stage.
An agreement the organisation is not a party to answers 404."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.costs.cycle import agreement_cycle
from agreements.costs.models import CostKind
from agreements.costs.selectors import Totals, agreement_totals, entry_rows, visible_entries
from agreements.selectors import agreements_visible_to_organisation
from partners.api_errors import error_responses
from partners.apis import PartnerApiView
from partners.models import ApiScope


class MoneySerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217 code.")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


def _money(amounts: dict) -> list[dict[str, Any]]:
    return [{"currency": c, "amount": a} for c, a in sorted(amounts.items())]


class TotalsSerializer(serializers.Serializer):
    entries = serializers.IntegerField()
    legal_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    preparation_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    legal_fees = MoneySerializer(many=True, help_text="Hours times the rate, where one is given.")
    stipends = MoneySerializer(many=True)
    stipends_unpaid = MoneySerializer(many=True, help_text="Stipends promised, not yet paid.")
    one_off = MoneySerializer(many=True)
    per_year = MoneySerializer(
        many=True, help_text="Recurring costs for a year: monthly times twelve plus yearly."
    )

    def to_representation(self, instance: Totals) -> dict[str, Any]:
        return super().to_representation(
            {
                "entries": instance.entries,
                "legal_hours": instance.legal_hours,
                "preparation_hours": instance.preparation_hours,
                "legal_fees": _money(instance.legal_fees),
                "stipends": _money(instance.stipends),
                "stipends_unpaid": _money(instance.stipends_unpaid),
                "one_off": _money(instance.one_off),
                "per_year": _money(instance.per_year),
            }
        )


class CostEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CostKind.choices)
    organisation = serializers.CharField(source="organisation.slug", help_text="Its party.")
    own = serializers.SerializerMethodField(help_text="Recorded by your organisation.")
    shared = serializers.BooleanField()
    occurred_on = serializers.DateField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    legal_role = serializers.CharField()
    hourly_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    clause_key = serializers.CharField()
    prepared_by = serializers.CharField()
    compensation = serializers.CharField()
    stipend_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    funding_source = serializers.CharField()
    compensation_state = serializers.CharField()
    category = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    period = serializers.CharField()
    currency = serializers.CharField()
    note = serializers.CharField()

    def get_own(self, entry) -> bool:
        return entry.organisation_id == self.context["organisation_id"]


class StageSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="draft, negotiating, in_review, signing or total.")
    days = serializers.FloatField()
    open = serializers.BooleanField(help_text="The agreement is in this stage now.")


class AgreementCostsSerializer(serializers.Serializer):
    agreement = serializers.UUIDField()
    entries = CostEntrySerializer(many=True)
    own_totals = TotalsSerializer(help_text="All your organisation's entries.")
    shared_totals = TotalsSerializer(help_text="Every party's shared entries.")
    cycle_time = StageSerializer(many=True)


class AgreementCostsApi(PartnerApiView):
    required_scope = ApiScope.AGREEMENTS_READ

    @extend_schema(
        operation_id="agreements_costs_retrieve",
        summary="Costs and effort of one agreement, as your organisation sees them",
        description="Your organisation's entries (private and shared) and the other parties' "
        "shared entries; your totals and the trio's shared totals (which count shared entries "
        "only); days per lifecycle stage.",
        tags=["agreements"],
        responses={200: AgreementCostsSerializer, **error_responses(400)},
    )
    def get(self, request: Request, pk) -> Response:
        # Queries: token, the agreement, the entries (+organisation), totals, stages.
        organisation_id = self.organisation_id
        agreement = get_object_or_404(
            agreements_visible_to_organisation(organisation_id).only("id"), pk=pk
        )
        own = [organisation_id]
        totals = agreement_totals(agreement.pk, own)
        data = {
            "agreement": agreement.pk,
            "entries": CostEntrySerializer(
                entry_rows(visible_entries(agreement.pk, own)),
                many=True,
                context={"organisation_id": organisation_id},
            ).data,
            "own_totals": TotalsSerializer(totals.own[organisation_id]).data,
            "shared_totals": TotalsSerializer(totals.shared).data,
            "cycle_time": StageSerializer(agreement_cycle(agreement.pk), many=True).data,
        }
        return Response(data)
