"""Real Chromium through the "new agreement" wizard (issue 16 item 4): the summary step shows
the Purpose clause exactly as it will bind and the project summary apart, marked not part of
the agreement; a data element the sharing mode does not admit is flagged and holds the draft
back; the agreement page shows the project summary as non-binding.

Screenshots of the summary, the flagged summary and the agreement page's project summary go
to SCREENSHOT_DIR when set (wiz-*.png), otherwise to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_journeys import DESKTOP, log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PURPOSE = "Learn whether weekly adaptive practice helps Algebra I students grow."
GOALS = "Help teachers decide how much practice to assign."
SUCCESS = "A 0.1 SD difference in unit assessment scores."
BENEFITS = "Brightpath learns which practice patterns help."


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected; the pages' CSP would refuse it (see test_workspace_journeys).
    return {**browser_context_args, "bypass_csp": True, "viewport": DESKTOP}


def _continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue ›").click()


def _set_identifiability(page: Page, level: str) -> None:
    page.locator("#id_elements-0-identifiability").select_option(level)


def test_the_summary_shows_the_binding_words_and_the_notes_apart(
    page: Page, live_server, demo, tmp_path
):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "director")
    page.goto(
        live_server.url + reverse("agreement-wizard", args=["aims", "adaptive-practice", "need"])
    )

    # 1. The need: the purpose statement binds; goals and success are marked as notes.
    expect(page.get_by_role("group", name=re.compile("Project summary"))).to_contain_text(
        "not part of the agreement"
    )
    page.get_by_label("Title").fill("Practice and growth 2027")
    page.get_by_label(re.compile("The purpose: what will")).fill(PURPOSE)
    page.get_by_role("group", name="Research questions this agreement serves").get_by_role(
        "checkbox"
    ).first.check()
    page.get_by_label(re.compile("hope to achieve")).fill(GOALS)
    page.get_by_label("How will you know it worked?").fill(SUCCESS)
    page.screenshot(path=str(folder / "wiz-need.png"), full_page=True)
    _continue(page)

    # 2. The data supply: the level starts at the least identifying.
    expect(page.get_by_role("heading", name="The data supply")).to_be_visible()
    expect(page.locator("#id_elements-0-identifiability")).to_have_value("aggregate")
    page.locator("#id_elements-0-name").fill("Unit assessment scores")
    page.locator("#id_elements-0-source").select_option(label="Riverbend Unified School District")
    page.locator("#id_elements-0-recipient").select_option(
        label="Northfield University Learning Sciences Lab"
    )
    _set_identifiability(page, "deidentified")
    page.locator("fieldset.wz-element").first.get_by_role("checkbox").first.check()
    _continue(page)

    # 3. The value: analysis fits de-identified data; the gains are a note.
    expect(page.get_by_role("radio", name=re.compile("Analysis"))).to_be_checked()
    page.get_by_label(re.compile("What does each partner gain")).fill(BENEFITS)
    _continue(page)

    # 4. The match: defaults, plus the values a person writes.
    page.get_by_label("Governing law (state)").fill("Columbia")
    _continue(page)
    # 5. Consent.
    expect(page.get_by_role("heading", name="Consent", exact=True)).to_be_visible()
    page.get_by_role("radio", name="Parental consent", exact=True).check()
    _continue(page)

    expect(page.get_by_role("heading", name="Summary", exact=True)).to_be_visible()
    binding = page.locator("#binding")
    expect(binding).to_contain_text(f"The purpose of this Agreement (the “Purpose”) is: {PURPOSE}")
    expect(binding).to_contain_text("Purpose and Legal Basis")
    expect(binding).not_to_contain_text(BENEFITS)
    expect(binding).not_to_contain_text(SUCCESS)
    project = page.get_by_role("region", name=re.compile("Project summary"))
    expect(project).to_contain_text("not part of the agreement")
    expect(project).to_contain_text(BENEFITS)
    expect(project).to_contain_text(SUCCESS)
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "wiz-summary.png"), full_page=True)

    # A pseudonymous element under analysis: flagged, and the draft waits.
    page.get_by_role("navigation", name="Steps").get_by_role("link", name=re.compile("2")).click()
    _set_identifiability(page, "pseudonymous")
    _continue(page)
    expect(page.get_by_role("heading", name="The value")).to_be_visible()
    flag = "“Unit assessment scores” is pseudonymous, but this agreement shares only aggregate"
    expect(page.locator("#mismatches")).to_contain_text(flag)
    page.screenshot(path=str(folder / "wiz-value-mismatch.png"), full_page=True)
    page.get_by_role("navigation", name="Steps").get_by_role(
        "link", name=re.compile("Summary")
    ).click()
    expect(page.locator("#mismatches")).to_contain_text(flag)
    expect(page.get_by_role("button", name="Create the draft agreement")).to_be_disabled()
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "wiz-summary-mismatch.png"), full_page=True)

    # Resolved in the data supply; then the draft is created.
    page.get_by_role("link", name="2. The data supply").click()
    _set_identifiability(page, "deidentified")
    page.get_by_role("button", name="Save and go to the summary").click()
    expect(page.locator("#mismatches")).to_have_count(0)
    page.get_by_role("button", name="Create the draft agreement").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Practice and growth 2027")
    expect(page.locator(".agreement-head .lead")).to_have_text(PURPOSE)
    summary = page.get_by_role("region", name=re.compile("Project summary"))
    expect(summary).to_contain_text("not part of the agreement")
    expect(summary).to_contain_text(BENEFITS)
    expect(page.locator("#clause-purpose")).not_to_contain_text(BENEFITS)
    expect(page.locator("#clause-purpose")).to_contain_text(PURPOSE)
    summary.scroll_into_view_if_needed()
    summary.screenshot(path=str(folder / "wiz-agreement-project-summary.png"))
    page.screenshot(path=str(folder / "wiz-agreement.png"), full_page=True)
