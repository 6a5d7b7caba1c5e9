"""Who may see what: the one access rule every view and API endpoint goes through.

A user sees a trio, and everything under it, only when one of their organisations is a
member of the trio, or when they staff the trio's collaboratory (facilitators). Everything
else is invisible: views look objects up in these querysets, so a miss answers 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as User  # re-exported: the one definition
from django.db.models import Count, Model, Prefetch, Q, QuerySet

from collaboratory.prepared import shaped_rows
from partners.models import (
    Collaboratory,
    Membership,
    Organisation,
    ResearchQuestion,
    Role,
    Trio,
    TrioMember,
    TrioRole,
)

#: The signed-in user (``User``: the project keeps Django's default auth user, so model fields
#: and lookups expect exactly this class) and anyone who may be asking, signed in or not: the
#: one definition for every app (partners is the lowest app that knows users).
type AnyUser = User | AnonymousUser

#: The kinds of organisation that form trios (the Partnerships pages offer these).
PARTNER_KINDS = tuple(TrioRole.values)


def memberships_of(user: AnyUser, roles: Iterable[str] = ()) -> QuerySet[Membership]:
    """``user``'s memberships, in one of ``roles`` (any role when empty); none for anonymous
    or inactive users. Use ``.values("organisation_id")`` as a subquery of their
    organisations."""
    if not user.is_authenticated or not user.is_active:
        return Membership.objects.none()
    memberships = Membership.objects.filter(user=user)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return memberships


def staffed_collaboratories(user: AnyUser) -> QuerySet[Collaboratory]:
    """Collaboratories whose facilitators (staff) include ``user``; all of them for
    superusers; none for anonymous or inactive users. Facilitators see every trio of these
    but act for no party."""
    if not user.is_authenticated or not user.is_active:
        return Collaboratory.objects.none()
    if user.is_superuser:
        return Collaboratory.objects.all()
    staffed = Collaboratory.staff.through.objects.filter(user=user).values("collaboratory_id")
    return Collaboratory.objects.filter(id__in=staffed)


def trios_visible_to(user: AnyUser) -> QuerySet[Trio]:
    """Trios ``user`` may see: their organisations are members, or they staff the collaboratory.

    Built from subqueries (no joins), so it never duplicates rows and composes with any
    further filter.
    """
    if not user.is_authenticated or not user.is_active:
        return Trio.objects.none()
    if user.is_superuser:
        return Trio.objects.all()
    own_organisations = memberships_of(user).values("organisation_id")
    member_of = TrioMember.objects.filter(organisation_id__in=own_organisations).values("trio_id")
    staffed = staffed_collaboratories(user).values("id")
    return Trio.objects.filter(Q(id__in=member_of) | Q(collaboratory_id__in=staffed))


def viewer_as_rule_reads(user_id: int, *, superuser: bool = False) -> User:
    """An active user with ``user_id`` and nothing else: all the access rule reads of who
    asks (its id and flags). For statements built once with the viewer's id as a parameter
    (``collaboratory.prepared.shaped_rows``); never saved."""
    return User(pk=user_id, is_active=True, is_superuser=superuser)


def _trios_of_viewer(superuser: bool, *, user_id: int) -> QuerySet[Trio]:
    return trios_visible_to(viewer_as_rule_reads(user_id, superuser=superuser))


def _trio_choices_statement(superuser: bool, limit: int, *, user_id: int) -> QuerySet:
    return (
        _trios_of_viewer(superuser, user_id=user_id)
        .order_by("name")
        .values_list("id", "name")[:limit]
    )


def trio_choices(user: AnyUser, limit: int) -> list[tuple[int, str]]:
    """The first ``limit`` trios ``user`` may see, by name, as (id, name): the partnership
    filter of the agreement list and of search. Through a statement built once per process
    (``collaboratory.prepared.shaped_rows``, the viewer's id its parameter): building the
    rule's querysets cost the ORM more than PostgreSQL took to answer."""
    if not user.is_authenticated or not user.is_active:
        return []
    return shaped_rows(
        "trio-choices", _trio_choices_statement, (user.is_superuser, limit), {"user_id": user.pk}
    )


def _trio_ids_statement(superuser: bool, *, user_id: int) -> QuerySet:
    return _trios_of_viewer(superuser, user_id=user_id).values_list("id", flat=True)


def visible_trio_ids(user: AnyUser) -> list[int]:
    """The ids of every trio ``user`` may see, as ``trio_choices`` reads them."""
    if not user.is_authenticated or not user.is_active:
        return []
    return shaped_rows(
        "visible-trio-ids", _trio_ids_statement, (user.is_superuser,), {"user_id": user.pk}
    )


def scope_to_user[M: Model](
    queryset: QuerySet[M], user: AnyUser, *, trio_field: str = "trio"
) -> QuerySet[M]:
    """Restrict any queryset of objects that belong to a trio (through ``trio_field``)."""
    return queryset.filter(**{f"{trio_field}__in": trios_visible_to(user).values("id")})


def trio_list_for_user(user: AnyUser) -> QuerySet[Trio]:
    """The dashboard's trio list: visible trios with members and collaboratory, in 3 queries."""
    return (
        trios_visible_to(user)
        .select_related("collaboratory")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=TrioMember.objects.select_related("organisation").order_by("role"),
            )
        )
        .order_by("collaboratory__name", "name")
    )


def trio_detail_for_user(user: AnyUser) -> QuerySet[Trio]:
    return trio_list_for_user(user).prefetch_related(
        Prefetch("research_questions", queryset=ResearchQuestion.objects.order_by("position", "id"))
    )


def organisations_visible_to(user: AnyUser) -> QuerySet[Organisation]:
    """The user's own organisations and the members of the trios they can see."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    if user.is_superuser:
        return Organisation.objects.all()
    in_visible_trios = TrioMember.objects.filter(
        trio_id__in=trios_visible_to(user).values("id")
    ).values("organisation_id")
    return Organisation.objects.filter(
        Q(id__in=in_visible_trios) | Q(id__in=memberships_of(user).values("organisation_id"))
    )


def trios_of_organisation(organisation_id: int) -> QuerySet[Trio]:
    """Trios an organisation is a member of: the access rule of the partner API, where the
    caller is an organisation's token rather than a person. Everything else answers 404."""
    return Trio.objects.filter(
        id__in=TrioMember.objects.filter(organisation_id=organisation_id).values("trio_id")
    )


def scope_to_organisation[M: Model](
    queryset: QuerySet[M], organisation_id: int, *, trio_field: str = "trio"
) -> QuerySet[M]:
    """Restrict a queryset of objects that belong to a trio to ``organisation_id``'s trios."""
    return queryset.filter(
        **{f"{trio_field}__in": trios_of_organisation(organisation_id).values("id")}
    )


def organisations_administered_by(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations whose API tokens and webhooks ``user`` manages: those where they hold
    the admin role. Anyone else gets 404 on those pages."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        id__in=Membership.objects.filter(user=user, role="admin").values("organisation_id")
    )


@dataclass(frozen=True)
class Person:
    name: str
    roles: tuple[str, ...]


def people_of(organisation_ids: list[int]) -> dict[int, list[Person]]:
    """The people of each organisation with their roles (one query). Call it only with
    organisations the viewer already sees (a trio's members)."""
    labels = dict(Role.choices)
    found: dict[int, dict[int, tuple[str, list[str]]]] = {}
    rows = (
        Membership.objects.filter(organisation_id__in=organisation_ids, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username", "role")
    )
    for membership in rows:
        user = membership.user
        name = user.get_full_name() or user.get_username()
        entry = found.setdefault(membership.organisation_id, {}).setdefault(user.pk, (name, []))
        entry[1].append(labels.get(membership.role, membership.role))
    return {
        org: [Person(name, tuple(roles)) for name, roles in people.values()]
        for org, people in found.items()
    }


# --- Partnerships pages (facilitators) -------------------------------------------------------


def partnership_trios(user: AnyUser) -> QuerySet[Trio]:
    """Trios of the collaboratories ``user`` facilitates, with collaboratory, members and
    agreement count (3 queries when listed)."""
    return (
        Trio.objects.filter(collaboratory_id__in=staffed_collaboratories(user).values("id"))
        .select_related("collaboratory")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=TrioMember.objects.select_related("organisation").order_by("role"),
            )
        )
        .annotate(agreement_count=Count("agreements", distinct=True))
        .order_by("collaboratory__name", "name")
    )


def partnership_organisations(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations a facilitator manages on the Partnerships pages: partner organisations
    (research, district, developer) that are members of trios of the collaboratories they
    facilitate, or of no trio yet (just created, ready to join one). An organisation that is
    also in another collaboratory's trio is left to that collaboratory's facilitators and
    staff: one facilitator cannot rename it under the others."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    partners = Organisation.objects.filter(kind__in=PARTNER_KINDS)
    if user.is_superuser:
        return partners
    staffed = staffed_collaboratories(user).values("id")
    in_other_collaboratories = TrioMember.objects.exclude(
        trio__collaboratory_id__in=staffed
    ).values("organisation_id")
    return partners.exclude(id__in=in_other_collaboratories)
