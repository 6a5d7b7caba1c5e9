"""Demo organisations, people and partnerships (all fictional), created idempotently.

The demo district (Riverbend) is in three of the four trios; the fourth belongs to another
district and must stay invisible to Riverbend's people.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from partners.models import (
    Collaboratory,
    Organisation,
    OrganisationKind,
    ResearchQuestion,
    Role,
    Trio,
)
from partners.services import membership_grant, trio_set_members

DEMO_PASSWORD = "collaboratory-demo"  # noqa: S105 - published demo password

ORGANISATIONS = [
    (
        "riverbend-usd",
        "Riverbend Unified School District",
        OrganisationKind.DISTRICT,
        "Dr. Maya Okafor",
        "research@riverbend-usd.example",
    ),
    (
        "lakeshore-cps",
        "Lakeshore County Public Schools",
        OrganisationKind.DISTRICT,
        "Tom Beringer",
        "partnerships@lakeshore-cps.example",
    ),
    (
        "northfield-university",
        "Northfield University Learning Sciences Lab",
        OrganisationKind.RESEARCH,
        "Prof. Ana Lindqvist",
        "lsl@northfield.example",
    ),
    (
        "hillcrest-state",
        "Hillcrest State University Center for Mathematics Education",
        OrganisationKind.RESEARCH,
        "Dr. Samuel Reyes",
        "cme@hillcrest.example",
    ),
    (
        "brightpath-learning",
        "Brightpath Learning, Inc.",
        OrganisationKind.DEVELOPER,
        "Priya Natarajan",
        "legal@brightpath.example",
    ),
    (
        "quadratic-labs",
        "Quadratic Labs",
        OrganisationKind.DEVELOPER,
        "Jonas Feld",
        "privacy@quadraticlabs.example",
    ),
    (
        "openalgebra",
        "OpenAlgebra Foundation",
        OrganisationKind.DEVELOPER,
        "Rosa Martins",
        "info@openalgebra.example",
    ),
    (
        "aims-hub",
        "AIMS Network Hub",
        OrganisationKind.FACILITATOR,
        "Lee Whitfield",
        "hub@aims-network.example",
    ),
    (
        "cedar-foundation",
        "Cedar Education Foundation",
        OrganisationKind.FUNDER,
        "Grace Holm",
        "grants@cedar.example",
    ),
]

TRIOS = [
    (
        "adaptive-practice",
        "Adaptive Practice in Algebra I",
        ("northfield-university", "riverbend-usd", "brightpath-learning"),
        "Does Brightpath's adaptive practice improve Algebra I outcomes in Riverbend's ninth "
        "grade?",
        [
            "Do students who complete at least 30 minutes of adaptive practice per week score "
            "higher on the district's Algebra I end-of-unit assessments?",
            "Which practice patterns predict students moving off an intervention track?",
        ],
    ),
    (
        "productive-struggle",
        "Productive Struggle in Grade 8",
        ("hillcrest-state", "riverbend-usd", "quadratic-labs"),
        "Classroom routines that keep eighth graders working on hard problems.",
        [
            "How does time spent on non-routine tasks relate to end-of-year mathematics growth?",
            "Do teachers' use of structured talk moves change after the professional learning "
            "series?",
        ],
    ),
    (
        "open-curriculum",
        "Open Curriculum Implementation Study",
        ("northfield-university", "riverbend-usd", "openalgebra"),
        "How the OpenAlgebra curriculum is taken up across Riverbend's middle schools.",
        [
            "Which lessons do teachers adapt most, and how do the adaptations relate to student "
            "work quality?",
        ],
    ),
    (
        "lakeshore-fluency",
        "Lakeshore Fluency Pathways",
        ("hillcrest-state", "lakeshore-cps", "quadratic-labs"),
        "Fluency-building pathways for students entering Algebra I below grade level.",
        [
            "Does the fluency pathway close the gap in readiness for Algebra I by the end of "
            "grade 8?",
        ],
    ),
]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    organisation: str
    roles: tuple[str, ...]
    is_staff: bool = False


PEOPLE = [
    DemoPerson(
        "director",
        "Maya",
        "Okafor",
        "riverbend-usd",
        (Role.DIRECTOR, Role.SIGNATORY, Role.LEGAL, Role.ADMIN),
    ),
    DemoPerson("counsel", "Daniel", "Ruiz", "northfield-university", (Role.LEGAL,)),
    DemoPerson(
        "vendor",
        "Priya",
        "Natarajan",
        "brightpath-learning",
        (Role.LEGAL, Role.SIGNATORY, Role.ADMIN),
    ),
    DemoPerson(
        "researcher", "Ana", "Lindqvist", "northfield-university", (Role.STAFF, Role.SIGNATORY)
    ),
    DemoPerson(
        "facilitator", "Lee", "Whitfield", "aims-hub", (Role.STAFF, Role.ADMIN), is_staff=True
    ),
    # Counterparts in the other organisations, so every demo agreement has real parties.
    DemoPerson(
        "hillcrest",
        "Samuel",
        "Reyes",
        "hillcrest-state",
        (Role.DIRECTOR, Role.LEGAL, Role.SIGNATORY),
    ),
    DemoPerson("quadratic", "Jonas", "Feld", "quadratic-labs", (Role.LEGAL, Role.SIGNATORY)),
    DemoPerson("openalgebra", "Rosa", "Martins", "openalgebra", (Role.LEGAL, Role.SIGNATORY)),
    DemoPerson(
        "lakeshore", "Tom", "Beringer", "lakeshore-cps", (Role.DIRECTOR, Role.LEGAL, Role.SIGNATORY)
    ),
]
#: The logins the README presents; the others exist so demo agreements have every party.
MAIN_LOGINS = ("director", "counsel", "vendor", "researcher", "facilitator")


@transaction.atomic
def seed_partners() -> Collaboratory:
    User = get_user_model()
    collaboratory, _ = Collaboratory.objects.update_or_create(
        slug="aims",
        defaults={
            "name": "AIMS Collaboratory",
            "code": "AIMS",
            "description": "Algebra Improvement through Multi-partner Studies: a community of "
            "practice of research-practice-developer trios working on algebra education.",
        },
    )
    organisations: dict[str, Organisation] = {}
    for slug, name, kind, contact, email in ORGANISATIONS:
        organisations[slug], _ = Organisation.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "kind": kind, "contact_name": contact, "contact_email": email},
        )
    for slug, name, (research, district, developer), description, questions in TRIOS:
        trio, _ = Trio.objects.update_or_create(
            collaboratory=collaboratory,
            slug=slug,
            defaults={"name": name, "description": description},
        )
        trio_set_members(
            trio=trio,
            research=organisations[research],
            district=organisations[district],
            developer=organisations[developer],
        )
        for position, text in enumerate(questions, start=1):
            ResearchQuestion.objects.update_or_create(
                trio=trio, position=position, defaults={"text": text}
            )
    for person in PEOPLE:
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@{person.organisation}.example",
                "is_staff": person.is_staff,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        for role in person.roles:
            membership_grant(user=user, organisation=organisations[person.organisation], role=role)
        if person.is_staff:
            collaboratory.staff.add(user)
            _grant_facilitator_admin_permissions(user)
    return collaboratory


def _grant_facilitator_admin_permissions(user) -> None:
    """What facilitators may still do in the admin: maintain partners (collaboratories,
    memberships, research questions) and read consent records. Not the agreements app:
    templates are managed in the template workspace, organisations and trios on the
    Partnerships pages, agreements are read on their own pages and change only through their
    services, so the admin's agreement pages are for staff maintenance (superusers) only.
    Permissions an earlier seed granted for agreements are taken back."""
    from django.contrib.auth.models import Permission

    permissions = Permission.objects.filter(content_type__app_label__in=["partners", "consent"])
    user.user_permissions.add(*permissions)
    user.user_permissions.remove(*Permission.objects.filter(content_type__app_label="agreements"))
