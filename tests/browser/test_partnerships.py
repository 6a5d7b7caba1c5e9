"""Real Chromium through the Partnerships pages (issue 19 item 5): the facilitator adds an
organisation (a duplicate name is explained first), creates a trio with it, edits the
organisation, and the new trio is on the dashboard, where its page opens.

Screenshots of each page go to SCREENSHOT_DIR when set (pp-*.png), otherwise to the test's
temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from partners.models import Trio
from tests.browser.test_template_workspace import _sign_in
from tests.browser.test_workspace_journeys import DESKTOP, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected; the pages' CSP would refuse it (see test_workspace_journeys).
    return {**browser_context_args, "bypass_csp": True, "viewport": DESKTOP}


def test_a_facilitator_adds_an_organisation_and_a_trio(page: Page, live_server, demo, tmp_path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_server, "facilitator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Partnerships").click()
    expect(page.get_by_role("heading", name="Partnerships", exact=True)).to_be_visible()
    trios = page.get_by_role("table", name="Trios of your collaboratories")
    organisations = page.get_by_role("table", name="Partner organisations")
    expect(trios.get_by_role("row", name="Adaptive Practice in Algebra I")).to_contain_text(
        "Brightpath Learning, Inc."
    )
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "pp-list.png"), full_page=True)

    # A new organisation; its name is taken first, and the page says so.
    page.get_by_role("link", name="New organisation").click()
    page.locator("#id_name").fill("Lakeshore County Public Schools")
    page.get_by_label("Kind").select_option(label="School district")
    page.get_by_role("button", name="Add the organisation").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "An organisation called “Lakeshore County Public Schools” already exists"
    )
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "pp-organisation-error.png"), full_page=True)
    page.locator("#id_name").fill("Westbrook Unified School District")
    page.get_by_role("button", name="Add the organisation").click()
    expect(page.get_by_text("Westbrook Unified School District added.")).to_be_visible()
    expect(
        organisations.get_by_role("row", name="Westbrook Unified School District")
    ).to_contain_text("none yet")

    # A trio with it: each list offers only organisations of its kind.
    page.get_by_role("link", name="New trio").first.click()
    page.locator("#id_name").fill("Westbrook Algebra Readiness")
    page.get_by_label("Research partner").select_option(
        label="Northfield University Learning Sciences Lab"
    )
    district = page.get_by_label("School district")
    assert "Northfield University Learning Sciences Lab" not in district.inner_text()
    district.select_option(label="Westbrook Unified School District")
    page.get_by_label("Curriculum developer").select_option(label="OpenAlgebra Foundation")
    page.get_by_label("Description").fill("Readiness for Algebra I in Westbrook.")
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "pp-trio-new.png"), full_page=True)
    page.get_by_role("button", name="Create the trio").click()
    expect(page.get_by_text("Trio “Westbrook Algebra Readiness” created.")).to_be_visible()
    row = trios.get_by_role("row", name="Westbrook Algebra Readiness")
    expect(row).to_contain_text("Westbrook Unified School District")
    expect(row).to_contain_text("OpenAlgebra Foundation")
    page.screenshot(path=str(folder / "pp-list-after.png"), full_page=True)

    # Editing the organisation: a kind that would break the trio is refused.
    page.get_by_role("link", name="Edit Westbrook Unified School District").click()
    page.get_by_label("Kind").select_option(label="Research partner")
    page.get_by_role("button", name="Save the organisation").click()
    expect(page.get_by_role("alert")).to_contain_text("its kind cannot change while it does")
    page.screenshot(path=str(folder / "pp-organisation-edit.png"), full_page=True)

    # The trio is on the dashboard, and its page opens.
    page.goto(live_server.url + reverse("dashboard"))
    page.get_by_role("link", name="Westbrook Algebra Readiness").click()
    expect(page.get_by_role("heading", name="Westbrook Algebra Readiness")).to_be_visible()
    page.screenshot(path=str(folder / "pp-trio-page.png"), full_page=True)
    trio = Trio.objects.get(name="Westbrook Algebra Readiness")
    assert trio.member("district").name == "Westbrook Unified School District"


def test_a_trio_with_signed_agreements_keeps_its_members(page: Page, live_server, demo, tmp_path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_server, "facilitator")
    page.goto(live_server.url + reverse("partnership-list"))
    page.get_by_role("link", name="Edit Adaptive Practice in Algebra I").click()
    expect(page.get_by_label("Curriculum developer")).to_have_value(
        str(demo["orgs"]["brightpath-learning"].pk)
    )
    page.get_by_label("Curriculum developer").select_option(label="OpenAlgebra Foundation")
    page.get_by_role("button", name="Save the trio").click()
    expect(page.get_by_role("alert")).to_contain_text("members cannot change: agreement")
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "pp-trio-edit-refused.png"), full_page=True)
    trio = Trio.objects.get(slug="adaptive-practice")
    assert trio.member("developer") == demo["orgs"]["brightpath-learning"]
