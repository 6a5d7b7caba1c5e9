"""Real Chromium (issue 19, items 3 and 4): the director proves their e-mail address with the
code we mail them (a real SMTP server receives it) before setting up an authenticator app;
and a guesser's wrong passwords earn a page that says when to try again, while the director's
own browser still gets in."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.screens import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "collaboratory-demo"
DIRECTOR_EMAIL = "director@riverbend-usd.example"


def _log_in(page: Page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def folder(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_director_confirms_the_emailed_code_then_sets_up_the_app(
    page: Page, live_server, demo, mailbox, folder
):
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    overflowing: list[str] = []
    _log_in(page, live_server, "director")
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    page.goto(f"{live_server.url}{reverse('two-factor')}")
    expect(page.get_by_role("heading", name="First, confirm it is you")).to_be_visible()
    expect(page.get_by_text("d••••••r@riverbend-usd.example")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_have_count(0)
    overflowing += shoot(page, folder, "enrolment-email-step")

    page.get_by_role("button", name="E-mail me a code").click()
    expect(page.get_by_role("status")).to_contain_text("We e-mailed a 6-digit code")
    message = mailbox.wait_for(to=DIRECTOR_EMAIL, subject="code to set up two-factor")
    found = re.search(r"\b(\d{6})\b", mailbox.text(message))
    assert found is not None
    code = found.group(1)
    overflowing += shoot(page, folder, "enrolment-code-sent")

    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("Code from the e-mail").fill(wrong)
    page.get_by_role("button", name="Confirm the code").click()
    expect(page.locator(".errorlist")).to_contain_text("That code is not right.")
    expect(page.get_by_label("Code from the e-mail")).to_have_attribute("aria-invalid", "true")
    overflowing += shoot(page, folder, "enrolment-wrong-code")

    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Confirm the code").click()
    expect(page.get_by_role("status")).to_contain_text("your e-mail address is confirmed")
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    overflowing += shoot(page, folder, "enrolment-setup")
    secret = page.locator("#setup-key").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(f"{totp(base64.b32decode(secret)):06d}")
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    assert TOTPDevice.objects.filter(user=demo["users"]["director"], confirmed=True).exists()

    assert overflowing == []
    assert violations == []


def test_a_guessers_wrong_passwords_are_delayed_and_the_directors_browser_gets_in(
    page: Page, live_server, demo, browser, folder
):
    # The director logged in from this browser before: it is known for "director".
    _log_in(page, live_server, "director")
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # Someone else, from the same address (both are 127.0.0.1 here), guesses.
    guesser = browser.new_context()
    other = guesser.new_page()
    for attempt in range(5):
        _log_in(other, live_server, "director", f"guess-{attempt}")
        expect(other.get_by_role("alert")).to_contain_text("correct username and password")
    _log_in(other, live_server, "director", "guess-5")
    expect(other.get_by_role("heading", name="Logging in is paused")).to_be_visible()
    expect(other.get_by_role("alert")).to_contain_text("you can try again at")
    expect(other.get_by_role("alert")).to_contain_text("Too many wrong passwords for “director”")
    overflowing = shoot(other, folder, "login-delayed")
    guesser.close()

    # The director's own browser is not held back.
    _log_in(page, live_server, "director")
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    assert overflowing == []
