"""Real Chromium: a legal user steps through the changes of a comparison with the keyboard
(static/js/redline-nav.js), and collapsed unchanged clauses open when needed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.review.services import agreement_reopen
from agreements.selectors import with_agreement_detail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _with_two_changes(demo) -> Agreement:
    agreement = fresh(demo["agreements"][IN_REVIEW])
    users = demo["users"]
    agreement_reopen(agreement=agreement, by=users["director"], reason="Two changes.")
    for key, body in (
        ("purpose", "The Parties share data only for the research questions in Schedule B."),
        ("term", "This Agreement ends on [[expires_on]]."),
    ):
        override = override_propose(
            agreement=fresh(agreement),
            by=users["counsel"],
            kind="replace",
            clause_key=key,
            body=body,
            rationale="Clearer.",
        )
        override_respond(override=override, by=users["vendor"], decision="accept")
        override_respond(override=override, by=users["director"], decision="accept")
    return agreement


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_j_and_k_step_from_change_to_change(page: Page, live_server, demo):
    agreement = _with_two_changes(demo)
    _log_in(page, live_server, "counsel")
    page.goto(f"{live_server.url}/agreements/{agreement.pk}/compare/")
    status = page.locator("[data-redline-status]")

    page.keyboard.press("j")
    expect(page.locator("#chg-purpose-1")).to_be_focused()
    expect(status).to_have_text(re.compile(r"^Change 1 of \d+$"))
    expect(page).to_have_url(re.compile(r"#chg-purpose-1$"))
    page.keyboard.press("n")
    second = page.locator(".is-current-change")
    expect(second).to_have_count(1)
    expect(status).to_have_text(re.compile(r"^Change 2 of \d+$"))
    page.keyboard.press("k")
    expect(page.locator("#chg-purpose-1")).to_be_focused()

    # The toolbar's button steps on from the current change too.
    page.locator('[data-redline-nav="next"]').click()
    expect(status).to_have_text(re.compile(r"^Change 2 of \d+$"))
    expect(page.locator('[data-redline-nav="prev"]')).to_be_visible()


def test_side_by_side_visits_each_change_once(page: Page, live_server, demo):
    agreement = _with_two_changes(demo)
    _log_in(page, live_server, "counsel")
    page.goto(f"{live_server.url}/agreements/{agreement.pk}/compare/?view=side")
    total = page.evaluate(
        "new Set([...document.querySelectorAll('[id^=\"chg-\"]')]"
        ".map(e => e.id.replace(/-(old|new)$/, ''))).size"
    )

    for _ in range(total):
        page.keyboard.press("j")

    expect(page.locator("[data-redline-status]")).to_have_text(f"Change {total} of {total}")
    page.keyboard.press("j")  # past the last change it stays there
    expect(page.locator("[data-redline-status]")).to_have_text(f"Change {total} of {total}")


def test_stepping_into_a_collapsed_clause_opens_it(page: Page, live_server, demo):
    agreement = fresh(demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"])
    _log_in(page, live_server, "vendor")
    page.goto(f"{live_server.url}/agreements/{agreement.pk}/compare/conflicts/breach-notification/")
    redline = page.locator("details.conflict-column__redline").first
    expect(redline).not_to_have_attribute("open", "")

    page.keyboard.press("j")

    expect(redline).to_have_attribute("open", "")
    expect(page.locator("#chg-p1-1")).to_be_focused()
