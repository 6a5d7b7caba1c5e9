"""Who acts for which party of an agreement, in which role: the one rule every service, view,
consent service and the dashboard asks.

A user acts for a party when they hold a membership of that party's organisation with one of
the asked roles. Seeing an agreement (``partners.selectors.trios_visible_to``) is a wider
question: facilitators see every trio of the collaboratories they staff but act for no party.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from agreements.models import Agreement
from collaboratory.errors import DomainError
from partners.models import Membership, Role

#: The signed-in user (a ``partners`` membership holder); one definition for the whole app.
type User = AbstractBaseUser
type AnyUser = AbstractBaseUser | AnonymousUser

_ROLE_NAMES = {
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
    if not user.is_authenticated or not user.is_active:
        return []
    parties = party_ids(agreement)
    if party_role is not None:
        candidates = [parties[party_role]] if party_role in parties else []
    else:
        candidates = list(parties.values())
    if not candidates:
        return []
    memberships = Membership.objects.filter(user=user, organisation_id__in=candidates)
    wanted = _roles(roles)
    if wanted:
        memberships = memberships.filter(role__in=wanted)
    return sorted(set(memberships.values_list("organisation_id", flat=True)))


def refusal(roles: str | Iterable[str] | None, *, action: str, party_role: str | None) -> str:
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
