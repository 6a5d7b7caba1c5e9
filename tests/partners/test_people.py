"""People of an organisation (issue 19 item 2): invitations, roles, deactivation, two-factor
reset, password reset; services first, then pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError
from partners import people
from partners.models import Invitation, Membership, Role
from tests.conftest import otp_device, otp_verified

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"/invitation/([^/\s]+)/")


@pytest.fixture
def riverbend(demo):
    return demo["orgs"]["riverbend-usd"]


@pytest.fixture
def director(demo):
    return demo["users"]["director"]


def _invite(riverbend, director, mailoutbox, capture, email="ada@example.org", roles=None):
    with capture(execute=True):
        invitation = people.invitation_send(
            organisation=riverbend, email=email, roles=roles or [Role.SIGNATORY], by=director
        )
    token = TOKEN.search(mailoutbox[-1].body).group(1)
    return invitation, token


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


# --- services --------------------------------------------------------------------------------


def test_invitation_mails_a_link_and_keeps_only_its_hash(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, token = _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    assert mailoutbox[-1].to == ["ada@example.org"]
    assert "Riverbend" in mailoutbox[-1].subject
    assert token not in invitation.token_digest and len(invitation.token_digest) == 64
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)
    assert people.invitation_for_token(token).state == "ok"
    assert _actions()[-1] == AuditAction.INVITATION_SENT


def test_accepting_creates_the_account_with_the_roles_once(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, token = _invite(
        riverbend,
        director,
        mailoutbox,
        django_capture_on_commit_callbacks,
        roles=[Role.SIGNATORY, Role.LEGAL],
    )
    user = people.invitation_accept_new(token=token, username="", password="a-long-Passphrase-93")
    assert user.username == "ada@example.org" and user.check_password("a-long-Passphrase-93")
    assert set(
        Membership.objects.filter(user=user, organisation=riverbend).values_list("role", flat=True)
    ) == {Role.SIGNATORY, Role.LEGAL}
    assert _actions()[-1] == AuditAction.INVITATION_ACCEPTED
    assert people.invitation_for_token(token).state == "used"
    with pytest.raises(DomainError, match="already been used"):
        people.invitation_accept_new(token=token, username="again", password="a-long-Passphrase-93")


def test_weak_password_is_refused_and_nothing_is_written(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    _, token = _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError) as error:
        people.invitation_accept_new(token=token, username="ada", password="password")
    assert "password1" in error.value.message_dict
    assert not get_user_model().objects.filter(username="ada").exists()
    assert people.invitation_for_token(token).state == "ok"


def test_expired_revoked_resent_and_unknown_links_say_so(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, token = _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    assert people.invitation_for_token(token).state == "expired"
    with django_capture_on_commit_callbacks(execute=True):
        people.invitation_resend(invitation=invitation, by=director)
    new_token = TOKEN.search(mailoutbox[-1].body).group(1)
    assert people.invitation_for_token(token).state == "unknown"  # the old link stops
    assert people.invitation_for_token(new_token).state == "ok"
    people.invitation_revoke(invitation=invitation, by=director)
    lookup = people.invitation_for_token(new_token)
    assert lookup.state == "revoked" and "withdrawn" in lookup.message
    with pytest.raises(DomainError, match="revoked"):
        people.invitation_resend(invitation=invitation, by=director)
    assert _actions()[-2:] == [AuditAction.INVITATION_SENT, AuditAction.INVITATION_REVOKED]


def test_invitation_refuses_members_duplicates_and_no_roles(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    with pytest.raises(DomainError, match="already a member"):
        people.invitation_send(
            organisation=riverbend, email=director.email, roles=[Role.STAFF], by=director
        )
    with pytest.raises(DomainError, match="at least one role"):
        people.invitation_send(organisation=riverbend, email="x@example.org", roles=[], by=director)
    _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError, match="already has an invitation"):
        people.invitation_send(
            organisation=riverbend, email="ADA@example.org", roles=[Role.STAFF], by=director
        )


def test_existing_account_accepts_by_signing_in(
    demo, riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    counsel = demo["users"]["counsel"]
    _, token = _invite(
        riverbend, director, mailoutbox, django_capture_on_commit_callbacks, email=counsel.email
    )
    with pytest.raises(DomainError, match="already has an account"):
        people.invitation_accept_new(token=token, username="c2", password="a-long-Passphrase-93")
    with pytest.raises(DomainError, match="This invitation is for"):
        people.invitation_accept_existing(token=token, user=director)
    people.invitation_accept_existing(token=token, user=counsel)
    assert Membership.objects.filter(user=counsel, organisation=riverbend).exists()


def test_roles_change_keeps_the_last_admin(demo, riverbend, director):
    with pytest.raises(DomainError, match="at least one admin"):
        people.member_roles_set(
            organisation=riverbend, member=director, roles=[Role.DIRECTOR], by=director
        )
    assert Membership.objects.filter(user=director, role=Role.ADMIN).exists()
    other = get_user_model().objects.create_user("deputy", email="deputy@example.org")
    Membership.objects.create(user=other, organisation=riverbend, role=Role.STAFF)
    people.member_roles_set(
        organisation=riverbend, member=other, roles=[Role.ADMIN, Role.LEGAL], by=director
    )
    people.member_roles_set(
        organisation=riverbend, member=director, roles=[Role.DIRECTOR], by=director
    )
    assert not Membership.objects.filter(user=director, role=Role.ADMIN).exists()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == AuditAction.MEMBER_ROLES_CHANGED
    assert entry.payload["after"] == [Role.DIRECTOR]


def test_deactivate_and_reactivate(demo, riverbend, director):
    with pytest.raises(DomainError, match="cannot deactivate yourself"):
        people.member_deactivate(organisation=riverbend, member=director, by=director)
    counsel = demo["users"]["counsel"]  # Northfield: not a member here
    with pytest.raises(DomainError, match="not a member"):
        people.member_deactivate(organisation=riverbend, member=counsel, by=director)
    colleague = get_user_model().objects.create_user("colleague", password="x-Passphrase-1234")
    Membership.objects.create(user=colleague, organisation=riverbend, role=Role.STAFF)
    people.member_deactivate(organisation=riverbend, member=colleague, by=director)
    colleague.refresh_from_db()
    assert not colleague.is_active
    people.member_reactivate(organisation=riverbend, member=colleague, by=director)
    colleague.refresh_from_db()
    assert colleague.is_active
    assert _actions()[-2:] == [AuditAction.MEMBER_DEACTIVATED, AuditAction.MEMBER_REACTIVATED]


def test_two_factor_reset_removes_devices_and_tells_the_member(
    riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    colleague = get_user_model().objects.create_user("signer", email="signer@example.org")
    Membership.objects.create(user=colleague, organisation=riverbend, role=Role.SIGNATORY)
    otp_device(colleague)
    StaticDevice.objects.create(user=colleague, name="Backup codes")
    with django_capture_on_commit_callbacks(execute=True):
        removed = people.member_two_factor_reset(
            organisation=riverbend, member=colleague, by=director
        )
    assert removed == 2
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert mailoutbox[-1].to == ["signer@example.org"]
    assert "reset" in mailoutbox[-1].subject
    assert _actions()[-1] == AuditAction.MEMBER_TWO_FACTOR_RESET
    with pytest.raises(DomainError, match="your own"):
        people.member_two_factor_reset(organisation=riverbend, member=director, by=director)


# --- pages -----------------------------------------------------------------------------------


def test_people_page_lists_members_and_invitations(
    client,
    riverbend,
    director,
    mailoutbox,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    otp_verified(client, director)
    url = reverse("organisation-people", args=[riverbend.slug])
    # Session, user, device check (2FA), organisation, members, their memberships here,
    # invitations (+ their inviters joined), verified-device lookup, messages.
    with django_assert_max_num_queries(10):
        response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Maya Okafor" in body and "ada@example.org" in body and "Waiting" in body


def test_people_pages_are_404_for_non_admins_and_strangers(client, demo, outsider, riverbend):
    url = reverse("organisation-people", args=[riverbend.slug])
    for user in (outsider, demo["users"]["counsel"]):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(reverse("organisation-invite", args=[riverbend.slug])).status_code == 404
    lakeshore = demo["users"]["lakeshore"]  # a member of Lakeshore, not its admin
    client.force_login(lakeshore)
    assert client.get(reverse("organisation-people", args=["lakeshore-cps"])).status_code == 404


def test_invite_form_errors_say_what_to_fix(client, riverbend, director):
    otp_verified(client, director)
    response = client.post(
        reverse("organisation-invite", args=[riverbend.slug]), {"email": "not-an-address"}
    )
    assert response.status_code == 400
    assert "valid email address" in response.content.decode().lower()
    assert not Invitation.objects.exists()


@pytest.fixture
def reset_mails_uncounted(director):
    """This hour's count of the director's reset mails starts from nothing (it lives in Redis,
    which tests share)."""
    from django.core.cache import caches

    from partners.views_people import reset_mail_key

    caches["api"].delete(reset_mail_key(director.pk))


@pytest.mark.usefixtures("reset_mails_uncounted")
def test_password_reset_answers_the_same_for_unknown_addresses(client, director, mailoutbox):
    url = reverse("password_reset")
    known = client.post(url, {"email": director.email})
    unknown = client.post(url, {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [m.to for m in mailoutbox] == [[director.email]]
    assert "/password-reset/" in mailoutbox[0].body
    assert mailoutbox[0].alternatives  # text and HTML parts, through the one mail helper


@pytest.mark.usefixtures("reset_mails_uncounted")
def test_password_reset_mails_an_account_at_most_a_few_times_an_hour(client, director, mailoutbox):
    from partners.views_people import RESET_MAILS_PER_HOUR

    url = reverse("password_reset")
    for _ in range(RESET_MAILS_PER_HOUR + 3):
        response = client.post(url, {"email": director.email})
        # The answer never changes: it says nothing about the account or the limit.
        assert response["Location"] == reverse("password_reset_done")
    assert len(mailoutbox) == RESET_MAILS_PER_HOUR


def test_login_page_links_to_password_reset(client):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def test_people_index_sends_admins_on_and_shows_others_their_admins(client, demo, riverbend):
    client.force_login(demo["users"]["director"])
    response = client.get(reverse("people"))
    assert response["Location"] == reverse("organisation-people", args=[riverbend.slug])
    client.force_login(demo["users"]["lakeshore"])
    body = client.get(reverse("people")).content.decode()
    assert "Lakeshore" in body and "Ask them" in body


def test_invitation_page_for_expired_and_revoked_links_says_so(
    client, riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, token = _invite(riverbend, director, mailoutbox, django_capture_on_commit_callbacks)
    url = reverse("invitation-accept", args=[token])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    response = client.get(url)
    assert response.status_code == 410 and "has expired" in response.content.decode()
    people.invitation_revoke(invitation=invitation, by=director)
    assert "withdrawn" in client.get(url).content.decode()
    assert client.get(reverse("invitation-accept", args=["nonsense"])).status_code == 404


def test_an_existing_account_signs_in_then_joins(
    client, demo, riverbend, director, mailoutbox, django_capture_on_commit_callbacks
):
    counsel = demo["users"]["counsel"]
    _, token = _invite(
        riverbend, director, mailoutbox, django_capture_on_commit_callbacks, email=counsel.email
    )
    url = reverse("invitation-accept", args=[token])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(counsel)
    assert "Join Riverbend" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.filter(
        user=counsel, organisation=riverbend, role=Role.SIGNATORY
    ).exists()
