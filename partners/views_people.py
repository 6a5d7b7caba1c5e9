"""People pages (issue 19 item 2): an organisation admin's list of members and invitations,
the actions on them, accepting an invitation, and password reset by e-mail.

Anyone who is not an admin of the organisation gets 404, its other members included (as on
the API pages). The admin's session must be verified
with two-factor authentication, as for API access: these acts change who can sign.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from redis.exceptions import RedisError

from collaboratory.errors import DomainError
from collaboratory.mail import send_mail_message
from collaboratory.web import add_to_form, flash_error
from partners import people, two_factor
from partners.forms_people import AcceptForm, InviteForm, RolesForm
from partners.http import AuthenticatedHttpRequest
from partners.models import Invitation, Membership, Organisation, Role
from partners.selectors import organisations_administered_by

#: Reset mails one account gets in an hour, however often its address is typed in: the form
#: answers the same either way, so it cannot be used to flood someone's inbox.
RESET_MAILS_PER_HOUR = 3

WHY_PEOPLE = "Managing your organisation's people needs two-factor authentication."

two_factor_verified = two_factor.needs_two_factor(
    why=WHY_PEOPLE,
    applies=lambda request, slug, **_: (
        organisations_administered_by(request.user).filter(slug=slug).exists()
    ),
    return_to=lambda request, slug, **_: reverse("organisation-people", args=[slug]),
)


def _admin_organisation(request: HttpRequest, slug: str) -> Organisation:
    # Like the API pages: anyone who is not an admin of the organisation, its other members
    # included, gets 404 (the URL matrix's rule: no 403 that confirms what exists).
    return get_object_or_404(organisations_administered_by(request.user), slug=slug)


@never_cache
@login_required
def people_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where "ask an admin" leads: an admin goes to their organisation's People page (or
    picks one); anyone else sees who the admins of their organisations are."""
    # Queries: session, user, the user's memberships (+organisation), those organisations'
    # admins.
    memberships = list(Membership.objects.filter(user=request.user).select_related("organisation"))
    administered = sorted(
        {m.organisation for m in memberships if m.role == Role.ADMIN}, key=lambda o: o.name
    )
    if len(administered) == 1:
        return redirect("organisation-people", slug=administered[0].slug)
    others = sorted({m.organisation for m in memberships} - set(administered), key=lambda o: o.name)
    admins = people.admins_by_organisation([o.pk for o in others])
    return render(
        request,
        "partners/people/index.html",
        {
            "administered": administered,
            "others": [(o, admins.get(o.pk, [])) for o in others],
        },
    )


def _people_page(
    request: HttpRequest,
    organisation: Organisation,
    *,
    invite_form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # Queries: session, user, membership check, members, their memberships here, invitations.
    return render(
        request,
        "partners/people/people.html",
        {
            "organisation": organisation,
            "members": people.members_of(organisation),
            "invitations": list(people.invitations_pending(organisation)),
            "invite_form": invite_form or InviteForm(),
            "roles": Role.choices,
            "now": timezone.now(),
        },
        status=status,
    )


@never_cache
@login_required
@two_factor_verified
def organisation_people(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _people_page(request, _admin_organisation(request, slug))


@login_required
@require_POST
@two_factor_verified
def invitation_create(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    organisation = _admin_organisation(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = people.invitation_send(
                organisation=organisation,
                email=form.cleaned_data["email"],
                roles=form.cleaned_data["roles"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. The link works once, for "
                f"{people.INVITATION_LIFETIME.days} days.",
            )
            return redirect("organisation-people", slug=slug)
    return _people_page(request, organisation, invite_form=form, status=400)


def _invitation(organisation: Organisation, pk: int) -> Invitation:
    return get_object_or_404(Invitation, organisation=organisation, pk=pk)


@login_required
@require_POST
@two_factor_verified
def invitation_resend(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = _admin_organisation(request, slug)
    try:
        invitation = people.invitation_resend(
            invitation=_invitation(organisation, pk), by=request.user
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request,
            f"Invitation sent again to {invitation.email}; the earlier link no longer works.",
        )
    return redirect("organisation-people", slug=slug)


@login_required
@require_POST
@two_factor_verified
def invitation_revoke(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = _admin_organisation(request, slug)
    try:
        invitation = people.invitation_revoke(
            invitation=_invitation(organisation, pk), by=request.user
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request, f"Invitation of {invitation.email} revoked; its link no longer works."
        )
    return redirect("organisation-people", slug=slug)


def _member_of(organisation: Organisation, user_id: int):
    users = get_user_model().objects.filter(pk=user_id, memberships__organisation=organisation)
    member = users.first()
    if member is None:
        raise Http404("No such member.")
    return member


def _member_action(request: AuthenticatedHttpRequest, slug: str, user_id: int, act) -> HttpResponse:
    organisation = _admin_organisation(request, slug)
    member = _member_of(organisation, user_id)
    try:
        message = act(organisation, member)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, message)
    return redirect("organisation-people", slug=slug)


@login_required
@require_POST
@two_factor_verified
def member_roles(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    form = RolesForm(request.POST)

    def act(organisation, member):
        if not form.is_valid():
            raise DomainError("Choose at least one role (to remove someone, deactivate them).")
        roles = people.member_roles_set(
            organisation=organisation,
            member=member,
            roles=form.cleaned_data["roles"],
            by=request.user,
        )
        labels = ", ".join(str(Role(r).label) for r in roles)
        return f"{member.get_full_name() or member.get_username()} is now: {labels}."

    return _member_action(request, slug, user_id, act)


@login_required
@require_POST
@two_factor_verified
def member_deactivate(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    def act(organisation, member):
        people.member_deactivate(organisation=organisation, member=member, by=request.user)
        name = member.get_full_name() or member.get_username()
        return f"{name} is deactivated and can no longer log in."

    return _member_action(request, slug, user_id, act)


@login_required
@require_POST
@two_factor_verified
def member_reactivate(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    def act(organisation, member):
        people.member_reactivate(organisation=organisation, member=member, by=request.user)
        return f"{member.get_full_name() or member.get_username()} can log in again."

    return _member_action(request, slug, user_id, act)


@login_required
@require_POST
@two_factor_verified
def member_two_factor_reset(
    request: AuthenticatedHttpRequest, slug: str, user_id: int
) -> HttpResponse:
    def act(organisation, member):
        people.member_two_factor_reset(organisation=organisation, member=member, by=request.user)
        return (
            f"Two-factor authentication of {member.get_full_name() or member.get_username()} "
            "reset; we told them by e-mail. They set up a new app at their next sign-in."
        )

    return _member_action(request, slug, user_id, act)


# --- accepting an invitation (anyone holding the link) ---------------------------------------


@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    lookup = people.invitation_for_token(token)
    if lookup.invitation is None or lookup.state != "ok":
        return render(
            request,
            "partners/people/invitation_invalid.html",
            {"lookup": lookup},
            status=404 if lookup.invitation is None else 410,
        )
    invitation = lookup.invitation
    existing = people.existing_account_for(invitation)
    if existing is not None:
        return _accept_existing(request, token, invitation, existing)
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = people.invitation_accept_new(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            auth_login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return _after_accept(request, invitation)
    return render(
        request,
        "partners/people/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _accept_existing(
    request: HttpRequest, token: str, invitation: Invitation, existing
) -> HttpResponse:
    if not request.user.is_authenticated:
        messages.info(
            request,
            f"{invitation.email} already has a Collaboratory account. Log in with it to join "
            f"{invitation.organisation.name}.",
        )
        return redirect(f"{reverse('login')}?next={request.path}")
    if request.method == "POST":
        try:
            people.invitation_accept_existing(token=token, user=request.user)
        except DomainError as error:
            flash_error(request, error)
        else:
            return _after_accept(request, invitation)
    return render(
        request,
        "partners/people/invitation_join.html",
        {"invitation": invitation, "wrong_account": request.user.pk != existing.pk},
    )


def _after_accept(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    # The link came to their address: that proves it for a first two-factor enrolment.
    two_factor.enrolment_authorise(request, how="invitation")
    name = invitation.organisation.name
    if (
        people.needs_two_factor_enrolment(invitation)
        and two_factor.confirmed_device(request.user) is None
    ):
        messages.success(
            request,
            f"Welcome to {name}. As a signatory or admin you need two-factor authentication: "
            "set up an authenticator app on your phone now.",
        )
        return redirect("two-factor")
    messages.success(request, f"Welcome to {name}.")
    return redirect("/")


# --- password reset by e-mail (Django's views, our templates and mail) ----------------------


class PasswordResetForm(auth_forms.PasswordResetForm):
    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        """Written here (plain text, no template escaping) and sent through the project's one
        mail helper (text part, escaped HTML part)."""
        user = context["user"]
        if not _reset_mail_allowed(user.pk):
            return
        path = reverse(
            "password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        text = (
            f"Hello {user.get_full_name() or user.get_username()},\n\n"
            "Someone (we hope you) asked to reset the password of your Collaboratory account "
            f"{user.get_username()}.\n\n"
            "Choose a new password here (the link works once):\n\n"
            f"{context['protocol']}://{context['domain']}{path}\n\n"
            "If you did not ask for this, ignore this e-mail: your password stays as it is.\n\n"
            "Collaboratory\n"
        )
        send_mail_message(subject="Reset your Collaboratory password", text=text, to=[to_email])


def reset_mail_key(user_id: int) -> str:
    """The Redis key counting this hour's reset mails of an account."""
    return f"password-reset-mails:{user_id}:{timezone.now():%Y%m%d%H}"


def _reset_mail_allowed(user_id: int) -> bool:
    """Counts this hour's reset mails of the account in Redis (shared by every web process).
    When Redis cannot count, the mail goes: a missed limit costs an extra e-mail, a refused
    reset would lock a person out of their account."""
    key = reset_mail_key(user_id)
    counter = caches["api"]
    try:
        counter.add(key, 0, timeout=3600)
        return counter.incr(key) <= RESET_MAILS_PER_HOUR
    except (ConnectionError, RedisError, ValueError):
        return True


class PasswordResetView(auth_views.PasswordResetView):
    """The answer is the same whether or not the address has an account (Django's)."""

    form_class = PasswordResetForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        people.password_reset_record(user=form.user)
        return response
