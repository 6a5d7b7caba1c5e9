"""Consent pages: who sees what (student-level data only for the district), the upload →
preview → confirm flow, the roster download, receipts, and pinned query counts."""

import datetime as dt
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from consent import services
from consent.models import ConsentImport, ConsentRecord, StudentConsent
from tests.conftest import otp_verified

from .conftest import TODAY

KEYS = ("A1", "A2", "A3", "A4", "A5", "A6")
COHORT = (
    b"student_key,decision,given_by,method,date,school,grade,birth_year,witness\n"
    b"A1,granted,parent,paper,2026-09-01,Cedar Hill,7,2013,\n"
    b"A1,granted,student,paper,2026-09-03,Cedar Hill,7,2013,\n"
    b"A2,granted,parent,electronic,2026-09-01,Cedar Hill,7,2013,\n"
    b"A3,refused,parent,verbal,2026-09-02,Riverside,8,2012,Ms. Alvarez\n"
    b"A4,granted,student,paper,2026-09-02,Riverside,8,2012,\n"
    b"A5,granted,parent,paper,2026-09-01,Riverside,8,2012,\n"
    b"A5,granted,student,paper,2026-09-02,Riverside,8,2012,\n"
    b"A5,withdrawn,parent,paper,2026-09-20,Riverside,8,2012,\n"
    b"A6,,,,,Riverside,9,2011,\n"
)


@pytest.fixture
def cohort(study):
    """The study with six students imported, a roster exported and an import log."""
    director = study["users"]["director"]
    preview = services.consent_import_preview(
        agreement=study["agreement"],
        by=director,
        filename="cohort.csv",
        content=COHORT,
        default_form=study["form"],
        today=TODAY,
    )
    services.consent_import_confirm(consent_import=preview, by=director, today=TODAY)
    services.roster_export(
        agreement=study["agreement"],
        by=director,
        recipient=study["orgs"]["northfield-university"],
        as_of=TODAY,
        today=TODAY,
    )
    study["import"] = preview
    study["student"] = StudentConsent.objects.get(student_key="A1")
    study["record"] = ConsentRecord.objects.filter(student_key="A1").first()
    return study


def pages(c):
    pk = c["agreement"].pk
    aggregate = {
        "dashboard": reverse("consent-dashboard", args=[pk]),
        "requirement": reverse("consent-requirement", args=[pk]),
        "form": reverse("consent-form-detail", args=[pk, c["form"].pk]),
        "form-add": reverse("consent-form-add", args=[pk]),
    }
    student_level = {
        "students": reverse("consent-students", args=[pk]),
        "student": reverse("consent-student", args=[pk, c["student"].pk]),
        "record": reverse("consent-record", args=[pk]),
        "receipt": reverse("consent-receipt", args=[pk, c["record"].pk]),
        "import": reverse("consent-import", args=[pk]),
        "import-detail": reverse("consent-import-detail", args=[pk, c["import"].pk]),
        "roster": reverse("consent-roster", args=[pk]),
    }
    return aggregate, student_level


@pytest.mark.parametrize(
    ("username", "aggregate_status", "student_status"),
    [
        ("director", 200, 200),  # Riverbend: the district
        ("counsel", 200, 404),  # Northfield: research partner
        ("researcher", 200, 404),
        ("vendor", 200, 404),  # Brightpath: developer
        ("facilitator", 404, 404),  # staffs the collaboratory, not a party
        ("hillcrest", 404, 404),  # in other trios only
        ("lakeshore", 404, 404),  # another district
    ],
)
def test_who_sees_which_consent_page(client, cohort, username, aggregate_status, student_status):
    client.force_login(cohort["users"][username])
    aggregate, student_level = pages(cohort)
    for name, url in aggregate.items():
        assert client.get(url).status_code == aggregate_status, name
    for name, url in student_level.items():
        assert client.get(url).status_code == student_status, name


def test_an_outsider_gets_404_everywhere_and_anonymous_users_log_in(client, cohort, outsider):
    aggregate, student_level = pages(cohort)
    for url in [*aggregate.values(), *student_level.values()]:
        assert client.get(url).status_code == 302
    client.force_login(outsider)
    for url in [*aggregate.values(), *student_level.values()]:
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("username", ["counsel", "researcher", "vendor", "facilitator"])
def test_no_page_shows_student_keys_to_another_organisation(client, cohort, username):
    client.force_login(cohort["users"][username])
    aggregate, _ = pages(cohort)
    urls = [*aggregate.values(), reverse("agreement-detail", args=[cohort["agreement"].pk])]
    for url in urls:
        response = client.get(url)
        body = response.content.decode()
        assert not any(f">{key}<" in body or f"{key}," in body for key in KEYS), url


def test_student_level_posts_are_refused_to_other_organisations(client, cohort):
    pk, item = cohort["agreement"].pk, cohort["import"]
    client.force_login(cohort["users"]["researcher"])
    for url in (
        reverse("consent-import-confirm", args=[pk, item.pk]),
        reverse("consent-import-discard", args=[pk, item.pk]),
        reverse("consent-record", args=[pk]),
        reverse("consent-roster", args=[pk]),
    ):
        assert client.post(url, {"student_key": "A9"}).status_code == 404
    assert ConsentRecord.objects.count() == 8


def test_the_admin_does_not_show_consent_records_to_platform_staff(client, cohort):
    otp_verified(client, cohort["users"]["facilitator"])  # the admin needs a verified session
    index = client.get(reverse("admin:index")).content.decode()
    assert "Consent records" not in index and "Student consents" not in index
    assert client.get("/admin/consent/consentrecord/").status_code == 404
    assert client.get("/admin/consent/studentconsent/").status_code == 404


def test_the_director_sees_coverage_by_school_and_grade_with_a_chart(client, cohort):
    client.force_login(cohort["users"]["director"])
    body = client.get(reverse("consent-dashboard", args=[cohort["agreement"].pk])).content.decode()
    assert "<svg" in body and "Consent by school" in body
    assert "Cedar Hill" in body and "Riverside" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script
    assert "cdn" not in body.lower()
    assert "1</strong> withdrawal" not in body  # no withdrawal since the roster
    assert "listing 1 student" in body


def test_research_partner_sees_small_counts_hidden(client, cohort):
    client.force_login(cohort["users"]["researcher"])
    body = client.get(reverse("consent-dashboard", args=[cohort["agreement"].pk])).content.decode()
    assert "&lt;5" in body
    assert "Your organisation last received a roster" in body


def test_upload_preview_confirm_imports_the_file(client, study):
    client.force_login(study["users"]["director"])
    pk = study["agreement"].pk
    response = client.post(
        reverse("consent-import", args=[pk]),
        {
            "file": SimpleUploadedFile("cohort.csv", COHORT, content_type="text/csv"),
            "default_form": study["form"].pk,
        },
    )
    item = ConsentImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("consent-import-detail", args=[pk, item.pk])
    preview = client.get(response["Location"]).content.decode()
    assert "No problems found" in preview and "Import 9 rows" in preview
    assert not ConsentRecord.objects.exists()
    client.post(reverse("consent-import-confirm", args=[pk, item.pk]))
    assert ConsentRecord.objects.count() == 8
    assert (
        "Imported 8 records"
        in client.get(reverse("consent-import-detail", args=[pk, item.pk])).content.decode()
    )


def test_a_bad_file_lists_the_row_and_column_on_the_preview(client, study):
    client.force_login(study["users"]["director"])
    pk = study["agreement"].pk
    bad = COHORT.replace(b"A3,refused", b"A3,perhaps")
    response = client.post(
        reverse("consent-import", args=[pk]),
        {
            "file": SimpleUploadedFile("bad.csv", bad),
            "default_form": study["form"].pk,
        },
        follow=True,
    )
    body = response.content.decode()
    assert "1 problem: nothing was imported" in body
    assert '<td class="num">5</td><td><code>decision</code></td>' in body
    assert not ConsentRecord.objects.exists()


def test_a_binary_upload_is_refused_with_a_clear_message(client, study):
    client.force_login(study["users"]["director"])
    response = client.post(
        reverse("consent-import", args=[study["agreement"].pk]),
        {
            "file": SimpleUploadedFile("consent.xlsx", b"PK\x03\x04binary"),
            "default_form": study["form"].pk,
        },
    )
    assert response.status_code == 200
    assert "looks like an Excel workbook" in response.content.decode()
    assert not ConsentImport.objects.exists()


def test_the_roster_downloads_as_csv_and_is_logged(client, cohort):
    client.force_login(cohort["users"]["director"])
    response = client.post(
        reverse("consent-roster", args=[cohort["agreement"].pk]),
        {
            "recipient": cohort["orgs"]["northfield-university"].pk,
            "as_of": TODAY.isoformat(),
        },
    )
    assert response["Content-Type"].startswith("text/csv")
    assert response.content == b"student_key,school,grade\nA1,Cedar Hill,7\n"
    page = client.get(reverse("consent-roster", args=[cohort["agreement"].pk])).content.decode()
    assert page.count("Northfield University Learning Sciences Lab</td>") == 2  # two exports


def test_a_receipt_follows_the_consent_receipt_structure(client, cohort):
    client.force_login(cohort["users"]["director"])
    response = client.get(
        reverse("consent-receipt", args=[cohort["agreement"].pk, cohort["record"].pk])
    )
    receipt = json.loads(response.content)
    assert response["Content-Disposition"].startswith("attachment;")
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["piiPrincipalId"] == "A1"
    assert receipt["consentReceiptID"] == str(cohort["record"].receipt_id)
    assert receipt["piiControllers"][0]["piiController"] == "Riverbend Unified School District"
    assert receipt["collectionMethod"] == "Paper form"
    purpose = receipt["services"][0]["purposes"][0]
    assert purpose["piiCategory"] == ["Unit scores", "Practice accounts", "Enrolment counts"]
    assert receipt["consentRecord"]["event"]["type"] == "given"
    assert receipt["consentRecord"]["notice"]["version"] == 1
    assert receipt["consentTimestamp"] == int(dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp())


def test_recording_a_withdrawal_from_the_student_page(client, cohort):
    client.force_login(cohort["users"]["director"])
    pk = cohort["agreement"].pk
    response = client.post(
        reverse("consent-record", args=[pk]),
        {
            "student_key": "A1",
            "action": "withdrawn",
            "given_by": "parent",
            "method": "paper",
            "decided_on": timezone.localdate().isoformat(),
            "form": cohort["form"].pk,
        },
    )
    assert response.status_code == 302
    assert StudentConsent.objects.get(student_key="A1").state == "withdrawn"


def test_the_requirement_form_saves_while_negotiating(client, world):
    from .conftest import make_agreement

    agreement = make_agreement(world, kind=None)
    client.force_login(world["users"]["vendor"])
    response = client.post(
        reverse("consent-requirement", args=[agreement.pk]),
        {"kind": "opt_out", "legal_basis": "", "data_element": ""},
    )
    assert response.status_code == 302
    assert agreement.consent_requirements.get().kind == "opt_out"


# --- query counts -------------------------------------------------------------------------


def test_dashboard_query_count_is_fixed(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["director"])
    url = reverse("consent-dashboard", args=[cohort["agreement"].pk])
    # session, user, the agreement with its members and data elements (JSON), memberships,
    # requirements, coverage (with its aged-out count), snapshots, the last export with its
    # three counts as subqueries, forms.
    with django_assert_max_num_queries(9):
        assert client.get(url).status_code == 200


def test_student_list_query_count_is_fixed(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["director"])
    url = reverse("consent-students", args=[cohort["agreement"].pk])
    # session, user, the agreement with its members and elements, memberships, schools,
    # count, page.
    with django_assert_max_num_queries(7):
        assert client.get(url).status_code == 200


def test_student_detail_query_count_is_fixed(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["director"])
    url = reverse("consent-student", args=[cohort["agreement"].pk, cohort["student"].pk])
    # session, user, the agreement with its members and elements, memberships, student,
    # history (with forms, recorders, imports), the latest form, forms for the record form.
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200


def test_import_pages_query_counts_are_fixed(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["director"])
    pk = cohort["agreement"].pk
    # session, user, the agreement with its members and elements, memberships,
    # forms for the upload form, import log.
    with django_assert_max_num_queries(7):
        assert client.get(reverse("consent-import", args=[pk])).status_code == 200
    # ... and the one import.
    with django_assert_max_num_queries(6):
        assert (
            client.get(reverse("consent-import-detail", args=[pk, cohort["import"].pk])).status_code
            == 200
        )


def test_roster_page_query_count_is_fixed(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["director"])
    # session, user, the agreement with its members and elements, memberships,
    # requirements, export log.
    with django_assert_max_num_queries(7):
        assert (
            client.get(reverse("consent-roster", args=[cohort["agreement"].pk])).status_code == 200
        )


def test_form_and_requirement_pages_query_counts(client, cohort, django_assert_max_num_queries):
    client.force_login(cohort["users"]["researcher"])
    pk = cohort["agreement"].pk
    # session, user, the agreement with its members and elements, memberships,
    # the form.
    with django_assert_max_num_queries(6):
        assert (
            client.get(reverse("consent-form-detail", args=[pk, cohort["form"].pk])).status_code
            == 200
        )
    # ... requirements.
    with django_assert_max_num_queries(6):
        assert client.get(reverse("consent-requirement", args=[pk])).status_code == 200


def test_the_agreement_page_consent_section_costs_a_fixed_number_of_queries(
    client, cohort, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The statements as SQL text to tell them apart, not as EXECUTEs of prepared ones.
    settings.DATABASE_SERVER_PREPARED = False

    client.force_login(cohort["users"]["director"])
    url = reverse("agreement-detail", args=[cohort["agreement"].pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url).content.decode()
    consent_queries = [
        q["sql"]
        for q in queries
        if "consent_" in q["sql"]
        # The page's own query, which brings the requirements along.
        and not q["sql"].startswith('SELECT "agreements_agreement"."id"')
    ]
    # Coverage with its count of aged-out states: whatever the number of students (the
    # aged-out students themselves are read only when there are some). The requirements come
    # with the page's own query (tests/consent/test_page_section.py).
    assert len(consent_queries) == 1
    assert "1 of 6 students permitted" in body
