"""Student keys that cannot be names (issue 20, item 5), on every path that writes a key:
the CSV import (rows named, never keys), the record form, the services, the models; the
district's format; students already in a cohort keeping their key; and the refused value
never showing up in a page, an import report, an audit entry or a log line."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEntry
from collaboratory.errors import DomainError
from consent import services
from consent.models import ConsentImport, ConsentRecord, StudentConsent
from partners.student_key_settings import organisation_student_key_format_set

from .conftest import TODAY

HEADER = "student_key,decision,given_by,method,date,school,grade,birth_year,witness\n"
NAMES = ("Maria.Lopez", "lopez_maria", "MLopez")


def csv(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def row(key: str, decision: str = "granted", giver: str = "parent", day: str = "2026-09-01"):
    return f"{key},{decision},{giver},paper,{day},Cedar Hill,7,2013,"


def preview(study, content: bytes) -> ConsentImport:
    return services.consent_import_preview(
        agreement=study["agreement"],
        by=study["users"]["director"],
        filename="consent.csv",
        content=content,
        default_form=study["form"],
        today=TODAY,
    )


def record(study, key: str, action: str = "granted", **extra):
    return services.consent_record(
        agreement=study["agreement"],
        by=study["users"]["director"],
        student_key=key,
        action=action,
        given_by="parent",
        method="paper",
        decided_on=TODAY,
        form=study["form"],
        today=TODAY,
        **extra,
    )


def set_format(study, text: str, *, keep: bool = False):
    return organisation_student_key_format_set(
        organisation=study["orgs"]["riverbend-usd"],
        by=study["users"]["director"],
        student_key_format=text,
        keep_keys_not_matching=keep,
    )


def assert_nowhere(*values: str) -> None:
    """None of ``values`` is in any audit entry or stored import report."""
    stored = json.dumps(
        [
            list(AuditEntry.objects.values_list("payload", "object_id", "actor_label")),
            list(ConsentImport.objects.values_list("errors", "counts", "filename")),
        ],
        default=str,
    )
    for value in values:
        assert value not in stored


# --- the CSV import ---------------------------------------------------------------------------


def test_an_import_refuses_keys_shaped_like_names_naming_the_rows_only(study, caplog):
    caplog.set_level(logging.DEBUG)
    content = csv(row("S1234567"), row(NAMES[0]), row("stu-0042"), row(NAMES[1]), row(NAMES[2]))
    item = preview(study, content)
    assert item.status == "rejected" and item.error_count == 3
    assert [(e["row"], e["column"]) for e in item.errors] == [
        (3, "student_key"),
        (5, "student_key"),
        (6, "student_key"),
    ]
    assert all(e["message"].startswith("This looks like a name") for e in item.errors)
    assert not ConsentRecord.objects.exists() and not StudentConsent.objects.exists()
    assert_nowhere(*NAMES)
    for name in NAMES:
        assert name not in caplog.text


def test_an_import_applies_the_districts_format(study):
    set_format(study, "S#######")
    item = preview(study, csv(row("S1234567"), row("RB-100001"), row("S123456")))
    assert [(e["row"], e["column"]) for e in item.errors] == [
        (3, "student_key"),
        (4, "student_key"),
    ]
    message = item.errors[0]["message"]
    assert message.startswith("Not in the district's student key format: “S” followed by 7")
    assert "RB-100001" not in json.dumps(item.errors)
    ok = preview(study, csv(row("S1234567"), row("S7654321")))
    assert ok.error_count == 0
    services.consent_import_confirm(consent_import=ok, by=study["users"]["director"], today=TODAY)
    assert set(StudentConsent.objects.values_list("student_key", flat=True)) == {
        "S1234567",
        "S7654321",
    }


def test_the_import_pages_name_the_row_and_never_show_the_key(client, study):
    client.force_login(study["users"]["director"])
    pk = study["agreement"].pk
    response = client.post(
        reverse("consent-import", args=[pk]),
        {
            "file": SimpleUploadedFile("c.csv", csv(row("A1"), row("Maria.Lopez"))),
            "default_form": study["form"].pk,
        },
        follow=True,
    )
    body = response.content.decode()
    assert "1 problem: nothing was imported" in body
    assert '<td class="num">3</td><td><code>student_key</code></td>' in body
    assert "Maria.Lopez" not in body and "Maria" not in body
    upload_page = client.get(reverse("consent-import", args=[pk])).content.decode()
    assert "no word of four or more letters" in upload_page  # the rule, before uploading


# --- the record form and the services ---------------------------------------------------------


@pytest.mark.parametrize("key", NAMES)
def test_the_record_form_refuses_a_name_and_does_not_show_it_again(client, study, key):
    client.force_login(study["users"]["director"])
    response = client.post(
        reverse("consent-record", args=[study["agreement"].pk]),
        {
            "student_key": key,
            "action": "granted",
            "given_by": "parent",
            "method": "paper",
            "decided_on": TODAY.isoformat(),
            "form": study["form"].pk,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This looks like a name" in body
    assert key not in body
    assert not ConsentRecord.objects.exists()
    assert_nowhere(key)


def test_the_record_form_says_what_the_districts_keys_look_like(client, study):
    set_format(study, "S#######")
    client.force_login(study["users"]["director"])
    body = client.get(reverse("consent-record", args=[study["agreement"].pk])).content.decode()
    assert "Riverbend Unified School District&#x27;s student key: “S” followed by 7 digits" in body


def test_the_service_refuses_names_and_keys_outside_the_format(study):
    with pytest.raises(DomainError) as error:
        record(study, "Maria.Lopez")
    assert "Maria" not in str(error.value)
    assert list(error.value.message_dict) == ["student_key"]
    record(study, "RB-100001")  # pseudonymous: passes without a format
    set_format(study, "S#######", keep=True)
    with pytest.raises(DomainError, match="“S” followed by 7 digits"):
        record(study, "RB-100002")
    record(study, "S1234567")
    assert set(StudentConsent.objects.values_list("student_key", flat=True)) == {
        "RB-100001",
        "S1234567",
    }


# --- existing keys ----------------------------------------------------------------------------


def test_students_already_in_the_cohort_keep_their_key_after_a_format_change(study):
    director = study["users"]["director"]
    done = preview(study, csv(row("A1"), row("A2"), row("A3")))
    services.consent_import_confirm(consent_import=done, by=director, today=TODAY)
    with pytest.raises(DomainError, match="3 student key"):
        set_format(study, "S#######")
    set_format(study, "S#######", keep=True)
    # A family can still withdraw, by form or by file; a new student needs the new format.
    record(study, "A1", action="withdrawn")
    withdrawal = preview(study, csv(row("A2", "withdrawn", day="2026-09-20"), row("A9")))
    assert [(e["row"], e["column"]) for e in withdrawal.errors] == [(3, "student_key")]
    with pytest.raises(DomainError):
        record(study, "A9")
    # The models agree: a kept key is valid, a new key outside the format is not.
    StudentConsent.objects.get(student_key="A3").full_clean()
    ConsentRecord.objects.filter(student_key="A1").first().full_clean()


def test_the_models_refuse_a_key_outside_the_districts_rule(study):
    record(study, "S1234567")
    stored = ConsentRecord.objects.get()
    for key in ("Maria.Lopez", "lopez_maria"):
        fresh = ConsentRecord(
            agreement=study["agreement"],
            student_key=key,
            action="granted",
            given_by="parent",
            method="paper",
            decided_on=TODAY,
            form=study["form"],
        )
        with pytest.raises(ValidationError) as error:
            fresh.full_clean()
        assert "student_key" in error.value.message_dict
        assert key not in str(error.value)
        with pytest.raises(ValidationError):
            StudentConsent(
                agreement=study["agreement"], student_key=key, state_as_of=TODAY
            ).full_clean()
    set_format(study, "RB-######", keep=True)
    with pytest.raises(ValidationError, match="“RB-” followed by 6 digits"):
        StudentConsent(
            agreement=study["agreement"], student_key="S7654321", state_as_of=TODAY
        ).full_clean()
    stored.full_clean()  # S1234567 is in the cohort: kept


def test_the_district_is_told_how_many_recorded_keys_a_format_misses_never_which(study):
    director = study["users"]["director"]
    done = preview(study, csv(row("S1234567"), row("RB-100001"), row("RB-100002")))
    services.consent_import_confirm(consent_import=done, by=director, today=TODAY)
    with pytest.raises(DomainError) as error:
        set_format(study, "S#######")
    message = str(error.value)
    assert "2 student key(s) already recorded" in message and "RB-1" not in message
    assert set_format(study, "RB-######, S#######").keys_not_matching == 0
    entry = AuditEntry.objects.filter(action="student_key_format_set").get()
    assert entry.payload["keys_not_matching"] == 0 and entry.payload["to"] == "RB-######, S#######"
    assert_nowhere("RB-100001", "RB-100002", "S1234567")


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_districts_consent_file_passes_its_format(demo):
    from consent.demo import TITLE, seed_consent
    from partners.student_key_settings import seed_student_key_formats

    seed_student_key_formats()
    riverbend = demo["orgs"]["riverbend-usd"]
    riverbend.refresh_from_db()
    assert riverbend.student_key_format == "RB-######"
    seed_consent(demo["collaboratory"])  # raises if its consent file has errors
    keys = StudentConsent.objects.filter(agreement__title=TITLE)
    assert keys.count() > 300
    assert not keys.exclude(student_key__regex=r"^RB-[0-9]{6}$").exists()
