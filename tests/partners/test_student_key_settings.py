"""A district's Student keys page (issue 20, item 5): its admins set the format, see it in
words with examples, are told how many recorded keys a new format misses (never which) and
decide; everyone else gets 404. The service audits each change (the partner API's view of
the rule: tests/api/test_student_keys.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from audit.models import AuditEntry
from collaboratory.errors import DomainError
from partners.models import Membership
from partners.student_key_settings import (
    organisation_student_key_format_set,
    student_key_format_check,
)
from tests.conftest import otp_verified


def url(slug: str = "riverbend-usd") -> str:
    return reverse("organisation-student-keys", args=[slug])


@pytest.fixture
def riverbend(demo):
    return demo["orgs"]["riverbend-usd"]


def test_the_admin_sees_the_rule_in_words_and_can_set_a_format(client, demo, riverbend):
    client.force_login(demo["users"]["director"])
    body = client.get(url()).content.decode()
    assert "No format is set. Keys shaped like names are refused" in body
    response = client.post(url(), {"student_key_format": " S####### "}, follow=True)
    body = response.content.decode()
    assert "Student keys must now be “S” followed by 7 digits." in body
    assert "<code>S#######</code>" in body and "<code>S7162958</code>" in body
    riverbend.refresh_from_db()
    assert riverbend.student_key_format == "S#######"
    entry = AuditEntry.objects.filter(action="student_key_format_set").get()
    assert entry.actor_id == demo["users"]["director"].pk
    assert entry.organisation_id == riverbend.pk
    assert entry.payload == {
        "from": "",
        "to": "S#######",
        "description": "“S” followed by 7 digits",
        "keys_not_matching": 0,
    }


def test_an_unchanged_format_is_not_written_or_audited_again(demo, riverbend):
    director = demo["users"]["director"]
    for _ in range(2):
        organisation_student_key_format_set(
            organisation=riverbend, by=director, student_key_format="S#######"
        )
    assert AuditEntry.objects.filter(action="student_key_format_set").count() == 1
    organisation_student_key_format_set(organisation=riverbend, by=director, student_key_format="")
    riverbend.refresh_from_db()
    assert riverbend.student_key_format == ""


def test_a_format_that_could_admit_names_is_refused_with_what_to_fix(client, demo, riverbend):
    client.force_login(demo["users"]["director"])
    response = client.post(url(), {"student_key_format": "@@@@##"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "allows 4 or more letters in a row, which can spell a name" in body
    riverbend.refresh_from_db()
    assert riverbend.student_key_format == ""
    assert not AuditEntry.objects.filter(action="student_key_format_set").exists()


def test_only_the_districts_admins_set_its_format(demo, riverbend):
    for username in ("counsel", "researcher", "vendor", "facilitator", "lakeshore"):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            continue
        with pytest.raises(DomainError, match="Only an admin of the district"):
            organisation_student_key_format_set(
                organisation=riverbend, by=user, student_key_format="S#######"
            )
    with pytest.raises(DomainError, match="Only a school district"):
        organisation_student_key_format_set(
            organisation=demo["orgs"]["northfield-university"],
            by=demo["users"]["researcher"],
            student_key_format="S#######",
        )


def test_outsiders_and_the_districts_other_members_get_404(client, demo, outsider, riverbend):
    client.force_login(outsider)
    assert client.get(url()).status_code == 404
    assert client.post(url(), {"student_key_format": "S#######"}).status_code == 404
    member = get_user_model().objects.create_user(username="clerk", password="x-1234567890")
    Membership.objects.create(user=member, organisation=riverbend, role="staff")
    client.force_login(member)
    assert client.get(url()).status_code == 404
    client.force_login(demo["users"]["researcher"])  # admin of nothing here
    assert client.get(url()).status_code == 404
    # An admin of a research partner has no student keys page either.
    Membership.objects.create(
        user=member, organisation=demo["orgs"]["northfield-university"], role="admin"
    )
    client.force_login(member)
    assert client.get(url("northfield-university")).status_code == 404
    riverbend.refresh_from_db()
    assert riverbend.student_key_format == ""


def test_the_page_query_count_is_fixed(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    organisation_student_key_format_set(
        organisation=demo["orgs"]["riverbend-usd"],
        by=demo["users"]["director"],
        student_key_format="S#######",
    )
    # session, user, the district among those the user administers.
    with django_assert_max_num_queries(3):
        assert client.get(url()).status_code == 200


def test_the_people_page_links_to_the_student_keys(client, demo):
    otp_verified(client, demo["users"]["director"])
    body = client.get(reverse("organisation-people", args=["riverbend-usd"])).content.decode()
    assert f'href="{url()}"' in body


def test_the_check_counts_recorded_keys_through_the_consent_hook(demo, riverbend):
    # Nothing recorded under Riverbend's agreements in the tests' demo.
    check = student_key_format_check(district=riverbend, text="S#######")
    assert check.keys_not_matching == 0 and check.key_format is not None
    with pytest.raises(DomainError) as error:
        student_key_format_check(district=riverbend, text="S ####")
    assert "student_key_format" in error.value.message_dict


def test_the_format_can_only_be_stored_on_a_district(demo):
    from django.db import IntegrityError, transaction

    from partners.models import Organisation

    with transaction.atomic(), pytest.raises(IntegrityError):
        Organisation.objects.filter(slug="northfield-university").update(
            student_key_format="S#######"
        )


def test_the_admin_shows_the_format_read_only(client, demo, riverbend):
    organisation_student_key_format_set(
        organisation=riverbend, by=demo["users"]["director"], student_key_format="S#######"
    )
    otp_verified(client, demo["users"]["facilitator"])
    change = reverse("admin:partners_organisation_change", args=[riverbend.pk])
    body = client.get(change).content.decode()
    assert "S#######" in body
    assert 'name="student_key_format"' not in body
