"""Demo data for destruction duties: every agreement of the demo that has been in force gets
its duties, so last year's expired pilot shows an overdue duty (its deadline passed and nobody
certified) on the director's dashboard, the duties pages and in the API. Deterministic: it
opens duties only and certifies nothing."""

from __future__ import annotations

from django.utils import timezone

from agreements.destruction import services
from agreements.destruction.rules import DutyState
from agreements.destruction.selectors import deadline_sql, duty_rows
from agreements.models import Agreement, DestructionDuty
from partners.models import Collaboratory


def seed_destruction(collaboratory: Collaboratory) -> None:
    agreements = Agreement.objects.filter(
        trio__collaboratory=collaboratory, status__in=services.HAS_BEEN_IN_FORCE
    ).order_by("created_at")
    for agreement in agreements:
        services.destruction_duties_open(agreement_id=agreement.pk)
    duties = DestructionDuty.objects.filter(agreement__in=agreements).annotate(
        deadline=deadline_sql()
    )
    rows = duty_rows(duties, acting_for=set(), today=timezone.localdate())
    assert any(row.state == DutyState.OVERDUE for row in rows), (
        "the demo should show an overdue destruction duty"
    )
