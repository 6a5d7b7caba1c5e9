"""Demo costs in two trios (issue 20, item 6), recorded through the real services.

Adaptive Practice (the real-time dashboard pilot, in negotiation over breach notification):
Northfield's and Brightpath's counsel book review time on clauses, Riverbend's data
preparation by district staff on a grant-funded stipend, Brightpath's hosting costs; some
shared, some private. Productive Struggle (the active classroom study): Hillcrest's outside
counsel, Riverbend's staff preparing data without compensation, Quadratic's storage.
Idempotent: nothing is added once the collaboratory has any cost entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from agreements.costs.models import CostEntry, CostKind
from agreements.costs.services import cost_entry_record
from agreements.models import Agreement
from partners.models import Collaboratory

# (agreement title, username, kind, days ago, shared, values)
ENTRIES: list[tuple[str, str, str, int, bool, dict[str, Any]]] = [
    (
        "Adaptive Practice Real-Time Dashboard Pilot",
        "counsel",
        CostKind.LEGAL_REVIEW,
        20,
        True,
        {
            "hours": Decimal("6.5"),
            "legal_role": "in_house_counsel",
            "clause_key": "breach-notification",
            "note": "Breach-notice window: 72 hours is not workable for a university lab.",
        },
    ),
    (
        "Adaptive Practice Real-Time Dashboard Pilot",
        "counsel",
        CostKind.LEGAL_REVIEW,
        12,
        False,
        {"hours": Decimal("3"), "legal_role": "paralegal", "hourly_rate": Decimal("85")},
    ),
    (
        "Adaptive Practice Real-Time Dashboard Pilot",
        "vendor",
        CostKind.LEGAL_REVIEW,
        15,
        True,
        {
            "hours": Decimal("9"),
            "legal_role": "outside_counsel",
            "hourly_rate": Decimal("340"),
            "clause_key": "audits",
        },
    ),
    (
        "Adaptive Practice Real-Time Dashboard Pilot",
        "director",
        CostKind.DATA_PREPARATION,
        10,
        True,
        {
            "hours": Decimal("24"),
            "prepared_by": "district_staff",
            "compensation": "stipend",
            "stipend_amount": Decimal("1200"),
            "funding_source": "Cedar Education Foundation grant CEF-2026-14",
            "compensation_state": "promised",
            "note": "Cleaning and minimising the practice logs, two data analysts after hours.",
        },
    ),
    (
        "Adaptive Practice Real-Time Dashboard Pilot",
        "vendor",
        CostKind.ONGOING,
        30,
        True,
        {"category": "security", "amount": Decimal("450"), "period": "monthly"},
    ),
    (
        "Productive Struggle Classroom Study",
        "hillcrest",
        CostKind.LEGAL_REVIEW,
        60,
        True,
        {
            "hours": Decimal("11.5"),
            "legal_role": "outside_counsel",
            "hourly_rate": Decimal("295"),
        },
    ),
    (
        "Productive Struggle Classroom Study",
        "director",
        CostKind.DATA_PREPARATION,
        45,
        True,
        {
            "hours": Decimal("16"),
            "prepared_by": "district_staff",
            "compensation": "none",
            "note": "Done within the research office's normal hours.",
        },
    ),
    (
        "Productive Struggle Classroom Study",
        "quadratic",
        CostKind.ONGOING,
        40,
        False,
        {"category": "storage", "amount": Decimal("1800"), "period": "yearly"},
    ),
]


@transaction.atomic
def seed_costs(collaboratory: Collaboratory) -> None:
    if CostEntry.objects.filter(agreement__trio__collaboratory=collaboratory).exists():
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    agreements = {
        a.title: a
        for a in Agreement.objects.filter(trio__collaboratory=collaboratory).select_related("trio")
    }
    today = timezone.localdate()
    for title, username, kind, days_ago, shared, values in ENTRIES:
        agreement = agreements.get(title)
        if agreement is None or username not in users:
            continue
        cost_entry_record(
            agreement=agreement,
            by=users[username],
            kind=kind,
            occurred_on=today - dt.timedelta(days=days_ago),
            values=values,
            shared=shared,
        )
