"""Every write about ownership and stewardship: state a position, agree to differ, confirm.

The rules (``agreements.ownership.rules``): a party states its own position only (the one
access rule, ``agreements.access.acting_party``: its legal team or research director); while
the text may change (draft, negotiating) and never after, because the schedule of the text
states the positions and the signed text is frozen; every act is an audit entry on the
agreement; a position that conflicts with another party's notifies that party's legal team.
Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction
from django.utils import timezone

from agreements import lifecycle
from agreements.access import User, acting_party
from agreements.lifecycle import lock, require_status
from agreements.models import Agreement, DataElement
from agreements.notifications import notify
from agreements.ownership.models import (
    OwnershipConfirmation,
    OwnershipDifference,
    OwnershipPosition,
)
from agreements.ownership.rules import State, element_ownership
from agreements.ownership.vocabulary import QUESTION_LABELS, Owner, Party, Steward
from agreements.review.services import text_changed
from agreements.selectors import parties
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Role

#: Who states a party's position: its lawyers, or its research director.
STATING_ROLES = (Role.LEGAL, Role.DIRECTOR)
WORDING_MAX = 2000


def _element_of(agreement: Agreement, element: DataElement) -> DataElement:
    """``element`` as prefetched on the locked ``agreement`` (refused if not one of its)."""
    found = next((e for e in agreement.data_elements.all() if e.pk == element.pk), None)
    if found is None:
        raise DomainError("This data element is not part of this agreement.", code="not_found")
    return found


def _locked(element: DataElement, by: User, action: str, organisation_id: int | None):
    agreement = lock(element.agreement)
    require_status(agreement, lifecycle.EDITABLE, action)
    party = acting_party(
        by, agreement, STATING_ROLES, organisation_id=organisation_id, action=action
    )
    return agreement, _element_of(agreement, element), party


def _choice(field: str, value: str, allowed: type[models.TextChoices]) -> str:
    if value not in allowed.values:
        words = "; ".join(f"“{v}” ({label})" for v, label in allowed.choices)
        raise DomainError(
            {
                field: f"“{value}” is not a {QUESTION_LABELS[field].lower()} this product knows: "
                f"choose one of {words}."
            },
            code="unknown_choice",
        )
    return value


def _void_difference(element: DataElement, reason: str) -> OwnershipDifference | None:
    live = OwnershipDifference.objects.filter(data_element=element, voided_at__isnull=True).first()
    if live is not None:
        live.voided_at = timezone.now()
        live.voided_reason = reason[:300]
        live.save(update_fields=["voided_at", "voided_reason"])
    return live


@transaction.atomic
def ownership_position_state(
    *,
    element: DataElement,
    by: User,
    owner: str,
    controller: str,
    steward: str,
    processors: Iterable[str] = (),
    note: str = "",
    organisation_id: int | None = None,
) -> OwnershipPosition:
    """State (or restate) the position of ``by``'s party on ``element``. A changed position
    voids a live agreement to differ on the element (what it recorded is no longer what the
    parties say); a position that differs from another party's notifies that party's legal
    team."""
    agreement, element, party = _locked(
        element, by, "state a position on ownership", organisation_id
    )
    members = parties(agreement)
    roles_present = {m.role for m in members}
    _choice("owner", owner, Owner)
    _choice("controller", controller, Party)
    _choice("steward", steward, Steward)
    processors = sorted(set(processors))
    for value in processors:
        _choice("processors", value, Party)
    for field, value in (("owner", owner), ("controller", controller), ("steward", steward)):
        if value in Party.values and value not in roles_present:
            raise DomainError(
                {
                    field: f"This agreement has no {Party(value).label.lower()[4:]}: choose "
                    "one of its parties."
                },
                code="not_a_party",
            )
    if controller in processors:
        raise DomainError(
            {
                "processors": "The controller decides how the data is used; it is not also its "
                "processor. Remove it from the processors, or choose another controller."
            },
            code="controller_processes",
        )
    before = element_ownership(element, members)
    previous = next((s.position for s in before.stands if s.member.organisation_id == party), None)
    position = previous or OwnershipPosition(data_element=element, organisation_id=party)
    old_answers = previous.answers if previous is not None else None
    position.owner, position.controller, position.steward = owner, controller, steward
    position.processors = processors
    position.note = note.strip()
    position.stated_by = by
    position.stated_at = timezone.now()
    position.full_clean()
    position.save()
    changed = old_answers != position.answers
    voided = None
    if changed:
        voided = _void_difference(element, "a party changed its position")
    audit_record(
        action=AuditAction.OWNERSHIP_STATED,
        target=agreement,
        actor=by,
        organisation_id=party,
        payload={
            "data_element_id": element.pk,
            "data_element": element.name,
            "owner": owner,
            "controller": controller,
            "steward": steward,
            "processors": processors,
            "note": position.note,
            "voided_difference_id": voided.pk if voided else None,
        },
    )
    if changed:
        others = {
            p.organisation_id
            for s in before.stands
            if (p := s.position) is not None
            and p.organisation_id != party
            and p.answers != position.answers
        }
        if others:
            name = next(m.organisation.name for m in members if m.organisation_id == party)
            notify(
                "ownership_conflict",
                agreement,
                actor=by,
                organisation_ids=others,
                org=name,
                element=element.name,
                fragment=f"ownership-{element.pk}",
            )
    text_changed(agreement, by=by, reason=f"ownership of “{element.name}” stated")
    return position


@transaction.atomic
def ownership_agree_to_differ(
    *, element: DataElement, by: User, wording: str, organisation_id: int | None = None
) -> OwnershipDifference:
    """Propose the wording by which the parties agree to differ on ``element``; the proposing
    party confirms it by proposing it. Needs every party's position and a real difference;
    replaces an earlier proposed wording (its confirmations go with it)."""
    agreement, element, party = _locked(
        element, by, "agree to differ on ownership", organisation_id
    )
    wording = " ".join(wording.split())
    if not wording:
        raise DomainError(
            {
                "wording": "Write what the agreement says about the difference, e.g. “The parties "
                "differ on who owns this data; nothing in this agreement transfers or concedes "
                "ownership.”"
            },
            code="wording_required",
        )
    if len(wording) > WORDING_MAX:
        raise DomainError(
            {"wording": f"Keep the wording under {WORDING_MAX} characters; it is {len(wording)}."},
        )
    state = element_ownership(element, parties(agreement))
    if state.state == State.WAITING or state.state == State.UNSTATED:
        missing = ", ".join(m.organisation.name for m in state.not_stated)
        raise DomainError(
            f"Every party states its position on “{element.name}” before the parties can agree "
            f"to differ; waiting for {missing}.",
            code="positions_missing",
        )
    if state.state == State.AGREED:
        raise DomainError(
            f"The parties already state the same position on “{element.name}”: there is "
            "nothing to differ about.",
            code="nothing_to_differ",
        )
    _void_difference(element, "a new wording was proposed")
    now = timezone.now()
    difference = OwnershipDifference(
        data_element=element,
        wording=wording,
        organisation_id=party,
        proposed_by=by,
        created_at=now,
    )
    difference.full_clean()
    difference.save()
    OwnershipConfirmation.objects.create(
        difference=difference, organisation_id=party, user=by, confirmed_at=now
    )
    audit_record(
        action=AuditAction.OWNERSHIP_DIFFER,
        target=agreement,
        actor=by,
        organisation_id=party,
        payload={
            "data_element_id": element.pk,
            "data_element": element.name,
            "difference_id": difference.pk,
            "wording": wording,
        },
    )
    text_changed(agreement, by=by, reason=f"agreed to differ on “{element.name}” proposed")
    return difference


@transaction.atomic
def ownership_difference_confirm(
    *, difference: OwnershipDifference, by: User, organisation_id: int | None = None
) -> OwnershipConfirmation:
    """``by``'s party confirms the wording of a live agreement to differ."""
    element = DataElement.objects.select_related("agreement").get(pk=difference.data_element_id)
    agreement, element, party = _locked(
        element, by, "confirm an agreement to differ", organisation_id
    )
    live = next((d for d in element.ownership_differences.all() if d.voided_at is None), None)
    if live is None or live.pk != difference.pk:
        raise DomainError(
            "This wording was replaced or voided (a party changed its position or proposed "
            "another wording); read the current one and confirm that.",
            code="stale_difference",
        )
    if any(c.organisation_id == party for c in live.confirmations.all()):
        raise DomainError("Your organisation has already confirmed this wording.")
    confirmation = OwnershipConfirmation(
        difference=live, organisation_id=party, user=by, confirmed_at=timezone.now()
    )
    confirmation.full_clean()
    confirmation.save()
    audit_record(
        action=AuditAction.OWNERSHIP_CONFIRMED,
        target=agreement,
        actor=by,
        organisation_id=party,
        payload={
            "data_element_id": element.pk,
            "data_element": element.name,
            "difference_id": live.pk,
            "wording": live.wording,
        },
    )
    text_changed(agreement, by=by, reason=f"agreement to differ on “{element.name}” confirmed")
    return confirmation
