"""Real Chromium through the template workspace (issue 19 item 1): the facilitator imports a
.docx as a draft version (the report's finding shown), edits a clause, compares the draft with
the last published version, publishes it through the confirmation that lists the changes, and
the agreement wizard then offers it; a template marked "test" is not offered.

Screenshots of each page go to SCREENSHOT_DIR when set (tw-*.png), otherwise to the test's
temporary folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import DSATemplate
from tests.agreements.test_template_docx_unsupported import document_with
from tests.browser.test_workspace_journeys import DESKTOP, log_in, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected; the pages' CSP would refuse it (see test_workspace_journeys).
    return {**browser_context_args, "bypass_csp": True, "viewport": DESKTOP}


def _sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _continue(page: Page) -> None:
    page.get_by_role("button", name="Save and continue ›").click()


def _wizard_offers(page: Page, live_server) -> list[str]:
    """Walk the wizard to its match step as Riverbend's director; the versions it offers."""
    log_in(page, live_server, "director")
    page.goto(
        live_server.url + reverse("agreement-wizard", args=["aims", "adaptive-practice", "need"])
    )
    page.get_by_label("Title").fill("Template workspace check")
    page.get_by_label(re.compile("The purpose: what will")).fill("Check what is offered.")
    page.get_by_role("group", name="Research questions this agreement serves").get_by_role(
        "checkbox"
    ).first.check()
    page.get_by_label(re.compile("hope to achieve")).fill("Know what is offered.")
    page.get_by_label("How will you know it worked?").fill("The list is right.")
    _continue(page)
    page.locator("#id_elements-0-name").fill("Unit assessment scores")
    page.locator("#id_elements-0-source").select_option(label="Riverbend Unified School District")
    page.locator("#id_elements-0-recipient").select_option(
        label="Northfield University Learning Sciences Lab"
    )
    page.locator("#id_elements-0-identifiability").select_option("deidentified")
    page.locator("fieldset.wz-element").first.get_by_role("checkbox").first.check()
    _continue(page)
    page.get_by_label(re.compile("What does each partner gain")).fill("A checked list.")
    _continue(page)
    select = page.get_by_label("Standard agreement (template version)")
    expect(select).to_be_visible()
    return [o.strip() for o in select.locator("option").all_inner_texts()]


def test_import_edit_compare_publish_and_the_wizard_offers_it(
    page: Page, live_server, demo, tmp_path, browser
):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    template = DSATemplate.objects.get(slug="standard-dsa")
    _sign_in(page, live_server, "facilitator")

    # The templates page, from the navigation.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
    section = page.locator(f"#template-{template.pk}")
    expect(section).to_contain_text("Version 2")
    expect(section).to_contain_text("Offered in the wizard")
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "tw-list.png"), full_page=True)

    # Import a .docx with an image: a draft version, the finding shown.
    section.get_by_role("link", name="Import a file…").click()
    docx_path = tmp_path / "pilot-terms.docx"
    docx_path.write_bytes(document_with("<w:r><w:drawing/></w:r>"))
    page.get_by_label("Template file (.md or .docx)").set_input_files(str(docx_path))
    page.screenshot(path=str(folder / "tw-import.png"), full_page=True)
    page.get_by_role("button", name="Import as a new draft").click()
    expect(page.get_by_role("heading", name=re.compile("version 3"))).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("Import report"))).to_contain_text(
        "an image is not imported"
    )
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "tw-imported.png"), full_page=True)

    # Edit its clause: a heading is required; the saved text shows on the version page.
    page.get_by_role("link", name=re.compile("^Edit")).first.click()
    page.get_by_label("Heading").fill("")
    page.get_by_role("button", name="Save the clause").click()
    expect(page.get_by_role("alert").first).to_contain_text("Give the clause a heading")
    page.get_by_label("Heading").fill("Term of the pilot")
    page.locator("#id_body").fill("The pilot runs for one school year.\n\nIt ends on **30 June**.")
    page.screenshot(path=str(folder / "tw-clause-edit.png"), full_page=True)
    page.get_by_role("button", name="Save the clause").click()
    expect(page.locator(".template-clauses")).to_contain_text("Term of the pilot")
    expect(page.locator(".template-clauses strong")).to_have_text("30 June")
    page.screenshot(path=str(folder / "tw-draft.png"), full_page=True)

    # Compare with the last published version (the redline).
    page.get_by_role("link", name=re.compile("Compare with version 2")).click()
    expect(page.get_by_role("heading", name="What changed in the standard")).to_be_visible()
    page.screenshot(path=str(folder / "tw-compare.png"), full_page=True)
    page.go_back()

    # Publish through the confirmation, which lists the changes by title.
    page.get_by_role("link", name="Publish…").click()
    confirm = page.get_by_role("region", name=re.compile("Changes against version 2"))
    # The import kept only "term" (also a key of version 2): changed, and the rest removed.
    expect(confirm.locator(".changes-changed")).to_contain_text("→ 1. Term of the pilot")
    expect(confirm.locator(".changes-removed")).to_contain_text("Data Security")
    assert serious_violations(page) == []
    page.screenshot(path=str(folder / "tw-publish.png"), full_page=True)
    page.get_by_role("button", name="Publish version 3").click()
    expect(page.get_by_text("Version 3 is published.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    page.screenshot(path=str(folder / "tw-published.png"), full_page=True)

    # The wizard offers version 3 (in a fresh session as a party).
    party = browser.new_context(bypass_csp=True, viewport=DESKTOP)
    wizard = party.new_page()
    offered = _wizard_offers(wizard, live_server)
    assert f"{template.name}, version 3" in offered
    wizard.screenshot(path=str(folder / "tw-wizard.png"), full_page=True)

    # Marked a test: the wizard offers none of its versions.
    page.goto(live_server.url + reverse("template-list"))
    section = page.locator(f"#template-{template.pk}")
    section.get_by_label("Offered in the agreement wizard?").select_option("test")
    section.get_by_role("button", name="Save", exact=True).click()
    expect(section).to_contain_text("Test: not offered")
    page.screenshot(path=str(folder / "tw-test.png"), full_page=True)
    party.close()
    party = browser.new_context(bypass_csp=True, viewport=DESKTOP)
    offered = _wizard_offers(party.new_page(), live_server)
    assert not any(template.name in option for option in offered)
    party.close()
