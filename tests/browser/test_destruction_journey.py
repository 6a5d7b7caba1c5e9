"""Real Chromium and a real Celery worker: the researcher certifies the destruction of the data
the expired pilot gave Northfield (its duty overdue on the director's dashboard), the worker
renders and seals the certificate of destruction, and the district's director sees the duty
certified and downloads the certificate, which verifies like an agreement's PDF. Screenshots
go to ``SCREENSHOT_DIR`` when set (destruction-*.png, desktop and phone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import formats, timezone
from playwright.sync_api import Page, expect

from agreements.documents import jobs as documents
from agreements.documents import sealing
from agreements.models import Agreement, DestructionDuty
from tests.agreements.pdf_support import wait_for
from tests.browser.screens import shoot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

PILOT = "Adaptive Practice Pilot 2024"


def log_in(page: Page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()


def test_the_researcher_certifies_and_the_district_downloads_the_certificate(
    page: Page, live_server, celery_worker, demo, tmp_path
):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    overflowing: list[str] = []
    agreement = Agreement.objects.get(title=PILOT)
    duty = DestructionDuty.objects.select_related("data_element").get(agreement=agreement)
    element = duty.data_element.name

    # The director's dashboard flags the overdue duty.
    log_in(page, live_server, "director")
    panel = page.locator("section", has=page.get_by_role("heading", name="Destruction duties"))
    expect(panel).to_contain_text("1 overdue")
    expect(panel).to_contain_text(element)
    overflowing += shoot(page, shots, "destruction-dashboard")

    # The researcher certifies from the agreement's duties page.
    log_in(page, live_server, "researcher")
    page.get_by_role("link", name="Destruction", exact=True).click()
    expect(page.get_by_role("heading", name="Destruction duties")).to_be_visible()
    expect(page.locator(f"#duty-{duty.pk}")).to_contain_text("Overdue")
    page.get_by_role("link", name=agreement.reference).first.click()
    page.get_by_role("link", name="Certify destruction").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(element)
    page.get_by_label("Secure deletion (overwritten)").check()
    today = timezone.localdate()
    page.get_by_label("Date of destruction").fill(today.isoformat())
    page.get_by_label("Your title").fill("Principal Investigator")
    page.get_by_label("Evidence (optional)").set_input_files(
        files=[{"name": "wipe-log.txt", "mimeType": "text/plain", "buffer": b"nwipe: verified"}]
    )
    # Forgetting the attestation is refused, saying what to fix, keeping what was typed.
    page.get_by_role("button", name="Certify destruction").click()
    expect(page.locator("#attested-error")).to_contain_text("Tick the attestation")
    expect(page.get_by_label("Your title")).to_have_value("Principal Investigator")
    page.get_by_label("Evidence (optional)").set_input_files(
        files=[{"name": "wipe-log.txt", "mimeType": "text/plain", "buffer": b"nwipe: verified"}]
    )
    page.get_by_label("I attest that the statement above is true.").check()
    expect(page.locator("#attestation-text")).to_contain_text(element)
    overflowing += shoot(page, shots, "destruction-certify")
    page.get_by_role("button", name="Certify destruction").click()
    expect(page.get_by_role("status")).to_contain_text(f"The destruction of {element} is certified")

    # The district sees it certified; the worker's sealed certificate appears (poll).
    log_in(page, live_server, "director")
    page.goto(f"{live_server.url}{reverse('destruction-agreement', args=[agreement.pk])}")
    row = page.locator(f"#duty-{duty.pk}")
    expect(row).to_contain_text("Certified")
    expect(row).to_contain_text(f"destroyed {formats.date_format(today, 'j F Y')}")
    wait_for(
        lambda: DestructionDuty.objects.filter(pk=duty.pk).exclude(certificate="").exists(),
        timeout=60,
        what="the worker to seal the certificate of destruction",
    )
    page.reload()
    link = row.get_by_role("link", name="Certificate (PDF)")
    expect(link).to_be_visible()
    overflowing += shoot(page, shots, "destruction-district")
    with page.expect_download() as download_info:
        link.click()
    data = Path(download_info.value.path()).read_bytes()
    (shots / "destruction-certificate.pdf").write_bytes(data)
    assert sealing.check(data).ok
    assert documents.document_verify(data).ok
    page.goto(f"{live_server.url}{reverse('destruction-list')}")
    overflowing += shoot(page, shots, "destruction-list")
    assert overflowing == []
