"""The demo consent data, and the background tasks through the real worker."""

import time

import pytest
from django.urls import reverse

from agreements.models import Agreement, Notification
from consent import services
from consent.demo import TITLE, seed_consent
from consent.models import (
    ConsentExport,
    ConsentRecord,
    CoverageSnapshot,
    StudentConsent,
)

from .conftest import TODAY


@pytest.fixture
def seeded(demo):
    seed_consent(demo["collaboratory"])
    demo["cohort"] = Agreement.objects.get(title=TITLE)
    return demo


def test_the_demo_has_a_realistic_consented_cohort(seeded):
    agreement = seeded["cohort"]
    students = StudentConsent.objects.filter(agreement=agreement)
    assert agreement.status == "active"
    assert 300 <= students.count() <= 500
    assert set(students.values_list("school", flat=True)) == {
        "Cedar Hill Middle School",
        "Riverside Middle School",
        "North Valley Junior High",
    }
    assert set(students.values_list("grade", flat=True)) == {6, 7, 8, 9}
    assert {"granted", "refused", "withdrawn", "awaiting_assent", "no_response"} <= set(
        students.values_list("state", flat=True)
    )
    assert ConsentRecord.objects.filter(agreement=agreement, action="withdrawn").exists()
    assert ConsentExport.objects.filter(agreement=agreement).count() == 1
    assert CoverageSnapshot.objects.filter(agreement=agreement).count() > 5
    # The three withdrawals after the roster reached the university's people.
    assert (
        Notification.objects.filter(
            agreement=agreement, event="consent_withdrawn", recipient__username="researcher"
        ).count()
        == 3
    )


def test_seeding_twice_changes_nothing(seeded):
    before = ConsentRecord.objects.count()
    seed_consent(seeded["collaboratory"])
    assert ConsentRecord.objects.count() == before


def test_the_demo_dashboard_shows_real_numbers(client, seeded):
    client.force_login(seeded["users"]["director"])
    body = client.get(reverse("consent-dashboard", args=[seeded["cohort"].pk])).content.decode()
    total = StudentConsent.objects.filter(agreement=seeded["cohort"]).count()
    assert f'<span class="stat__value">{total}</span>' in body
    assert "3</strong> withdrawals recorded since" in body
    assert "Consent over time" in body


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_rebuilds_the_trend_after_an_import(celery_worker, demo):
    from .conftest import activate, make_agreement

    world = {**demo}
    from agreements.demo import seed_templates

    world["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(world, make_agreement(world, title="Worker study"))
    director = demo["users"]["director"]
    form = services.consent_form_add(
        agreement=agreement,
        by=director,
        language="en",
        title="F",
        body="B",
        effective_date=TODAY.replace(month=8),
    )
    preview = services.consent_import_preview(
        agreement=agreement,
        by=director,
        filename="w.csv",
        today=TODAY,
        default_form=form,
        content=b"student_key,decision,given_by,method,date\nW1,granted,parent,paper,2026-09-01\n",
    )
    services.consent_import_confirm(consent_import=preview, by=director, today=TODAY)
    deadline = time.monotonic() + 60
    while not CoverageSnapshot.objects.filter(agreement=agreement).exists():
        assert time.monotonic() < deadline, "the worker did not rebuild the trend"
        time.sleep(0.2)
    assert "consent.rebuild_trend" in celery_worker["log"].read_text()
