"""Who acts for which party of an agreement, in which role: the one rule every service, view,
consent service and the dashboard asks.

A user acts for a party when they hold a membership of that party's organisation with one of
the asked roles (any role when none is asked). Seeing an agreement
(``partners.selectors.trios_visible_to``) is a wider question: facilitators see every trio of
the collaboratories they staff (``partners.selectors.staffed_collaboratories``) but act for no
party, and anonymous or inactive users act for nobody.

The rule has three forms that share its parts: ``acting_party`` (services: one party or a
refusal), ``roles_by_party`` + ``parties_in_role`` (pages: one query, then every button asks
in memory), and ``acts_for_party`` / ``acting_party_rows`` (querysets of agreements: the same
rule in SQL, both on ``acting_organisations``). ``acting_memberships`` asks it the other way
round: who acts for the parties of one agreement (notification recipients).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from agreements.models import Agreement
from collaboratory.arrays import among
from collaboratory.errors import DomainError
from collaboratory.prepared import shaped_rows
from partners.models import Membership, Role, TrioMember
from partners.selectors import AnyUser, User, memberships_of, viewer_as_rule_reads

# ``User`` and ``AnyUser`` are defined once, in partners.selectors; services import them here
# with the rule.
__all__ = [
    "AnyUser",
    "User",
    "acting_memberships",
    "acting_organisations",
    "acting_parties",
    "acting_party",
    "acting_party_rows",
    "acts_for_party",
    "parties_in_role",
    "party_ids",
    "refusal",
    "roles_by_party",
]

_ROLE_NAMES: dict[str, str] = {
    Role.DIRECTOR: "research director",
    Role.LEGAL: "legal team",
    Role.SIGNATORY: "signatory",
    Role.STAFF: "staff",
    Role.ADMIN: "administrator",
}


def _roles(roles: str | Iterable[str] | None) -> tuple[str, ...]:
    if roles is None:
        return ()
    if isinstance(roles, str):
        return (roles,)
    return tuple(roles)


def party_ids(agreement: Agreement) -> dict[str, int]:
    """The agreement's parties, ``{trio role: organisation id}`` (from the prefetched trio)."""
    return {m.role: m.organisation_id for m in agreement.trio.members.all()}


def roles_by_party(
    user: AnyUser, agreement: Agreement, *, party_role: str | None = None
) -> dict[int, set[str]]:
    """``{party organisation id: roles user holds there}`` for the agreement's parties
    ``user`` belongs to (``party_role`` narrows to the party with that trio role). One query;
    empty for anonymous and inactive users and for facilitators."""
    parties = party_ids(agreement)
    if party_role is not None:
        candidates = [parties[party_role]] if party_role in parties else []
    else:
        candidates = list(parties.values())
    if not candidates or not user.is_authenticated or not user.is_active:
        return {}
    held: dict[int, set[str]] = defaultdict(set)
    # Asked on every agreement page and action: the statement is built once per process,
    # the user and the parties its values (collaboratory.prepared.shaped_rows).
    rows: list[tuple[int, str]] = shaped_rows(
        "roles-by-party",
        _held_roles,
        (),
        {"user_id": user.pk, "organisation_ids": sorted(candidates)},
    )
    for organisation_id, role in rows:
        held[organisation_id].add(role)
    return dict(held)


def _held_roles(*, user_id: int, organisation_ids: list[int]) -> QuerySet:
    return (
        memberships_of(viewer_as_rule_reads(user_id))
        .filter(among("organisation_id", organisation_ids))
        .values_list("organisation_id", "role")
    )


def parties_in_role(
    held: Mapping[int, Collection[str]], roles: str | Iterable[str] | None = None
) -> list[int]:
    """The parties of ``held`` (from ``roles_by_party``) where one of ``roles`` is held (any
    role when ``None``), lowest id first."""
    wanted = set(_roles(roles))
    return sorted(
        organisation_id
        for organisation_id, their_roles in held.items()
        if their_roles and (not wanted or wanted & set(their_roles))
    )


def acting_parties(
    user: AnyUser,
    agreement: Agreement,
    roles: str | Iterable[str] | None = None,
    *,
    party_role: str | None = None,
) -> list[int]:
    """Every party organisation of ``agreement`` that ``user`` acts for in one of ``roles``
    (any role when ``None``), lowest id first; ``party_role`` narrows to one trio role
    (``"district"``). Empty for anyone else, including anonymous users and facilitators."""
    return parties_in_role(roles_by_party(user, agreement, party_role=party_role), roles)


def acting_organisations(
    user: AnyUser, roles: str | Iterable[str] | None = None
) -> QuerySet[Membership, Any]:
    """The organisations ``user`` acts for in one of ``roles`` (any role when ``None``) in
    whatever trio, as a subquery of ``organisation_id``; empty for anonymous and inactive
    users. A party of an agreement is acted for when it is one of these."""
    return memberships_of(user, _roles(roles)).values("organisation_id")


def acting_party_rows(
    user: AnyUser, roles: str | Iterable[str] | None = None, *, party_role: str | None = None
) -> QuerySet[TrioMember]:
    """``acting_parties`` in SQL, for a queryset of agreements (``OuterRef("trio_id")``):
    the row's parties (trio members) ``user`` acts for in one of ``roles``, the party with
    trio role ``party_role`` when given. Narrow it further (``.exclude(...)``) or take
    ``.values("organisation_id")``."""
    parties = TrioMember.objects.filter(
        trio_id=OuterRef("trio_id"), organisation_id__in=acting_organisations(user, roles)
    )
    if party_role is not None:
        parties = parties.filter(role=party_role)
    return parties


def acts_for_party(
    user: AnyUser, roles: str | Iterable[str] | None = None, *, party_role: str | None = None
) -> Exists:
    """The rule in SQL, for a queryset of agreements (``OuterRef("trio_id")``): ``user``
    acts for one of the row's parties in one of ``roles`` (any role when ``None``), the
    party with trio role ``party_role`` when given. Use in ``filter()`` or ``annotate()``."""
    return Exists(acting_party_rows(user, roles, party_role=party_role))


def acting_memberships(
    agreement: Agreement,
    roles: str | Iterable[str] | None = None,
    *,
    organisation_ids: Iterable[int] | None = None,
) -> QuerySet[Membership]:
    """The rule the other way round: the memberships through which someone acts for a party
    of ``agreement`` in one of ``roles`` (any role when ``None``), only for the parties in
    ``organisation_ids`` when given (other organisations are no party: nobody acts for them
    here). Inactive users act for nobody. Take ``.values("user_id")`` for the people."""
    parties = TrioMember.objects.filter(trio_id=agreement.trio_id).values("organisation_id")
    memberships = Membership.objects.filter(organisation_id__in=parties, user__is_active=True)
    if organisation_ids is not None:
        memberships = memberships.filter(organisation_id__in=list(organisation_ids))
    wanted = _roles(roles)
    if wanted:
        memberships = memberships.filter(role__in=wanted)
    return memberships


def refusal(
    roles: str | Iterable[str] | None, *, action: str, party_role: str | None = None
) -> str:
    """The sentence that tells someone why they may not act."""
    if party_role is not None:
        return f"Only the {party_role}'s people can {action}."
    wanted = _roles(roles)
    if not wanted:
        return f"Only the parties' people can {action}."
    names = " or ".join(_ROLE_NAMES.get(r, Role(r).label.lower()) for r in wanted)
    return f"Only a party's {names} can {action}."


def acting_party(
    user: AnyUser,
    agreement: Agreement,
    roles: str | Iterable[str] | None = None,
    *,
    organisation_id: int | None = None,
    party_role: str | None = None,
    action: str = "do this",
) -> int:
    """The party organisation ``user`` acts for in one of ``roles`` (any role when ``None``);
    ``organisation_id`` picks one when they act for several; ``party_role`` requires the
    party with that trio role. Raises ``DomainError`` (``not_allowed``) for anyone else."""
    found = acting_parties(user, agreement, roles, party_role=party_role)
    if organisation_id is not None:
        found = [o for o in found if o == organisation_id]
    if not found:
        message = refusal(roles, action=action, party_role=party_role)
        if len(_roles(roles)) == 1 and action == "do this":
            message = message[:-1] + ", and you are not one for this agreement."
        raise DomainError(message, code="not_allowed")
    return found[0]
