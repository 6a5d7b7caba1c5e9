"""The partner API's view of a data element's ownership (``data_elements[].ownership`` in the
agreement detail): where it stands, each party's position and the agreement to differ."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agreements.ownership.rules import State, element_ownership
from agreements.ownership.vocabulary import QUESTIONS, Owner, Party, Steward
from partners.models import TrioMember


class OwnershipAnswersSerializer(serializers.Serializer):
    owner = serializers.ChoiceField(
        choices=Owner.choices,
        help_text="Who owns the data: a party by its trio role, or the students and families.",
    )
    controller = serializers.ChoiceField(
        choices=Party.choices,
        help_text="The party that decides why and how the data is used (FERPA: the school "
        "for data it discloses).",
    )
    steward = serializers.ChoiceField(
        choices=Steward.choices, help_text="The party that holds it in trust for the owner."
    )
    processors = serializers.ListField(
        child=serializers.ChoiceField(choices=Party.choices),
        help_text="Parties that process it on the controller's instructions.",
    )


class OwnershipPositionSerializer(OwnershipAnswersSerializer):
    organisation = serializers.CharField(help_text="Slug of the party whose position it is.")
    note = serializers.CharField(allow_blank=True)
    stated_at = serializers.DateTimeField()


class AgreedToDifferSerializer(serializers.Serializer):
    wording = serializers.CharField(help_text="What the schedule says about the difference.")
    confirmed_by = serializers.ListField(
        child=serializers.CharField(), help_text="Slugs of the parties that confirmed it."
    )


class OwnershipSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[(s.value, s.value) for s in State],
        help_text="unstated: no party raised it; waiting: not every party stated a position; "
        "conflict: the positions differ; agreed: every party states the same; differ: every "
        "party confirmed a wording agreeing to differ. Legal review waits for waiting and "
        "conflict.",
    )
    disputed = serializers.ListField(
        child=serializers.ChoiceField(choices=[(q, q) for q in QUESTIONS]),
        help_text="The questions the stated positions answer differently.",
    )
    agreed = OwnershipAnswersSerializer(
        allow_null=True, help_text="The position every party states; null unless agreed."
    )
    agreed_to_differ = AgreedToDifferSerializer(
        allow_null=True, help_text="The wording agreeing to differ, if one is proposed."
    )
    positions = OwnershipPositionSerializer(many=True)


def _answers(position: Any) -> dict[str, Any]:
    return {
        "owner": position.owner,
        "controller": position.controller,
        "steward": position.steward,
        "processors": sorted(position.processors),
    }


def ownership_data(element: Any, members: list[TrioMember]) -> dict[str, Any]:
    """``OwnershipSerializer``'s shape for ``element`` (prefetched: no query)."""
    item = element_ownership(element, members)
    slugs = {m.organisation_id: m.organisation.slug for m in members}
    agreed = item.agreed_position
    return {
        "state": item.state.value,
        "disputed": list(item.disputed),
        "agreed": _answers(agreed) if agreed is not None else None,
        "agreed_to_differ": (
            {
                "wording": item.difference.wording,
                "confirmed_by": [s.member.organisation.slug for s in item.stands if s.confirmed],
            }
            if item.difference is not None
            else None
        ),
        "positions": [
            {
                "organisation": slugs.get(p.organisation_id, ""),
                **_answers(p),
                "note": p.note,
                "stated_at": p.stated_at,
            }
            for p in item.positions
        ],
    }
