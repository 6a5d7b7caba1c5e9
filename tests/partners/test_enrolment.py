"""Safer enrolment (issue 19, item 3; partners/two_factor.py): the first authenticator app
on an account needs, besides the password, proof that the person controls the account's
e-mail address: the invitation link, or a one-time code we e-mail them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners import two_factor
from partners.models import EnrolmentCode
from tests.conftest import otp_code, otp_device

DIRECTOR_EMAIL = "director@riverbend-usd.example"
SIGN_NEXT = "/agreements/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def director(demo):
    return demo["users"]["director"]  # signatory and admin of Riverbend, no app yet


@pytest.fixture
def signed_in(client, director):
    client.force_login(director)
    return client


def planted_setup_code(client) -> str:
    """What someone holding only the password would post: a set-up secret in their session
    and the right code for it (the page never offered one; they try anyway)."""
    key = "ab" * 20
    session = client.session
    session[two_factor.SETUP_KEY_SESSION_KEY] = key
    session.save()
    return f"{totp(bytes.fromhex(key)):06d}"


def mailed_code(mailbox, to: str = DIRECTOR_EMAIL) -> str:
    message = mailbox.wait_for(to=to, subject="code to set up two-factor")
    found = re.search(r"\b(\d{6})\b", mailbox.text(message))
    assert found is not None, mailbox.text(message)
    return found.group(1)


def send_code(client, capture) -> None:
    with capture(execute=True):
        response = client.post(reverse("two-factor-email-code"), {"next": SIGN_NEXT})
    assert response.status_code == 302


def confirm(client, code: str):
    return client.post(reverse("two-factor-email-code-confirm"), {"code": code})


def enrol(client):
    client.get(reverse("two-factor"))
    key = bytes.fromhex(client.session[two_factor.SETUP_KEY_SESSION_KEY])
    return client.post(reverse("two-factor"), {"code": f"{totp(key):06d}"})


# --- refused without the e-mail step ---------------------------------------------------------


def test_enrolling_without_the_emailed_code_or_invitation_is_refused(signed_in, director):
    page = signed_in.get(reverse("two-factor"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "First, confirm it is you" in html and "E-mail me a code" in html
    assert "d••••••r@riverbend-usd.example" in html
    # No secret is offered before the e-mail step.
    assert '<svg class="qr"' not in html and 'id="setup-key"' not in html
    assert two_factor.SETUP_KEY_SESSION_KEY not in signed_in.session
    # Posting a set-up directly, with a valid code for a secret of one's own: refused.
    response = signed_in.post(reverse("two-factor"), {"code": planted_setup_code(signed_in)})
    assert response.status_code == 403
    assert "First confirm it is you with a code we e-mail you" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=director).exists()


def test_people_who_need_no_second_factor_also_prove_their_address_first(client, demo):
    counsel = demo["users"]["counsel"]
    client.force_login(counsel)
    assert "First, confirm it is you" in client.get(reverse("two-factor")).content.decode()
    response = client.post(reverse("two-factor"), {"code": planted_setup_code(client)})
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=counsel).exists()


# --- the e-mailed code ------------------------------------------------------------------------


def test_with_the_emailed_code_the_app_is_set_up(
    signed_in, director, mailbox, django_capture_on_commit_callbacks
):
    send_code(signed_in, django_capture_on_commit_callbacks)
    code = mailed_code(mailbox)
    page = signed_in.get(reverse("two-factor")).content.decode()
    assert "Code from the e-mail" in page and "E-mail me a new code" in page
    # Only a keyed hash is stored.
    stored = EnrolmentCode.objects.get(user=director)
    assert code not in stored.digest and len(stored.digest) == 64
    response = signed_in.post(
        reverse("two-factor-email-code-confirm"), {"code": code, "next": SIGN_NEXT}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two-factor')}?next=%2Fagreements%2F"
    assert '<svg class="qr"' in signed_in.get(response["Location"]).content.decode()
    assert enrol(signed_in).status_code == 302
    assert TOTPDevice.objects.get(user=director).confirmed


def test_a_wrong_code_is_refused_and_counted(
    signed_in, director, mailbox, django_capture_on_commit_callbacks
):
    send_code(signed_in, django_capture_on_commit_callbacks)
    code = mailed_code(mailbox)
    wrong = "000000" if code != "000000" else "111111"
    response = confirm(signed_in, wrong)
    assert response.status_code == 400
    assert "That code is not right." in response.content.decode()
    assert "4 more tries with this code." in response.content.decode()
    assert EnrolmentCode.objects.get(user=director).attempts == 1
    for _ in range(4):
        response = confirm(signed_in, wrong)
    assert "that was the last try with this code" in response.content.decode()
    # Five wrong tries: even the right code no longer works.
    response = confirm(signed_in, code)
    assert response.status_code == 400
    assert "Too many wrong codes for this e-mail. Ask for a new code." in response.content.decode()
    assert enrol_refused(signed_in)


def enrol_refused(client) -> bool:
    return (
        client.post(reverse("two-factor"), {"code": planted_setup_code(client)}).status_code == 403
    )


def test_an_expired_code_is_refused(
    signed_in, director, mailbox, django_capture_on_commit_callbacks
):
    send_code(signed_in, django_capture_on_commit_callbacks)
    code = mailed_code(mailbox)
    EnrolmentCode.objects.filter(user=director).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = confirm(signed_in, code)
    assert response.status_code == 400
    assert "That code has expired: codes work for 10 minutes." in response.content.decode()
    assert enrol_refused(signed_in)


def test_a_code_works_once(
    client, signed_in, director, mailbox, django_capture_on_commit_callbacks
):
    send_code(signed_in, django_capture_on_commit_callbacks)
    code = mailed_code(mailbox)
    assert confirm(signed_in, code).status_code == 302
    # Someone else with the password (another session) tries the same code.
    other = type(client)()
    other.force_login(director)
    response = confirm(other, code)
    assert response.status_code == 400
    assert "That code was already used: each code works once." in response.content.decode()
    assert enrol_refused(other)


def test_a_new_code_voids_the_earlier_one_and_codes_are_limited_per_hour(
    signed_in, director, mailbox, django_capture_on_commit_callbacks
):
    send_code(signed_in, django_capture_on_commit_callbacks)
    first = mailed_code(mailbox)
    mailbox.clear()
    send_code(signed_in, django_capture_on_commit_callbacks)
    second = mailed_code(mailbox)
    if first != second:
        assert confirm(signed_in, first).status_code == 400
    for _ in range(3):
        send_code(signed_in, django_capture_on_commit_callbacks)
    mailbox.clear()
    send_code(signed_in, django_capture_on_commit_callbacks)  # the sixth within the hour
    page = signed_in.get(reverse("two-factor")).content.decode()
    assert "We have sent you 5 codes in the last hour." in page
    assert mailbox.sent_to(DIRECTOR_EMAIL) == []


def test_without_an_email_address_the_page_says_what_to_do(signed_in, director):
    director.email = ""
    director.save(update_fields=["email"])
    page = signed_in.get(reverse("two-factor")).content.decode()
    assert "Your account has no e-mail address" in page
    signed_in.post(reverse("two-factor-email-code"))
    page = signed_in.get(reverse("two-factor")).content.decode()
    assert "we cannot send you a code" in page
    assert not EnrolmentCode.objects.exists()


# --- the session's proof ----------------------------------------------------------------------


def request_for(user, session: SessionBase):
    request = RequestFactory().get("/")
    request.user = user
    request.session = session
    return request


def test_the_invitation_authorises_this_session_for_thirty_minutes(client, director):
    client.force_login(director)
    request = request_for(director, client.session)
    assert not two_factor.enrolment_authorised(request)
    two_factor.enrolment_authorise(request, how="invitation")
    assert two_factor.enrolment_authorised(request)
    request.session.save()
    assert enrol(client).status_code == 302  # the set-up works in that session
    # Thirty minutes later it no longer does.
    request.session[two_factor.ENROLMENT_SESSION_KEY]["at"] = (
        timezone.now() - two_factor.ENROLMENT_WINDOW
    ).isoformat()
    assert not two_factor.enrolment_authorised(request)


def test_the_proof_belongs_to_its_user(client, demo, director):
    client.force_login(director)
    request = request_for(director, client.session)
    two_factor.enrolment_authorise(request, how="email-code")
    assert not two_factor.enrolment_authorised(
        request_for(demo["users"]["counsel"], request.session)
    )
    with pytest.raises(ValueError, match="how must be one of"):
        two_factor.enrolment_authorise(request, how="password")


def test_replacing_a_phone_needs_no_email_after_removing_the_old_app_with_its_code(
    signed_in, director
):
    device = otp_device(director)
    response = signed_in.post(reverse("two-factor-remove"), {"code": otp_code(device)})
    assert response.status_code == 302
    assert '<svg class="qr"' in signed_in.get(reverse("two-factor")).content.decode()
    assert enrol(signed_in).status_code == 302


def test_the_email_step_query_count(signed_in, django_assert_max_num_queries):
    # session, user, device, role check, latest e-mailed code
    with django_assert_max_num_queries(5):
        assert signed_in.get(reverse("two-factor")).status_code == 200


def test_the_code_endpoints_need_a_login_and_a_post(client, db):
    for name in ("two-factor-email-code", "two-factor-email-code-confirm"):
        response = client.post(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
