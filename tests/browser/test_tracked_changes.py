"""Issue 17's done-when in real Chromium: a proposal's tracked changes on the agreement page
and in the downloaded .docx before it is accepted, found by accessible names, with axe on
the pages and screenshots (SCREENSHOT_DIR when set)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree
from playwright.sync_api import Locator, Page, expect

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose
from agreements.selectors import with_agreement_detail
from tests.browser.test_workspace_journeys import (  # noqa: F401 - the fixture bypasses CSP for axe
    assert_accessible,
    browser_context_args,
    log_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
RIVERBEND = "Riverbend Unified School District"
NORTHFIELD = "Northfield University Learning Sciences Lab"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def marks(scope: Locator, role: str, title: str) -> Locator:
    """Insertions or deletions (ARIA gives these roles no name) titled with their party; the
    party is also in each mark's text for screen readers ("[inserted by …: 60]")."""
    return scope.get_by_role(role).and_(scope.get_by_title(title, exact=True))


def test_a_pending_proposal_reads_as_tracked_changes_on_the_page_and_in_word(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    agreement = with_agreement_detail(Agreement.objects.all()).get(
        pk=demo["agreements"][NEGOTIATING].pk
    )
    # The district proposes to keep data 60 days instead of 90, the clause's words unchanged.
    override_propose(
        agreement=agreement,
        by=demo["users"]["director"],
        kind="replace",
        clause_key="data-retention",
        body=agreement.template_version.clauses.get(key="data-retention").body,
        rationale="Sixty days is enough for a pilot.",
        terms={"retention_days": "60"},
    )

    log_in(page, live_server, "vendor")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    clause = page.locator("#clause-data-retention")
    proposal = clause.locator(".proposal").filter(has_text="Sixty days is enough")
    expect(proposal).to_contain_text(f"{RIVERBEND} changes the current text")
    # The term's values are the change, each named as the district's, never [[...]].
    deleted = marks(proposal, "deletion", f"Deleted by {RIVERBEND}")
    inserted = marks(proposal, "insertion", f"Inserted by {RIVERBEND}")
    expect(deleted).to_have_count(1)
    expect(inserted).to_have_count(1)
    expect(deleted).to_contain_text("90")
    expect(deleted).to_contain_text(f"deleted by {RIVERBEND}")  # read out, not just coloured
    expect(inserted).to_contain_text("60")
    expect(inserted.get_by_title("Term: Retention period")).to_have_text("60")
    expect(proposal).not_to_contain_text("[[")
    # The other proposals keep their own party's name: Northfield's rewrite of clause 16.
    breach = page.locator("#clause-breach-notification .proposal").filter(has_text=NORTHFIELD)
    expect(marks(breach, "insertion", f"Inserted by {NORTHFIELD}").first).to_be_visible()
    proposal.scroll_into_view_if_needed()
    proposal.screenshot(path=str(shots / "tracked-proposal-current.png"))
    assert_accessible(page)

    # Against the standard: a link, no script needed.
    proposal.get_by_role("link", name="Show against the standard").click()
    expect(page).to_have_url(re.compile(r"against=standard"))
    proposal = page.locator("#clause-data-retention .proposal").filter(
        has_text="Sixty days is enough"
    )
    expect(proposal).to_contain_text(f"{RIVERBEND} changes the standard")
    expect(proposal.get_by_role("link", name="Show against the current text")).to_be_visible()
    page.screenshot(path=str(shots / "tracked-agreement-page.png"), full_page=False)

    # Compare with the standard: pending proposals included by default while negotiating.
    page.get_by_role("link", name="Compare with the standard").click()
    changes = page.get_by_role("navigation", name="Changes shown")
    expect(changes.get_by_role("link", name="Including pending proposals")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("status")).to_contain_text("3 of 37 clauses deviate")
    expect(
        marks(page.locator("#clause-data-retention"), "insertion", f"Inserted by {RIVERBEND}")
    ).to_contain_text("60")
    page.screenshot(path=str(shots / "tracked-compare.png"), full_page=False)
    assert_accessible(page)

    # The Word redline, downloaded through the page, has the pending change as the district's.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Word, with tracked changes (.docx)").click()
    path = download_info.value.path()
    with zipfile.ZipFile(io.BytesIO(Path(path).read_bytes())) as docx:
        body = etree.fromstring(docx.read("word/document.xml"))
    revisions = [r for r in body.iter(f"{W}ins", f"{W}del") if r.get(f"{W}author") == RIVERBEND]
    assert sorted(
        (
            r.tag == f"{W}ins",
            "".join(t.text or "" for t in r.iter(f"{W}t", f"{W}delText")),
        )
        for r in revisions
    ) == [(False, "90"), (True, "60")]
    authors = {r.get(f"{W}author") for r in body.iter(f"{W}ins", f"{W}del")}
    assert NORTHFIELD in authors and len(authors) == 3

    # Accepted only: the choice is a link, and the download follows it.
    changes.get_by_role("link", name="Accepted only").click()
    expect(page.get_by_role("status")).to_contain_text("0 of 37 clauses deviate")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Word, with tracked changes (.docx)").click()
    with zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes())) as docx:
        body = etree.fromstring(docx.read("word/document.xml"))
    assert list(body.iter(f"{W}ins", f"{W}del")) == []
