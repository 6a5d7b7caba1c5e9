"""The one way to write the audit chain: ``record``. Plus ``verify_chain``, which walks it.

Call ``record`` inside the transaction of the act it reports (it joins the caller's
transaction), so the entry exists exactly when the act does. Appends are serialised with a
transaction-scoped PostgreSQL advisory lock: concurrent writers queue up instead of both
linking to the same previous entry (a forked chain). The lock is held until the caller's
transaction ends, so record late in a service, after its row locks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import AuditAction, AuditEntry

GENESIS_HASH = "0" * 64
#: pg_advisory_xact_lock key of the chain's tail ("audit" in ASCII).
CHAIN_LOCK_KEY = 0x61756469740A

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "action",
    "object_type",
    "object_id",
    "payload",
)


def _json_safe(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The payload as it will read back from jsonb (dates and UUIDs become strings)."""
    return json.loads(json.dumps(payload or {}, default=str, ensure_ascii=False))


def canonical_json(fields: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8: the same entry always serialises the same way."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    values["occurred_at"] = entry.occurred_at.astimezone(dt.UTC).isoformat()
    return values


def compute_hash(prev_hash: str, entry: AuditEntry) -> str:
    data = (prev_hash + canonical_json(entry_fields(entry))).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def actor_label_for(actor: Any) -> str:
    """Who acted, in words that survive the user being renamed or deleted."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    token = getattr(actor, "token", None)
    if token is not None:  # partners.api_auth.ApiClient
        return str(actor)
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    username = actor.get_username()
    return f"{full_name} ({username})" if full_name else username


def object_type_of(target: models.Model) -> str:
    return target._meta.label_lower


@transaction.atomic
def record(
    *,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    actor: Any = None,
    actor_label: str = "",
    organisation_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit chain (in the caller's transaction).

    ``target`` names the subject (or give ``object_type`` / ``object_id``); ``actor`` is a
    user, an API client or None for the system.
    """
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    if target is not None:
        object_type, object_id = object_type_of(target), str(target.pk)
    if not object_type or not object_id:
        raise ValueError("An audit entry needs a subject: target, or object_type and object_id.")
    actor_id = (
        actor.pk if getattr(actor, "is_authenticated", False) and hasattr(actor, "pk") else None
    )
    if getattr(actor, "token", None) is not None:
        actor_id = None
        organisation_id = organisation_id or actor.token.organisation_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    entry = AuditEntry(
        seq=seq,
        occurred_at=timezone.now(),
        actor_id=actor_id,
        actor_label=(actor_label or actor_label_for(actor))[:300],
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        payload=_json_safe(payload),
        prev_hash=prev_hash,
    )
    entry.entry_hash = compute_hash(prev_hash, entry)
    entry.full_clean(exclude=["actor", "organisation"], validate_unique=False)
    entry.save(force_insert=True)
    return entry


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _entries(chunk_size: int) -> Iterator[AuditEntry]:
    return AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size)


def verify_chain(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order; stop at the first entry that does not fit.

    Catches a changed row (its hash no longer matches its fields), a deleted row (a gap in
    ``seq`` and a ``prev_hash`` that names a missing entry) and a reordered or forged link.
    Removing the newest entries leaves a shorter valid chain: compare the head this returns
    with one recorded elsewhere (``verify_audit --expect-head``).
    """
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for entry in _entries(chunk_size):
        problem = None
        if entry.seq != expected_seq:
            problem = (
                f"expected entry #{expected_seq} next but found #{entry.seq}: "
                f"{entry.seq - expected_seq} missing"
                if entry.seq > expected_seq
                else f"entry #{entry.seq} is out of order"
            )
        elif entry.prev_hash != prev_hash:
            problem = "its prev_hash does not match the previous entry's hash"
        elif compute_hash(entry.prev_hash, entry) != entry.entry_hash:
            problem = "its contents do not match its hash (the row was altered)"
        if problem:
            return ChainReport(
                checked=checked,
                head_seq=expected_seq - 1,
                head_hash=prev_hash,
                problem=ChainProblem(seq=entry.seq, message=problem),
            )
        checked += 1
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash
    return ChainReport(
        checked=checked, head_seq=expected_seq - 1, head_hash=prev_hash, problem=None
    )
