"""Who acts for which party of an agreement, in which role (agreements/access.py): the one rule
the services, pages and consent services ask."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from agreements.access import (
    acting_memberships,
    acting_parties,
    acting_party,
    acts_for_party,
    parties_in_role,
    roles_by_party,
)
from agreements.models import Agreement
from agreements.selectors import with_agreement_detail
from collaboratory.errors import DomainError
from partners.models import Membership, Role

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"  # Northfield, Riverbend, BrightPath


@pytest.fixture
def agreement(demo) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=demo["agreements"][IN_REVIEW].pk)


def refused(user, agreement, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        acting_party(user, agreement, *args, **kwargs)
    assert caught.value.code == "not_allowed"
    return caught.value


def test_it_names_the_party_a_user_acts_for_in_one_role(demo, agreement):
    assert acting_party(demo["users"]["counsel"], agreement, Role.LEGAL) == (
        demo["orgs"]["northfield-university"].pk
    )


def test_it_accepts_any_of_several_roles(demo, agreement):
    # The researcher is Northfield's staff and signatory, not its director.
    researcher = demo["users"]["researcher"]

    assert acting_party(researcher, agreement, (Role.SIGNATORY, Role.DIRECTOR)) == (
        demo["orgs"]["northfield-university"].pk
    )
    refused(researcher, agreement, (Role.LEGAL, Role.DIRECTOR))


def test_without_roles_any_membership_of_a_party_acts(demo, agreement):
    assert acting_party(demo["users"]["researcher"], agreement) == (
        demo["orgs"]["northfield-university"].pk
    )


def test_it_refuses_a_party_member_without_the_role_and_says_who_may(demo, agreement):
    error = refused(demo["users"]["counsel"], agreement, Role.SIGNATORY)

    assert str(error.message) == (
        "Only a party's signatory can do this, and you are not one for this agreement."
    )
    error = refused(
        demo["users"]["counsel"], agreement, (Role.SIGNATORY, Role.DIRECTOR), action="terminate"
    )
    assert str(error.message) == "Only a party's signatory or research director can terminate."


def test_organisation_id_picks_one_of_several_parties(demo, agreement):
    counsel = demo["users"]["counsel"]
    northfield, riverbend = demo["orgs"]["northfield-university"], demo["orgs"]["riverbend-usd"]
    Membership.objects.create(user=counsel, organisation=riverbend, role=Role.LEGAL)

    assert acting_parties(counsel, agreement, Role.LEGAL) == sorted([northfield.pk, riverbend.pk])
    assert acting_party(counsel, agreement, Role.LEGAL) == min(northfield.pk, riverbend.pk)
    assert acting_party(counsel, agreement, Role.LEGAL, organisation_id=riverbend.pk) == (
        riverbend.pk
    )
    # An organisation that is no party of the agreement is no choice.
    refused(counsel, agreement, Role.LEGAL, organisation_id=demo["orgs"]["lakeshore-cps"].pk)


def test_party_role_requires_that_party(demo, agreement):
    district = "see or change individual students' consent"

    assert acting_party(
        demo["users"]["director"], agreement, party_role="district", action=district
    ) == (demo["orgs"]["riverbend-usd"].pk)
    error = refused(demo["users"]["counsel"], agreement, party_role="district", action=district)
    assert str(error.message) == (
        "Only the district's people can see or change individual students' consent."
    )


@pytest.mark.parametrize("who", ["anonymous", "facilitator", "outsider", "lakeshore"])
def test_it_refuses_everyone_who_acts_for_no_party(demo, agreement, outsider, who):
    user = {"anonymous": AnonymousUser(), "outsider": outsider}.get(who) or demo["users"][who]

    assert acting_parties(user, agreement) == []
    assert roles_by_party(user, agreement) == {}
    error = refused(user, agreement)
    assert str(error.message) == "Only the parties' people can do this."


def test_an_inactive_member_acts_for_nobody(demo, agreement):
    counsel = demo["users"]["counsel"]
    counsel.is_active = False
    counsel.save(update_fields=["is_active"])

    refused(counsel, agreement, Role.LEGAL)


def test_pages_and_services_answer_alike(demo, agreement, django_assert_num_queries):
    director = demo["users"]["director"]
    # Queries: the director's memberships of the agreement's parties.
    with django_assert_num_queries(1):
        held = roles_by_party(director, agreement)

    riverbend = demo["orgs"]["riverbend-usd"].pk
    assert held == {riverbend: {Role.DIRECTOR, Role.SIGNATORY, Role.LEGAL, Role.ADMIN}}
    for roles in (None, Role.LEGAL, (Role.STAFF, Role.SIGNATORY), Role.STAFF):
        assert parties_in_role(held, roles) == acting_parties(director, agreement, roles)


def test_the_queryset_form_finds_the_same_agreements(demo, agreement, outsider):
    acted_for = Agreement.objects.filter(acts_for_party(demo["users"]["counsel"], Role.LEGAL))
    district = Agreement.objects.filter(
        acts_for_party(demo["users"]["counsel"], party_role="district")
    )

    assert acted_for.filter(pk=agreement.pk).exists()
    assert not district.exists()
    assert not Agreement.objects.filter(acts_for_party(demo["users"]["facilitator"])).exists()
    assert not Agreement.objects.filter(acts_for_party(AnonymousUser())).exists()
    assert not Agreement.objects.filter(acts_for_party(outsider)).exists()


def test_the_parties_side_names_the_people_who_act_for_them(demo, agreement):
    """``acting_memberships`` (who hears a notification) is the same rule as
    ``acting_parties`` (who may act), asked from the parties' side."""
    for roles in (None, Role.LEGAL, (Role.STAFF, Role.SIGNATORY)):
        for user in get_user_model().objects.all():
            acted_for = acting_memberships(agreement, roles).filter(user=user)
            assert sorted(set(acted_for.values_list("organisation_id", flat=True))) == (
                acting_parties(user, agreement, roles)
            ), (user.username, roles)

    riverbend = demo["orgs"]["riverbend-usd"].pk
    only_riverbend = acting_memberships(
        agreement, Role.LEGAL, organisation_ids=[riverbend, demo["orgs"]["lakeshore-cps"].pk]
    )
    assert set(only_riverbend.values_list("organisation_id", flat=True)) == {riverbend}

    counsel = demo["users"]["counsel"]
    counsel.is_active = False
    counsel.save(update_fields=["is_active"])
    assert not acting_memberships(agreement).filter(user=counsel).exists()


def test_roles_by_party_answers_each_user_from_one_built_statement(demo, outsider):
    """roles_by_party's statement is built once (collaboratory.prepared.shaped_rows) and run
    with each user and each agreement's parties: every answer is the memberships that user
    holds in that agreement's parties, as the ORM reads them."""
    from collaboratory import prepared
    from partners.selectors import memberships_of

    prepared.clear()
    users = [*demo["users"].values(), outsider]
    agreements = list(with_agreement_detail(Agreement.objects.all()).order_by("reference"))
    answered = 0
    for user in users:
        for agreement in agreements:
            parties = {m.organisation_id for m in agreement.trio.members.all()}
            expected: dict[int, set[str]] = {}
            for membership in memberships_of(user).filter(organisation_id__in=parties):
                expected.setdefault(membership.organisation_id, set()).add(membership.role)
            assert roles_by_party(user, agreement) == expected, (user.username, agreement.pk)
            answered += bool(expected)
    assert 0 < answered < len(users) * len(agreements)
    inactive = demo["users"]["counsel"]
    inactive.is_active = False
    assert roles_by_party(inactive, agreements[0]) == {}
    assert roles_by_party(AnonymousUser(), agreements[0]) == {}
