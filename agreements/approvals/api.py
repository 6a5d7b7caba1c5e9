"""The partner API's view of research approvals: the detail's ``research_approvals`` and
``data_flow_permitted`` (declared in ``agreements.api.serializers``), and what the ODRL policy
of ``/terms`` adds. Built from the approvals travelling with the agreement's row
(``RESEARCH_APPROVALS_PREFETCH``) by ``agreements.approvals.rules``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from agreements.approvals import rules
from agreements.approvals.models import ApprovalKind
from agreements.approvals.selectors import approvals_of
from agreements.models import Agreement
from partners.serializers import OrganisationSummarySerializer, organisation_summary


class ResearchApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ApprovalKind.choices)
    approving_body = serializers.CharField(help_text="e.g. University of X IRB.")
    number = serializers.CharField(help_text="The approval number or protocol id.")
    approved_on = serializers.DateField()
    expires_on = serializers.DateField(help_text="The last day the approval holds.")
    state = serializers.ChoiceField(
        choices=[(s, rules.STATE_LABELS[s]) for s in rules.STATES],
        help_text="Today: current, not_yet_valid, expired, superseded (a renewal was recorded "
        "after it) or withdrawn.",
    )
    holder = OrganisationSummarySerializer(help_text="The party that holds the approval.")
    renews = serializers.IntegerField(
        allow_null=True, help_text="The id of the approval this one renews."
    )
    recorded_at = serializers.DateTimeField()


class ResearchApprovalsSerializer(serializers.Serializer):
    # DRF pops declared fields off the class: this never shadows Field.required at run time.
    required = serializers.ListField(  # type: ignore[assignment]
        child=serializers.ChoiceField(choices=ApprovalKind.choices),
        help_text="The approvals the agreement's template requires before data flows.",
    )
    current = serializers.BooleanField(
        help_text="Every required approval holds today (true when none is required)."
    )
    as_of = serializers.DateField(help_text="The day these answers are for (today).")
    valid_until = serializers.DateField(
        allow_null=True,
        help_text="While current: the last day the required approvals hold (the earliest of "
        "their expiries); null when none is required or they are not current.",
    )
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why they are not current, naming the approval to renew; empty when current.",
    )
    approvals = ResearchApprovalSerializer(
        many=True, help_text="Every approval recorded, renewals and withdrawn ones included."
    )


def research_approvals_json(agreement: Agreement, day: dt.date) -> dict[str, Any]:
    """The detail's ``research_approvals`` object."""
    approvals = approvals_of(agreement)
    organisations = {m.organisation_id: m.organisation for m in agreement.trio.members.all()}
    return {
        "required": rules.required_kinds(agreement),
        "current": rules.approvals_current(agreement, approvals, day),
        "as_of": day,
        "valid_until": rules.valid_until(agreement, approvals, day),
        "problems": rules.problems(agreement, approvals, day, action="any data flows"),
        "approvals": [
            {
                "id": a.pk,
                "kind": a.kind,
                "approving_body": a.approving_body,
                "number": a.number,
                "approved_on": a.approved_on,
                "expires_on": a.expires_on,
                "state": rules.approval_state(a, approvals, day),
                "holder": organisation_summary(
                    organisations.get(a.organisation_id) or a.organisation
                ),
                "renews": a.renews_id,
                "recorded_at": a.recorded_at,
            }
            for a in approvals
        ],
    }


def data_flow_permitted(agreement: Agreement, day: dt.date) -> bool:
    return rules.data_flow_permitted(agreement, approvals_of(agreement), day)


def odrl_research_approvals(agreement: Agreement, day: dt.date) -> tuple[bool, dict[str, Any]]:
    """For the ODRL policy: whether its permissions may stand (the required approvals are
    current on ``day``), the ``dateTime`` constraint they end with (the approvals' last
    day), and the policy's ``researchApprovals`` summary."""
    approvals = approvals_of(agreement)
    current = rules.approvals_current(agreement, approvals, day)
    until = rules.valid_until(agreement, approvals, day)
    return current, {
        "required": rules.required_kinds(agreement),
        "current": current,
        "asOf": day.isoformat(),
        "validUntil": until.isoformat() if until else None,
    }
