"""Two-factor authentication (TOTP) before signing and managing API access.

Signatories and organisation admins pass a TOTP check once per session before they sign an
agreement or manage their organisation's API tokens and webhooks (partners/two_factor.py);
everyone else is never asked, and strangers keep getting 404."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import segno
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from agreements.models import Agreement, Status
from partners.models import ApiToken, Role
from partners.services import membership_grant
from partners.two_factor import SETUP_KEY_SESSION_KEY, enrolment_authorise
from tests.browser.screens import shoot
from tests.conftest import otp_code, otp_device, otp_verified

SIGNING = "Open Curriculum Implementation Data Agreement"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"
API_PAGE = "/organisations/riverbend-usd/api/"
WRONG = "000000"


def sign_url(demo, title: str = SIGNING) -> str:
    return reverse("agreement-sign", args=[demo["agreements"][title].pk])


def with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def sign_form(demo) -> dict:
    agreement = Agreement.objects.get(pk=demo["agreements"][SIGNING].pk)
    return {
        "text_hash": agreement.text_hash,
        "signer_title": "Superintendent",
        "typed_name": "Maya Okafor",
        "intent_confirmed": "on",
    }


def wrong_code_for(device) -> str:
    """A well-formed code that is not the current one (nor one step either side)."""
    valid = {
        f"{totp(device.bin_key, device.step, device.t0 + shift, device.digits):06d}"
        for shift in (-30, 0, 30)
    }
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def session_verified(client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


def log_in_with_email_proven(client, user) -> None:
    """Log in as ``user`` in a session that proved control of their e-mail address, as the
    invitation link or the e-mailed code does (issue 19): only such a session may set up a
    first authenticator app (tests/partners/test_enrolment.py tests that rule)."""
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    enrolment_authorise(request, how="email-code")
    request.session.save()


@pytest.fixture
def director(demo):
    return demo["users"]["director"]  # director, legal, signatory and admin of Riverbend


@pytest.fixture
def staff_member(demo):
    """A plain staff member of Riverbend: neither signatory nor admin."""
    user = get_user_model().objects.create_user(username="staffer", password="x" * 16)
    membership_grant(user=user, organisation=demo["orgs"]["riverbend-usd"], role=Role.STAFF)
    return user


# --- signing ---------------------------------------------------------------------------------


def test_a_signatory_without_an_app_is_sent_to_set_one_up_before_signing(client, demo, director):
    client.force_login(director)
    response = client.get(sign_url(demo))
    assert response.status_code == 302
    assert response["Location"] == with_next("two-factor", sign_url(demo))
    page = client.get(response["Location"]).content.decode()
    assert "Signing commits your organisation, so it needs two-factor authentication." in page
    assert "Set up an authenticator app" in page


def test_a_signatory_cannot_sign_by_posting_without_a_verified_session(client, demo, director):
    otp_device(director)
    client.force_login(director)
    response = client.post(sign_url(demo), sign_form(demo))
    assert response.status_code == 302
    assert response["Location"] == with_next("two-factor-verify", sign_url(demo))
    agreement = Agreement.objects.get(pk=demo["agreements"][SIGNING].pk)
    assert agreement.status == Status.SIGNING
    assert not agreement.signatures.filter(organisation__slug="riverbend-usd").exists()


def test_a_wrong_code_is_refused_with_a_clear_error(client, demo, director):
    device = otp_device(director)
    client.force_login(director)
    response = client.post(
        with_next("two-factor-verify", sign_url(demo)), {"code": wrong_code_for(device)}
    )
    assert response.status_code == 400
    assert "That code is not right, or it was already used." in response.content.decode()
    assert not session_verified(client)
    assert client.get(sign_url(demo)).status_code == 302


def test_a_malformed_code_is_refused_before_any_check(client, demo, director):
    otp_device(director)
    client.force_login(director)
    response = client.post(reverse("two-factor-verify"), {"code": "12ab"})
    assert response.status_code == 400
    assert "Enter the 6-digit code your authenticator app shows." in response.content.decode()
    assert TOTPDevice.objects.get(user=director).throttling_failure_count == 0


def test_with_the_current_code_the_signatory_signs(client, demo, director):
    device = otp_device(director)
    client.force_login(director)
    response = client.post(
        with_next("two-factor-verify", sign_url(demo)), {"code": otp_code(device)}
    )
    assert response.status_code == 302 and response["Location"] == sign_url(demo)
    assert session_verified(client)
    assert "I intend my typed name" in client.get(sign_url(demo)).content.decode()
    response = client.post(sign_url(demo), sign_form(demo), follow=True)
    assert "You signed the agreement" in response.content.decode()
    assert Agreement.objects.get(pk=demo["agreements"][SIGNING].pk).status == Status.ACTIVE


def test_a_code_cannot_be_used_twice(client, demo, director):
    device = otp_device(director)
    code = otp_code(device)
    client.force_login(director)
    assert client.post(reverse("two-factor-verify"), {"code": code}).status_code == 302
    client.logout()
    client.force_login(director)
    response = client.post(reverse("two-factor-verify"), {"code": code})
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert not session_verified(client)


def test_rapid_wrong_guesses_are_throttled_even_for_the_right_code(client, demo, director):
    device = otp_device(director)
    device.throttling_failure_count = 5  # the next attempt must wait 2**4 = 16 s
    device.throttling_failure_timestamp = dt.datetime.now(dt.UTC)
    device.save()
    client.force_login(director)
    response = client.post(reverse("two-factor-verify"), {"code": otp_code(device)})
    assert response.status_code == 400
    assert re.search(r"Too many wrong codes in a row\. Wait 1[0-7] seconds", response.text)
    assert not session_verified(client)


def test_the_verification_lasts_for_the_session_only(client, demo, director):
    otp_verified(client, director)
    assert client.get(sign_url(demo)).status_code == 200
    client.logout()
    client.force_login(director)
    assert client.get(sign_url(demo)).status_code == 302


def test_next_must_be_a_page_of_this_site(client, demo, director):
    device = otp_device(director)
    client.force_login(director)
    response = client.post(
        with_next("two-factor-verify", "https://evil.example/steal"), {"code": otp_code(device)}
    )
    assert response.status_code == 302 and response["Location"] == reverse("two-factor")


# --- API access ------------------------------------------------------------------------------


def test_an_org_admin_needs_two_factor_to_issue_or_revoke_tokens(client, demo, director):
    otp_device(director)
    client.force_login(director)
    back_to_verify = with_next("two-factor-verify", API_PAGE)
    assert client.get(API_PAGE)["Location"] == back_to_verify
    response = client.post(f"{API_PAGE}tokens/", {"name": "SIS", "scopes": ["agreements:read"]})
    assert response.status_code == 302 and response["Location"] == back_to_verify
    assert not ApiToken.objects.filter(name="SIS").exists()
    token = ApiToken.objects.create(
        organisation=demo["orgs"]["riverbend-usd"],
        name="old",
        prefix="clb_old",
        digest="d" * 64,
        scopes=["agreements:read"],
    )
    assert client.post(f"{API_PAGE}tokens/{token.pk}/revoke/")["Location"] == back_to_verify
    token.refresh_from_db()
    assert token.revoked_at is None
    page = client.get(back_to_verify).content.decode()
    assert "Managing API access needs two-factor authentication." in page

    otp_verified(client, director)
    response = client.post(f"{API_PAGE}tokens/", {"name": "SIS", "scopes": ["agreements:read"]})
    assert response.status_code == 200 and ApiToken.objects.filter(name="SIS").exists()


def test_people_who_neither_sign_nor_administer_are_never_asked(
    client, demo, staff_member, django_assert_max_num_queries
):
    for user in (staff_member, demo["users"]["counsel"]):
        client.force_login(user)
        response = client.get(sign_url(demo))
        assert response.status_code == 200, user
        assert "I intend my typed name" not in response.content.decode()  # not theirs to sign
        assert client.post(sign_url(demo), sign_form(demo)).status_code == 200
    assert Agreement.objects.get(pk=demo["agreements"][SIGNING].pk).status == Status.SIGNING
    assert not TOTPDevice.objects.exists()


def test_strangers_still_get_404_and_are_not_asked_for_a_code(client, demo, director, outsider):
    lakeshore_sign = sign_url(demo, LAKESHORE)
    for user in (outsider, director, demo["users"]["researcher"]):
        client.force_login(user)
        assert client.get(lakeshore_sign).status_code == 404, user
        assert client.post(lakeshore_sign, {"typed_name": "x"}).status_code == 404, user
    client.force_login(demo["users"]["researcher"])  # a signatory, but not Riverbend's admin
    assert client.get(API_PAGE).status_code == 404
    assert client.post(f"{API_PAGE}tokens/", {"name": "x"}).status_code == 404
    client.force_login(director)
    assert client.get("/organisations/lakeshore-cps/api/").status_code == 404


# --- set-up, status and removal ----------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_of_the_otpauth_uri_and_the_secret(client, demo, director):
    log_in_with_email_proven(client, director)
    response = client.get(reverse("two-factor"))
    assert response.status_code == 200
    page = response.content.decode()
    key = client.session[SETUP_KEY_SESSION_KEY]
    secret = base64.b32encode(bytes.fromhex(key)).decode()
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert f'<code id="setup-key">{grouped}</code>' in page
    uri = (
        f"otpauth://totp/{quote('Collaboratory:director')}?secret={secret}"
        "&algorithm=SHA1&digits=6&period=30&issuer=Collaboratory"
    )
    assert response.context["setup"].uri == uri
    # The inline SVG draws exactly the dark modules of that URI's QR code.
    svg = re.search(
        r'<svg class="qr"[^>]*viewBox="0 0 (\d+) \1".*?<path fill="#000" d="([^"]+)"', page
    )
    assert svg is not None
    modules = list(segno.make(uri, error="m", micro=False).matrix_iter(border=4))
    assert int(svg.group(1)) == len(modules)
    drawn = {tuple(map(int, m)) for m in re.findall(r"M(\d+),(\d+)h1v1h-1z", svg.group(2))}
    dark = {(x, y) for y, row in enumerate(modules) for x, on in enumerate(row) if on}
    assert drawn == dark
    # The same secret is offered again on reload until it is confirmed.
    assert grouped in client.get(reverse("two-factor")).content.decode()


def test_setting_up_with_the_apps_code_turns_it_on_and_returns_to_signing(client, demo, director):
    log_in_with_email_proven(client, director)
    client.get(reverse("two-factor"))
    key = bytes.fromhex(client.session[SETUP_KEY_SESSION_KEY])
    response = client.post(
        with_next("two-factor", sign_url(demo)),
        {"code": f"{totp(key):06d}", "next": sign_url(demo)},
    )
    # First the backup codes (shown once), with the way on to signing.
    assert response.status_code == 302
    assert response["Location"] == with_next("two-factor", sign_url(demo))
    page = client.get(response["Location"]).content.decode()
    assert "Your backup codes" in page and f'href="{sign_url(demo)}"' in page
    device = TOTPDevice.objects.get(user=director)
    assert device.confirmed and device.key == key.hex()
    assert session_verified(client) and SETUP_KEY_SESSION_KEY not in client.session
    assert client.get(sign_url(demo)).status_code == 200
    # The set-up code is spent: it cannot verify another session.
    client.logout()
    client.force_login(director)
    assert (
        client.post(reverse("two-factor-verify"), {"code": f"{totp(key):06d}"}).status_code == 400
    )


def test_setting_up_with_a_wrong_code_is_refused(client, demo, director):
    log_in_with_email_proven(client, director)
    client.get(reverse("two-factor"))
    response = client.post(reverse("two-factor"), {"code": WRONG})
    assert response.status_code == 400
    assert "That code does not match." in response.content.decode()
    assert not TOTPDevice.objects.exists()


def test_with_an_app_the_page_shows_its_status_and_no_new_secret(client, demo, director):
    otp_verified(client, director)
    page = client.get(reverse("two-factor")).content.decode()
    assert "Your authenticator app is set up." in page and "Verified" in page
    assert '<svg class="qr"' not in page and SETUP_KEY_SESSION_KEY not in client.session
    # Posting a set-up code cannot replace the app without removing it first.
    assert client.post(reverse("two-factor"), {"code": WRONG}).status_code == 200
    assert TOTPDevice.objects.filter(user=director).count() == 1


def test_removing_the_app_needs_a_current_code_from_it(client, demo, director):
    otp_verified(client, director)
    device = otp_device(director)
    response = client.post(reverse("two-factor-remove"), {"code": wrong_code_for(device)})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert TOTPDevice.objects.filter(user=director).exists()
    device.throttle_reset()
    response = client.post(reverse("two-factor-remove"), {"code": otp_code(device)}, follow=True)
    assert "Your authenticator app is removed." in response.content.decode()
    assert '<svg class="qr"' in response.content.decode()  # set up a new one right there
    assert not TOTPDevice.objects.filter(user=director).exists()
    # The session verified with the removed app no longer counts.
    assert client.get(sign_url(demo))["Location"] == with_next("two-factor", sign_url(demo))


def test_account_pages_need_a_login(client, db):
    for name in ("two-factor", "two-factor-verify", "two-factor-remove"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_outsider_may_set_up_an_app_for_themselves(client, outsider):
    """Account pages are the user's own, not an organisation's: no 404, nothing of others."""
    client.force_login(outsider)
    assert client.get(reverse("two-factor")).status_code == 200
    assert client.get(reverse("two-factor-verify"))["Location"] == reverse("two-factor")


def test_the_pages_query_counts(client, demo, director, django_assert_max_num_queries):
    client.force_login(director)
    # session, user, device, role check, session save of the offered secret (in a savepoint)
    with django_assert_max_num_queries(7):
        assert client.get(reverse("two-factor")).status_code == 200
    otp_device(director)
    # session, user, verified?, device
    with django_assert_max_num_queries(4):
        assert client.get(reverse("two-factor-verify")).status_code == 200
    otp_verified(client, director)
    # session, user, verified device, device, role check, backup codes left
    with django_assert_max_num_queries(6):
        assert client.get(reverse("two-factor")).status_code == 200


# --- in Chromium ------------------------------------------------------------------------------


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_signatory_sets_up_an_app_in_the_browser_and_comes_back_to_sign(
    page: Page, live_server, demo, tmp_path, mailbox
):
    """Researcher (a signatory) meets the set-up on the way to signing, confirms their
    e-mail address with the code we mail them (issue 19), scans (here: reads) the secret,
    types the app's code and lands on the signing page; the director, whose app exists, is
    asked for a code. Both pages fit a phone and trip no CSP violation."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    overflowing: list[str] = []

    _log_in(page, live_server, "researcher")
    page.goto(f"{live_server.url}{sign_url(demo)}")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Signing commits your organisation")
    # The password alone does not let anyone add a phone: first the e-mailed code.
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_have_count(0)
    page.get_by_role("button", name="E-mail me a code").click()
    message = mailbox.wait_for(to="researcher@northfield-university.example", subject="code")
    code = re.search(r"\b(\d{6})\b", mailbox.text(message))
    assert code is not None
    page.get_by_label("Code from the e-mail").fill(code.group(1))
    page.get_by_role("button", name="Confirm the code").click()
    expect(page.get_by_role("status")).to_contain_text("your e-mail address is confirmed")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    overflowing += shoot(page, folder, "two-factor-setup")
    secret = page.locator("#setup-key").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(f"{totp(base64.b32decode(secret)):06d}")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    # The backup codes, shown this once, then on to signing.
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Two-factor authentication is on")
    expect(page.locator(".backup-codes__list li")).to_have_count(10)
    overflowing += shoot(page, folder, "two-factor-backup-codes")
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page.get_by_role("heading", name=f"Sign {SIGNING}")).to_be_visible()

    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_text("Your authenticator app is set up.")).to_be_visible()
    expect(page.get_by_text("You have 10 unused backup codes.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your backup codes")).to_have_count(0)
    overflowing += shoot(page, folder, "two-factor-status")

    page.context.clear_cookies()
    device = otp_device(demo["users"]["director"])
    _log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{sign_url(demo)}")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    overflowing += shoot(page, folder, "two-factor-verify")
    page.get_by_label("6-digit code").fill(wrong_code_for(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    expect(page.get_by_label("6-digit code")).to_have_attribute("aria-invalid", "true")
    overflowing += shoot(page, folder, "two-factor-verify-error")

    assert overflowing == []
    assert violations == []


# --- backup codes -----------------------------------------------------------------------------


def _set_up_app(client, user) -> tuple[bytes, list[str]]:
    """Set up an authenticator app through the page; returns its key and the backup codes
    the page showed."""
    log_in_with_email_proven(client, user)
    client.get(reverse("two-factor"))
    key = bytes.fromhex(client.session[SETUP_KEY_SESSION_KEY])
    client.post(reverse("two-factor"), {"code": f"{totp(key):06d}"})
    page = client.get(reverse("two-factor")).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>", page)
    return key, codes


def test_setting_up_shows_ten_backup_codes_once_and_stores_only_hashes(client, demo, director):
    from django_otp.plugins.otp_static.models import StaticToken

    _, codes = _set_up_app(client, director)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(StaticToken.objects.filter(device__user=director).values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c for code in codes for c in (code, code.replace("-", ""))}
    again = client.get(reverse("two-factor")).content.decode()
    assert "Your backup codes" not in again and codes[0] not in again
    assert "You have 10 unused backup codes." in again


def test_a_backup_code_verifies_one_session_once(client, demo, director):
    from django_otp.plugins.otp_static.models import StaticDevice

    _, codes = _set_up_app(client, director)
    client.logout()
    client.force_login(director)
    typed = codes[3].upper().replace("-", " ")  # case, spaces and dashes do not matter
    response = client.post(reverse("two-factor-verify"), {"code": typed, "next": sign_url(demo)})
    assert response.status_code == 302 and response["Location"] == sign_url(demo)
    assert session_verified(client)
    assert client.get(sign_url(demo)).status_code == 200
    client.logout()
    client.force_login(director)
    reused = client.post(reverse("two-factor-verify"), {"code": codes[3]})
    assert reused.status_code == 400
    assert "already used" in reused.content.decode() and not session_verified(client)
    # (A wrong code makes the next one wait a moment: see the throttling test.)
    StaticDevice.objects.get(user=director).throttle_reset()
    page = client.post(reverse("two-factor-verify"), {"code": codes[4]}, follow=True)
    assert session_verified(client)
    assert "You have 8 unused backup codes." in client.get(reverse("two-factor")).content.decode()
    assert page.status_code == 200


def test_wrong_backup_codes_are_throttled(client, demo, director):
    _, codes = _set_up_app(client, director)
    client.logout()
    client.force_login(director)
    assert client.post(reverse("two-factor-verify"), {"code": "aaaa-aaaa"}).status_code == 400
    response = client.post(reverse("two-factor-verify"), {"code": codes[0]})
    assert response.status_code == 400
    assert "Too many wrong codes in a row" in response.content.decode()


def test_new_backup_codes_need_a_verified_session_and_void_the_old(client, demo, director):
    _, old = _set_up_app(client, director)
    client.logout()
    client.force_login(director)  # password only
    response = client.post(reverse("two-factor-backup-codes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-verify"))
    assert "You have 10 unused backup codes." in client.get(reverse("two-factor")).content.decode()
    otp_verified(client, director)
    page = client.post(reverse("two-factor-backup-codes"), follow=True).content.decode()
    new = re.findall(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>", page)
    assert len(new) == 10 and not set(new) & set(old)
    assert "the old ones no longer work" in page
    client.logout()
    client.force_login(director)
    assert client.post(reverse("two-factor-verify"), {"code": old[0]}).status_code == 400


def test_a_lost_phone_is_removed_with_a_backup_code(client, demo, director):
    from django_otp.plugins.otp_static.models import StaticDevice

    _, codes = _set_up_app(client, director)
    client.logout()
    client.force_login(director)
    response = client.post(reverse("two-factor-remove"), {"code": codes[0]}, follow=True)
    assert "Your authenticator app is removed." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=director).exists()
    assert not StaticDevice.objects.filter(user=director).exists()  # the codes go with it


# --- the Django admin ---------------------------------------------------------------------


def test_staff_must_verify_before_the_admin_and_come_back_to_it(client, demo):
    """The admin can change every partnership: an unverified staff session is sent to its
    authenticator app first, then on to the admin page it asked for."""
    from django.urls import reverse

    from tests.conftest import otp_code, otp_device

    facilitator = demo["users"]["facilitator"]
    device = otp_device(facilitator)
    client.force_login(facilitator)
    wanted = reverse("admin:partners_trio_changelist")
    response = client.get(wanted, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two-factor-verify"))
    assert "needs two-factor authentication" in response.content.decode()
    verify_url = response.redirect_chain[-1][0]
    answered = client.post(verify_url, {"code": otp_code(device)})
    assert answered.status_code == 302 and answered["Location"] == wanted
    assert client.get(wanted).status_code == 200


def test_staff_without_an_app_are_sent_to_set_one_up_for_the_admin(client, demo):
    from django.urls import reverse

    staff = get_user_model().objects.create_user(
        username="new-staff", password="a-long-password-123", is_staff=True
    )
    client.force_login(staff)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two-factor") + "?")


def test_the_admin_login_ignores_a_next_url_off_this_site(client, demo):
    from django.urls import reverse

    client.force_login(demo["users"]["facilitator"])
    response = client.get(reverse("admin:login"), {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
