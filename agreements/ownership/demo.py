"""The demo's ownership conflict (issue 20, item 6): in the real-time dashboard pilot, the
district says it owns its students' roster data; the curriculum developer says the students
and their families own it and the district is its steward. Review waits until they settle it.
"""

from __future__ import annotations

from agreements.models import Agreement
from agreements.ownership.services import ownership_position_state
from agreements.selectors import with_agreement_detail


def seed_ownership_conflict(agreement: Agreement, users: dict) -> None:
    """Both positions on ``agreement``'s first data element (deterministic: fixed answers)."""
    element = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    first = element.data_elements.all()[0]
    ownership_position_state(
        element=first,
        by=users["director"],
        owner="district",
        controller="district",
        steward="none",
        processors=["developer"],
        note="Student records are the district's education records; the district owns them "
        "and discloses them under FERPA's school-official exception.",
    )
    ownership_position_state(
        element=first,
        by=users["vendor"],
        owner="students_families",
        controller="district",
        steward="district",
        processors=["developer"],
        note="Students and their families own data about the student; the district holds it "
        "in trust as steward, and we process it only on the district's instructions.",
    )
