"""Real Chromium (issue 20, item 5): Riverbend's director opens Student keys from the People
page, sets ``S#######``, is told how many keys already recorded do not match (never which)
and saves anyway; a consent file with a name-shaped key is then refused naming the row only,
and the name appears nowhere on the page."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from consent import services
from partners.models import Organisation
from tests.browser.screens import shoot
from tests.conftest import otp_verify_in_browser
from tests.consent.conftest import activate, make_agreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "collaboratory-demo"
NAME = "Maria.Lopez"


@pytest.fixture
def folder(tmp_path) -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def study(demo):
    """An active Riverbend agreement collecting consent, with two students recorded under
    keys of an older style (RB-######)."""
    from agreements.demo import seed_templates

    demo["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(demo, make_agreement(demo, title="Key format study"))
    director = demo["users"]["director"]
    form = services.consent_form_add(
        agreement=agreement,
        by=director,
        language="en",
        title="Parent permission",
        body="May we include your child?",
        effective_date=dt.date(2026, 8, 1),
    )
    upload = services.consent_import_preview(
        agreement=agreement,
        by=director,
        filename="earlier.csv",
        content=b"student_key,decision,given_by,method,date\n"
        b"RB-100001,granted,parent,paper,2026-09-01\n"
        b"RB-100002,granted,parent,paper,2026-09-01\n",
        default_form=form,
    )
    services.consent_import_confirm(consent_import=upload, by=director)
    demo["agreement"] = agreement
    return demo


def test_director_sets_a_key_format_and_a_name_in_a_file_is_refused_by_row(
    page: Page, live_server, study, folder, tmp_path
):
    director = study["users"]["director"]
    overflowing: list[str] = []
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill("director")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    otp_verify_in_browser(
        page, live_server, director, next_url=reverse("organisation-people", args=["riverbend-usd"])
    )
    page.get_by_role("link", name="Student keys").click()
    expect(page.get_by_role("heading", name="Student keys", exact=True)).to_be_visible()
    expect(page.get_by_text("No format is set. Keys shaped like names are refused")).to_be_visible()
    overflowing += shoot(page, folder, "student-keys-none")

    page.get_by_label("Format of your student keys").fill("S@@@##")
    page.get_by_role("button", name="Save the format").click()
    expect(page.get_by_role("alert")).to_contain_text("which can spell a name")
    overflowing += shoot(page, folder, "student-keys-invalid")

    page.get_by_label("Format of your student keys").fill("S#######")
    page.get_by_role("button", name="Save the format").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "2 student key(s) already recorded in Riverbend Unified School District's agreements "
        "do not match this format."
    )
    body = page.content()
    assert "RB-100001" not in body and "RB-100002" not in body
    overflowing += shoot(page, folder, "student-keys-confirm")
    page.get_by_label("Save anyway").check()
    page.get_by_role("button", name="Save the format").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Student keys must now be “S” followed by 7 digits. 2 key(s) recorded before keep"
    )
    expect(page.get_by_text("S7162958")).to_be_visible()
    overflowing += shoot(page, folder, "student-keys-set")
    assert Organisation.objects.get(slug="riverbend-usd").student_key_format == "S#######"

    agreement = study["agreement"]
    page.goto(f"{live_server.url}{reverse('consent-import', args=[agreement.pk])}")
    expect(page.get_by_text("student key: “S” followed by 7 digits")).to_be_visible()
    upload = tmp_path / "fall.csv"
    upload.write_text(
        "student_key,decision,given_by,method,date\n"
        "S1234567,granted,parent,paper,2026-09-02\n"
        f"{NAME},granted,parent,paper,2026-09-02\n"
        "RB-100001,refused,student,paper,2026-09-03\n"
    )
    page.get_by_label("CSV file (UTF-8)").set_input_files(str(upload))
    page.get_by_label("Form version, unless the file says otherwise").select_option(
        label="Parent permission — en, version 1"
    )
    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("region", name="1 problem: nothing was imported")
    expect(problems).to_be_visible()
    cells = problems.get_by_role("row").nth(1).get_by_role("cell")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("student_key")
    expect(cells.nth(2)).to_contain_text("Not in the district's student key format")
    assert NAME not in page.content() and "Maria" not in page.content()
    overflowing += shoot(page, folder, "student-keys-import-refused")
    assert not overflowing, f"scrolls sideways: {overflowing}"
