"""Every write to organisations, memberships and partnerships goes through here."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.utils.text import slugify

from collaboratory.errors import DomainError
from partners import hooks
from partners.models import (
    Collaboratory,
    Membership,
    Organisation,
    ResearchQuestion,
    Trio,
    TrioMember,
    TrioRole,
)
from partners.selectors import User


def validate_trio_organisations(
    *, research: Organisation | None, district: Organisation | None, developer: Organisation | None
) -> None:
    """A trio is exactly three distinct organisations: one research, one district, one developer.

    Raises ``DomainError`` keyed by the offending field, with a message that says what to fix.
    """
    chosen = {"research": research, "district": district, "developer": developer}
    errors: dict[str, list[str]] = {}
    for field, organisation in chosen.items():
        if organisation is None:
            errors.setdefault(field, []).append(
                f"Choose the trio's {TrioRole(field).label.lower()}."
            )
        elif organisation.kind != field:
            errors.setdefault(field, []).append(
                f"{organisation.name} is a {organisation.get_kind_display().lower()}; the "
                f"{TrioRole(field).label.lower()} must be an organisation of that kind."
            )
    counts = Counter(o.pk for o in chosen.values() if o is not None)
    for field, organisation in chosen.items():
        if organisation is not None and counts[organisation.pk] > 1:
            errors.setdefault(field, []).append(
                f"{organisation.name} is chosen more than once; a trio needs three different "
                "organisations."
            )
    if errors:
        raise DomainError(errors)


@transaction.atomic
def trio_create(
    *,
    collaboratory: Collaboratory,
    name: str,
    research: Organisation,
    district: Organisation,
    developer: Organisation,
    description: str = "",
    slug: str | None = None,
) -> Trio:
    """Create a trio with its three members in one transaction."""
    validate_trio_organisations(research=research, district=district, developer=developer)
    trio = Trio(
        collaboratory=collaboratory,
        name=name,
        slug=slug or slugify(name)[:80],
        description=description,
    )
    trio.full_clean()
    trio.save()
    trio_set_members(trio=trio, research=research, district=district, developer=developer)
    return trio


@transaction.atomic
def trio_set_members(
    *, trio: Trio, research: Organisation, district: Organisation, developer: Organisation
) -> None:
    """Replace the trio's members (validated as a whole, so no half-changed trio exists).

    A change of parties is refused when a registered guard (``partners.hooks``) refuses it:
    agreements refuses once an agreement of the trio is signed or being signed."""
    validate_trio_organisations(research=research, district=district, developer=developer)
    # Keyed by the plain role string, as a member row's ``role`` reads back.
    wanted: dict[str, Organisation] = {
        TrioRole.RESEARCH: research,
        TrioRole.DISTRICT: district,
        TrioRole.DEVELOPER: developer,
    }
    current = {m.role: m for m in TrioMember.objects.select_for_update().filter(trio=trio)}
    # Delete changed rows first so the unique (trio, organisation) constraint never trips
    # when two organisations swap roles.
    changed = [m for role, m in current.items() if m.organisation_id != wanted[role].pk]
    if changed or len(current) < len(wanted):
        for guard in hooks.trio_member_change_guards:
            guard(trio)  # e.g. agreements: a signed agreement's parties cannot change
    TrioMember.objects.filter(pk__in=[m.pk for m in changed]).delete()
    for role, organisation in wanted.items():
        if role in current and current[role].organisation_id == organisation.pk:
            continue
        member = TrioMember(trio=trio, organisation=organisation, role=role)
        member.full_clean(validate_constraints=False)
        member.save()


@transaction.atomic
def organisation_create(
    *, name: str, kind: str, slug: str | None = None, **contact: str
) -> Organisation:
    organisation = Organisation(name=name, kind=kind, slug=slug or slugify(name)[:80], **contact)
    organisation.full_clean()
    organisation.save()
    return organisation


@transaction.atomic
def membership_grant(*, user: User, organisation: Organisation, role: str) -> Membership:
    """Give ``user`` a role in ``organisation`` (idempotent)."""
    membership, _ = Membership.objects.get_or_create(
        user=user, organisation=organisation, role=role
    )
    return membership


@transaction.atomic
def research_question_add(*, trio: Trio, text: str) -> ResearchQuestion:
    text = text.strip()
    if not text:
        raise DomainError({"text": "Write the research question."})
    position = trio.research_questions.count() + 1
    question = ResearchQuestion(trio=trio, text=text, position=position)
    question.full_clean()
    question.save()
    return question
