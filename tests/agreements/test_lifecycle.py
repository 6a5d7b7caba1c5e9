"""One agreement walked through its whole life as the demo users would, with a conflict, a
voided approval and every illegal move refused with its message and nothing changed."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from agreements import lifecycle
from agreements.choices import TerminationGround
from agreements.models import (
    Agreement,
    Approval,
    ClauseOverride,
    Notification,
    OverrideStatus,
    Signature,
    Status,
    Transition,
)
from agreements.negotiation.proposals import conflict_resolve, override_propose, override_respond
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    agreement_update,
    data_element_add,
)
from agreements.review.services import (
    agreement_approve,
    agreement_reopen,
    agreement_submit_for_review,
)
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import (
    agreement_sign,
    agreement_terminate,
    agreements_expire_due,
    agreements_send_expiry_reminders,
)
from collaboratory.errors import DomainError


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def text_hash(agreement: Agreement) -> str:
    return consolidated_text(fresh(agreement)).sha256


def snapshot(agreement: Agreement) -> tuple:
    a = Agreement.objects.get(pk=agreement.pk)
    return (
        a.status,
        a.text_hash,
        Transition.objects.filter(agreement=a).count(),
        Approval.objects.filter(agreement=a).count(),
        Signature.objects.filter(agreement=a).count(),
        ClauseOverride.objects.filter(agreement=a).count(),
    )


def refused(agreement: Agreement, action, message: str) -> None:
    """``action`` raises DomainError containing ``message`` and changes nothing."""
    before = snapshot(agreement)
    with pytest.raises(DomainError) as error:
        action()
    assert message in " ".join(error.value.messages), error.value.messages
    assert snapshot(agreement) == before


@pytest.fixture
def users(demo_agreements):
    return demo_agreements["users"]


@pytest.fixture
def new_agreement(demo_agreements, users):
    """A fresh draft in the adaptive practice trio (Northfield, Riverbend, Brightpath)."""
    trio = demo_agreements["trios"]["adaptive-practice"]
    version = (
        Agreement.objects.filter(trio=trio).first().template_version.template.versions.get(number=2)
    )
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=users["counsel"],
        title="Lifecycle walk",
        purpose="Walk the whole lifecycle.",
        sharing_mode="analysis",
        start_date=dt.date(2027, 1, 1),
        term_months=12,
        breach_notice_hours=48,
        retention_days=60,
        research_questions=list(trio.research_questions.all()),
        placeholder_values={
            "governing_state": "Columbia",
            "publication_review_days": "30",
            "data_custodian_title": "Director of Research",
        },
    )
    members = {m.role: m.organisation for m in trio.members.all()}
    data_element_add(
        agreement=agreement,
        by=users["counsel"],
        name="Unit test scores",
        source=members["district"],
        recipient=members["research"],
        # Keyed by a study ID only the district can link: what analysis mode admits.
        identifiability="deidentified",
        research_questions=list(trio.research_questions.all()[:1]),
    )
    agreement_update(agreement=agreement, by=users["counsel"], destruction_date=dt.date(2028, 4, 1))
    return fresh(agreement)


def test_the_whole_lifecycle(new_agreement, users):
    agreement = new_agreement
    assert agreement.reference.startswith("AIMS-2027-")
    assert agreement.status == Status.DRAFT
    counsel, director, vendor, researcher = (
        users["counsel"],
        users["director"],
        users["vendor"],
        users["researcher"],
    )

    # Illegal moves from draft.
    refused(
        agreement,
        lambda: agreement_submit_for_review(agreement=agreement, by=counsel),
        "An agreement that is draft cannot become in review",
    )
    refused(
        agreement,
        lambda: override_propose(
            agreement=agreement,
            by=counsel,
            kind="delete",
            clause_key="audits",
            rationale="x",
        ),
        "You can propose changes only while the agreement is negotiating",
    )
    agreement_open_negotiation(agreement=agreement, by=counsel)

    # A value typed over a term's parameter is refused: the term changes, not the words.
    refused(
        agreement,
        lambda: override_propose(
            agreement=agreement,
            by=counsel,
            kind="replace",
            clause_key="breach-notification",
            body="Notify within 24 hours of discovery.",
            rationale="Shorter window.",
        ),
        "You wrote “24” where the clause states the breach notice window",
    )
    # A conflict: the university and the vendor both rewrite breach notification.
    uni = override_propose(
        agreement=agreement,
        by=counsel,
        kind="replace",
        clause_key="breach-notification",
        body="Notify within [[breach_notice_hours]] hours of discovery.",
        rationale="Shorter window.",
        terms={"breach_notice_hours": "24"},
    )
    ven = override_propose(
        agreement=agreement,
        by=vendor,
        kind="replace",
        clause_key="breach-notification",
        body="Notify within [[breach_notice_hours]] hours after confirmation.",
        rationale="Only after confirmation.",
    )
    assert Notification.objects.filter(event="conflict", agreement=agreement).exists()
    refused(
        agreement,
        lambda: override_respond(override=uni, by=director, decision="accept"),
        "Resolve the conflict first",
    )
    refused(
        agreement,
        lambda: agreement_submit_for_review(agreement=agreement, by=director),
        "propose different changes to 16. Security Incidents and Breach Notification: settle "
        "the conflict first.",
    )
    # Mandatory clauses cannot be deleted.
    refused(
        agreement,
        lambda: override_propose(
            agreement=agreement,
            by=vendor,
            kind="delete",
            clause_key="prohibited-uses",
            rationale="We would rather not.",
        ),
        "is mandatory for analysis-mode agreements and cannot be deleted",
    )
    # The university, one of the two in conflict, resolves it with a merged text, which the
    # others then accept (the district, a third party, may not settle it: issue 17 item 4).
    merged = conflict_resolve(
        agreement=agreement,
        clause_key="breach-notification",
        by=counsel,
        merged_body="Notify within [[breach_notice_hours]] hours of discovering a suspected "
        "Security Incident.",
        rationale="Middle ground.",
        terms={"breach_notice_hours": "36"},
    )
    uni.refresh_from_db()
    ven.refresh_from_db()
    assert uni.status == ven.status == OverrideStatus.SUPERSEDED
    before_hash = Agreement.objects.get(pk=agreement.pk).text_hash
    override_respond(override=merged, by=director, decision="accept")
    override_respond(override=merged, by=vendor, decision="accept")
    merged.refresh_from_db()
    assert merged.status == OverrideStatus.ACCEPTED
    agreement = fresh(agreement)
    assert agreement.text_hash != before_hash
    breach = consolidated_text(agreement).clause("breach-notification")
    assert breach.body == "Notify within 36 hours of discovering a suspected Security Incident."
    assert breach.origin == "replaced"
    assert agreement.breach_notice_hours == 36  # the term itself, which every output reads

    # To review; approvals; a voided approval when negotiation reopens.
    agreement_submit_for_review(agreement=agreement, by=director)
    agreement = fresh(agreement)
    assert agreement.status == Status.IN_REVIEW
    refused(
        agreement,
        lambda: agreement_approve(agreement=agreement, by=counsel, text_hash="0" * 64),
        "The text changed since you opened it",
    )
    refused(
        agreement,
        lambda: agreement_approve(
            agreement=agreement, by=researcher, text_hash=text_hash(agreement)
        ),
        "Only a party's legal team can do this",
    )
    agreement_approve(agreement=agreement, by=counsel, text_hash=text_hash(agreement))
    refused(
        agreement,
        lambda: agreement_approve(agreement=agreement, by=counsel, text_hash=text_hash(agreement)),
        "already approved",
    )
    refused(
        agreement,
        lambda: agreement_sign(
            agreement=agreement,
            by=director,
            typed_name="Maya Okafor",
            intent_confirmed=True,
            text_hash=text_hash(agreement),
        ),
        "You can sign only while the agreement is signing",
    )
    mail.outbox.clear()
    agreement_reopen(agreement=agreement, by=vendor, reason="Need one more change.")
    counsel_approval = Approval.objects.get(
        agreement=agreement, organisation__slug="northfield-university"
    )
    assert counsel_approval.voided_at is not None
    assert "Need one more change." in counsel_approval.voided_reason
    assert Notification.objects.filter(
        event="approval_voided", recipient=counsel, agreement=agreement
    ).exists()
    agreement = fresh(agreement)
    assert agreement.status == Status.NEGOTIATING

    insert = override_propose(
        agreement=agreement,
        by=vendor,
        kind="insert",
        clause_key="data-security",
        new_key="vendor-certifications",
        heading="Vendor Certifications",
        body="The Curriculum Developer maintains SOC 2 Type II certification.",
        rationale="Describe our certification.",
    )
    override_respond(override=insert, by=counsel, decision="accept")
    override_respond(override=insert, by=director, decision="accept")
    agreement = fresh(agreement)
    text = consolidated_text(agreement)
    keys = [c.key for c in text.clauses]
    assert keys[keys.index("data-security") + 1] == "vendor-certifications"

    agreement_submit_for_review(agreement=agreement, by=counsel)
    agreement = fresh(agreement)
    for user in (counsel, director, vendor):
        agreement_approve(agreement=agreement, by=user, text_hash=text_hash(agreement))
    agreement = fresh(agreement)
    assert agreement.status == Status.SIGNING
    assert Notification.objects.filter(event="ready_to_sign", recipient=researcher).exists()

    # Signing: intent statement, typed name, all three -> active.
    refused(
        agreement,
        lambda: agreement_sign(
            agreement=agreement,
            by=director,
            typed_name="Someone Else",
            intent_confirmed=False,
            text_hash=text_hash(agreement),
        ),
        "Type your full name exactly as “Maya Okafor” to sign.",
    )
    refused(
        agreement,
        lambda: agreement_sign(
            agreement=agreement,
            by=counsel,
            typed_name="Daniel Ruiz",
            intent_confirmed=True,
            text_hash=text_hash(agreement),
        ),
        "Only a party's signatory can do this",
    )
    signature = agreement_sign(
        agreement=agreement,
        by=director,
        typed_name="  maya   okafor ",
        intent_confirmed=True,
        text_hash=text_hash(agreement),
        ip_address="203.0.113.9",
        user_agent="pytest",
    )
    assert signature.text_hash == text_hash(agreement)
    assert "Riverbend Unified School District" in signature.intent_statement
    assert signature.ip_address == "203.0.113.9"
    agreement_sign(
        agreement=agreement,
        by=researcher,
        typed_name="Ana Lindqvist",
        intent_confirmed=True,
        text_hash=text_hash(agreement),
    )
    refused(
        agreement,
        lambda: agreement_terminate(
            agreement=agreement, by=director, ground=TerminationGround.IMMEDIATE, reason="x"
        ),
        "An agreement that is signing cannot become terminated",
    )
    agreement_sign(
        agreement=agreement,
        by=vendor,
        typed_name="Priya Natarajan",
        intent_confirmed=True,
        text_hash=text_hash(agreement),
    )
    agreement = fresh(agreement)
    assert agreement.status == Status.ACTIVE
    assert Notification.objects.filter(event="executed", agreement=agreement).count() >= 3

    # Termination needs a reason.
    refused(
        agreement,
        lambda: agreement_terminate(
            agreement=agreement, by=director, ground=TerminationGround.IMMEDIATE, reason="  "
        ),
        "Give a reason to terminate.",
    )
    refused(
        agreement,
        lambda: agreement_terminate(
            agreement=agreement, by=counsel, ground=TerminationGround.CONVENIENCE, reason="No."
        ),
        "Only a party's signatory or research director can terminate.",
    )
    # The District ends it with immediate effect (its clause (b)); notice periods are
    # tests/agreements/test_termination.py's.
    agreement_terminate(
        agreement=agreement,
        by=director,
        ground=TerminationGround.IMMEDIATE,
        reason="Study cancelled.",
    )
    agreement = fresh(agreement)
    assert agreement.status == Status.TERMINATED
    refused(
        agreement,
        lambda: lifecycle.transition(agreement, Status.ACTIVE),
        "An agreement that is terminated cannot become active; it cannot move any further.",
    )

    steps = list(
        Transition.objects.filter(agreement=agreement).values_list("from_status", "to_status")
    )
    assert steps == [
        ("draft", "negotiating"),
        ("negotiating", "in_review"),
        ("in_review", "negotiating"),
        ("negotiating", "in_review"),
        ("in_review", "signing"),
        ("signing", "active"),
        ("active", "terminated"),
    ]
    reasons = dict(
        Transition.objects.filter(agreement=agreement).values_list("to_status", "reason")
    )
    assert reasons["terminated"] == "Study cancelled."


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (s, t)
        for s in Status.values
        for t in Status.values
        if (s, t) not in {(step.source, step.target) for step in lifecycle.TRANSITIONS}
    ],
)
def test_every_illegal_transition_is_refused_and_changes_nothing(new_agreement, source, target):
    Agreement.objects.filter(pk=new_agreement.pk).update(status=source)
    agreement = Agreement.objects.get(pk=new_agreement.pk)
    refused(
        agreement,
        lambda: lifecycle.transition(agreement, target),
        f"An agreement that is {Status(source).label.lower()} cannot become",
    )


def test_data_element_without_a_research_question_is_refused(new_agreement, users):
    members = {m.role: m.organisation for m in new_agreement.trio.members.all()}
    refused(
        new_agreement,
        lambda: data_element_add(
            agreement=new_agreement,
            by=users["counsel"],
            name="Shoe sizes",
            source=members["district"],
            recipient=members["research"],
            identifiability="aggregate",
            research_questions=[],
        ),
        "“Shoe sizes” answers no research question",
    )


def test_unfilled_placeholder_blocks_review(new_agreement, users):
    agreement_update(
        agreement=new_agreement,
        by=users["counsel"],
        placeholder_values={
            "governing_state": "",
            "publication_review_days": "30",
            "data_custodian_title": "Director",
        },
    )
    agreement_open_negotiation(agreement=new_agreement, by=users["counsel"])
    refused(
        new_agreement,
        lambda: agreement_submit_for_review(agreement=new_agreement, by=users["counsel"]),
        "Terms not filled in yet: Governing law.",
    )


def test_daily_job_expires_and_reminds_once(demo_agreements):
    active = demo_agreements["agreements"]["Productive Struggle Classroom Study"]
    days_left = (active.expires_on - timezone.localdate()).days
    assert 0 < days_left <= 90
    assert agreements_send_expiry_reminders(today=timezone.localdate()) >= 1
    first = Notification.objects.filter(event="expiring", agreement=active).count()
    assert first > 0
    assert agreements_send_expiry_reminders(today=timezone.localdate()) == 0
    assert Notification.objects.filter(event="expiring", agreement=active).count() == first
    expired = agreements_expire_due(today=active.expires_on + dt.timedelta(days=1))
    assert expired >= 1
    active.refresh_from_db()
    assert active.status == Status.EXPIRED
    assert Transition.objects.filter(agreement=active, to_status="expired", by=None).exists()
