"""Shapes of the partner API's agreement resources.

The declared fields are the contract (they generate the OpenAPI schema); ``to_representation``
builds the same shape with plain attribute reads, because the list endpoint serialises up to
200 agreements with their parties per request and DRF's per-field machinery would dominate
its time. The schemathesis run checks that what we send matches what we declare.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from agreements.approvals.api import (
    ResearchApprovalsSerializer,
    data_flow_permitted,
    research_approvals_json,
)
from agreements.destruction.rules import DutyState
from agreements.destruction.selectors import api_duties
from agreements.models import (
    Agreement,
    DestructionMethod,
    Identifiability,
    Status,
    TerminationGround,
)
from agreements.ownership.serializers import OwnershipSerializer, ownership_data
from agreements.selectors import conflicts, consolidated_text, live_approvals, parties
from agreements.term_sheet import key_terms_json
from agreements.terms import destruction_deadline, end_date
from agreements.text.document.model import BlankKind
from partners.models import TrioRole
from partners.serializers import OrganisationSummarySerializer, organisation_summary


class TrioRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TemplateRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The template version's id.")
    name = serializers.CharField()
    version = serializers.IntegerField()


class PartySerializer(serializers.Serializer):
    organisation = OrganisationSummarySerializer()
    role = serializers.ChoiceField(choices=TrioRole.choices)
    approved_at = serializers.DateTimeField(
        allow_null=True, help_text="When its legal team approved the current text."
    )
    signed_at = serializers.DateTimeField(allow_null=True)


def _party_rows(agreement: Agreement) -> list[dict[str, Any]]:
    """The detail's parties, from its prefetches, in the list rows' shape."""
    approved = {a.organisation_id: a.created_at for a in live_approvals(agreement)}
    signed = {s.organisation_id: s.signed_at for s in agreement.signatures.all()}
    return [
        {
            "organisation": organisation_summary(member.organisation),
            "role": member.role,
            "approved_at": approved.get(member.organisation_id),
            "signed_at": signed.get(member.organisation_id),
        }
        for member in parties(agreement)
    ]


class AgreementSerializer(serializers.Serializer):
    """One agreement in the list. Needs ``context["document_base"]``: the absolute URL of
    ``/api/v1/agreements/``."""

    id = serializers.UUIDField()
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_changed_at = serializers.DateTimeField()
    trio = TrioRefSerializer()
    template = TemplateRefSerializer()
    parties = PartySerializer(many=True)
    effective_date = serializers.DateField()
    expires_on = serializers.DateField()
    updated_at = serializers.DateTimeField()
    document_url = serializers.URLField(
        allow_null=True, help_text="The sealed PDF; null until it exists."
    )
    # The in-force answer partner systems check before data moves (agreements.approvals):
    # the list carries it too, so a system polling the list does not read "active" alone.
    data_flow_permitted = serializers.BooleanField(
        read_only=True,
        help_text="Whether data may flow under the agreement today: it is active, today is in "
        "its term, and the research approvals its template requires are current. False while "
        "a required approval is missing or expired (the detail's research_approvals says "
        "which).",
    )

    def to_representation(self, agreement: Agreement | dict[str, Any]) -> dict[str, Any]:
        if isinstance(agreement, dict):
            return self._from_row(agreement)
        version = agreement.template_version
        return self._from_row(
            {
                "id": agreement.pk,
                "reference": agreement.reference,
                "title": agreement.title,
                "status": agreement.status,
                "status_changed_at": agreement.status_changed_at,
                "trio_id": agreement.trio.id,
                "trio_name": agreement.trio.name,
                "version_id": version.id,
                "template_name": version.template.name,
                "version_number": version.number,
                "parties": _party_rows(agreement),
                "start_date": agreement.start_date,
                "expires_on": agreement.expires_on,
                "updated_at": agreement.updated_at,
                "has_executed_document": getattr(agreement, "has_executed_document", False),
                "data_flow_permitted": data_flow_permitted(agreement, timezone.localdate()),
            }
        )

    def _from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row of ``agreements.api.selectors.agreement_page_rows`` (the hot path)."""
        agreement_id = str(row["id"])
        return {
            "id": agreement_id,
            "reference": row["reference"],
            "title": row["title"],
            "status": row["status"],
            "status_changed_at": row["status_changed_at"],
            "trio": {"id": row["trio_id"], "name": row["trio_name"]},
            "template": {
                "id": row["version_id"],
                "name": row["template_name"],
                "version": row["version_number"],
            },
            "parties": row["parties"],
            "effective_date": row["start_date"],
            "expires_on": row["expires_on"],
            "updated_at": row["updated_at"],
            "document_url": (
                f"{self.context['document_base']}{agreement_id}/document"
                if row["has_executed_document"]
                else None
            ),
            "data_flow_permitted": row["data_flow_permitted"],
        }


class ResearchQuestionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class DataElementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    # DRF pops declared fields off the class, so this field never shadows Field.source at run
    # time; only the type checker sees the name clash.
    source = OrganisationSummarySerializer()  # type: ignore[assignment]
    recipient = OrganisationSummarySerializer()
    identifiability = serializers.ChoiceField(choices=Identifiability.choices)
    research_questions = ResearchQuestionRefSerializer(many=True)
    ownership = OwnershipSerializer(
        help_text="Each party's position on who owns, controls, stewards and processes it "
        "(agreements.ownership), and whether they are settled."
    )


class ConflictSerializer(serializers.Serializer):
    clause_key = serializers.CharField()
    organisations = serializers.ListField(
        child=serializers.CharField(), help_text="Slugs of the parties changing the clause."
    )


class TimelineEntrySerializer(serializers.Serializer):
    from_status = serializers.ChoiceField(choices=Status.choices)
    to_status = serializers.ChoiceField(choices=Status.choices)
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class OpenBlankSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="Stable id of the blank: its part's key, its ordinal among the part's "
        "blanks and its kind (purpose.1.text)."
    )
    part_key = serializers.CharField()
    where = serializers.CharField(help_text="Section B (PURPOSE), Section H.2 (...), Preamble.")
    kind = serializers.ChoiceField(choices=[(k.value, k.value) for k in BlankKind])
    prompt = serializers.CharField(allow_blank=True, help_text="The source's own words.")
    excerpt = serializers.CharField(help_text="The text around the blank.")


class TerminationSerializer(serializers.Serializer):
    ground = serializers.ChoiceField(choices=TerminationGround.choices)
    noticed_on = serializers.DateField(help_text="The day notice was given.")
    ends_on = serializers.DateField(help_text="The agreement's last day in force.")


class DestructionDutySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    data_element_id = serializers.IntegerField(help_text="The data element to destroy.")
    recipient = OrganisationSummarySerializer(help_text="The party that must destroy it.")
    deadline = serializers.DateField(help_text="The agreement's destruction_deadline.")
    state = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in DutyState],
        help_text="pending; due_soon (deadline within 30 days); overdue (deadline passed, not "
        "certified); certified.",
    )
    overdue = serializers.BooleanField(help_text="Deadline passed without a certificate.")
    certified_at = serializers.DateTimeField(allow_null=True)
    method = serializers.ChoiceField(choices=DestructionMethod.choices, allow_null=True)
    destroyed_on = serializers.DateField(allow_null=True)
    certifier = serializers.CharField(allow_null=True, help_text="Name and title.")
    certificate_sha256 = serializers.CharField(
        allow_null=True,
        help_text="SHA-256 of the sealed certificate of destruction PDF, once rendered.",
    )


class AgreementDetailSerializer(AgreementSerializer):
    data_elements = DataElementSerializer(many=True)
    open_blanks = OpenBlankSerializer(
        many=True,
        help_text="Fill-in blanks neither filled in nor marked not applicable: the agreement "
        "cannot go to legal review while there are any.",
    )
    deviations_count = serializers.IntegerField(
        help_text="Clauses whose consolidated text differs from the template's "
        "(replaced, inserted or deleted)."
    )
    open_conflicts = ConflictSerializer(many=True)
    timeline = TimelineEntrySerializer(many=True)
    destruction_deadline = serializers.DateField(
        read_only=True,
        help_text="The day by which every recipient must have destroyed the shared data: the "
        "actual end (ends_on) plus the retention period, or the agreed destruction date when "
        "that is earlier.",
    )
    ends_on = serializers.DateField(
        read_only=True,
        help_text="The agreement's actual last day in force: its expiry, or the day a notice "
        "of termination takes effect.",
    )
    termination = TerminationSerializer(
        read_only=True, allow_null=True, help_text="The notice of termination; null if none."
    )
    destruction_duties = DestructionDutySerializer(
        many=True,
        read_only=True,
        help_text="One per data element and receiving party, from the day the agreement "
        "became active (empty before): each recipient must destroy its data by the deadline "
        "and certify it.",
    )
    destruction_overdue = serializers.BooleanField(
        read_only=True, help_text="Some destruction duty is overdue."
    )

    terms = serializers.DictField(
        read_only=True,
        help_text="The key terms as the text states them (the agreement page's Terms panel and "
        "the PDF cover show the same): effective_date, expires_on, term_months, sharing_mode, "
        "breach_notice_hours, retention_days, destruction_deadline, termination_notice_days, "
        "cure_days, and ends_on when the agreement ends before its expiry.",
    )

    project_summary = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Non-binding notes the partners wrote when starting the agreement: goals, "
        "success (how success will be measured) and benefits (what each partner gains), "
        "each only when written. Never part of the agreement's text.",
    )

    # Research approvals (agreements.approvals); ``data_flow_permitted`` comes with the list's
    # fields.
    research_approvals = ResearchApprovalsSerializer(
        read_only=True,
        help_text="The IRB and district research office approvals: which the template "
        "requires, whether they are current, and each approval's state.",
    )

    def to_representation(self, agreement: Agreement | dict[str, Any]) -> dict[str, Any]:
        if not isinstance(agreement, Agreement):
            raise TypeError("The detail needs the agreement itself, not a row of the list.")
        text = consolidated_text(agreement)
        organisations = {m.organisation_id: m.organisation for m in agreement.trio.members.all()}
        members = parties(agreement)
        return {
            **super().to_representation(agreement),
            "data_elements": [
                {
                    "id": element.id,
                    "name": element.name,
                    "description": element.description,
                    "source": organisation_summary(
                        organisations.get(element.source_id, element.source)
                    ),
                    "recipient": organisation_summary(
                        organisations.get(element.recipient_id, element.recipient)
                    ),
                    "identifiability": element.identifiability,
                    "research_questions": [
                        {"id": q.id, "text": q.text} for q in element.research_questions.all()
                    ],
                    "ownership": ownership_data(element, members),
                }
                for element in agreement.data_elements.all()
            ],
            "open_blanks": [
                {
                    "id": blank.id,
                    "part_key": blank.part_key,
                    "where": blank.place,
                    "kind": blank.kind.value,
                    "prompt": blank.prompt,
                    "excerpt": blank.excerpt,
                }
                for blank in text.open_blanks
            ],
            "deviations_count": sum(1 for c in text.clauses if c.origin != "template")
            + len(text.deleted),
            "open_conflicts": [
                {
                    "clause_key": key,
                    "organisations": sorted({o.organisation.slug for o in overrides}),
                }
                for key, overrides in sorted(conflicts(agreement).items())
            ],
            "timeline": [
                {
                    "from_status": t.from_status,
                    "to_status": t.to_status,
                    "at": t.at,
                    "reason": t.reason,
                }
                for t in agreement.transitions.all()
            ],
            "destruction_deadline": destruction_deadline(agreement),
            "project_summary": agreement.project_summary or {},
            "ends_on": end_date(agreement),
            "termination": (
                {
                    "ground": agreement.termination_ground,
                    "noticed_on": agreement.termination_noticed_on,
                    "ends_on": agreement.ends_on,
                }
                if agreement.termination_ground
                else None
            ),
            "terms": key_terms_json(agreement),
            "research_approvals": research_approvals_json(agreement, timezone.localdate()),
            **_destruction(agreement, organisations),
        }


class AgreementPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Agreements across all pages.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AgreementSerializer(many=True)


def _destruction(agreement: Agreement, organisations: dict[int, Any]) -> dict[str, Any]:
    duties = [
        {
            **duty,
            "recipient": organisation_summary(
                organisations.get(duty["recipient"].pk, duty["recipient"])
            ),
        }
        for duty in api_duties(agreement)
    ]
    return {
        "destruction_duties": duties,
        "destruction_overdue": any(duty["overdue"] for duty in duties),
    }
