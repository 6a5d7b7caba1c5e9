"""Ownership in real Chromium: the district and the developer state conflicting positions on
a data element, the conflict shows on the agreement and ownership pages and keeps the
agreement from review; the parties agree to differ in a wording each confirms, and the
agreement goes to legal review with the positions in its schedule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import Agreement, Status
from agreements.review.services import agreement_reopen
from agreements.selectors import consolidated_text, with_agreement_detail
from tests.browser.screens import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
WORDING = "The parties differ on who owns these scores; nothing in this Agreement transfers it."


def log_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


def state(page: Page, section, owner: str, steward: str) -> None:
    form = section.locator("details", has_text="your position")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.get_by_role("group", name="Owner").get_by_label(owner).check()
    form.get_by_role("group", name="Controller").get_by_label("Riverbend").check()
    form.get_by_role("group", name="Steward").get_by_label(steward).check()
    form.get_by_role("group", name="Processors").get_by_label("Northfield").check()
    form.get_by_role("button", name="Save your position").click()
    expect(page.get_by_role("status")).to_contain_text("Your position on")


def test_conflicting_positions_show_and_are_settled_before_review(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    users = demo["users"]
    agreement = with_agreement_detail(Agreement.objects.all()).get(
        pk=demo["agreements"][IN_REVIEW].pk
    )
    agreement_reopen(agreement=agreement, by=users["director"], reason="Ownership.")
    element = agreement.data_elements.all()[0]
    ownership = f"{live_server.url}{reverse('agreement-ownership', args=[agreement.pk])}"
    detail = f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}"
    section_id = f"#ownership-{element.pk}"

    log_in(page, live_server, "director")
    page.goto(ownership)
    state(page, page.locator(section_id), "Riverbend", "No steward")

    log_in(page, live_server, "vendor")
    page.goto(ownership)
    section = page.locator(section_id)
    expect(section).to_contain_text("Riverbend Unified School District")
    state(page, section, "Students and their families", "Riverbend")
    expect(section.locator(".badge")).to_have_text("Conflict")
    expect(section).to_contain_text("positions differ on owner and steward")
    problems = shoot(page, shots, "ownership-conflict")

    # The agreement page names the element among what keeps it from review.
    page.goto(detail)
    expect(page.locator("#why-submit")).to_contain_text(
        "Ownership of “Algebra I end-of-unit assessment scores” is not settled"
    )
    expect(page.locator("#ownership")).to_contain_text("Conflict")
    problems += shoot(page, shots, "agreement-ownership-conflict")

    # The university takes the district's position; the developer proposes to differ.
    log_in(page, live_server, "counsel")
    page.goto(ownership)
    page.locator(section_id).get_by_role(
        "button", name="State the same position as Riverbend Unified School District"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Your position on")

    log_in(page, live_server, "vendor")
    page.goto(ownership)
    section = page.locator(section_id)
    section.locator("summary", has_text="Agree to differ").click()
    section.get_by_label("What the agreement says about the difference").fill(WORDING)
    section.get_by_role("button", name="Propose this wording").click()
    expect(page.get_by_role("status")).to_contain_text("Your wording is proposed")

    for username in ("director", "counsel"):
        log_in(page, live_server, username)
        page.goto(ownership)
        section = page.locator(section_id)
        expect(section).to_contain_text(WORDING)
        section.get_by_role("button", name="Confirm this wording").click()
        expect(page.get_by_role("status")).to_contain_text("You confirmed the wording")
    section = page.locator(section_id)
    expect(section.locator(".badge")).to_have_text("Agreed to differ")
    problems += shoot(page, shots, "ownership-settled")

    page.goto(detail)
    page.get_by_role("button", name="Submit for legal review").click()
    expect(page.get_by_role("status")).to_contain_text("review")
    fresh = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    assert fresh.status == Status.IN_REVIEW
    body = "\n".join(c.body for c in consolidated_text(fresh).clauses)
    assert f"Agreed to differ: {WORDING}" in body

    # Frozen: the page shows the positions without forms.
    page.goto(ownership)
    expect(page.locator("body")).to_contain_text("can no longer change")
    expect(page.get_by_role("button", name="Save your position")).to_have_count(0)
    problems += shoot(page, shots, "ownership-frozen")
    assert problems == []
