"""Every write of cost and effort entries: record, update, share (or make private), delete.

The rule: a person records an entry for a party of the agreement they act for (any role: the
district's data manager books preparation time as much as counsel books review time); only
the people of the party that recorded an entry may change, share or delete it. Facilitators
act for no party and record nothing. Each act is an audit entry whose payload names the
agreement, the kind and what changed, never an amount or a note: the trail of an entry must
not tell anyone what its party keeps private.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agreements.access import User, acting_party
from agreements.costs.models import CostEntry, CostKind
from agreements.models import Agreement, Clause, ClauseOverride, OverrideKind
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError

#: The fields of each kind a party fills in (``note``, ``occurred_on`` and ``currency`` are
#: common to all). Fields of another kind are refused, so an entry never carries stray data.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    CostKind.LEGAL_REVIEW: ("hours", "legal_role", "hourly_rate", "clause_key"),
    CostKind.DATA_PREPARATION: (
        "hours",
        "prepared_by",
        "compensation",
        "stipend_amount",
        "funding_source",
        "compensation_state",
    ),
    CostKind.ONGOING: ("category", "amount", "period"),
}
COMMON_FIELDS = ("occurred_on", "note", "currency")
_DECIMAL_FIELDS = ("hours", "hourly_rate", "stipend_amount", "amount")
_NULLABLE = (*_DECIMAL_FIELDS,)


def _decimal(name: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainError({name: f"Enter a number, not {str(value)[:20]!r}."}) from None
    if not number.is_finite():
        raise DomainError({name: "Enter a finite number."})
    return number


def _normalise(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``kind``'s fields, typed; a field of another kind is refused by name."""
    allowed = (*KIND_FIELDS[kind], *COMMON_FIELDS)
    stray = sorted(set(values) - set(allowed))
    if stray:
        raise DomainError(
            {
                name: f"A {CostKind(kind).label.lower()} entry has no {name.replace('_', ' ')}."
                for name in stray
            }
        )
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in _DECIMAL_FIELDS:
            cleaned[name] = _decimal(name, value)
        elif name == "occurred_on":
            cleaned[name] = value
        elif name == "currency":
            cleaned[name] = (value or "").strip().upper()
        else:
            cleaned[name] = (
                (value or "").strip() if isinstance(value, str) or value is None else value
            )
    return cleaned


def _check_clause(agreement: Agreement, clause_key: str) -> None:
    """A clause key must name a clause of the agreement's version or one inserted into it."""
    if not clause_key:
        return
    exists = (
        Clause.objects.filter(version_id=agreement.template_version_id, key=clause_key).exists()
        or ClauseOverride.objects.filter(
            agreement=agreement, kind=OverrideKind.INSERT, new_key=clause_key
        ).exists()
    )
    if not exists:
        raise DomainError({"clause_key": "Choose a clause of this agreement (or leave it empty)."})


def _save(entry: CostEntry) -> None:
    try:
        entry.full_clean()
    except ValidationError as error:
        raise DomainError(error.message_dict) from None
    entry.save()


def _audit(action: str, entry: CostEntry, by: User, **payload: Any) -> None:
    audit_record(
        action=action,
        target=entry,
        actor=by,
        organisation_id=entry.organisation_id,
        payload={"agreement": str(entry.agreement_id), "kind": entry.kind, **payload},
    )


@transaction.atomic
def cost_entry_record(
    *,
    agreement: Agreement,
    by: User,
    kind: str,
    occurred_on: dt.date,
    values: Mapping[str, Any],
    organisation_id: int | None = None,
    shared: bool = False,
) -> CostEntry:
    """Record one entry of ``kind`` for the party ``by`` acts for (``organisation_id``
    picks one when they act for several). Private unless ``shared``. ``values`` holds the
    kind's own fields (``KIND_FIELDS``) and ``note`` / ``currency``; anything else is
    refused, and every error names its field."""
    if kind not in CostKind.values:
        raise DomainError(
            {"kind": "Choose legal review time, data preparation or an ongoing cost."}
        )
    party = acting_party(
        by, agreement, organisation_id=organisation_id, action="record costs for this agreement"
    )
    fields = _normalise(kind, values)
    _check_clause(agreement, fields.get("clause_key", ""))
    entry = CostEntry(
        agreement=agreement,
        organisation_id=party,
        recorded_by=by,
        kind=kind,
        occurred_on=occurred_on,
        shared=shared,
        shared_at=timezone.now() if shared else None,
        **fields,
    )
    _save(entry)
    _audit(AuditAction.COST_RECORDED, entry, by, shared=shared)
    return entry


def _locked_for_party(entry: CostEntry, by: User, action: str) -> CostEntry:
    """The entry, locked, once ``by`` is known to act for the party that recorded it."""
    acting_party(by, entry.agreement, organisation_id=entry.organisation_id, action=action)
    return CostEntry.objects.select_for_update().select_related("agreement").get(pk=entry.pk)


@transaction.atomic
def cost_entry_update(*, entry: CostEntry, by: User, values: Mapping[str, Any]) -> CostEntry:
    """Change fields of an entry (its kind stays): only its own party's people may. Nothing
    is saved unless the whole entry is valid afterwards."""
    locked = _locked_for_party(entry, by, "change this cost entry")
    fields = _normalise(locked.kind, values)
    if "clause_key" in fields:
        _check_clause(locked.agreement, fields["clause_key"])
    changed = sorted(name for name, value in fields.items() if getattr(locked, name) != value)
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, fields[name])
    _save(locked)
    _audit(AuditAction.COST_CHANGED, locked, by, fields=changed)
    return locked


@transaction.atomic
def cost_entry_share(*, entry: CostEntry, by: User, shared: bool = True) -> CostEntry:
    """Share an entry with the trio (and the collaboratory's facilitators), or make a shared
    one private again: only its own party's people may. Sharing twice is refused, so the
    trail holds one entry per real change."""
    locked = _locked_for_party(entry, by, "share this cost entry")
    if locked.shared == shared:
        raise DomainError(
            "This entry is shared already." if shared else "This entry is private already."
        )
    locked.shared = shared
    locked.shared_at = timezone.now() if shared else None
    locked.save(update_fields=["shared", "shared_at", "updated_at"])
    _audit(AuditAction.COST_SHARED, locked, by, shared=shared)
    return locked


@transaction.atomic
def cost_entry_delete(*, entry: CostEntry, by: User) -> None:
    """Delete an entry (its party's people only); the audit trail keeps that it existed."""
    locked = _locked_for_party(entry, by, "delete this cost entry")
    _audit(AuditAction.COST_DELETED, locked, by, shared=locked.shared)
    locked.delete()
