"""Moving an agreement in negotiation to a newer template version (issue 19 item 1): the
version differences become the facilitator's proposals; accepting them gives the newer
version's text (agreements.negotiation.upgrade)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse

from agreements.models import (
    Agreement,
    ClauseOverride,
    Notification,
    OverrideStatus,
    TemplateUpgrade,
    TemplateVersion,
)
from agreements.negotiation.proposals import conflict_resolve, override_propose, override_respond
from agreements.negotiation.services import agreement_create, agreement_open_negotiation
from agreements.negotiation.upgrade import agreement_template_upgrade, version_changes
from agreements.selectors import conflicts, consolidated_text, with_agreement_detail
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError

LEGAL = ("counsel", "vendor", "director")  # Northfield, Brightpath, Riverbend legal teams


def _clause(key, heading, body, kind="section", label=""):
    return SimpleNamespace(key=key, heading=heading, body=body, blocks=None, kind=kind, label=label)


# --- The differences, as plain values ------------------------------------------------------


def test_each_difference_is_one_proposal_in_document_order():
    old = [_clause("a", "A", "one"), _clause("b", "B", "two"), _clause("c", "C", "three")]
    new = [
        _clause("a", "A", "one"),
        _clause("b", "Bee", "two, revised"),
        _clause("x", "X", "new"),
        _clause("y", "Y", "newer"),
    ]
    changes, problems = version_changes(old, new)
    assert problems == []
    assert [(c.kind, c.clause_key, c.new_key) for c in changes] == [
        ("replace", "b", ""),
        ("delete", "c", ""),
        ("insert", "b", "x"),
        ("insert", "b", "y"),  # after the same shared clause, in the newer version's order
    ]
    assert changes[0].summary == "Changes the heading and text of “B”"
    assert (changes[0].heading, changes[0].body) == ("Bee", "two, revised")
    assert changes[1].summary == "Removes “C”"
    assert changes[2].summary == "Adds “X”"


def test_a_heading_change_alone_is_a_proposal():
    changes, problems = version_changes([_clause("a", "A", "one")], [_clause("a", "Aa", "one")])
    assert problems == []
    assert [c.summary for c in changes] == ["Changes the heading of “A”"]


def test_differences_proposals_cannot_express_are_named():
    old = [_clause("a", "A", "1"), _clause("b", "B", "2")]
    _, moved = version_changes(old, [_clause("b", "B", "2"), _clause("a", "A", "1")])
    assert "moves clauses to another place" in moved[0]
    _, first = version_changes(old, [_clause("z", "Z", "0"), *old])
    assert "“Z” before every clause" in first[0]
    _, kind = version_changes(old, [_clause("a", "A", "1", kind="signature"), old[1]])
    assert "what kind of part “A” is" in kind[0]


# --- The service on the demo ------------------------------------------------------------------


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _versions(demo) -> tuple[TemplateVersion, TemplateVersion]:
    v1 = TemplateVersion.objects.get(template__slug="standard-dsa", number=1)
    v2 = TemplateVersion.objects.get(template__slug="standard-dsa", number=2)
    return v1, v2


def _new_agreement(demo, version: TemplateVersion, *, negotiate: bool = True) -> Agreement:
    agreement = agreement_create(
        trio=demo["trios"]["adaptive-practice"],
        template_version=version,
        by=demo["users"]["director"],
        title="Upgrade check",
        purpose="Learn whether adaptive practice helps grade 8 algebra.",
        sharing_mode="analysis",
        start_date=dt.date(2027, 1, 1),
        term_months=24,
        breach_notice_hours=72,
        retention_days=365,
    )
    if negotiate:
        agreement_open_negotiation(agreement=agreement, by=demo["users"]["director"])
    return _fresh(agreement)


def _clauses(agreement: Agreement) -> list[tuple[str, str, str, str]]:
    text = consolidated_text(_fresh(agreement))
    return [(c.key, c.number, c.heading, c.body) for c in text.clauses]


@pytest.mark.django_db
def test_upgrading_yields_the_version_differences_and_accepting_them_gives_the_new_text(demo):
    v1, v2 = _versions(demo)
    users = demo["users"]
    agreement = _new_agreement(demo, v1)
    before = _clauses(agreement)

    upgrade = agreement_template_upgrade(agreement=agreement, by=users["facilitator"], version=v2)

    expected, _ = version_changes(
        list(v1.clauses.order_by("order")), list(v2.clauses.order_by("order"))
    )
    proposals = list(
        ClauseOverride.objects.filter(agreement=agreement).order_by("created_at", "id")
    )
    assert len(expected) >= 3
    assert [(o.kind, o.clause_key, o.new_key, o.heading, o.body) for o in proposals] == [
        (c.kind, c.clause_key, c.new_key, c.heading, c.body) for c in expected
    ]
    assert set(upgrade.proposals.all()) == set(proposals)
    hub = demo["orgs"]["aims-hub"]
    assert {(o.organisation_id, o.proposed_by_id, o.status) for o in proposals} == {
        (hub.pk, users["facilitator"].pk, OverrideStatus.PROPOSED)
    }
    # Until the parties answer, the agreement keeps its version and its text.
    assert _fresh(agreement).template_version_id == v1.pk
    assert _clauses(agreement) == before

    for proposal in proposals:
        for username in LEGAL:
            override_respond(override=proposal, by=users[username], decision="accept")
    assert set(
        ClauseOverride.objects.filter(agreement=agreement).values_list("status", flat=True)
    ) == {OverrideStatus.ACCEPTED}

    on_v2 = _new_agreement(demo, v2, negotiate=False)
    assert _clauses(agreement) == _clauses(on_v2)
    assert _clauses(agreement) != before


@pytest.mark.django_db
def test_the_move_is_audited_and_the_parties_are_told(demo):
    v1, v2 = _versions(demo)
    agreement = _new_agreement(demo, v1)
    agreement_template_upgrade(agreement=agreement, by=demo["users"]["facilitator"], version=v2)

    entry = AuditEntry.objects.filter(
        action=AuditAction.TEMPLATE_UPGRADE, object_id=str(agreement.pk)
    ).get()
    assert entry.actor_id == demo["users"]["facilitator"].pk
    assert entry.payload["to_version"] == v2.pk
    told = Notification.objects.filter(agreement=agreement, event="template_upgrade")
    assert {n.recipient.username for n in told} >= set(LEGAL)
    assert all("proposes moving to a newer template version" in n.subject for n in told)
    assert all(f"to {v2} of its template" in n.body for n in told)


@pytest.mark.django_db
def test_moving_twice_is_refused_and_changes_nothing(demo):
    v1, v2 = _versions(demo)
    agreement = _new_agreement(demo, v1)
    agreement_template_upgrade(agreement=agreement, by=demo["users"]["facilitator"], version=v2)
    count = ClauseOverride.objects.filter(agreement=agreement).count()

    with pytest.raises(DomainError, match="already moved to"):
        agreement_template_upgrade(
            agreement=_fresh(agreement), by=demo["users"]["facilitator"], version=v2
        )
    assert ClauseOverride.objects.filter(agreement=agreement).count() == count
    assert TemplateUpgrade.objects.filter(agreement=agreement).count() == 1


@pytest.mark.django_db
def test_an_agreement_not_in_negotiation_is_refused_naming_its_status(demo):
    v1, v2 = _versions(demo)
    draft = _new_agreement(demo, v1, negotiate=False)
    with pytest.raises(DomainError, match="This agreement is draft"):
        agreement_template_upgrade(agreement=draft, by=demo["users"]["facilitator"], version=v2)
    assert not ClauseOverride.objects.filter(agreement=draft).exists()


@pytest.mark.django_db
def test_only_a_facilitator_moves_and_only_to_a_newer_version(demo):
    v1, v2 = _versions(demo)
    agreement = _new_agreement(demo, v1)
    with pytest.raises(DomainError, match="Only a facilitator"):
        agreement_template_upgrade(agreement=agreement, by=demo["users"]["counsel"], version=v2)
    with pytest.raises(DomainError, match="not a newer published version"):
        agreement_template_upgrade(agreement=agreement, by=demo["users"]["facilitator"], version=v1)
    assert not ClauseOverride.objects.filter(agreement=agreement).exists()


@pytest.mark.django_db
def test_a_partys_accepted_change_on_a_clause_the_new_version_changes_becomes_a_conflict(demo):
    v1, v2 = _versions(demo)
    users = demo["users"]
    agreement = _new_agreement(demo, v1)
    expected, _ = version_changes(
        list(v1.clauses.order_by("order")), list(v2.clauses.order_by("order"))
    )
    changed = next(c for c in expected if c.kind == "replace")
    own = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key=changed.clause_key,
        body="Northfield's own wording of this clause.",
        rationale="Ours.",
    )
    override_respond(override=own, by=users["vendor"], decision="accept")
    override_respond(override=own, by=users["director"], decision="accept")

    agreement_template_upgrade(agreement=_fresh(agreement), by=users["facilitator"], version=v2)

    fresh = _fresh(agreement)
    competing = conflicts(fresh)[changed.clause_key]
    assert {o.organisation.slug for o in competing} == {"northfield-university", "aims-hub"}
    # The party's accepted text stays in force until the conflict is settled.
    own.refresh_from_db()
    assert own.status == OverrideStatus.ACCEPTED
    text = consolidated_text(fresh)
    assert text.clause(changed.clause_key).body == "Northfield's own wording of this clause."


# --- The pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_offers_the_move_to_the_facilitator_only(client, demo):
    v1, v2 = _versions(demo)
    agreement = _new_agreement(demo, v1)
    preview = reverse("agreement-compare-upgrade", args=[agreement.pk])
    move = reverse("agreement-template-upgrade", args=[agreement.pk])

    client.force_login(demo["users"]["counsel"])
    assert move not in client.get(preview).content.decode()
    assert client.get(move).status_code == 404

    client.force_login(demo["users"]["facilitator"])
    assert f"Move this agreement to version {v2.number}" in client.get(preview).content.decode()
    page = client.get(move, {"version": v2.pk}).content.decode()
    assert "will become proposals" in page
    response = client.post(move, {"version": v2.pk})
    assert response.status_code == 302
    assert ClauseOverride.objects.filter(agreement=agreement).count() >= 3
    again = client.post(move, {"version": v2.pk}, follow=True).content.decode()
    assert "already moved to" in again


@pytest.mark.django_db
def test_the_confirmation_names_the_status_of_an_agreement_that_cannot_move(
    client, demo, django_assert_max_num_queries
):
    v1, v2 = _versions(demo)
    draft = _new_agreement(demo, v1, negotiate=False)
    client.force_login(demo["users"]["facilitator"])
    move = reverse("agreement-template-upgrade", args=[draft.pk])
    # Queries: session, user, the agreement with its text's prefetches, the facilitator check,
    # the newer versions, the earlier move, the target's clauses.
    with django_assert_max_num_queries(12):
        page = client.get(move, {"version": v2.pk}).content.decode()
    assert "This agreement is draft" in page
    assert 'name="version"' not in page  # no form to move it


@pytest.mark.django_db
def test_the_party_settles_the_conflict_by_taking_the_new_versions_text(demo):
    v1, v2 = _versions(demo)
    users = demo["users"]
    agreement = _new_agreement(demo, v1)
    expected, _ = version_changes(
        list(v1.clauses.order_by("order")), list(v2.clauses.order_by("order"))
    )
    changed = next(c for c in expected if c.kind == "replace")
    own = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key=changed.clause_key,
        body="Northfield's own wording of this clause.",
        rationale="Ours.",
    )
    override_respond(override=own, by=users["vendor"], decision="accept")
    override_respond(override=own, by=users["director"], decision="accept")
    agreement_template_upgrade(agreement=_fresh(agreement), by=users["facilitator"], version=v2)
    theirs = ClauseOverride.objects.get(
        agreement=agreement, clause_key=changed.clause_key, organisation__slug="aims-hub"
    )
    # Accepting the facilitator's proposal waits for the conflict to be settled.
    with pytest.raises(DomainError, match="Resolve the conflict first"):
        override_respond(override=theirs, by=users["vendor"], decision="accept")

    conflict_resolve(
        agreement=_fresh(agreement), clause_key=changed.clause_key, by=users["counsel"], keep=theirs
    )
    for username in LEGAL:
        override_respond(override=theirs, by=users[username], decision="accept")

    on_v2 = consolidated_text(_fresh(_new_agreement(demo, v2, negotiate=False)))
    text = consolidated_text(_fresh(agreement))
    assert text.clause(changed.clause_key).body == on_v2.clause(changed.clause_key).body
    own.refresh_from_db()
    assert own.status == OverrideStatus.SUPERSEDED


@pytest.mark.django_db
def test_the_preview_tells_the_facilitator_why_an_agreement_cannot_move(client, demo):
    v1, v2 = _versions(demo)
    agreement = _new_agreement(demo, v1)
    agreement_template_upgrade(agreement=agreement, by=demo["users"]["facilitator"], version=v2)
    client.force_login(demo["users"]["facilitator"])
    page = client.get(reverse("agreement-compare-upgrade", args=[agreement.pk])).content.decode()
    assert "already moved to" in page
    assert "Move this agreement to version" not in page
