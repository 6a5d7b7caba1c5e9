"""Partnerships pages (issue 19 item 5): facilitators create and edit organisations and trios
in the product; everyone else gets 404; every write is a service with an audit entry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError
from partners.models import Collaboratory, Organisation, Trio
from partners.services import (
    organisation_create,
    organisation_update,
    trio_create,
    trio_update,
)
from tests.conftest import otp_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def facilitator(client, demo):
    client.force_login(demo["users"]["facilitator"])
    return demo["users"]["facilitator"]


def _new_partners(by=None):
    return (
        organisation_create(name="Westbrook Lab", kind="research", by=by),
        organisation_create(name="Westbrook Schools", kind="district", by=by),
        organisation_create(name="Westbrook Maths", kind="developer", by=by),
    )


# --- services --------------------------------------------------------------------------------


def test_organisation_create_and_update_are_audited(demo):
    facilitator = demo["users"]["facilitator"]
    organisation = organisation_create(name="Westbrook Lab", kind="research", by=facilitator)
    assert organisation.slug == "westbrook-lab"
    created = AuditEntry.objects.get(
        action=AuditAction.ORGANISATION_CREATED, object_id=str(organisation.pk)
    )
    assert created.actor_id == facilitator.pk
    assert created.payload == {"name": "Westbrook Lab", "kind": "research", "slug": "westbrook-lab"}

    organisation_update(
        organisation=organisation, name="Westbrook Lab", kind="district", slug="wb", by=facilitator
    )
    organisation.refresh_from_db()
    assert (organisation.kind, organisation.slug) == ("district", "wb")
    changed = AuditEntry.objects.get(
        action=AuditAction.ORGANISATION_CHANGED, object_id=str(organisation.pk)
    )
    assert changed.payload == {
        "kind": {"from": "research", "to": "district"},
        "slug": {"from": "westbrook-lab", "to": "wb"},
    }


def test_an_organisation_kind_that_would_break_a_trio_is_refused(demo):
    riverbend = demo["orgs"]["riverbend-usd"]
    with pytest.raises(DomainError) as error:
        organisation_update(
            organisation=riverbend, name=riverbend.name, kind="research", slug=riverbend.slug
        )
    assert "takes part in trios as a school district" in error.value.message_dict["kind"][0]
    riverbend.refresh_from_db()
    assert riverbend.kind == "district"
    assert not AuditEntry.objects.filter(action=AuditAction.ORGANISATION_CHANGED).exists()


def test_duplicate_organisation_names_and_slugs_are_refused_clearly(demo):
    with pytest.raises(DomainError) as error:
        organisation_create(name="quadratic labs", kind="developer")
    assert error.value.message_dict["name"] == [
        "An organisation called “quadratic labs” already exists; choose another name, or use "
        "the existing organisation."
    ]
    with pytest.raises(DomainError) as error:
        organisation_create(name="Quadratic Two", kind="developer", slug="quadratic-labs")
    assert "short name “quadratic-labs”" in error.value.message_dict["slug"][0]


def test_trio_create_and_update_are_audited_and_check_kinds(demo):
    facilitator = demo["users"]["facilitator"]
    research, district, developer = _new_partners()
    with pytest.raises(DomainError) as error:
        trio_create(
            collaboratory=demo["collaboratory"],
            name="Westbrook",
            research=district,
            district=district,
            developer=developer,
        )
    assert "Westbrook Schools is a school district" in error.value.message_dict["research"][0]
    assert not Trio.objects.filter(name="Westbrook").exists()

    trio = trio_create(
        collaboratory=demo["collaboratory"],
        name="Westbrook",
        research=research,
        district=district,
        developer=developer,
        by=facilitator,
    )
    entry = AuditEntry.objects.get(action=AuditAction.TRIO_CREATED, object_id=str(trio.pk))
    assert entry.payload["research"] == research.pk and entry.actor_id == facilitator.pk

    other_developer = demo["orgs"]["openalgebra"]
    trio_update(
        trio=trio,
        name="Westbrook Algebra",
        slug="westbrook",
        description="Algebra in Westbrook.",
        research=research,
        district=district,
        developer=other_developer,
        by=facilitator,
    )
    trio.refresh_from_db()
    assert trio.member("developer") == other_developer
    changed = AuditEntry.objects.get(action=AuditAction.TRIO_CHANGED, object_id=str(trio.pk))
    assert changed.payload["developer"] == {"from": developer.pk, "to": other_developer.pk}
    assert changed.payload["name"] == {"from": "Westbrook", "to": "Westbrook Algebra"}


def test_a_duplicate_trio_name_in_the_collaboratory_is_refused_clearly(demo):
    research, district, developer = _new_partners()
    with pytest.raises(DomainError) as error:
        trio_create(
            collaboratory=demo["collaboratory"],
            name="Adaptive Practice in Algebra I",
            slug="another",
            research=research,
            district=district,
            developer=developer,
        )
    assert error.value.message_dict["name"] == [
        "The collaboratory already has a trio called “Adaptive Practice in Algebra I”; choose "
        "another name."
    ]


# --- pages: who gets in ----------------------------------------------------------------------


def _urls(demo) -> list[str]:
    return [
        reverse("partnership-list"),
        reverse("partnership-organisation-new"),
        reverse("partnership-organisation-edit", args=["riverbend-usd"]),
        reverse("partnership-trio-new"),
        reverse("partnership-trio-edit", args=[demo["trios"]["adaptive-practice"].pk]),
    ]


@pytest.mark.parametrize("who", ["outsider", "director", "counsel", "lakeshore"])
def test_everyone_but_facilitators_gets_404(client, demo, outsider, who):
    user = outsider if who == "outsider" else demo["users"][who]
    client.force_login(user)
    for url in _urls(demo):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "X", "kind": "research"}).status_code == 404, url
    assert not Organisation.objects.filter(name="X").exists()


def test_anonymous_is_sent_to_log_in(client, demo):
    for url in _urls(demo):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_nav_links_partnerships_for_facilitators_only(client, demo, facilitator):
    assert reverse("partnership-list") in client.get("/").content.decode()
    client.force_login(demo["users"]["director"])
    assert reverse("partnership-list") not in client.get("/").content.decode()


def test_a_facilitator_cannot_edit_another_collaboratorys_organisations_or_trios(
    client, demo, facilitator
):
    other = Collaboratory.objects.create(name="Elsewhere", slug="elsewhere", code="ELSE")
    research, district, developer = _new_partners()
    trio = trio_create(
        collaboratory=other,
        name="Elsewhere trio",
        research=research,
        district=district,
        developer=developer,
    )
    assert client.get(reverse("partnership-trio-edit", args=[trio.pk])).status_code == 404
    edit = reverse("partnership-organisation-edit", args=[research.slug])
    assert client.get(edit).status_code == 404
    page = client.get(reverse("partnership-list")).content.decode()
    assert "Elsewhere trio" not in page and "Westbrook Lab" not in page


# --- pages: the list -------------------------------------------------------------------------


def test_the_list_shows_trios_with_members_and_agreement_counts(
    client, demo, facilitator, django_assert_max_num_queries
):
    url = reverse("partnership-list")
    # Session, user, facilitated collaboratories (exists), trios (+collaboratory, agreement
    # count), their members (+organisation), the organisations, messages.
    with django_assert_max_num_queries(7):
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    trio = demo["trios"]["adaptive-practice"]
    row = page[page.index(f'id="trio-{trio.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Adaptive Practice in Algebra I" in row
    for member in ("Northfield University", "Riverbend Unified", "Brightpath Learning"):
        assert member in row
    count = trio.agreements.count()
    assert count > 0
    assert f'data-label="Agreements">{count}</td>' in row
    # The facilitator organisation and the funder are not partner organisations.
    assert "aims-hub" not in page


# --- pages: creating and editing -------------------------------------------------------------


def test_a_facilitator_creates_and_edits_an_organisation(client, demo, facilitator):
    response = client.post(
        reverse("partnership-organisation-new"),
        {"name": "Westbrook Lab", "kind": "research", "slug": ""},
    )
    organisation = Organisation.objects.get(name="Westbrook Lab")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#organisation-{organisation.pk}")
    assert organisation.slug == "westbrook-lab"
    response = client.post(
        reverse("partnership-organisation-edit", args=[organisation.slug]),
        {"name": "Westbrook Learning Lab", "kind": "research", "slug": "westbrook"},
    )
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert (organisation.name, organisation.slug) == ("Westbrook Learning Lab", "westbrook")


def test_bad_organisation_input_is_explained_and_nothing_is_written(client, demo, facilitator):
    before = Organisation.objects.count()
    page = client.post(
        reverse("partnership-organisation-new"),
        {"name": "Quadratic Labs", "kind": "developer", "slug": ""},
    ).content.decode()
    assert "An organisation called “Quadratic Labs” already exists" in page
    page = client.post(
        reverse("partnership-organisation-new"), {"name": "", "kind": "funder"}
    ).content.decode()
    assert "Give the organisation its name." in page
    assert "Choose a research partner, a school district or a curriculum developer." in page
    assert Organisation.objects.count() == before

    page = client.post(
        reverse("partnership-organisation-edit", args=["riverbend-usd"]),
        {"name": "Riverbend Unified School District", "kind": "developer", "slug": "riverbend-usd"},
    ).content.decode()
    assert "takes part in trios as a school district; its kind cannot change" in page
    assert Organisation.objects.get(slug="riverbend-usd").kind == "district"


def test_a_facilitator_creates_a_trio(client, demo, facilitator):
    research, district, developer = _new_partners()
    form = client.get(reverse("partnership-trio-new")).content.decode()
    # Each list offers only organisations of its kind.
    research_select = form[
        form.index('name="research"') : form.index("</select>", form.index('name="research"'))
    ]
    assert "Westbrook Lab" in research_select and "Westbrook Schools" not in research_select
    response = client.post(
        reverse("partnership-trio-new"),
        {
            "collaboratory": demo["collaboratory"].pk,
            "name": "Westbrook Algebra",
            "slug": "",
            "research": research.pk,
            "district": district.pk,
            "developer": developer.pk,
            "description": "Algebra in Westbrook.",
        },
    )
    trio = Trio.objects.get(name="Westbrook Algebra")
    assert response.status_code == 302 and response["Location"].endswith(f"#trio-{trio.pk}")
    assert trio.slug == "westbrook-algebra" and trio.collaboratory == demo["collaboratory"]
    assert {m.role: m.organisation for m in trio.members.all()} == {
        "research": research,
        "district": district,
        "developer": developer,
    }


def test_bad_trio_input_is_explained_and_nothing_is_written(client, demo, facilitator):
    research, district, developer = _new_partners()
    data = {
        "collaboratory": demo["collaboratory"].pk,
        "name": "Westbrook Algebra",
        "research": district.pk,  # a district as the research partner (a hand-made request)
        "district": district.pk,
        "developer": developer.pk,
    }
    page = client.post(reverse("partnership-trio-new"), data).content.decode()
    assert "Westbrook Schools is a school district; the research partner must be an" in page
    page = client.post(
        reverse("partnership-trio-new"), {**data, "research": "", "name": ""}
    ).content.decode()
    assert "Choose the trio&#x27;s research partner." in page
    assert "Give the trio its name." in page
    page = client.post(
        reverse("partnership-trio-new"),
        {**data, "research": research.pk, "name": "Adaptive Practice in Algebra I"},
    ).content.decode()
    assert "The collaboratory already has a trio called “Adaptive Practice in Algebra I”" in page
    assert not Trio.objects.filter(name="Westbrook Algebra").exists()
    assert not AuditEntry.objects.filter(action=AuditAction.TRIO_CREATED).exists()


def test_a_trio_with_a_signed_agreement_keeps_its_members(client, demo, facilitator):
    trio = demo["trios"]["adaptive-practice"]
    members = {m.role: m.organisation_id for m in trio.members.all()}
    response = client.post(
        reverse("partnership-trio-edit", args=[trio.pk]),
        {
            **members,
            "developer": demo["orgs"]["openalgebra"].pk,
            "name": trio.name,
            "slug": trio.slug,
            "description": trio.description,
        },
    )
    assert response.status_code == 200
    assert "members cannot change: agreement" in response.content.decode()
    assert {m.role: m.organisation_id for m in trio.members.all()} == members
    # Renaming it is fine.
    response = client.post(
        reverse("partnership-trio-edit", args=[trio.pk]),
        {**members, "name": "Adaptive Practice", "slug": trio.slug, "description": ""},
    )
    assert response.status_code == 302
    trio.refresh_from_db()
    assert trio.name == "Adaptive Practice"


def test_a_staff_superuser_still_maintains_templates_in_the_admin_but_facilitators_do_not(
    client, admin_user, demo
):
    """Issue 19 item 5: the admin is staff maintenance. The facilitator has no agreements
    permissions any more (partners/demo.py); a superuser keeps them all."""
    facilitator = demo["users"]["facilitator"]
    assert not facilitator.has_module_perms("agreements")
    assert facilitator.has_perm("partners.change_collaboratory")
    otp_verified(client, facilitator)
    assert client.get(reverse("admin:agreements_dsatemplate_changelist")).status_code == 403
    otp_verified(client, admin_user)
    assert client.get(reverse("admin:agreements_dsatemplate_changelist")).status_code == 200
