"""Issue 16's journey in real Chromium: counsel negotiates 72 -> 48 hours and 90 -> 60 days,
the parties accept, approve and sign, and the sealed PDF (body and cover), the Terms panel,
the partner API's /terms and detail, and the iCalendar feed all state the same terms.

Proposing and answering go through the pages as people use them; approving and signing go
through the services (their pages have journeys of their own); the sealed PDF comes from the
real Celery worker.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import icalendar
import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from agreements.models import Agreement, Document, DocumentKind, RenderJob, RenderStatus, Status
from agreements.review.services import (
    agreement_approve,
    agreement_reopen,
    agreement_submit_for_review,
)
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from agreements.terms_check import term_problems
from partners.api_auth import api_token_issue
from tests.agreements.pdf_support import pdf_text, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def log_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


def accept_both(page: Page, live_server, agreement: Agreement, username: str) -> None:
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    for key in ("breach-notification", "data-retention"):
        proposal = page.locator(f"#clause-{key} .proposal--proposed")
        expect(proposal).to_contain_text("Changes the term")
        proposal.get_by_role("button", name="Accept").click()
        expect(page.get_by_role("status")).to_contain_text("You accepted the proposal")


def test_negotiated_terms_are_signed_and_published_alike(
    page: Page, live_server, celery_worker, demo, settings, tmp_path
):
    settings.RENDER_ON_ACTIVATION = True
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    users = demo["users"]
    agreement = fresh(demo["agreements"][IN_REVIEW])
    agreement_reopen(agreement=agreement, by=users["director"], reason="Shorter terms.")
    url = f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}"

    # Counsel types 48 over the parameter, as in Word; the page offers the term change.
    log_in(page, live_server, "counsel")
    page.goto(url)
    clause = page.locator("#clause-breach-notification")
    clause.get_by_text("Propose a change to this clause").click()
    text = clause.get_by_role("textbox", name="New text of this clause")
    text.fill(text.input_value().replace("[[breach_notice_hours]]", "48"))
    clause.get_by_label("Rationale (required)").fill("Identifiable data: notice sooner.")
    clause.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("heading", name="Change the term instead?")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("You wrote “48”")
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "terms-offer.png"), full_page=True)
    page.get_by_role("button", name="Propose breach notice window: 48 hours").click()
    expect(page.get_by_role("status")).to_contain_text("Your proposal is recorded")

    # Retention through the clause's own term input.
    clause = page.locator("#clause-data-retention")
    clause.get_by_text("Propose a change to this clause").click()
    clause.locator(".clause-terms").screenshot(path=str(shots / "terms-inputs.png"))
    clause.get_by_label("Retention period (days)").fill("60")
    clause.get_by_label("Rationale (required)").fill("The study ends with the school year.")
    clause.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("status")).to_contain_text("Your proposal is recorded")
    proposal = page.locator("#clause-data-retention .proposal--proposed")
    # The proposal reads as tracked changes: the term's old value struck, the new one inserted.
    expect(proposal).to_contain_text("days after the end of the Term")
    expect(proposal.get_by_role("insertion").get_by_title("Term: Retention period")).to_have_text(
        "60"
    )
    expect(proposal.get_by_role("deletion").get_by_title("Term: Retention period")).to_have_text(
        "90"
    )
    expect(proposal).to_contain_text("90 days → 60 days")
    proposal.screenshot(path=str(shots / "terms-proposal.png"))

    accept_both(page, live_server, agreement, "vendor")
    accept_both(page, live_server, agreement, "director")

    agreement = fresh(agreement)
    assert (agreement.breach_notice_hours, agreement.retention_days) == (48, 60)
    agreement_submit_for_review(agreement=agreement, by=users["director"])
    text_hash = consolidated_text(fresh(agreement)).sha256
    for username in ("counsel", "director", "vendor"):
        agreement_approve(agreement=fresh(agreement), by=users[username], text_hash=text_hash)
    for username in ("researcher", "director", "vendor"):
        user = users[username]
        agreement_sign(
            agreement=fresh(agreement),
            by=user,
            typed_name=user.get_full_name(),
            intent_confirmed=True,
            text_hash=text_hash,
        )
    agreement = fresh(agreement)
    assert agreement.status == Status.ACTIVE
    assert term_problems(agreement) == []
    deadline = min(
        agreement.expires_on + dt.timedelta(days=60),
        agreement.destruction_date or dt.date.max,
    )
    day = f"{deadline.day} {deadline:%B %Y}"

    # The Terms panel.
    log_in(page, live_server, "director")
    page.goto(url)
    panel = page.locator("dl.terms")
    expect(panel.locator('[data-term="breach_notice_hours"]')).to_contain_text("within 48 hours")
    expect(panel.locator('[data-term="retention_days"]')).to_contain_text("60 days")
    expect(panel.locator('[data-term="destruction_deadline"]')).to_contain_text(day)
    page.screenshot(path=str(shots / "terms-panel.png"), full_page=False)

    # The sealed PDF: the body and the cover.
    job = wait_for(
        lambda: RenderJob.objects.filter(
            agreement=agreement, kind=DocumentKind.EXECUTED, status=RenderStatus.DONE
        ).first(),
        timeout=180,
        what="the executed PDF",
    )
    document = Document.objects.get(agreement=agreement, text_hash=job.text_hash)
    assert document.sealed
    data = default_storage.open(document.file.name).read()
    (shots / "executed.pdf").write_bytes(data)
    content = pdf_text(data)
    assert "in no event later than 48 hours after discovery" in content
    assert "within 60 days after the end of the Term" in content
    cover = content.lower()  # the cover's labels are set in capitals
    assert "breach notice within 48 hours of discovering a security incident" in cover
    assert "retention 60 days after the end of the term" in cover
    assert f"destroy data by {day.lower()}" in cover
    assert "72 hours" not in content and "90 days after the end" not in content

    # The partner API: /terms (ODRL) and the detail.
    _row, bearer = api_token_issue(organisation=demo["orgs"]["riverbend-usd"], name="terms")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {bearer}")
    policy = api.get(f"/api/v1/agreements/{agreement.pk}/terms").json()
    durations = {
        c["rightOperand"]["@value"]
        for duty in policy["obligation"]
        if duty["action"] == "inform"
        for c in duty["constraint"]
        if c["leftOperand"] == "elapsedTime"
    }
    assert durations == {"PT48H"}
    deletions = {
        c["rightOperand"]["@value"][:10]
        for duty in policy["obligation"]
        if duty["action"] == "delete"
        for c in duty["constraint"]
    }
    assert deletions == {deadline.isoformat()}
    detail = api.get(f"/api/v1/agreements/{agreement.pk}/").json()
    assert detail["terms"]["breach_notice_hours"] == 48
    assert detail["terms"]["retention_days"] == 60
    assert detail["destruction_deadline"] == deadline.isoformat()
    assert detail["terms"]["destruction_deadline"] == deadline.isoformat()

    # The iCalendar feed, as a calendar program reads it.
    director = Client()
    director.force_login(users["director"])
    director.post(reverse("calendar-feed-create"))
    feed_url = director.get(reverse("calendar-settings")).context["feed_url"]
    token = feed_url.split("/calendar/")[1].removesuffix(".ics")
    feed = Client().get(reverse("calendar-feed", args=[token]))
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    destruction = [e for uid, e in events.items() if uid.startswith(f"{agreement.pk}-destruction")]
    assert [e.decoded("DTSTART") for e in destruction] == [deadline]
