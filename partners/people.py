"""People of an organisation, managed by its admins (issue 19 item 2): invitations by e-mail,
roles, deactivation, resetting a member's two-factor authentication. Selectors first, then
services (``<entity>_<action>``, keyword-only, atomic, audited).

An invitation link carries a random token; only its SHA-256 is stored. It works once, for
INVITATION_LIFETIME, until revoked; re-sending replaces the token (the old link stops).

An invitation to an address that already has an account does not make a second account: the
person signs in to the account they have and accepts, which adds the roles (as GitHub or
Slack do). Refusing would leave the admin no way to add an existing user, and silently adding
the membership without the person's consent would let an admin pull anyone into their
organisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditAction
from audit.services import record
from collaboratory.errors import DomainError
from collaboratory.mail import send_mail_message
from partners.models import Invitation, Membership, Organisation, Role
from partners.selectors import User

INVITATION_LIFETIME = dt.timedelta(days=7)
#: Roles that sign or manage the organisation: they enrol two-factor when they accept.
TWO_FACTOR_ROLES = frozenset({Role.SIGNATORY, Role.ADMIN})


# --- selectors ------------------------------------------------------------------------------


def members_of(organisation: Organisation) -> list[User]:
    """The organisation's people with their roles here (``org_memberships``) and
    ``has_two_factor``, by name. Two queries: users, their memberships here."""
    users = (
        get_user_model()
        .objects.filter(memberships__organisation=organisation)
        .distinct()
        .annotate(
            has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(organisation=organisation).order_by("role"),
                to_attr="org_memberships",
            )
        )
        .order_by("last_name", "first_name", "username")
    )
    return list(users)


def invitations_pending(organisation: Organisation) -> QuerySet[Invitation]:
    """Not accepted, not revoked (expired ones too, so they can be re-sent)."""
    return (
        Invitation.objects.filter(
            organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by")
        .order_by("email")
    )


def admins_by_organisation(organisation_ids: list[int]) -> dict[int, list[User]]:
    """Active admins of each of these organisations, by name (whom to ask for help)."""
    found: dict[int, list[User]] = {}
    rows = (
        Membership.objects.filter(
            organisation_id__in=organisation_ids, role=Role.ADMIN, user__is_active=True
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
    for membership in rows:
        found.setdefault(membership.organisation_id, []).append(membership.user)
    return found


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class InvitationLookup:
    invitation: Invitation | None
    #: "ok", "unknown", "expired", "used", "revoked"
    state: str
    message: str


def invitation_for_token(token: str) -> InvitationLookup:
    """The invitation a link's token names, and whether it can still be used."""
    invitation = (
        Invitation.objects.filter(token_digest=_digest(token))
        .select_related("organisation")
        .first()
        if token
        else None
    )
    if invitation is None:
        return InvitationLookup(
            None,
            "unknown",
            "This invitation link is not valid. It may have been replaced by a newer one: use "
            "the latest invitation e-mail, or ask your organisation's admin to send it again.",
        )
    if invitation.revoked_at is not None:
        return InvitationLookup(
            invitation,
            "revoked",
            "This invitation was withdrawn. Ask your organisation's admin if you should "
            "still join.",
        )
    if invitation.accepted_at is not None:
        return InvitationLookup(
            invitation,
            "used",
            "This invitation has already been used. Log in with the account it created, or "
            "reset your password if you have forgotten it.",
        )
    if invitation.expires_at <= timezone.now():
        return InvitationLookup(
            invitation,
            "expired",
            "This invitation has expired. Ask your organisation's admin to send it again.",
        )
    return InvitationLookup(invitation, "ok", "")


def existing_account_for(invitation: Invitation) -> User | None:
    return get_user_model().objects.filter(email__iexact=invitation.email).first()


def needs_two_factor_enrolment(invitation: Invitation) -> bool:
    return bool(TWO_FACTOR_ROLES & set(invitation.roles))


# --- services -------------------------------------------------------------------------------


def _clean_roles(roles: list[str]) -> list[str]:
    roles = sorted(set(roles))
    if not roles:
        raise DomainError({"roles": "Choose at least one role."})
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise DomainError({"roles": f"Unknown role: {', '.join(unknown)}."})
    return roles


def _role_labels(roles: list[str]) -> str:
    return ", ".join(str(Role(r).label) for r in roles)


def _invitation_mail(invitation: Invitation, token: str) -> None:
    url = f"{settings.SITE_URL}{reverse('invitation-accept', args=[token])}"
    inviter = invitation.invited_by
    who = (inviter.get_full_name() or inviter.get_username()) if inviter else "An admin"
    days = INVITATION_LIFETIME.days
    text = (
        "Hello,\n\n"
        f"{who} invites you to join {invitation.organisation.name} on Collaboratory as "
        f"{_role_labels(invitation.roles)}.\n\n"
        f"Open this link to accept and set your password (it works once, for {days} days):\n\n"
        f"{url}\n\n"
        + (
            "As a signatory or admin you will then set up two-factor authentication with an "
            "authenticator app on your phone.\n\n"
            if needs_two_factor_enrolment(invitation)
            else ""
        )
        + "If you did not expect this invitation, ignore this e-mail.\n\nCollaboratory\n"
    )
    address, subject = invitation.email, f"You are invited to {invitation.organisation.name}"
    transaction.on_commit(lambda: send_mail_message(subject=subject, text=text, to=[address]))


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_digest = _digest(token)
    return token


@transaction.atomic
def invitation_send(
    *, organisation: Organisation, email: str, roles: list[str], by: User
) -> Invitation:
    """Invite ``email`` to ``organisation`` with ``roles`` and e-mail them the link."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(
            {"email": "Enter a valid e-mail address, e.g. ada@example.org."}
        ) from None
    roles = _clean_roles(roles)
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise DomainError(
            {
                "email": f"{email} is already a member of {organisation.name}; change their roles "
                "in the list of members instead."
            }
        )
    if Invitation.objects.filter(
        organisation=organisation,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).exists():
        raise DomainError(
            {"email": f"{email} already has an invitation waiting; re-send or revoke it below."}
        )
    now = timezone.now()
    invitation = Invitation(
        organisation=organisation,
        email=email,
        roles=roles,
        invited_by=by,
        created_at=now,
        sent_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    token = _new_token(invitation)
    invitation.full_clean()
    invitation.save()
    record(
        action=AuditAction.INVITATION_SENT,
        target=invitation,
        actor=by,
        organisation_id=organisation.pk,
        payload={"email": email, "roles": roles},
    )
    _invitation_mail(invitation, token)
    return invitation


def _pending_locked(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise DomainError(f"The invitation of {locked.email} has already been accepted.")
    if locked.revoked_at is not None:
        raise DomainError(f"The invitation of {locked.email} was revoked.")
    return locked


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: User) -> Invitation:
    """A new link (the old one stops working), valid for INVITATION_LIFETIME from now."""
    locked = _pending_locked(invitation)
    now = timezone.now()
    token = _new_token(locked)
    locked.sent_at = now
    locked.expires_at = now + INVITATION_LIFETIME
    locked.save(update_fields=["token_digest", "sent_at", "expires_at"])
    record(
        action=AuditAction.INVITATION_SENT,
        target=locked,
        actor=by,
        organisation_id=locked.organisation_id,
        payload={"email": locked.email, "roles": locked.roles, "resent": True},
    )
    _invitation_mail(locked, token)
    return locked


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    locked = _pending_locked(invitation)
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    record(
        action=AuditAction.INVITATION_REVOKED,
        target=locked,
        actor=by,
        organisation_id=locked.organisation_id,
        payload={"email": locked.email},
    )
    return locked


def _accept(invitation: Invitation, user: User) -> None:
    for role in invitation.roles:
        Membership.objects.get_or_create(
            user=user, organisation_id=invitation.organisation_id, role=role
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        action=AuditAction.INVITATION_ACCEPTED,
        target=invitation,
        actor=user,
        organisation_id=invitation.organisation_id,
        payload={"email": invitation.email, "roles": invitation.roles},
    )


def _usable_locked(token: str) -> Invitation:
    lookup = invitation_for_token(token)
    if lookup.invitation is None or lookup.state != "ok":
        raise DomainError(lookup.message)
    locked = Invitation.objects.select_for_update().get(pk=lookup.invitation.pk)
    if locked.accepted_at is not None or locked.revoked_at is not None:
        raise DomainError(invitation_for_token(token).message)
    return locked


@transaction.atomic
def invitation_accept_new(*, token: str, username: str, password: str) -> User:
    """Create the invitee's account (username, or the e-mail address when blank) with a
    password Django's validators accept, and give them the invitation's roles."""
    invitation = _usable_locked(token)
    if existing_account_for(invitation) is not None:
        raise DomainError(f"{invitation.email} already has an account: log in with it to accept.")
    user_model = get_user_model()
    username = (username or "").strip() or invitation.email
    if user_model.objects.filter(username__iexact=username).exists():
        raise DomainError({"username": "That username is taken; choose another."})
    user = user_model(username=username, email=invitation.email)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        raise DomainError(error.message_dict) from error
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise DomainError({"password1": error.messages}) from error
    user.set_password(password)
    user.save()
    _accept(invitation, user)
    return user


@transaction.atomic
def invitation_accept_existing(*, token: str, user: User) -> Invitation:
    """The signed-in owner of the invited address accepts: the roles are added."""
    invitation = _usable_locked(token)
    if (user.email or "").lower() != invitation.email.lower():
        raise DomainError(
            f"This invitation is for {invitation.email}, but you are logged in as "
            f"{user.get_username()}. Log out and log in with the account of that address."
        )
    _accept(invitation, user)
    return invitation


def _admins_left(organisation: Organisation, *, without: User) -> int:
    return (
        Membership.objects.filter(organisation=organisation, role=Role.ADMIN, user__is_active=True)
        .exclude(user=without)
        .count()
    )


def _member_locked(organisation: Organisation, member: User) -> None:
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    if not Membership.objects.filter(organisation=organisation, user=member).exists():
        raise DomainError(f"{member.get_username()} is not a member of {organisation.name}.")


@transaction.atomic
def member_roles_set(
    *, organisation: Organisation, member: User, roles: list[str], by: User
) -> list[str]:
    """Give ``member`` exactly ``roles`` here; the organisation keeps at least one admin."""
    roles = _clean_roles(roles)
    _member_locked(organisation, member)
    before = sorted(
        Membership.objects.filter(organisation=organisation, user=member).values_list(
            "role", flat=True
        )
    )
    if (
        Role.ADMIN in before
        and Role.ADMIN not in roles
        and not _admins_left(organisation, without=member)
    ):
        raise DomainError(
            {
                "roles": f"{organisation.name} needs at least one admin: make someone else admin "
                "first."
            }
        )
    Membership.objects.filter(organisation=organisation, user=member).exclude(
        role__in=roles
    ).delete()
    for role in roles:
        Membership.objects.get_or_create(user=member, organisation=organisation, role=role)
    record(
        action=AuditAction.MEMBER_ROLES_CHANGED,
        target=member,
        actor=by,
        organisation_id=organisation.pk,
        payload={"before": before, "after": roles},
    )
    return roles


@transaction.atomic
def member_deactivate(*, organisation: Organisation, member: User, by: User) -> User:
    """The member can no longer log in (their history stays). Not oneself, not the last
    admin, and not someone who also belongs to another organisation."""
    _member_locked(organisation, member)
    if member.pk == by.pk:
        raise DomainError("You cannot deactivate yourself; ask another admin.")
    elsewhere = (
        Membership.objects.filter(user=member)
        .exclude(organisation=organisation)
        .select_related("organisation")
        .first()
    )
    if elsewhere is not None:
        raise DomainError(
            f"{member.get_username()} also belongs to {elsewhere.organisation.name}; remove "
            f"their roles here instead of deactivating the account."
        )
    is_admin = Membership.objects.filter(
        organisation=organisation, user=member, role=Role.ADMIN
    ).exists()
    if is_admin and not _admins_left(organisation, without=member):
        raise DomainError(f"{organisation.name} needs at least one active admin.")
    member.is_active = False
    member.save(update_fields=["is_active"])
    record(
        action=AuditAction.MEMBER_DEACTIVATED,
        target=member,
        actor=by,
        organisation_id=organisation.pk,
    )
    return member


@transaction.atomic
def member_reactivate(*, organisation: Organisation, member: User, by: User) -> User:
    _member_locked(organisation, member)
    member.is_active = True
    member.save(update_fields=["is_active"])
    record(
        action=AuditAction.MEMBER_REACTIVATED,
        target=member,
        actor=by,
        organisation_id=organisation.pk,
    )
    return member


@transaction.atomic
def member_two_factor_reset(*, organisation: Organisation, member: User, by: User) -> int:
    """Remove the member's authenticator apps and backup codes (a lost phone); they set up a
    new app at their next sign-in and are told by e-mail. Returns the devices removed."""
    _member_locked(organisation, member)
    if member.pk == by.pk:
        raise DomainError(
            "You cannot reset your own two-factor authentication here; use your two-factor "
            "page, or ask another admin."
        )
    removed = TOTPDevice.objects.filter(user=member).delete()[0]
    removed += StaticDevice.objects.filter(user=member).delete()[0]
    record(
        action=AuditAction.MEMBER_TWO_FACTOR_RESET,
        target=member,
        actor=by,
        organisation_id=organisation.pk,
        payload={"devices_removed": removed},
    )
    if member.email:
        who = by.get_full_name() or by.get_username()
        text = (
            f"Hello {member.get_full_name() or member.get_username()},\n\n"
            f"{who}, an admin of {organisation.name}, reset your two-factor authentication "
            "on Collaboratory: your authenticator app and backup codes no longer work.\n\n"
            "Next time you sign or manage API access you will set up an authenticator app "
            f"again:\n\n{settings.SITE_URL}{reverse('two-factor')}\n\n"
            f"If you did not ask for this, tell {who} or another admin of {organisation.name} "
            "straight away.\n\nCollaboratory\n"
        )
        address = member.email
        transaction.on_commit(
            lambda: send_mail_message(
                subject="Your two-factor authentication was reset", text=text, to=[address]
            )
        )
    return removed


@transaction.atomic
def password_reset_record(*, user: User) -> None:
    """Audit a password set through the e-mailed reset link."""
    record(
        action=AuditAction.PASSWORD_RESET,
        target=user,
        actor=user,
        payload={},
    )
