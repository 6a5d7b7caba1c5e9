"""Real Chromium: signing and approving as issue 17 item 6 asks.

The District's director opens "Review and sign", passes the authenticator check, and reads
on the signing page the key terms, the clauses that differ from the standard and the whole
text (a scrollable region) before the statement of intent; types a title, which the
statement takes up, and signs. The agreement page names the title, and the audit
certificate of the executed PDF says she signed with password and authenticator app, and
when. Approving asks for a confirmation first. axe finds nothing serious on these pages.
Screenshots go to ``SCREENSHOT_DIR`` when set (sign-page.png, sign-statement.png,
sign-parties.png, sign-certificate-*.png, approve-confirm.png).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.documents import pdf
from agreements.models import Agreement, DocumentKind, Signature
from agreements.selectors import consolidated_text, with_agreement_detail
from tests.agreements.pdf_support import pdf_text
from tests.browser.test_workspace_journeys import assert_accessible, log_in
from tests.conftest import otp_code, otp_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNING = "Open Curriculum Implementation Data Agreement"
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe is injected as a script, which the pages' CSP would refuse (see the journeys test).
    return {**browser_context_args, "bypass_csp": True, "viewport": {"width": 1280, "height": 900}}


def _shots(tmp_path) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_director_reads_terms_differences_and_text_then_signs_with_her_title(
    page: Page, live_server, demo, tmp_path
):
    shots = _shots(tmp_path)
    agreement = Agreement.objects.get(title=SIGNING)
    device = otp_device(demo["users"]["director"])
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    page.get_by_role("link", name="Review and sign").click()
    page.get_by_label("6-digit code").fill(otp_code(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign {SIGNING}")

    # Before the statement: the key terms, the differences from the standard, the text.
    terms = page.get_by_role("region", name="Key terms")
    expect(terms.get_by_role("term").filter(has_text="Breach notice")).to_be_visible()
    expect(terms).to_contain_text("Destroy data by")
    differences = page.get_by_role("region", name="Differences from the standard")
    expect(
        differences.get_by_role("link", name=re.compile("Open Licence of Curriculum Adaptations"))
    ).to_be_visible()
    expect(differences).to_contain_text(
        "proposed by OpenAlgebra Foundation and accepted by the parties."
    )
    document = page.get_by_role("region", name="Text of the agreement")
    expect(document).to_be_visible()
    expect(document).to_contain_text("Open Licence of Curriculum Adaptations")
    # Its own scrolling box, reachable from the keyboard.
    assert document.evaluate("el => el.scrollHeight > el.clientHeight")
    expect(document).to_have_attribute("tabindex", "0")
    assert_accessible(page)
    page.screenshot(path=str(shots / "sign-page.png"), full_page=True)

    # The statement names the agreement and its version, and takes up the title typed.
    statement = page.locator(".statement")
    expect(statement).to_contain_text(f"“{SIGNING}” ({agreement.reference}), version of")
    # The title starts as the one she last signed with (the demo's), and follows her typing.
    title = page.get_by_label("Your title")
    expect(title).to_have_value("Superintendent")
    expect(statement).to_contain_text("I, Maya Okafor, Superintendent of Riverbend")
    title.fill("")
    expect(statement).to_contain_text("I, Maya Okafor, [your title] of Riverbend")
    title.fill("Interim Superintendent")
    expect(statement).to_contain_text(
        "I, Maya Okafor, Interim Superintendent of Riverbend Unified School District, sign"
    )
    expect(page.locator(".statement__hash")).to_contain_text(agreement.text_hash)
    page.get_by_label(re.compile("Type your full name")).fill("Maya Okafor")
    page.get_by_label("I intend my typed name to be my signature on this agreement.").check()
    page.get_by_role("region", name="Statement and signature").screenshot(
        path=str(shots / "sign-statement.png")
    )
    page.get_by_role("button", name="Sign the agreement").click()

    expect(page.get_by_role("status")).to_contain_text("You signed the agreement")
    parties = page.get_by_role("region", name="Parties")
    expect(parties).to_contain_text("Maya Okafor, Interim Superintendent,")
    parties.screenshot(path=str(shots / "sign-parties.png"))

    signature = Signature.objects.get(agreement=agreement, user=demo["users"]["director"])
    assert signature.signer_title == "Interim Superintendent"
    assert signature.auth_method == "totp"
    verified = signature.authenticated_at.astimezone(dt.UTC)
    # The audit certificate of the executed document (rendered here, as the worker would).
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    rendered = pdf.render_agreement(
        agreement, consolidated_text(agreement), DocumentKind.EXECUTED, generated_at=timezone.now()
    )
    certificate = pdf_text(rendered.pdf)
    certificate = certificate[certificate.index("Audit Certificate") :]
    entry = certificate[certificate.index("Signature · Riverbend Unified School District") :]
    expected = f"password and authenticator app, verified {verified.day} {verified:%b %Y %H:%M} UTC"
    assert expected in entry[:900], entry[:900]
    assert "Superintendent" in entry[:900]
    (shots / "sign-certificate.pdf").write_bytes(rendered.pdf)
    last = rendered.pages
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", str(last - 1), "-l", str(last)]
        + [str(shots / "sign-certificate.pdf"), str(shots / "sign-certificate")],
        check=True,
    )


def test_approving_asks_for_a_confirmation_first(page: Page, live_server, demo, tmp_path):
    shots = _shots(tmp_path)
    agreement = Agreement.objects.get(title=IN_REVIEW)
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{reverse('agreement-detail', args=[agreement.pk])}")
    next_steps = page.get_by_role("region", name="What happens next")
    confirm = next_steps.get_by_role("checkbox", name="I have read this text and approve it")
    expect(confirm).to_be_hidden()
    next_steps.get_by_text("Approve this text…").click()
    expect(confirm).to_be_visible()
    expect(next_steps).to_contain_text(f"the text of {agreement.reference}, version of")
    expect(next_steps).to_contain_text(agreement.text_hash)
    assert_accessible(page)
    # The browser will not send the form without the box ticked (no script involved).
    next_steps.get_by_role("button", name="Approve this text", exact=True).click()
    expect(page.get_by_role("status")).to_have_count(0)
    assert not agreement.approvals.filter(user=demo["users"]["director"]).exists()
    confirm.check()
    next_steps.screenshot(path=str(shots / "approve-confirm.png"))
    next_steps.get_by_role("button", name="Approve this text", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("You approved this text")
    assert agreement.approvals.filter(user=demo["users"]["director"]).exists()
