"""Issue 17, items 3 and 5 in real Chromium: the agreement page says whose answer each
proposal waits for and takes Accept/Reject away once the district answered; the review page
explains each review state; the dashboard's feed names clauses by their titles. Screenshots go
to SCREENSHOT_DIR when set; axe-core checks each page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_journeys import DESKTOP, PHONE, assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
ACTIVE = "Productive Struggle Classroom Study"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected, which the pages' Content-Security-Policy would refuse.
    return {**browser_context_args, "bypass_csp": True, "viewport": DESKTOP}


def test_the_district_answers_once_and_reads_clauses_by_title(
    page: Page, live_server, demo, tmp_path
):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "director")
    feed = page.get_by_role("list", name="Recent activity")
    expect(feed).to_contain_text(re.compile(r"proposed deleting \d+\. Audits and Monitoring"))
    expect(feed).not_to_contain_text("breach-notification")
    page.screenshot(path=str(folder / "h3-dashboard.png"), full_page=True)

    agreement = demo["agreements"][NEGOTIATING]
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    pending = page.get_by_role("region", name="Proposals waiting for answers")
    expect(pending).to_contain_text("Audits and Monitoring")
    expect(pending).to_contain_text(
        re.compile(r"Waits for .*Riverbend Unified School District.*your organisation")
    )
    expect(page.get_by_role("region", name="What happens next")).to_contain_text(
        re.compile(r"proposal on \d+\. Audits and Monitoring waits for an answer from")
    )
    audits = page.locator("#clause-audits")
    expect(audits.get_by_role("button", name="Withdraw")).to_have_count(0)  # not the proposer
    page.screenshot(path=str(folder / "h3-agreement-before.png"), full_page=True)
    assert_accessible(page)

    audits.get_by_role("button", name="Accept").click()
    audits = page.locator("#clause-audits")
    expect(audits).to_contain_text(
        re.compile(r"Your organisation \(Riverbend Unified School District\) accepted it on")
    )
    expect(audits).to_contain_text("Waits for Northfield University Learning Sciences Lab.")
    expect(audits.get_by_role("button", name="Accept")).to_have_count(0)
    expect(audits.get_by_role("button", name="Reject")).to_have_count(0)
    audits.scroll_into_view_if_needed()
    audits.screenshot(path=str(folder / "h3-proposal-answered.png"))
    assert_accessible(page)

    active = demo["agreements"][ACTIVE]
    page.goto(f"{live_server.url}{reverse('agreement-reviews', args=[active.pk])}")
    legend = page.get_by_role("region", name="What each state means")
    expect(legend).to_contain_text("proposed or accepted the change that produced it")
    expect(page.get_by_role("region", name="Still to review")).to_contain_text("all reviewed")
    expect(page.get_by_text("not reviewed", exact=True)).to_have_count(0)
    page.screenshot(path=str(folder / "h3-reviews.png"), full_page=True)
    assert_accessible(page)
    # The legend and the parties' states fit a phone without sideways scrolling.
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(folder / "h3-reviews-phone.png"), full_page=True)
