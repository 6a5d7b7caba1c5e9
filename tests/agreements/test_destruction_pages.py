"""Destruction duty pages: the district sees every duty's state, the receiving party certifies,
the parties download the sealed certificate, evidence only for the parties, outsiders get 404;
the dashboard flags overdue duties. List and detail pages pin their query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from agreements.destruction import services
from agreements.documents import jobs as documents
from agreements.models import DestructionDuty
from audit.models import AuditAction, AuditEntry

PILOT = "Adaptive Practice Pilot 2024"  # expired last year: its duty is overdue


@pytest.fixture
def pilot(demo):
    return demo["agreements"][PILOT]


@pytest.fixture
def duty(pilot) -> DestructionDuty:
    return DestructionDuty.objects.get(agreement=pilot)


def _urls(duty) -> dict[str, str]:
    args = [duty.agreement_id, duty.pk]
    return {
        "agreement": reverse("destruction-agreement", args=[duty.agreement_id]),
        "certify": reverse("destruction-certify", args=args),
        "certificate": reverse("destruction-certificate", args=args),
        "evidence": reverse("destruction-evidence", args=args),
    }


def _certified(duty, user, *, evidence=None) -> DestructionDuty:
    services.destruction_certify(
        duty_id=duty.pk,
        by=user,
        method="physical",
        destroyed_on=timezone.localdate() - dt.timedelta(days=1),
        certifier_title="Principal Investigator",
        attested=True,
        evidence=evidence,
    )
    services.destruction_certificate_render(duty_id=duty.pk)
    duty.refresh_from_db()
    return duty


def test_the_district_sees_the_overdue_duty_in_the_list(
    client, demo, duty, django_assert_max_num_queries
):
    client.force_login(demo["users"]["director"])
    client.get(reverse("destruction-list"))
    # session, user, the duties (agreement, element, organisations, deadline subquery), the
    # organisations the user acts for.
    with django_assert_max_num_queries(4):
        page = client.get(reverse("destruction-list")).content.decode()
    assert duty.data_element.name in page
    assert 'data-state="overdue"' in page
    overdue = client.get(reverse("destruction-list"), {"state": "overdue"}).content.decode()
    assert duty.agreement.reference in overdue
    certified = client.get(reverse("destruction-list"), {"state": "certified"}).content.decode()
    assert duty.data_element.name not in certified


def test_the_agreement_page_offers_certification_only_to_the_receiving_party(
    client, demo, duty, django_assert_max_num_queries
):
    urls = _urls(duty)
    client.force_login(demo["users"]["researcher"])
    client.get(urls["agreement"])
    # session, user, the agreement, its duties (with the deadline), the user's organisations.
    with django_assert_max_num_queries(5):
        page = client.get(urls["agreement"]).content.decode()
    assert urls["certify"] in page
    client.force_login(demo["users"]["director"])
    page = client.get(urls["agreement"]).content.decode()
    assert urls["certify"] not in page and "Not certified" in page


def test_the_district_is_sent_back_from_the_certify_form(client, demo, duty):
    client.force_login(demo["users"]["director"])
    response = client.get(_urls(duty)["certify"], follow=True)
    assert "can certify the destruction" in response.content.decode()
    response = client.post(
        _urls(duty)["certify"],
        {
            "method": "physical",
            "destroyed_on": timezone.localdate().isoformat(),
            "certifier_title": "Director",
            "attested": "on",
        },
    )
    assert response.status_code == 302
    duty.refresh_from_db()
    assert duty.certified_at is None


@pytest.mark.parametrize("name", ["agreement", "certify", "certificate", "evidence"])
def test_outsiders_get_404(client, outsider, demo, duty, name):
    _certified(
        duty,
        demo["users"]["researcher"],
        evidence=SimpleUploadedFile("log.txt", b"wiped"),
    )
    for user in (outsider, demo["users"]["lakeshore"]):
        client.force_login(user)
        assert client.get(_urls(duty)[name]).status_code == 404
    client.force_login(outsider)
    assert duty.data_element.name not in client.get(reverse("destruction-list")).content.decode()


def test_the_certify_form_refuses_bad_input_saying_what_to_fix(client, demo, duty):
    client.force_login(demo["users"]["researcher"])
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    page = client.post(
        _urls(duty)["certify"],
        {"method": "physical", "destroyed_on": future, "certifier_title": "PI"},
    ).content.decode()
    assert "cannot be in the future" in page
    assert "Tick the attestation" in page
    duty.refresh_from_db()
    assert duty.certified_at is None


def test_the_researcher_certifies_and_the_district_downloads_the_sealed_certificate(
    client, demo, duty
):
    urls = _urls(duty)
    client.force_login(demo["users"]["researcher"])
    form = client.get(urls["certify"]).content.decode()
    assert "I attest that the statement above is true." in form
    response = client.post(
        urls["certify"],
        {
            "method": "secure_deletion",
            "destroyed_on": timezone.localdate().isoformat(),
            "certifier_title": "Principal Investigator",
            "attested": "on",
            "evidence": SimpleUploadedFile("wipe.txt", b"3 passes, verified"),
        },
    )
    assert response.status_code == 302 and response["Location"] == urls["agreement"]
    services.destruction_certificate_render(duty_id=duty.pk)  # what the worker does
    client.force_login(demo["users"]["director"])
    page = client.get(urls["agreement"]).content.decode()
    assert 'data-state="certified"' in page and urls["certificate"] in page
    response = client.get(urls["certificate"])
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert documents.document_verify(data).ok
    assert AuditEntry.objects.filter(
        action=AuditAction.DOWNLOAD, object_id=str(duty.pk), actor=demo["users"]["director"]
    ).exists()
    evidence = client.get(urls["evidence"])
    assert b"".join(evidence.streaming_content) == b"3 passes, verified"
    # The verify page checks it like an agreement's PDF.
    upload = SimpleUploadedFile("certificate.pdf", data, content_type="application/pdf")
    verified = client.post(reverse("document-verify-api"), {"pdf": upload}).json()
    assert verified["ok"] is True and verified["signed_by_platform"] is True
    upload = SimpleUploadedFile("certificate.pdf", data, content_type="application/pdf")
    page = client.post(reverse("document-verification"), {"pdf": upload}).content.decode()
    assert "certificate of destruction of" in page and duty.agreement.reference in page


def test_the_facilitator_sees_the_certificate_but_not_the_evidence(client, demo, duty):
    _certified(duty, demo["users"]["researcher"], evidence=SimpleUploadedFile("a.txt", b"x"))
    client.force_login(demo["users"]["facilitator"])
    assert client.get(_urls(duty)["certificate"]).status_code == 200
    assert client.get(_urls(duty)["evidence"]).status_code == 404


def test_a_certificate_not_yet_rendered_is_not_served(client, demo, duty):
    client.force_login(demo["users"]["director"])
    assert client.get(_urls(duty)["certificate"]).status_code == 404


def test_the_dashboard_flags_the_overdue_duty(client, demo, duty, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    client.get(reverse("dashboard"))
    # session, user, trio page, memberships, waiting, dates, the destruction duties overdue
    # or due soon, consent coverage, recent activity.
    with django_assert_max_num_queries(9):
        page = client.get(reverse("dashboard")).content.decode()
    assert "Destruction duties" in page and "1 overdue" in page
    assert duty.data_element.name in page
    _certified(duty, demo["users"]["researcher"])
    assert "1 overdue" not in client.get(reverse("dashboard")).content.decode()


def test_the_agreement_page_links_to_its_duties(client, demo, duty):
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[duty.agreement_id])).content.decode()
    assert reverse("destruction-agreement", args=[duty.agreement_id]) in page


def test_the_dashboard_panel_shows_no_duty_of_an_agreement_the_user_cannot_see(client, demo, duty):
    # The panel reads the access rule from the dashboard's cached SQL: a person of another
    # district's partnership sees neither the panel nor the duty.
    client.force_login(demo["users"]["lakeshore"])
    page = client.get(reverse("dashboard")).content.decode()
    assert duty.data_element.name not in page and "1 overdue" not in page
