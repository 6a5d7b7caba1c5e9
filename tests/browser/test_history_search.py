"""Issue 17 items 7 and 8 in Chromium: the history page tells a negotiation in sentences (and
leads to the technical audit trail by a link that says what it is); search finds an
agreement by a fragment of its reference and shows excerpts with the terms filled."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import Clause
from agreements.negotiation.proposals import override_propose, override_respond
from tests.browser.test_workspace_journeys import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
UNIVERSITY = "Northfield University Learning Sciences Lab"
RETENTION = "17. Data Retention and Destruction"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": True, "viewport": {"width": 1280, "height": 900}}


def test_history_reads_as_a_timeline_and_leads_to_the_audit_trail(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    users = demo["users"]
    agreement = demo["agreements"][NEGOTIATING]
    standard = Clause.objects.get(version=agreement.template_version, key="data-retention")
    proposal = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key="data-retention",
        body=standard.body + "\n\nCopies held by subcontractors are destroyed on the same day.",
        rationale="Subcontractors hold copies too.",
        terms={"retention_days": "180"},
    )
    override_respond(override=proposal, by=users["director"], decision="accept")

    log_in(page, live_server, "counsel")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("History")
    expect(page.get_by_text(re.compile(r"Times are in \S+"))).to_be_visible()
    timeline = page.locator(".history")
    expect(timeline.get_by_role("heading", level=2).first).to_have_text(
        re.compile(r"^\w+day \d{1,2} \w+ \d{4}$")
    )
    expect(timeline).to_contain_text(f"{UNIVERSITY} proposed a change to {RETENTION}")
    expect(timeline).to_contain_text(
        f"Riverbend Unified School District accepted {UNIVERSITY}’s change to {RETENTION}"
    )
    expect(timeline).to_contain_text(re.compile(r"Retention period: \d+ days → 180 days"))
    expect(timeline).not_to_contain_text("data-retention")
    expect(timeline).not_to_contain_text("[[")
    assert_accessible(page)
    page.screenshot(path=str(shots / "history-timeline.png"), full_page=False)

    page.get_by_role("link", name="technical audit trail (hash chain)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Technical audit trail (hash chain)")
    expect(page.get_by_text("The tamper-evident record auditors check")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(shots / "history-audit-trail.png"), full_page=False)
    page.get_by_role("link", name="history", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("History")


def test_search_finds_an_agreement_by_a_fragment_of_its_reference(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    agreement = next(a for a in demo["agreements"].values() if a.reference.endswith("2026-002"))
    log_in(page, live_server, "facilitator")
    page.goto(f"{live_server.url}{reverse('search')}")
    page.get_by_label("Search for").fill("2026-002")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("region", name="Agreements")
    expect(results.get_by_role("link", name=agreement.title)).to_be_visible()
    expect(results).to_contain_text(agreement.reference)
    assert_accessible(page)
    page.screenshot(path=str(shots / "search-reference.png"), full_page=False)

    page.get_by_label("Search for").fill("cooperate investigation")
    page.get_by_role("button", name="Search").click()
    changes = page.get_by_role("region", name="Proposed clause text")
    expect(changes).to_contain_text("a change to 16. Security Incidents and Breach Notification")
    expect(changes.locator(".term-value").first).to_be_visible()
    expect(changes).not_to_contain_text("[[")
    assert_accessible(page)
    changes.screenshot(path=str(shots / "search-filled-terms.png"))
