"""The audit history of one agreement, from django-pghistory's trigger-written events.

Triggers record every insert and update of agreements, overrides, responses, comments,
approvals, signatures and data elements, whatever code path made them (bulk updates too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from pghistory.models import MiddlewareEvents

from agreements.models import Agreement

LABELS = {
    "agreements.Agreement": "Agreement",
    "agreements.ClauseOverride": "Proposal",
    "agreements.OverrideResponse": "Answer to a proposal",
    "agreements.ClauseComment": "Comment",
    "agreements.Approval": "Approval",
    "agreements.Signature": "Signature",
    "agreements.DataElement": "Data element",
}
HIDDEN_FIELDS = {"updated_at", "text_hash", "status_changed_at"}
# What a "created" entry shows of the new row.
SHOWN_ON_CREATE = {
    "agreements.Agreement": ("reference", "title", "status"),
    "agreements.ClauseOverride": ("kind", "clause_key", "new_key", "heading", "body", "rationale"),
    "agreements.OverrideResponse": ("decision", "comment"),
    "agreements.ClauseComment": ("clause_key", "body"),
    "agreements.Approval": ("text_hash",),
    "agreements.Signature": ("typed_name", "text_hash", "ip_address"),
    "agreements.DataElement": ("name", "identifiability"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    what: str
    action: str
    user: str
    changes: list[tuple[str, Any, Any]]


def agreement_history(agreement: Agreement, *, limit: int = 500) -> list[HistoryEntry]:
    events = list(
        MiddlewareEvents.objects.references(agreement).order_by("-pgh_created_at")[:limit]
    )
    user_ids = {e.pgh_context.get("user") for e in events if e.pgh_context}
    names = {
        u.pk: u.get_full_name() or u.get_username()
        for u in get_user_model().objects.filter(pk__in=[i for i in user_ids if i])
    }
    entries = []
    for event in events:
        model = event.pgh_obj_model
        if model not in LABELS:
            continue
        if event.pgh_label == "insert":
            data = event.pgh_data or {}
            changes = [
                (field, None, data[field])
                for field in SHOWN_ON_CREATE[model]
                if data.get(field) not in (None, "")
            ]
        else:
            changes = [
                (field, before_after[0], before_after[1])
                for field, before_after in sorted((event.pgh_diff or {}).items())
                if field not in HIDDEN_FIELDS
            ]
        if event.pgh_label == "update" and not changes:
            continue
        context: dict[str, Any] = event.pgh_context or {}
        user_id = context.get("user")
        entries.append(
            HistoryEntry(
                at=event.pgh_created_at,
                what=LABELS[model],
                action="created" if event.pgh_label == "insert" else "changed",
                user=names.get(user_id, "system") if user_id is not None else "system",
                changes=changes,
            )
        )
    return entries
