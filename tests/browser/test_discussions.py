"""Issue 17 item 2 in real Chromium: counsel keeps an internal note on a clause that the other
parties never see (each logs in and looks), and the district's director asks a shared question
that @mentions the vendor's counsel, who finds the notification and the question. axe checks
the discussion forms, threads and the notifications page. Screenshots go to SCREENSHOT_DIR when
set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_journeys import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
NOTE = "Internal: we could live with two audits a year if pressed."


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe is injected by the test; the pages' CSP would refuse it (the pages are unchanged).
    return {**browser_context_args, "bypass_csp": True, "viewport": {"width": 1280, "height": 900}}


def log_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


def discussion(page: Page):
    return page.locator("#clause-audits").get_by_role("region", name=re.compile("^Discussion"))


def test_an_internal_note_stays_in_its_organisation_and_a_mention_notifies(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    agreement = demo["agreements"][NEGOTIATING]
    url = f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}"

    # Northfield's counsel writes an internal note; a wrong quote first, kept as typed.
    log_in(page, live_server, "counsel")
    page.goto(url)
    area = discussion(page)
    area.get_by_text("Start a discussion on this clause").click()
    area.get_by_label("Passage you are asking about (optional)").fill("words not in it")
    area.get_by_label("Comment", exact=True).fill(NOTE)
    area.get_by_role("radio", name=re.compile(r"^Only .* \(internal note\)$")).check()
    area.get_by_role("button", name="Add comment").click()
    area = discussion(page)
    expect(area.get_by_role("alert")).to_contain_text("Your comment is not added yet")
    expect(area.get_by_label("Comment", exact=True)).to_have_value(NOTE)
    expect(area.get_by_role("radio", name=re.compile(r"\(internal note\)$"))).to_be_checked()
    expect(area).to_contain_text("The quoted passage is not in")
    assert_accessible(page)
    area.get_by_label("Passage you are asking about (optional)").fill("")
    area.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Internal note added: only")
    area = discussion(page)
    expect(area).to_contain_text(NOTE)
    expect(area).to_contain_text(
        "Internal note — only Northfield University Learning Sciences Lab sees this"
    )
    area.screenshot(path=str(shots / "discussion-internal-note.png"))
    assert_accessible(page)

    # The district and the vendor see no trace of it.
    for other in ("director", "vendor"):
        log_in(page, live_server, other)
        page.goto(url)
        expect(page.get_by_text(NOTE)).to_have_count(0)
        expect(page.get_by_text(re.compile("Internal note — only Northfield"))).to_have_count(0)

    # The district's director asks the vendor's counsel, by @mention, in a shared comment.
    log_in(page, live_server, "director")
    page.goto(url)
    area = discussion(page)
    area.get_by_text("Start a discussion on this clause").click()
    area.get_by_label("Comment", exact=True).fill(
        "@vendor could Brightpath accept one audit a year on 30 days' notice?"
    )
    area.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Comment added: every party sees it.")
    assert_accessible(page)

    # The vendor's counsel finds the notification and the question, and answers it.
    log_in(page, live_server, "vendor")
    page.get_by_role("link", name="Notifications").click()
    inbox = page.get_by_role("list", name="Your notifications")
    expect(inbox).to_contain_text("Maya Okafor mentioned you on")
    page.screenshot(path=str(shots / "discussion-notifications.png"))
    assert_accessible(page)
    inbox.get_by_role("link", name=re.compile("Maya Okafor mentioned you on")).first.click()
    area = discussion(page)
    expect(area).to_contain_text("could Brightpath accept one audit a year")
    expect(area).not_to_contain_text(NOTE)
    area.get_by_text("Reply", exact=True).first.click()
    area.get_by_label("Your reply").fill("Yes, with a current SOC 2 report accepted in lieu.")
    area.get_by_role("button", name="Reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is added.")
    discussion(page).get_by_role("button", name="Mark resolved").click()
    expect(page.get_by_role("status")).to_contain_text("The discussion is resolved.")
    area = discussion(page)
    expect(area).to_contain_text("Resolved by Priya Natarajan")
    expect(area.get_by_role("button", name="Reopen")).to_be_visible()
    area.screenshot(path=str(shots / "discussion-resolved-thread.png"))
    assert_accessible(page)

    # On a phone the header, with its Notifications link, and the page fit without scrolling
    # sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(shots / "discussion-notifications-phone.png"))
    assert overflow <= 0
