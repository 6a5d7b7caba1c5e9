"""Real Chromium (issue 19 item 2): an organisation admin invites a signatory, who follows the
link in the mail (a real SMTP server receives it), sets a password and lands on two-factor
enrolment; a forgotten password is reset through the mailed link; resetting a member's
two-factor tells them by mail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from partners.models import Membership, Role
from tests.browser.screens import shoot
from tests.conftest import otp_device, otp_verify_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "collaboratory-demo"
NEW_PASSWORD = "a-fresh-Passphrase-2026"


@pytest.fixture
def folder(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _shoot(page: Page, folder: Path, name: str) -> list[str]:
    return shoot(page, folder, f"people-{name}")


def _log_in(page: Page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def _admin_on_people_page(page: Page, live_server, demo) -> str:
    director = demo["users"]["director"]
    people_url = reverse("organisation-people", args=["riverbend-usd"])
    _log_in(page, live_server, "director")
    otp_verify_in_browser(page, live_server, director, next_url=people_url)
    expect(page.get_by_role("heading", name="People of Riverbend")).to_be_visible()
    return people_url


def test_admin_invites_a_signatory_who_sets_a_password_and_enrols(
    page: Page, browser, live_server, demo, mailbox, folder, settings
):
    settings.SITE_URL = live_server.url
    overflowing: list[str] = []
    _admin_on_people_page(page, live_server, demo)
    overflowing += _shoot(page, folder, "list")

    invitations = page.get_by_role("region", name="Invitations waiting")
    invitations.get_by_text("Invite a colleague").click()
    invitations.get_by_label("E-mail address").fill("ada@example.org")
    invitations.get_by_label("Signatory").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to ada@example.org")
    expect(page.get_by_role("cell", name="ada@example.org", exact=True)).to_be_visible()
    overflowing += _shoot(page, folder, "invited")

    message = mailbox.wait_for(to="ada@example.org", subject="invited to Riverbend")
    link = mailbox.link(message, "/invitation/")

    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Riverbend")).to_be_visible()
    overflowing += _shoot(invitee, folder, "accept")
    invitee.get_by_label("Username").fill("ada")
    invitee.get_by_label("Password:", exact=True).fill("short")
    invitee.get_by_label("Password again").fill("short")
    invitee.get_by_role("button", name="Create my account").click()
    expect(invitee.get_by_text("too short")).to_be_visible()
    overflowing += _shoot(invitee, folder, "accept-weak-password")
    invitee.get_by_label("Password:", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("Password again").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Create my account").click()

    # A signatory: straight on to setting up the authenticator app, the e-mail already proven.
    expect(invitee).to_have_url(f"{live_server.url}{reverse('two-factor')}")
    expect(invitee.get_by_role("status")).to_contain_text("Welcome to Riverbend")
    expect(invitee.get_by_role("heading", name="First, confirm it is you")).to_have_count(0)
    overflowing += _shoot(invitee, folder, "enrolment")
    ada = get_user_model().objects.get(username="ada")
    assert Membership.objects.filter(user=ada, role=Role.SIGNATORY).exists()

    # The link worked once.
    again = browser.new_context().new_page()
    again.goto(link)
    expect(again.get_by_role("heading", name="This invitation has been used")).to_be_visible()
    overflowing += _shoot(again, folder, "link-used")
    assert overflowing == []


def test_forgotten_password_is_reset_through_the_mailed_link(
    page: Page, live_server, demo, mailbox, folder
):
    overflowing: list[str] = []
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_role("link", name="Forgot your password?").click()
    overflowing += _shoot(page, folder, "reset-form")
    page.get_by_label("Email").fill("counsel@northfield-university.example")
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    overflowing += _shoot(page, folder, "reset-sent")

    message = mailbox.wait_for(to="counsel@northfield-university.example", subject="password")
    page.goto(mailbox.link(message, "/password-reset/"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    overflowing += _shoot(page, folder, "reset-choose")
    page.get_by_label("New password:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    overflowing += _shoot(page, folder, "reset-done")

    _log_in(page, live_server, "counsel", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    assert overflowing == []


def test_resetting_a_members_two_factor_tells_them_by_mail(
    page: Page, live_server, demo, mailbox, folder
):
    colleague = get_user_model().objects.create_user(
        "signer", email="signer@riverbend-usd.example", first_name="Sam", last_name="Signer"
    )
    Membership.objects.create(
        user=colleague, organisation=demo["orgs"]["riverbend-usd"], role=Role.SIGNATORY
    )
    otp_device(colleague)
    _admin_on_people_page(page, live_server, demo)
    row = page.locator("tr", has_text="Sam Signer")
    row.get_by_text("Manage").click()
    overflowing = _shoot(page, folder, "manage")
    row.get_by_role("button", name="Reset two-factor").click()
    expect(page.get_by_role("status")).to_contain_text("we told them by e-mail")
    expect(page.locator("tr", has_text="Sam Signer")).to_contain_text("Not set up")
    overflowing += _shoot(page, folder, "two-factor-reset")
    message = mailbox.wait_for(to="signer@riverbend-usd.example", subject="two-factor")
    assert "reset your two-factor authentication" in mailbox.text(message)
    assert overflowing == []
