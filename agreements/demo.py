"""Demo templates and agreements, created through the real services (idempotent).

Leaves agreements in every interesting state: negotiating with a conflict, in review,
signing (waiting for the demo director), active (one expiring soon), expired, plus one in
the Lakeshore trio that Riverbend's people must never see.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from agreements.choices import AuthMethod
from agreements.models import Agreement, DSATemplate, Identifiability, MandatoryFor, Status
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    agreement_update,
    data_element_add,
)
from agreements.ownership.demo import seed_ownership_conflict
from agreements.review.services import agreement_approve, agreement_submit_for_review
from agreements.selectors import with_agreement_detail
from agreements.signing.services import agreement_sign, agreements_expire_due
from agreements.standards.services import (
    clause_update,
    template_create,
    template_version_create,
    template_version_publish,
)
from agreements.standards.upload import parse_upload
from partners.models import Collaboratory, Trio

DEMO_DIR = Path(__file__).resolve().parent / "demo"
MANDATORY = {
    "data-security": MandatoryFor.OPERATIONS,
    "breach-notification": MandatoryFor.OPERATIONS,
    "consent": MandatoryFor.OPERATIONS,
    "prohibited-uses": MandatoryFor.ALL,
    "signatures": MandatoryFor.ALL,
}
PLACEHOLDERS = {
    "governing_state": "Columbia",
    "publication_review_days": "30",
    "data_custodian_title": "Director of Research and Evaluation",
}


def _users() -> dict:
    return {u.username: u for u in get_user_model().objects.all()}


@transaction.atomic
def seed_templates(collaboratory: Collaboratory):
    """The standard DSA in two published versions (v2 revises a few clauses)."""
    template = DSATemplate.objects.filter(collaboratory=collaboratory, slug="standard-dsa").first()
    if template is None:
        template = template_create(
            collaboratory=collaboratory,
            name="AIMS Standard Three-Party DSA",
            slug="standard-dsa",
            description="The collaboratory's standard data-sharing agreement for trios.",
        )
    versions = {v.number: v for v in template.versions.all()}
    facilitator = _users().get("facilitator")
    for number, filename, notes in (
        (1, "standard_dsa_v1.md", "First standard agreement of the collaboratory."),
        (
            2,
            "standard_dsa_v2.md",
            "Revised after a year of use: breach notice, publication "
            "review, data minimisation, AI model training; destruction certificate merged.",
        ),
    ):
        if number in versions:
            continue
        report = parse_upload((DEMO_DIR / filename).read_bytes(), filename=filename)
        if not report.ok:
            raise RuntimeError(f"{filename}: " + "; ".join(str(e) for e in report.errors))
        version = template_version_create(
            template=template,
            title=report.title,
            clauses=report.clauses,
            notes=notes,
            frame=report.frame,
        )
        for clause in version.clauses.filter(key__in=MANDATORY):
            clause_update(clause=clause, mandatory_for=MANDATORY[clause.key])
        versions[number] = template_version_publish(version=version, by=facilitator)
    return versions


def _text_hash(agreement: Agreement) -> str:
    # The stored hash is the current text's once the text is frozen (services check it).
    return Agreement.objects.values_list("text_hash", flat=True).get(pk=agreement.pk)


def _approve_all(agreement: Agreement, users: dict, legal: list[str]) -> None:
    for username in legal:
        agreement_approve(
            agreement=agreement,
            by=users[username],
            text_hash=_text_hash(agreement),
            ip_address="127.0.0.1",
            user_agent="seed_demo",
        )


#: The demo signatories' titles, as their signature blocks and audit certificates show them.
SIGNER_TITLES = {
    "director": "Superintendent",
    "researcher": "Director, Office of Sponsored Research",
    "vendor": "Chief Executive Officer",
    "hillcrest": "Vice Provost for Research",
    "quadratic": "General Counsel",
    "openalgebra": "Chief Operating Officer",
    "lakeshore": "Chief of Research and Accountability",
}


def _sign(agreement: Agreement, users: dict, signatories: list[str]) -> None:
    for username in signatories:
        user = users[username]
        agreement_sign(
            agreement=agreement,
            by=user,
            typed_name=user.get_full_name(),
            intent_confirmed=True,
            text_hash=_text_hash(agreement),
            ip_address="127.0.0.1",
            user_agent="seed_demo",
            signer_title=SIGNER_TITLES[username],
            # As if each had passed the authenticator check that signing asks for just now.
            auth_method=AuthMethod.TOTP,
            authenticated_at=timezone.now(),
        )


def _reload(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _clause_body(agreement: Agreement, key: str) -> str:
    """The clause's Markdown as its template writes it (what "propose a change" starts from)."""
    return agreement.template_version.clauses.get(key=key).body


def _create(
    trio: Trio,
    version,
    creator,
    *,
    title: str,
    purpose: str,
    mode: str,
    start: dt.date,
    months: int,
    elements: list[tuple],
) -> Agreement:
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=creator,
        title=title,
        purpose=purpose,
        sharing_mode=mode,
        start_date=start,
        term_months=months,
        breach_notice_hours=72,
        retention_days=90,
        destruction_date=None,
        research_questions=list(trio.research_questions.all()),
        placeholder_values=PLACEHOLDERS,
    )
    members = {m.role: m.organisation for m in trio.members.select_related("organisation")}
    questions = list(trio.research_questions.all())
    for name, source, recipient, identifiability, description in elements:
        data_element_add(
            agreement=agreement,
            by=creator,
            name=name,
            source=members[source],
            recipient=members[recipient],
            identifiability=identifiability,
            research_questions=questions[:1],
            description=description,
        )
    agreement_update(
        agreement=agreement,
        by=creator,
        destruction_date=agreement.expires_on + dt.timedelta(days=90),
    )
    agreement_open_negotiation(agreement=agreement, by=creator)
    return agreement


ELEMENTS = [
    (
        "Algebra I end-of-unit assessment scores",
        "district",
        "research",
        # Keyed by a study ID whose link to students only the district holds: de-identified
        # for the university (the standard's "De-identified Data"), as analysis mode needs.
        Identifiability.DEIDENTIFIED,
        "Unit 1-8 scores, school year 2026-27, keyed by study ID; only the district holds "
        "the link to students.",
    ),
    (
        "Adaptive practice usage logs",
        "developer",
        "research",
        Identifiability.DEIDENTIFIED,
        "Minutes, items attempted and mastery events per week, keyed by the same study ID "
        "through the district's matching.",
    ),
    (
        "School and grade enrolment counts",
        "district",
        "research",
        Identifiability.AGGREGATE,
        "Counts by school and grade; cells under 10 suppressed.",
    ),
]


@transaction.atomic
def seed_agreements(collaboratory: Collaboratory) -> None:
    if Agreement.objects.filter(trio__collaboratory=collaboratory).exists():
        return
    versions = seed_templates(collaboratory)
    v1, v2 = versions[1], versions[2]
    users = _users()
    trios = {t.slug: t for t in collaboratory.trios.all()}
    today = timezone.localdate()

    # Expired: last year's pilot in the adaptive practice trio.
    expired = _create(
        trios["adaptive-practice"],
        v1,
        users["director"],
        title="Adaptive Practice Pilot 2024",
        purpose="Pilot of adaptive practice usage data.",
        mode="analysis",
        start=dt.date(today.year - 2, 9, 1),
        months=12,
        elements=ELEMENTS[2:],
    )
    agreement_submit_for_review(agreement=expired, by=users["director"])
    _approve_all(expired, users, ["counsel", "director", "vendor"])
    _sign(expired, users, ["researcher", "director", "vendor"])
    agreements_expire_due(today=today)

    # Active, expiring within 90 days: the productive struggle study.
    active = _create(
        trios["productive-struggle"],
        v1,
        users["director"],
        title="Productive Struggle Classroom Study",
        purpose="Observe and measure classroom "
        "routines for non-routine problem solving in grade 8.",
        mode="analysis",
        start=today - dt.timedelta(days=300),
        months=12,
        elements=[
            (
                "Grade 8 end-of-year mathematics scale scores",
                "district",
                "research",
                Identifiability.DEIDENTIFIED,
                "Spring 2026 state test scale scores.",
            )
        ],
    )
    override_propose(
        agreement=active,
        by=users["hillcrest"],
        kind="replace",
        clause_key="publication-review",
        body="The Research Partner shall give the District and the Curriculum Developer a copy "
        "of any manuscript [[publication_review_days]] days before submission. Reviewers may "
        "identify Personally Identifiable Information or confidential information, which the "
        "Research Partner shall remove; they may not require changes to findings.",
        rationale="Our IRB requires that partners cannot veto findings.",
    )
    pending = active.overrides.get()
    override_respond(override=pending, by=users["director"], decision="accept")
    override_respond(override=pending, by=users["quadratic"], decision="accept")
    # Negotiated terms: a shorter breach notice and retention than the standard's 72 hours
    # and 90 days, proposed as changes of the terms themselves, so the signed text, the
    # Terms panel, the PDF cover, /terms and the calendar all say 48 hours and 60 days.
    for clause_key, terms, why in (
        (
            "breach-notification",
            {"breach_notice_hours": "48"},
            "Classroom observation data includes video: the district wants notice sooner.",
        ),
        (
            "data-retention",
            {"retention_days": "60"},
            "The study ends with the school year; 60 days is enough to close the analysis.",
        ),
    ):
        change = override_propose(
            agreement=_reload(active),
            by=users["director"],
            kind="replace",
            clause_key=clause_key,
            body=_clause_body(active, clause_key),
            rationale=why,
            terms=terms,
        )
        override_respond(override=change, by=users["hillcrest"], decision="accept")
        override_respond(override=change, by=users["quadratic"], decision="accept")
    agreement_submit_for_review(agreement=_reload(active), by=users["hillcrest"])
    _approve_all(active, users, ["hillcrest", "director", "quadratic"])
    _sign(active, users, ["hillcrest", "director", "quadratic"])

    # Signing: waits only for the demo director's signature.
    signing = _create(
        trios["open-curriculum"],
        v2,
        users["researcher"],
        title="Open Curriculum Implementation Data Agreement",
        purpose="Study how teachers adapt OpenAlgebra lessons and how adaptations relate to "
        "student work.",
        mode="analysis",
        start=today + dt.timedelta(days=14),
        months=24,
        elements=[
            (
                "Teacher lesson adaptation logs",
                "developer",
                "research",
                # Teachers under a study ID the university cannot link back (analysis mode).
                Identifiability.DEIDENTIFIED,
                "Which lessons were edited, when, how much; teachers by study ID only.",
            ),
            (
                "Student work samples (scored)",
                "district",
                "research",
                Identifiability.DEIDENTIFIED,
                "Rubric scores of sampled student work.",
            ),
        ],
    )
    override_propose(
        agreement=signing,
        by=users["openalgebra"],
        kind="insert",
        clause_key="intellectual-property",
        new_key="open-licence",
        heading="Open Licence of Curriculum Adaptations",
        body="Adaptations of OpenAlgebra lessons made by District teachers remain available "
        "under the curriculum's open licence; nothing in this Agreement restricts that licence.",
        rationale="Our curriculum is openly licensed; the agreement must not suggest otherwise.",
    )
    insert = signing.overrides.get()
    override_respond(override=insert, by=users["director"], decision="accept")
    override_respond(override=insert, by=users["counsel"], decision="accept")
    agreement_submit_for_review(agreement=signing, by=users["researcher"])
    _approve_all(signing, users, ["counsel", "openalgebra", "director"])
    _sign(signing, users, ["researcher", "openalgebra"])

    # In review: counsel and vendor approved; the director has not yet.
    review = _create(
        trios["adaptive-practice"],
        v2,
        users["counsel"],
        title="Adaptive Practice Outcomes Study 2026-2028",
        purpose="Estimate the effect of adaptive practice on Algebra I unit assessment scores.",
        mode="analysis",
        start=today + dt.timedelta(days=30),
        months=24,
        elements=ELEMENTS,
    )
    agreement_submit_for_review(agreement=review, by=users["counsel"])
    _approve_all(review, users, ["counsel", "vendor"])

    # Negotiating with a conflict: both the university and the vendor rewrite breach notice.
    negotiating = _create(
        trios["adaptive-practice"],
        v2,
        users["vendor"],
        title="Adaptive Practice Real-Time Dashboard Pilot",
        purpose="Give teachers a real-time dashboard of practice progress for their own classes.",
        mode="operations",
        start=today + dt.timedelta(days=60),
        months=12,
        elements=[
            (
                "Student roster with practice progress",
                "district",
                "developer",
                Identifiability.IDENTIFIABLE,
                "Name, class, weekly mastery for teachers.",
            )
        ],
    )
    override_propose(
        agreement=negotiating,
        by=users["counsel"],
        kind="replace",
        clause_key="breach-notification",
        body="Each Party shall notify the others of any Security Incident without unreasonable "
        "delay and in no event later than [[breach_notice_hours]] hours after discovery, and "
        "shall cooperate fully in the investigation and in notifying affected families.",
        rationale="Identifiable real-time data needs a shorter window than the standard 72 hours.",
        terms={"breach_notice_hours": "24"},
    )
    override_propose(
        agreement=negotiating,
        by=users["vendor"],
        kind="replace",
        clause_key="breach-notification",
        body="Each Party shall notify the others of any confirmed Security Incident within "
        "[[breach_notice_hours]] hours after confirming it, and shall cooperate in good faith "
        "in the investigation.",
        rationale="We can only commit to notice after an incident is confirmed by our team.",
    )
    override_propose(
        agreement=negotiating,
        by=users["vendor"],
        kind="delete",
        clause_key="audits",
        rationale="Our SOC 2 Type II report covers audits; a separate audit right duplicates it.",
    )
    # ... and an ownership conflict on its roster (agreements.ownership.demo).
    seed_ownership_conflict(negotiating, users)

    # Lakeshore's own agreement: invisible to Riverbend.
    lakeshore = _create(
        trios["lakeshore-fluency"],
        v2,
        users["lakeshore"],
        title="Lakeshore Fluency Pathways Data Agreement",
        purpose="Measure readiness for Algebra I after the fluency pathway.",
        mode="analysis",
        start=today - dt.timedelta(days=60),
        months=24,
        elements=[
            (
                "Grade 8 fluency screener results",
                "district",
                "research",
                Identifiability.DEIDENTIFIED,
                "Fall and spring screener scores.",
            )
        ],
    )
    agreement_submit_for_review(agreement=lakeshore, by=users["lakeshore"])
    _approve_all(lakeshore, users, ["hillcrest", "lakeshore", "quadratic"])
    _sign(lakeshore, users, ["hillcrest", "lakeshore", "quadratic"])

    # Destruction duties of the agreements that have been in force (an overdue one).
    from agreements.destruction.demo import seed_destruction

    seed_destruction(collaboratory)

    assert {a.status for a in Agreement.objects.all()} >= {
        Status.NEGOTIATING,
        Status.IN_REVIEW,
        Status.SIGNING,
        Status.ACTIVE,
        Status.EXPIRED,
    }
