"""Real Chromium through the propose form (issue 17 item 3): a new clause is inserted by its
heading, with no key to invent, and a refused proposal comes back with everything typed and
the fix named in plain words. Screenshots go to SCREENSHOT_DIR when set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import ClauseOverride
from tests.browser.test_workspace_journeys import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
ESCROW = (
    "The Developer shall deposit the source code of the dashboard with an independent escrow "
    "agent and keep the deposit current."
)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": True, "viewport": {"width": 1280, "height": 900}}


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_propose_form(page: Page, live_server, agreement, key: str):
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    clause = page.locator(f"#clause-{key}")
    clause.get_by_text("Propose a change to this clause").click()
    return clause


def test_counsel_inserts_a_clause_by_its_heading(page: Page, live_server, demo, tmp_path):
    agreement = demo["agreements"][NEGOTIATING]
    log_in(page, live_server, "counsel")
    clause = open_propose_form(page, live_server, agreement, "insurance")
    form = clause.locator("form.propose-form")
    # Replacing (the default): the current text to edit, no heading.
    expect(form.get_by_role("textbox", name="New text of this clause")).to_be_visible()
    expect(form.get_by_role("textbox", name="Heading of the new clause")).to_be_hidden()
    # Deleting: no text at all.
    form.get_by_label("Delete this clause").check()
    expect(form.get_by_role("textbox", name="New text of this clause")).to_be_hidden()
    expect(form.get_by_role("textbox", name="Text of the new clause")).to_be_hidden()
    # Inserting: a heading and an empty text; nowhere to type a key.
    form.get_by_label("Insert a new clause after this one").check()
    expect(form.get_by_role("textbox", name="Heading of the new clause")).to_be_visible()
    expect(form.get_by_role("textbox", name="Text of the new clause")).to_have_value("")
    expect(form.get_by_role("textbox", name="New text of this clause")).to_be_hidden()
    expect(form.get_by_label(re.compile("key", re.IGNORECASE))).to_have_count(0)
    form.get_by_role("textbox", name="Heading of the new clause").fill("Data escrow")
    form.get_by_role("textbox", name="Text of the new clause").fill(ESCROW)
    form.get_by_label("Rationale (required)").fill("Continuity if the vendor fails.")
    form.screenshot(path=str(shots(tmp_path) / "propose-insert.png"))
    form.get_by_role("button", name="Propose").click()

    expect(page.get_by_role("status")).to_contain_text("Your proposal is recorded")
    proposal = page.locator("#clause-insurance .proposal--proposed").filter(has_text="Data escrow")
    expect(proposal).to_contain_text("independent escrow agent")
    expect(proposal).not_to_contain_text("data-escrow")
    proposal.screenshot(path=str(shots(tmp_path) / "propose-insert-recorded.png"))
    inserted = ClauseOverride.objects.get(agreement=agreement, kind="insert")
    assert (inserted.new_key, inserted.heading) == ("data-escrow", "Data escrow")


def test_a_refused_proposal_keeps_what_was_typed(page: Page, live_server, demo, tmp_path):
    agreement = demo["agreements"][NEGOTIATING]
    log_in(page, live_server, "counsel")
    clause = open_propose_form(page, live_server, agreement, "insurance")
    form = clause.locator("form.propose-form")
    form.get_by_label("Insert a new clause after this one").check()
    form.get_by_role("textbox", name="Heading of the new clause").fill("Data escrow")
    form.get_by_label("Rationale (required)").fill("Continuity if the vendor fails.")
    form.get_by_role("button", name="Propose").click()  # the text is missing

    # The page comes back at the form, open, with the error first, focused and in view.
    clause = page.locator("#clause-insurance")
    summary = clause.get_by_role("alert")
    expect(summary).to_contain_text("Your proposal is not recorded yet")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    form = clause.locator("form.propose-form")
    expect(form.get_by_label("Insert a new clause after this one")).to_be_checked()
    expect(form.get_by_role("textbox", name="Heading of the new clause")).to_have_value(
        "Data escrow"
    )
    expect(form.get_by_label("Rationale (required)")).to_have_value(
        "Continuity if the vendor fails."
    )
    text = form.get_by_role("textbox", name="Text of the new clause")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(text).to_have_accessible_description(re.compile("Write the text of the new clause."))
    page.screenshot(path=str(shots(tmp_path) / "propose-error.png"), full_page=False)
    assert_accessible(page)

    # The summary's link leads to the input; the fix is the only thing left to do.
    summary.get_by_role("link", name="Write the text of the new clause.").click()
    text.fill(ESCROW)
    form.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("status")).to_contain_text("Your proposal is recorded")
    assert ClauseOverride.objects.get(agreement=agreement, kind="insert").new_key == "data-escrow"
