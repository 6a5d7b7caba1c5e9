"""Demo consent data, created through the real services (idempotent).

Adds one active operations-mode agreement in the adaptive practice trio that needs parental
consent and student assent, with consent forms in two languages, a few hundred students
across three schools and grades 6-9 (imported as a CSV file, the way districts hold them), a
roster exported to the research partner, and withdrawals recorded after that export, so the
coverage dashboard, the trend and the "since the last roster" flag all show real content.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from agreements.demo import PLACEHOLDERS
from agreements.models import Agreement, Identifiability, TemplateVersion
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
from consent.models import ConsentForm
from consent.rules import ConsentKind
from partners.models import Collaboratory

TITLE = "Adaptive Practice Consented Cohort Study"
SCHOOLS = ("Cedar Hill Middle School", "Riverside Middle School", "North Valley Junior High")
STUDENTS_PER_SCHOOL_GRADE = 30
FORM_EN_V1 = (
    "Dear parent or guardian,\n\nRiverbend Unified School District, Northfield University and "
    "Brightpath Learning are studying whether adaptive practice helps students in Algebra I. "
    "With your permission, the district will share your child's Algebra I unit test scores "
    "with the university under a study ID — never your child's name.\n\nTaking part is "
    "voluntary. You may say no, and you may withdraw at any time by telling your child's "
    "school; nothing else about your child's schooling changes."
)
FORM_EN_V2 = FORM_EN_V1 + (
    "\n\nUpdated: the study now also looks at how many minutes your child practises each week "
    "in Brightpath's program. Scores and practice minutes are joined by study ID only."
)
FORM_ES_V1 = (
    "Estimado padre, madre o tutor:\n\nEl Distrito Escolar Unificado de Riverbend, la "
    "Universidad de Northfield y Brightpath Learning estudian si la práctica adaptativa ayuda "
    "en Álgebra I. Con su permiso, el distrito compartirá las calificaciones de su hijo o hija "
    "con la universidad bajo un número de estudio, nunca con su nombre.\n\nLa participación es "
    "voluntaria y puede retirarla en cualquier momento."
)


def _users() -> dict:
    return {u.username: u for u in get_user_model().objects.all()}


def _text_hash(agreement: Agreement) -> str:
    fresh = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    return consolidated_text(fresh).sha256


def _active_agreement(collaboratory: Collaboratory, users: dict, today: dt.date) -> Agreement:
    trio = collaboratory.trios.get(slug="adaptive-practice")
    version = TemplateVersion.objects.get(
        template__collaboratory=collaboratory, template__slug="standard-dsa", number=2
    )
    director = users["director"]
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=director,
        title=TITLE,
        purpose="Estimate the effect of adaptive practice on Algebra I unit scores for students "
        "whose families consented, with the students' assent.",
        # Operations, not analysis: the university receives a roster of consented student
        # keys and each withdrawal, and must act on those keys (drop and destroy a withdrawn
        # student's records), so the scores stay pseudonymous for it. Analysis mode admits
        # only de-identified or aggregate data (agreements.negotiation.coherence), and
        # operations brings the strict consent, security and breach governance this needs.
        sharing_mode="operations",
        start_date=today - dt.timedelta(days=120),
        term_months=12,
        breach_notice_hours=72,
        retention_days=90,
        research_questions=list(trio.research_questions.all()),
        placeholder_values=PLACEHOLDERS,
    )
    members = {m.role: m.organisation for m in trio.members.select_related("organisation")}
    questions = list(trio.research_questions.all())
    for name, source, recipient, identifiability, description in (
        (
            "Algebra I unit assessment scores of consented students",
            "district",
            "research",
            Identifiability.PSEUDONYMOUS,
            "Unit 1-8 scores keyed by study ID, with school and grade.",
        ),
        (
            "Weekly adaptive practice minutes",
            "developer",
            "research",
            Identifiability.PSEUDONYMOUS,
            "Minutes practised per week, keyed by study ID.",
        ),
    ):
        data_element_add(
            agreement=agreement,
            by=director,
            name=name,
            source=members[source],
            recipient=members[recipient],
            identifiability=identifiability,
            research_questions=questions[:1],
            description=description,
        )
    agreement_update(
        agreement=agreement,
        by=director,
        destruction_date=agreement.expires_on + dt.timedelta(days=90),
    )
    services.consent_requirement_set(
        agreement=agreement, by=director, kind=ConsentKind.PARENTAL_ASSENT
    )
    agreement_open_negotiation(agreement=agreement, by=director)
    agreement_submit_for_review(agreement=agreement, by=director)
    for username in ("counsel", "director", "vendor"):
        agreement_approve(
            agreement=agreement,
            by=users[username],
            text_hash=_text_hash(agreement),
            ip_address="127.0.0.1",
            user_agent="seed_demo",
        )
    for username in ("researcher", "director", "vendor"):
        user = users[username]
        agreement_sign(
            agreement=agreement,
            by=user,
            typed_name=user.get_full_name(),
            intent_confirmed=True,
            text_hash=_text_hash(agreement),
            ip_address="127.0.0.1",
            user_agent="seed_demo",
        )
    return Agreement.objects.get(pk=agreement.pk)


def _cohort_csv(today: dt.date, forms: dict[tuple[str, int], ConsentForm]) -> bytes:
    """A district's consent spreadsheet: decisions spread over two months."""
    rng = random.Random(20260914)  # noqa: S311 - demo data, not security
    school_year = today.year if today.month >= 8 else today.year - 1
    first_day = today - dt.timedelta(days=75)
    v2_from = forms[("en", 2)].effective_date
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "student_key",
            "decision",
            "given_by",
            "method",
            "date",
            "school",
            "grade",
            "birth_year",
            "witness",
            "form_language",
            "form_version",
        ]
    )
    number = 0

    def day(low: int, high: int) -> dt.date:
        return min(
            first_day + dt.timedelta(days=rng.randint(low, high)), today - dt.timedelta(days=9)
        )

    for school_index, school in enumerate(SCHOOLS):
        for grade in (6, 7, 8, 9):
            for _ in range(STUDENTS_PER_SCHOOL_GRADE):
                number += 1
                key = f"RB-{school_index + 1}{number:05d}"
                birth_year = school_year - grade - 6 + rng.choice((0, 0, 0, -1))
                attributes = [school, grade, birth_year]
                roll = rng.random()
                if roll < 0.09:
                    writer.writerow([key, "", "", "", "", *attributes, "", "", ""])
                    continue
                spanish = rng.random() < 0.15
                method = rng.choices(("paper", "electronic", "verbal"), (60, 35, 5))[0]
                witness = "Ms. R. Alvarez" if method == "verbal" else ""
                parent_day = day(0, 45)
                language, version = (
                    ("es", 1) if spanish else (("en", 2) if parent_day >= v2_from else ("en", 1))
                )
                decision = "refused" if roll < 0.21 else "granted"
                writer.writerow(
                    [
                        key,
                        decision,
                        "parent",
                        method,
                        parent_day,
                        *attributes,
                        witness,
                        language,
                        version,
                    ]
                )
                if decision == "refused":
                    continue
                assent = rng.random()
                if assent < 0.08:
                    continue  # assent not yet collected
                assent_day = min(
                    parent_day + dt.timedelta(days=rng.randint(1, 10)), today - dt.timedelta(days=8)
                )
                writer.writerow(
                    [
                        key,
                        "refused" if assent < 0.12 else "granted",
                        "student",
                        "paper",
                        assent_day,
                        *attributes,
                        "",
                        language,
                        version,
                    ]
                )
                if rng.random() < 0.05:
                    withdrawn_day = min(
                        assent_day + dt.timedelta(days=rng.randint(3, 20)),
                        today - dt.timedelta(days=7),
                    )
                    writer.writerow(
                        [
                            key,
                            "withdrawn",
                            "parent",
                            "electronic",
                            withdrawn_day,
                            *attributes,
                            "",
                            language,
                            version,
                        ]
                    )
                    if rng.random() < 0.3:
                        writer.writerow(
                            [
                                key,
                                "granted",
                                "parent",
                                "paper",
                                withdrawn_day + dt.timedelta(days=2),
                                *attributes,
                                "",
                                language,
                                version,
                            ]
                        )
    return buffer.getvalue().encode("utf-8")


def seed_consent(collaboratory: Collaboratory) -> None:
    if Agreement.objects.filter(trio__collaboratory=collaboratory, title=TITLE).exists():
        return
    users = _users()
    director = users["director"]
    today = timezone.localdate()
    agreement = _active_agreement(collaboratory, users, today)
    start = today - dt.timedelta(days=90)
    forms = {}
    for language, title, body, effective in (
        ("en", "Parent permission: adaptive practice study", FORM_EN_V1, start),
        ("es", "Permiso de los padres: estudio de práctica adaptativa", FORM_ES_V1, start),
        (
            "en",
            "Parent permission: adaptive practice study",
            FORM_EN_V2,
            today - dt.timedelta(days=50),
        ),
    ):
        form = services.consent_form_add(
            agreement=agreement,
            by=director,
            language=language,
            title=title,
            body=body,
            effective_date=effective,
        )
        forms[(form.language, form.version)] = form
    upload = services.consent_import_preview(
        agreement=agreement,
        by=director,
        filename="consent-forms-fall.csv",
        content=_cohort_csv(today, forms),
        default_form=forms[("en", 1)],
        today=today,
    )
    if upload.error_count:
        raise RuntimeError(f"demo consent CSV has errors: {upload.errors[:5]}")
    services.consent_import_confirm(consent_import=upload, by=director, today=today)
    research = next(
        m.organisation
        for m in agreement.trio.members.select_related("organisation")
        if m.role == "research"
    )
    roster = services.roster_export(
        agreement=agreement,
        by=director,
        recipient=research,
        as_of=today - dt.timedelta(days=3),
        today=today,
    )
    # Three families withdraw after the roster went out: flagged to the university.
    withdrawing = roster.content.decode().splitlines()[1:4]
    for line in withdrawing:
        services.consent_withdraw(
            agreement=agreement,
            by=director,
            student_key=line.split(",")[0],
            given_by="parent",
            method="electronic",
            decided_on=today,
            form=forms[("en", 2)],
            today=today,
        )
    services.coverage_trend_rebuild(agreement_id=agreement.pk, today=today)
