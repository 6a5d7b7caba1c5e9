"""The consented roster waits for the research approvals (issue 20, "Done when"): while the
IRB approval the template requires is expired, the export is refused with a message naming
the approval to renew — by the service and on the roster page — and a renewal lifts it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.approvals.demo import approval_letter_pdf
from agreements.approvals.models import ApprovalKind
from agreements.approvals.services import (
    research_approval_record,
    template_research_approvals_set,
)
from collaboratory.errors import DomainError
from consent import services
from consent.models import ConsentExport

from .conftest import TODAY

IRB = ApprovalKind.IRB.value
REFUSAL = (
    "The IRB approval 2025-123 from University of X IRB expired on {expired}: renew it "
    "before exporting the roster."
)


@pytest.fixture
def gated(study):
    """The study's template requires the IRB's approval; the one recorded has expired."""
    agreement = study["agreement"]
    template_research_approvals_set(
        template=agreement.template_version.template, kinds=[IRB], by=None
    )
    study["irb"] = research_approval_record(
        agreement=agreement,
        by=study["users"]["researcher"],
        kind=IRB,
        approving_body="University of X IRB",
        number="2025-123",
        approved_on=dt.date(2025, 9, 1),
        expires_on=dt.date(2026, 8, 31),
        document_name="irb.pdf",
        document=approval_letter_pdf("University of X IRB", "2025-123"),
        today=TODAY,
    )
    return study


def export(world, today=TODAY):
    return services.roster_export(
        agreement=world["agreement"],
        by=world["users"]["director"],
        recipient=world["orgs"]["northfield-university"],
        as_of=today,
        today=today,
    )


def renew(world, today=TODAY):
    return research_approval_record(
        agreement=world["agreement"],
        by=world["users"]["researcher"],
        kind=IRB,
        approving_body="University of X IRB",
        number="2025-123-R1",
        approved_on=today - dt.timedelta(days=3),
        expires_on=today + dt.timedelta(days=362),
        document_name="irb-renewal.pdf",
        document=approval_letter_pdf("University of X IRB", "2025-123-R1"),
        today=today,
    )


def test_the_export_is_refused_naming_the_irb_approval_to_renew(gated):
    with pytest.raises(DomainError) as refused:
        export(gated)
    assert refused.value.messages == [REFUSAL.format(expired="2026-08-31")]
    assert refused.value.code == "approvals_not_current"
    assert not ConsentExport.objects.exists()
    renew(gated)
    assert export(gated).export.recipient == gated["orgs"]["northfield-university"]


def test_a_missing_required_approval_refuses_too(study):
    template_research_approvals_set(
        template=study["agreement"].template_version.template,
        kinds=[IRB, ApprovalKind.DISTRICT_RESEARCH_OFFICE],
        by=None,
    )
    with pytest.raises(DomainError) as refused:
        export(study)
    assert "needs a current IRB approval and none is recorded" in refused.value.messages[0]
    assert "district research office approval" in refused.value.messages[0]


def test_a_template_requiring_nothing_exports_as_before(study):
    assert export(study).export.row_count == 0


def test_the_roster_page_says_which_approval_to_renew_and_refuses(client, gated):
    url = reverse("consent-roster", args=[gated["agreement"].pk])
    client.force_login(gated["users"]["director"])
    page = client.get(url).content.decode()
    message = REFUSAL.format(expired="2026-08-31")
    assert 'id="approvals-not-current"' in page and message in page
    assert reverse("agreement-research-approvals", args=[gated["agreement"].pk]) in page
    today = timezone.localdate()
    response = client.post(
        url,
        {"recipient": gated["orgs"]["northfield-university"].pk, "as_of": today.isoformat()},
    )
    assert response.status_code == 200
    assert "text/html" in response["Content-Type"]
    assert message in response.content.decode()
    assert not ConsentExport.objects.exists()
    # Renewed: the notice is gone and the roster downloads.
    renew(gated, today=today)
    page = client.get(url).content.decode()
    assert 'id="approvals-not-current"' not in page
    response = client.post(
        url,
        {"recipient": gated["orgs"]["northfield-university"].pk, "as_of": today.isoformat()},
    )
    assert response["Content-Type"].startswith("text/csv")
