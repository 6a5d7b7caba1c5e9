"""A trio is exactly three distinct organisations, one per kind — in services, admin and DB."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from collaboratory.errors import DomainError
from partners.models import Trio, TrioMember
from partners.services import organisation_create, trio_create
from tests.conftest import otp_verified


@pytest.fixture
def orgs(demo):
    return demo["orgs"]


def test_it_creates_a_valid_trio(demo, orgs):
    trio = trio_create(
        collaboratory=demo["collaboratory"],
        name="New Trio",
        research=orgs["hillcrest-state"],
        district=orgs["lakeshore-cps"],
        developer=orgs["openalgebra"],
    )
    assert {m.role: m.organisation.slug for m in trio.members.all()} == {
        "research": "hillcrest-state",
        "district": "lakeshore-cps",
        "developer": "openalgebra",
    }


def test_it_refuses_two_organisations_of_the_same_kind(demo, orgs):
    with pytest.raises(DomainError) as error:
        trio_create(
            collaboratory=demo["collaboratory"],
            name="Two districts",
            research=orgs["hillcrest-state"],
            district=orgs["lakeshore-cps"],
            developer=orgs["riverbend-usd"],
        )
    assert error.value.message_dict == {
        "developer": [
            "Riverbend Unified School District is a school district; the curriculum developer "
            "must be an organisation of that kind."
        ]
    }
    assert not Trio.objects.filter(name="Two districts").exists()


def test_it_refuses_the_same_organisation_twice(demo, orgs):
    with pytest.raises(DomainError) as error:
        trio_create(
            collaboratory=demo["collaboratory"],
            name="Same twice",
            research=orgs["hillcrest-state"],
            district=orgs["hillcrest-state"],
            developer=orgs["openalgebra"],
        )
    messages = error.value.message_dict
    assert any("chosen more than once" in m for m in messages["district"])
    assert not Trio.objects.filter(name="Same twice").exists()


def test_member_clean_names_the_kind_mismatch(demo, orgs):
    member = TrioMember(
        trio=demo["trios"]["adaptive-practice"],
        organisation=orgs["quadratic-labs"],
        role="district",
    )
    with pytest.raises(Exception) as error:
        member.full_clean(validate_constraints=False)
    assert "Quadratic Labs is a curriculum developer" in str(error.value)


def test_database_refuses_a_member_of_the_wrong_kind(demo, orgs):
    trio = demo["trios"]["adaptive-practice"]
    with pytest.raises(IntegrityError, match="cannot be a trio's district"):
        with transaction.atomic():
            TrioMember.objects.filter(trio=trio, role="district").update(
                organisation=orgs["quadratic-labs"]
            )


def test_database_refuses_the_same_organisation_twice(demo, orgs):
    trio = demo["trios"]["adaptive-practice"]
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            TrioMember.objects.create(
                trio=trio, organisation=orgs["riverbend-usd"], role="district"
            )


def test_database_refuses_an_organisation_changing_kind_while_in_a_trio(demo, orgs):
    with pytest.raises(IntegrityError, match="its kind cannot change"):
        with transaction.atomic():
            type(orgs["riverbend-usd"]).objects.filter(pk=orgs["riverbend-usd"].pk).update(
                kind="research"
            )


@pytest.mark.django_db(transaction=True)
def test_database_refuses_committing_a_trio_without_three_members(demo):
    from partners.models import Collaboratory

    collaboratory = Collaboratory.objects.get(slug="aims")
    with pytest.raises(IntegrityError, match="exactly three"):
        with transaction.atomic():
            trio = Trio.objects.create(collaboratory=collaboratory, name="Lonely", slug="lonely")
            research = organisation_create(name="Solo Lab", kind="research")
            TrioMember.objects.create(trio=trio, organisation=research, role="research")
    assert not Trio.objects.filter(slug="lonely").exists()


def test_admin_refuses_a_trio_with_two_districts(client, demo, orgs):
    otp_verified(client, demo["users"]["facilitator"])
    response = client.post(
        reverse("admin:partners_trio_add"),
        {
            "collaboratory": demo["collaboratory"].pk,
            "name": "Admin trio",
            "slug": "admin-trio",
            "description": "",
            "research": orgs["riverbend-usd"].pk,
            "district": orgs["lakeshore-cps"].pk,
            "developer": orgs["openalgebra"].pk,
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "research_questions-TOTAL_FORMS": "0",
            "research_questions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert (
        "Riverbend Unified School District is a school district; the research partner must be "
        "an organisation of that kind." in response.content.decode()
    )
    assert not Trio.objects.filter(slug="admin-trio").exists()


def test_admin_creates_a_valid_trio_with_members(client, demo, orgs):
    otp_verified(client, demo["users"]["facilitator"])
    response = client.post(
        reverse("admin:partners_trio_add"),
        {
            "collaboratory": demo["collaboratory"].pk,
            "name": "Admin trio",
            "slug": "admin-trio",
            "description": "",
            "research": orgs["hillcrest-state"].pk,
            "district": orgs["lakeshore-cps"].pk,
            "developer": orgs["openalgebra"].pk,
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "research_questions-TOTAL_FORMS": "1",
            "research_questions-INITIAL_FORMS": "0",
            "research_questions-0-position": "1",
            "research_questions-0-text": "Does it work?",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    trio = Trio.objects.get(slug="admin-trio")
    assert trio.members.count() == 3
    assert trio.research_questions.get().text == "Does it work?"


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:partners_organisation_changelist",
        "admin:partners_trio_changelist",
        "admin:partners_membership_changelist",
        "admin:partners_collaboratory_changelist",
        "admin:partners_researchquestion_changelist",
    ],
)
def test_facilitator_can_use_the_admin_with_search_and_filters(client, demo, url_name):
    otp_verified(client, demo["users"]["facilitator"])
    response = client.get(reverse(url_name), {"q": "a"})
    assert response.status_code == 200


def test_admin_trio_change_page_shows_members(client, demo):
    otp_verified(client, demo["users"]["facilitator"])
    trio = demo["trios"]["adaptive-practice"]
    page = client.get(reverse("admin:partners_trio_change", args=[trio.pk])).content.decode()
    assert "Brightpath Learning, Inc." in page
    assert "Do students who complete" in page


def test_seed_demo_is_idempotent(demo):
    from django.contrib.auth import get_user_model

    from partners.demo import seed_partners
    from partners.models import Membership, Organisation, ResearchQuestion

    before = (
        Organisation.objects.count(),
        Trio.objects.count(),
        TrioMember.objects.count(),
        Membership.objects.count(),
        ResearchQuestion.objects.count(),
        get_user_model().objects.count(),
    )
    seed_partners()
    after = (
        Organisation.objects.count(),
        Trio.objects.count(),
        TrioMember.objects.count(),
        Membership.objects.count(),
        ResearchQuestion.objects.count(),
        get_user_model().objects.count(),
    )
    assert before == after == (9, 4, 12, before[3], before[4], 9)
