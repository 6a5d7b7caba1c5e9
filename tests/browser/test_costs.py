"""Real Chromium: Northfield's counsel records legal review time on a clause (private), shares
it with the trio, Riverbend's director then sees it (and not Northfield's private entry), and
the facilitator's cost report shows the shared hours on the clause, its chart and the CSV
link. Screenshots of each page at desktop and phone widths go to ``SCREENSHOT_DIR`` (or the
test's own folder), and no page may scroll sideways on a phone."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.costs.models import CostEntry
from agreements.costs.services import cost_entry_record
from agreements.models import Agreement
from tests.browser.screens import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PILOT = "Adaptive Practice Real-Time Dashboard Pilot"


def _sign_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_recording_sharing_and_the_facilitators_report(page: Page, live_server, demo, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    pilot = Agreement.objects.get(title=PILOT)
    users = demo["users"]
    # A private entry of Northfield's that nobody else may ever see.
    cost_entry_record(
        agreement=pilot,
        by=users["counsel"],
        kind="legal_review",
        occurred_on=dt.date(2026, 10, 1),
        values={"hours": "13.75", "legal_role": "paralegal", "note": "Internal prep, private"},
    )
    wide: list[str] = []

    _sign_in(page, live_server, "counsel")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[pilot.pk])}")
    page.get_by_role("link", name="Costs and effort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Costs and effort")
    form = page.locator("#record-legal_review")
    form.locator("summary").click()
    form.get_by_label("Hours").fill("6.5")
    form.get_by_label("Who reviewed").select_option("outside_counsel")
    form.get_by_label("Hourly rate (optional)").fill("300")
    form.get_by_label("Clause (optional)").select_option("breach-notification")
    form.get_by_label("Note").fill("Breach window redline, two rounds")
    form.get_by_role("button", name="Record legal review time").click()
    expect(page.get_by_role("status")).to_contain_text("private to your party")
    row = page.locator("tr", has_text="Breach window redline")
    expect(row).to_contain_text("private")
    wide += shoot(page, shots, "costs-agreement")
    row.get_by_role("button", name="Share with the trio").click()
    expect(page.get_by_role("status")).to_contain_text("shared with the trio")
    expect(page.locator("tr", has_text="Breach window redline")).to_contain_text("shared")
    entry = CostEntry.objects.get(note="Breach window redline, two rounds")
    assert entry.shared and entry.clause_key == "breach-notification"
    # Corrected afterwards: the form shows what was recorded.
    page.locator("tr", has_text="Breach window redline").get_by_role("link", name="Edit").click()
    hours = page.get_by_label("Hours")
    expect(hours).to_have_value("6.50")
    wide += shoot(page, shots, "costs-edit")
    hours.fill("6.75")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Entry saved")
    expect(page.locator("tr", has_text="Breach window redline")).to_contain_text("6.75 h")

    # The district sees the shared entry and the trio's shared totals, not the private one.
    _sign_in(page, live_server, "director")
    page.goto(f"{live_server.url}{reverse('agreement-costs', args=[pilot.pk])}")
    expect(page.locator("tr", has_text="Breach window redline")).to_be_visible()
    expect(page.get_by_text("Internal prep, private")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("13.75")
    wide += shoot(page, shots, "costs-district")
    page.get_by_role("link", name="All agreements of Adaptive Practice in Algebra I").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Costs of Adaptive Practice in Algebra I"
    )
    expect(page.locator("main")).not_to_contain_text("13.75")
    wide += shoot(page, shots, "costs-trio")

    # The facilitator's report: the shared hours on the clause, the chart, the CSV link.
    _sign_in(page, live_server, "facilitator")
    page.goto(f"{live_server.url}{reverse('cost-report')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("What partnerships cost")
    clause_row = page.locator("table.clause-costs tr", has_text="Breach")
    expect(clause_row).to_contain_text("6.75")
    expect(page.locator("svg.cost-chart")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("13.75")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "aims-costs.csv"
    wide += shoot(page, shots, "costs-report")
    assert not wide, f"pages that scroll sideways: {wide}"
