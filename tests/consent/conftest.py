"""Consent fixtures: the demo partners and templates, and agreements built through the real
services, so every rule on the way (review gate, lifecycle) is exercised as in production."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.models import Agreement, Identifiability
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    agreement_update,
    data_element_add,
)
from agreements.review.services import agreement_approve, agreement_submit_for_review
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from consent import services
from consent.rules import ConsentKind

TODAY = dt.date(2026, 10, 15)
PLACEHOLDERS = {
    "governing_state": "the State of Columbia",
    "publication_review_days": "30",
    "data_custodian_title": "Director of Research",
}


def text_hash(agreement: Agreement) -> str:
    return consolidated_text(
        with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    ).sha256


@pytest.fixture
def world(demo):
    """Demo partners plus the published standard template."""
    from agreements.demo import seed_templates

    demo["versions"] = seed_templates(demo["collaboratory"])
    return demo


def make_agreement(
    world,
    *,
    title: str = "Consent study",
    # Student-level data (a roster per recipient, consent per student) is operations mode:
    # analysis mode admits only de-identified or aggregate data.
    mode: str = "operations",
    elements=(
        ("Unit scores", "district", "research", Identifiability.PSEUDONYMOUS),
        ("Practice accounts", "district", "developer", Identifiability.IDENTIFIABLE),
        ("Enrolment counts", "district", "developer", Identifiability.AGGREGATE),
    ),
    kind: str | None = ConsentKind.PARENTAL_ASSENT,
    trio: str = "adaptive-practice",
    creator: str = "director",
    start: dt.date = dt.date(2026, 8, 1),
) -> Agreement:
    users = world["users"]
    trio_obj = world["trios"][trio]
    agreement = agreement_create(
        trio=trio_obj,
        template_version=world["versions"][2],
        by=users[creator],
        title=title,
        purpose="Learn what works.",
        sharing_mode=mode,
        start_date=start,
        term_months=24,
        breach_notice_hours=48,
        retention_days=60,
        research_questions=list(trio_obj.research_questions.all()),
        placeholder_values=PLACEHOLDERS,
    )
    members = {m.role: m.organisation for m in trio_obj.members.select_related("organisation")}
    question = trio_obj.research_questions.first()
    for name, source, recipient, identifiability in elements:
        data_element_add(
            agreement=agreement,
            by=users[creator],
            name=name,
            source=members[source],
            recipient=members[recipient],
            identifiability=identifiability,
            research_questions=[question],
        )
    agreement_update(
        agreement=agreement,
        by=users[creator],
        destruction_date=agreement.expires_on + dt.timedelta(days=60),
    )
    if kind:
        services.consent_requirement_set(
            agreement=agreement,
            by=users[creator],
            kind=kind,
            legal_basis="FERPA studies exception" if kind == ConsentKind.NONE else "",
        )
    return agreement


def activate(
    world,
    agreement: Agreement,
    *,
    legal=("counsel", "director", "vendor"),
    signatories=("researcher", "director", "vendor"),
) -> Agreement:
    users = world["users"]
    agreement_open_negotiation(agreement=agreement, by=users["director"])
    agreement_submit_for_review(agreement=agreement, by=users["director"])
    for username in legal:
        agreement_approve(agreement=agreement, by=users[username], text_hash=text_hash(agreement))
    for username in signatories:
        user = users[username]
        agreement_sign(
            agreement=agreement,
            by=user,
            typed_name=user.get_full_name(),
            intent_confirmed=True,
            text_hash=text_hash(agreement),
        )
    return Agreement.objects.get(pk=agreement.pk)


@pytest.fixture
def study(world):
    """An active agreement (Northfield, Riverbend, Brightpath) needing parental consent and
    assent, with an English form in effect from 1 August 2026."""
    agreement = activate(world, make_agreement(world))
    form = services.consent_form_add(
        agreement=agreement,
        by=world["users"]["director"],
        language="en",
        title="Parent permission",
        body="May we include your child?",
        effective_date=dt.date(2026, 8, 1),
    )
    world["agreement"] = agreement
    world["form"] = form
    return world
