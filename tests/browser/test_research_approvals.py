"""Real Chromium: the research approval the roster export waits for (issue 20, item 4).

The template requires the IRB's approval and the one recorded has expired: the district's
roster page says which approval to renew and refuses the export. The researcher records the
renewal with its letter on the agreement's Research approvals page; the refusal is gone from
the roster page. Screenshots (desktop and phone) go to ``SCREENSHOT_DIR`` when set.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.approvals.demo import approval_letter_pdf
from agreements.approvals.models import ApprovalKind, ResearchApproval
from agreements.approvals.services import (
    research_approval_record,
    template_research_approvals_set,
)
from agreements.demo import seed_templates
from consent import services as consent_services
from tests.browser.screens import shoot
from tests.consent.conftest import activate, make_agreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


@pytest.fixture
def expired_irb(demo):
    """An active consent study (Northfield, Riverbend, Brightpath) whose template requires
    the IRB's approval; the recorded one expired five days ago."""
    demo["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(demo, make_agreement(demo, title="Algebra I consent study"))
    consent_services.consent_form_add(
        agreement=agreement,
        by=demo["users"]["director"],
        language="en",
        title="Parent permission",
        body="May we include your child?",
        effective_date=dt.date(2026, 8, 1),
    )
    template_research_approvals_set(
        template=agreement.template_version.template, kinds=[ApprovalKind.IRB], by=None
    )
    today = timezone.localdate()
    research_approval_record(
        agreement=agreement,
        by=demo["users"]["researcher"],
        kind=ApprovalKind.IRB,
        approving_body="Northfield University IRB",
        number="2025-123",
        approved_on=today - dt.timedelta(days=370),
        expires_on=today - dt.timedelta(days=5),
        document_name="irb-2025-123.pdf",
        document=approval_letter_pdf("Northfield University IRB", "2025-123"),
    )
    demo["agreement"] = agreement
    demo["expired_on"] = (today - dt.timedelta(days=5)).isoformat()
    return demo


def test_the_researcher_renews_the_irb_approval_and_the_roster_refusal_goes(
    page: Page, live_server, expired_irb, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    agreement = expired_irb["agreement"]
    roster = f"{live_server.url}{reverse('consent-roster', args=[agreement.pk])}"
    refusal = (
        f"The IRB approval 2025-123 from Northfield University IRB expired on "
        f"{expired_irb['expired_on']}: renew it before exporting the roster."
    )
    overflowing: list[str] = []

    # The district's director: the roster page names the approval to renew, and refuses.
    _log_in(page, live_server, "director")
    page.goto(roster)
    notice = page.locator("#approvals-not-current")
    expect(notice).to_contain_text(refusal)
    overflowing += shoot(page, shots, "approvals-roster-refused")
    page.get_by_role("button", name="Export the roster (CSV)").click()
    expect(page.locator(".form-errors")).to_contain_text(refusal)

    # The researcher records the renewal with its letter.
    _log_in(page, live_server, "researcher")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    section = page.locator("#research-approvals")
    expect(section).to_contain_text("Not current: no student data may flow.")
    section.screenshot(path=str(shots / "approvals-agreement-panel.png"))
    section.get_by_role("link", name="Research approvals and their letters").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Research approvals")
    expect(page.get_by_role("alert").first).to_contain_text("expired on")
    page.get_by_role("link", name="Record the renewal").click()
    expect(page.get_by_label("Approving body")).to_have_value("Northfield University IRB")
    today = timezone.localdate()
    page.get_by_label("Approval number or protocol id").fill("2025-123-R1")
    page.get_by_label("Approval date").fill((today - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Expiry date").fill((today + dt.timedelta(days=363)).isoformat())
    letter = tmp_path / "irb-renewal-2025-123-R1.pdf"
    letter.write_bytes(approval_letter_pdf("Northfield University IRB", "2025-123-R1"))
    page.get_by_label("Approval letter").set_input_files(str(letter))
    overflowing += shoot(page, shots, "approvals-record-form")
    page.get_by_role("button", name="Record the approval").click()
    expect(page.get_by_role("status")).to_contain_text("IRB approval 2025-123-R1 recorded")
    expect(page.locator("#standing-irb-panel")).to_contain_text("Current")
    history = page.locator("#history-title + .table-wrap")
    expect(history).to_contain_text("Superseded (renewed)")
    expect(history.get_by_role("link", name="irb-renewal-2025-123-R1.pdf")).to_be_visible()
    overflowing += shoot(page, shots, "approvals-page")
    renewal = ResearchApproval.objects.get(number="2025-123-R1")
    assert renewal.renews is not None and renewal.document_name == letter.name

    # The director again: the refusal is gone and the export form is there.
    _log_in(page, live_server, "director")
    page.goto(roster)
    expect(page.locator("#approvals-not-current")).to_have_count(0)
    expect(page.get_by_role("button", name="Export the roster (CSV)")).to_be_visible()
    overflowing += shoot(page, shots, "approvals-roster-allowed")
    page.goto(f"{live_server.url}{reverse('dashboard')}")
    overflowing += shoot(page, shots, "approvals-dashboard")
    assert not overflowing, f"scrolls sideways: {overflowing}"
