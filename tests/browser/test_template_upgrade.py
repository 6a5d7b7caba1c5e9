"""Issue 19 item 1's template upgrade in real Chromium: the facilitator moves an agreement in
negotiation to the newer template version from the preview page, after a confirmation that
lists what will become proposals; a party's counsel reads a proposal as tracked changes and
accepts it. Screenshots go to SCREENSHOT_DIR when set."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import Agreement, ClauseOverride, OverrideKind, TemplateVersion
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import agreement_create, agreement_open_negotiation
from agreements.negotiation.upgrade import version_changes
from agreements.selectors import with_agreement_detail
from tests.browser.test_workspace_journeys import (  # noqa: F401 - the fixture bypasses CSP for axe
    assert_accessible,
    browser_context_args,
    log_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_facilitator_moves_an_agreement_and_counsel_accepts_a_proposal(
    page: Page, live_server, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    v1 = TemplateVersion.objects.get(template__slug="standard-dsa", number=1)
    v2 = TemplateVersion.objects.get(template__slug="standard-dsa", number=2)
    director = demo["users"]["director"]
    agreement = agreement_create(
        trio=demo["trios"]["adaptive-practice"],
        template_version=v1,
        by=director,
        title="Fraction Fluency Study",
        purpose="Learn whether adaptive practice helps grade 8 algebra.",
        sharing_mode="analysis",
        start_date=dt.date(2027, 1, 1),
        term_months=24,
        breach_notice_hours=72,
        retention_days=365,
    )
    agreement_open_negotiation(agreement=agreement, by=director)
    changes, _ = version_changes(
        list(v1.clauses.order_by("order")), list(v2.clauses.order_by("order"))
    )
    replaced = [c for c in changes if c.kind == OverrideKind.REPLACE and c.body_changed]
    changed, theirs = replaced[0], replaced[1]
    hub = demo["orgs"]["aims-hub"].name
    # Riverbend already changed another clause version 2 changes: it becomes a conflict.
    own = override_propose(
        agreement=with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk),
        by=director,
        kind="replace",
        clause_key=theirs.clause_key,
        body="Riverbend's own wording of this clause.",
        rationale="Ours.",
    )
    for username in ("counsel", "vendor"):
        override_respond(override=own, by=demo["users"][username], decision="accept")

    # The facilitator previews version 2 and moves the agreement to it.
    log_in(page, live_server, "facilitator")
    page.goto(f"{live_server.url}{reverse('agreement-compare-upgrade', args=[agreement.pk])}")
    move = page.get_by_role("link", name="Move this agreement to version 2")
    expect(move).to_be_visible()
    page.screenshot(path=str(shots / "upgrade-1-preview.png"), full_page=True)
    move.click()

    expect(
        page.get_by_role("heading", name="Move Fraction Fluency Study to version 2?")
    ).to_be_visible()
    listing = page.get_by_role("region", name=f"What will become proposals ({len(changes)})")
    expect(listing.get_by_role("listitem")).to_have_count(len(changes))
    expect(listing).to_contain_text(
        re.compile(rf"Changes the text of “\d+\. {re.escape(changed.old_heading)}”")
    )
    expect(listing).to_contain_text(
        "Riverbend Unified School District already changed this clause (accepted)"
    )
    page.screenshot(path=str(shots / "upgrade-2-confirm.png"), full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Move this agreement to version 2").click()

    expect(page.get_by_role("status").filter(has_text="is moving to")).to_contain_text(
        f"{len(changes)} proposals are waiting"
    )
    page.screenshot(path=str(shots / "upgrade-3-moved.png"), full_page=True)
    assert ClauseOverride.objects.filter(
        agreement=agreement, organisation__slug="aims-hub"
    ).count() == len(changes)

    # The preview no longer offers a second move, and says why; nor a move of a signed one.
    page.goto(f"{live_server.url}{reverse('agreement-compare-upgrade', args=[agreement.pk])}")
    expect(page.get_by_role("link", name="Move this agreement to version 2")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="already moved to")).to_be_visible()
    active = demo["agreements"]["Productive Struggle Classroom Study"]
    page.goto(f"{live_server.url}{reverse('agreement-compare-upgrade', args=[active.pk])}")
    expect(page.get_by_role("status").filter(has_text="This agreement is active")).to_be_visible()
    expect(page.get_by_role("link", name="Move this agreement to version 2")).to_have_count(0)
    page.screenshot(path=str(shots / "upgrade-3b-active-refused.png"))

    # Northfield's counsel reads the facilitator's proposal as tracked changes and accepts it.
    page.context.clear_cookies()
    log_in(page, live_server, "counsel")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    clause = page.locator(f"#clause-{changed.clause_key}")
    proposal = clause.locator(".proposal").filter(has_text=hub)
    expect(proposal).to_contain_text(f"{hub} changes the current text")
    inserted = proposal.get_by_role("insertion").and_(
        proposal.get_by_title(f"Inserted by {hub}", exact=True)
    )
    expect(inserted.first).to_be_visible()
    clause.scroll_into_view_if_needed()
    clause.screenshot(path=str(shots / "upgrade-4-tracked.png"))
    assert_accessible(page)

    clause.get_by_role("button", name="Accept").click()
    clause = page.locator(f"#clause-{changed.clause_key}")
    expect(clause).to_contain_text("accepted it on")
    expect(clause.get_by_role("button", name="Accept")).to_have_count(0)
    clause.scroll_into_view_if_needed()
    clause.screenshot(path=str(shots / "upgrade-5-accepted.png"))
    proposal_row = ClauseOverride.objects.get(
        agreement=agreement, clause_key=changed.clause_key, kind=OverrideKind.REPLACE
    )
    assert proposal_row.responses.get().organisation.slug == "northfield-university"
