"""Every write to organisations, memberships and partnerships goes through here."""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from audit.models import AuditAction
from audit.services import record
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


def _full_clean(instance: Organisation | Trio) -> None:
    """``full_clean`` as a ``DomainError`` (views and the API handle that one type)."""
    try:
        instance.full_clean()
    except DomainError:
        raise
    except ValidationError as error:
        raise DomainError(error.message_dict) from error


def _check_trio_unique(trio: Trio) -> None:
    """A clear message for a name or short name already used in the collaboratory (the
    unique constraints' own message names fields, not what to do)."""
    others = Trio.objects.filter(collaboratory_id=trio.collaboratory_id).exclude(pk=trio.pk)
    errors: dict[str, list[str]] = {}
    if others.filter(name=trio.name).exists():
        errors["name"] = [
            f"The collaboratory already has a trio called “{trio.name}”; choose another name."
        ]
    if trio.slug and others.filter(slug=trio.slug).exists():
        errors["slug"] = [
            f"Another trio of the collaboratory uses the short name “{trio.slug}”; choose another."
        ]
    if errors:
        raise DomainError(errors)


def _members_payload(research: Organisation, district: Organisation, developer: Organisation):
    return {"research": research.pk, "district": district.pk, "developer": developer.pk}


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
    by: User | None = None,
) -> Trio:
    """Create a trio with its three members in one transaction."""
    validate_trio_organisations(research=research, district=district, developer=developer)
    trio = Trio(
        collaboratory=collaboratory,
        name=name,
        slug=slug or slugify(name)[:80],
        description=description,
    )
    _check_trio_unique(trio)
    _full_clean(trio)
    trio.save()
    trio_set_members(trio=trio, research=research, district=district, developer=developer)
    record(
        action=AuditAction.TRIO_CREATED,
        target=trio,
        actor=by,
        payload={
            "collaboratory": collaboratory.pk,
            "name": trio.name,
            "slug": trio.slug,
            **_members_payload(research, district, developer),
        },
    )
    return trio


@transaction.atomic
def trio_update(
    *,
    trio: Trio,
    name: str,
    slug: str,
    description: str,
    research: Organisation,
    district: Organisation,
    developer: Organisation,
    by: User | None = None,
) -> Trio:
    """Rename a trio, reword its description, or change its members (all or nothing).

    Members cannot change once an agreement of the trio is signed or being signed (the
    guard in ``trio_set_members``)."""
    trio = Trio.objects.select_for_update().get(pk=trio.pk)
    before = {
        "name": trio.name,
        "slug": trio.slug,
        "description": trio.description,
        **{m.role: m.organisation_id for m in trio.members.all()},
    }
    trio.name, trio.slug, trio.description = name, slug or slugify(name)[:80], description
    validate_trio_organisations(research=research, district=district, developer=developer)
    _check_trio_unique(trio)
    _full_clean(trio)
    trio.save()
    trio_set_members(trio=trio, research=research, district=district, developer=developer)
    after = {
        "name": trio.name,
        "slug": trio.slug,
        "description": trio.description,
        **_members_payload(research, district, developer),
    }
    changed = {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}
    if changed:
        record(action=AuditAction.TRIO_CHANGED, target=trio, actor=by, payload=changed)
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


def _check_organisation_unique(organisation: Organisation) -> None:
    others = Organisation.objects.exclude(pk=organisation.pk)
    errors: dict[str, list[str]] = {}
    if others.filter(name__iexact=organisation.name).exists():
        errors["name"] = [
            f"An organisation called “{organisation.name}” already exists; choose another "
            "name, or use the existing organisation."
        ]
    if organisation.slug and others.filter(slug=organisation.slug).exists():
        errors["slug"] = [
            f"Another organisation uses the short name “{organisation.slug}”; choose another."
        ]
    if errors:
        raise DomainError(errors)


@transaction.atomic
def organisation_create(
    *, name: str, kind: str, slug: str | None = None, by: User | None = None, **contact: str
) -> Organisation:
    organisation = Organisation(name=name, kind=kind, slug=slug or slugify(name)[:80], **contact)
    _check_organisation_unique(organisation)
    _full_clean(organisation)
    organisation.save()
    record(
        action=AuditAction.ORGANISATION_CREATED,
        target=organisation,
        actor=by,
        organisation_id=organisation.pk,
        payload={"name": organisation.name, "kind": organisation.kind, "slug": organisation.slug},
    )
    return organisation


@transaction.atomic
def organisation_update(
    *, organisation: Organisation, name: str, kind: str, slug: str, by: User | None = None
) -> Organisation:
    """Rename an organisation or change its kind or short name.

    The kind cannot change while the organisation is a member of a trio in another role
    (``Organisation.clean``)."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    before = {"name": organisation.name, "kind": organisation.kind, "slug": organisation.slug}
    organisation.name, organisation.kind = name, kind
    organisation.slug = slug or slugify(name)[:80]
    _check_organisation_unique(organisation)
    _full_clean(organisation)
    organisation.save()
    after = {"name": organisation.name, "kind": organisation.kind, "slug": organisation.slug}
    changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    if changed:
        record(
            action=AuditAction.ORGANISATION_CHANGED,
            target=organisation,
            actor=by,
            organisation_id=organisation.pk,
            payload=changed,
        )
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
