"""Real Chromium: the District's director terminates the active agreement for convenience.

The terminate page shows each ground of the Termination clause with the last day in force
and the destruction deadline it would set, before anything is confirmed; after notice the
agreement page, the list and the dashboard say when it ends and why. Screenshots go to
``SCREENSHOT_DIR`` when set (term-form.png, term-agreement.png,
term-dashboard.png, term-list.png).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import formats, timezone
from playwright.sync_api import Page, expect

from agreements.models import Agreement, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = "Productive Struggle Classroom Study"


def _day(value: dt.date) -> str:
    return formats.date_format(value, "j F Y")


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


def test_the_director_gives_notice_for_convenience(page: Page, live_server, demo, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    agreement = Agreement.objects.get(title=ACTIVE)
    today = timezone.localdate()
    ends = today + dt.timedelta(days=agreement.termination_notice_days)
    deadline = min(
        ends + dt.timedelta(days=agreement.retention_days),
        agreement.destruction_date or dt.date.max,
    )

    _log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    page.get_by_role("link", name="Terminate…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Terminate")
    convenience = page.get_by_role("radio", name="For convenience")
    expect(page.locator("label[for=ground-convenience]")).to_have_text(
        f"For convenience — ends 60 days after notice, on {_day(ends)}"
    )
    expect(page.locator("#ground-convenience-dates")).to_contain_text(_day(deadline))
    # The District's director may also end it at once (clause (b)).
    expect(page.get_by_role("radio", name="With immediate effect")).to_be_enabled()
    convenience.check()
    page.get_by_label("Reason (the other parties see it)").fill(
        "The district ends the study with the school year."
    )
    page.screenshot(path=str(shots / "term-form.png"), full_page=True)
    page.get_by_role("button", name="Give notice of termination").click()

    message = page.get_by_role("status")
    expect(message).to_contain_text("Notice of termination is given")
    expect(message).to_contain_text(f"stays in force until {_day(ends)}")
    expect(message).to_contain_text(f"destroy the shared data by {_day(deadline)}")
    status = (
        f"Ends on {_day(ends)} (terminated for convenience by Riverbend Unified School "
        f"District on {_day(today)})"
    )
    expect(page.locator(".agreement-head")).to_contain_text(status)
    expect(page.locator("#ending")).to_contain_text(_day(deadline))
    expect(page.get_by_text("Withdraw the notice…")).to_be_visible()
    page.screenshot(path=str(shots / "term-agreement.png"), full_page=False)
    assert Agreement.objects.get(pk=agreement.pk).status == Status.ACTIVE

    page.goto(f"{live_server.url}{reverse('dashboard')}")
    coming = page.get_by_role("list", name="Expiry and destruction dates")
    expect(coming).to_contain_text(f"Ends {formats.date_format(ends, 'j M Y')}")
    expect(coming).to_contain_text("terminated for convenience")
    page.screenshot(path=str(shots / "term-dashboard.png"), full_page=False)

    page.goto(f"{live_server.url}{reverse('agreement-list')}")
    row = page.get_by_role("row").filter(has_text=agreement.reference)
    expect(row).to_contain_text(f"Ends on {_day(ends)} (terminated for convenience on")
    page.screenshot(path=str(shots / "term-list.png"), full_page=False)
