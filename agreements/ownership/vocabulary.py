"""The words a party uses to state who holds which role for one data element.

Written for the lawyers who read the schedule. A *position* is one party's answer to four
questions about one data element; every party of the agreement answers for itself, and the
answers are compared word for word.

**Owner** (``Owner``) — who, in the party's view, owns the data:

- ``district``: the school district (or state education agency) owns the records it keeps
  about its students; the other parties hold them under this agreement only.
- ``students_families``: the students, and their parents or guardians while the student is a
  minor, own data about the student; institutions only hold it for them.
- ``research`` / ``developer``: the research partner or the curriculum developer owns the data
  (for instance usage data its own platform creates).

**Controller** (``Party``) — the party that decides why and how the data is used and
disclosed. Under FERPA (34 CFR § 99.31) the educational agency that discloses education
records, or a school official who discloses them at its direction, stays in control of them:
for data a school discloses, the district is ordinarily the controller. A controller is always
a party (an organisation that signs), never the students.

**Steward** (``Party`` or ``none``) — the party that holds the data in trust for its owner:
keeps it safe, accurate and available, and answers for access to it, without owning it. The
usual pairing with ``owner = students_families`` is ``steward = district``. ``none`` when the
party states that nobody acts as a steward apart from the owner (e.g. the district owns it).

**Processors** (any of the parties, or none) — parties that handle the data only on the
controller's documented instructions and for the agreement's purpose (a curriculum platform
operating for the district; a research team acting as the district's authorised
representative for a study).

A party may hold several roles (the district is often controller and steward). Every role a
party holds for an element is listed with the party: ``roles_of``.

**Note** — each position has a free-text note (the party's reasons, the law it relies on). The
note is shown to the parties and kept with the position, but only the four answers are
compared: two positions with the same answers and different notes agree.

**Agreed to differ** — when the parties cannot agree, they may record that they differ, in a
wording every party confirms (e.g. "The parties differ on ownership; nothing in this
agreement transfers or concedes ownership of student data."). The schedule then shows each
party's position and the wording. A position changed afterwards voids the confirmations:
what they agreed to differ about is no longer what the parties state.
"""

from __future__ import annotations

from django.db import models


class Owner(models.TextChoices):
    DISTRICT = "district", "The school district"
    STUDENTS_FAMILIES = "students_families", "Students and their families"
    RESEARCH = "research", "The research partner"
    DEVELOPER = "developer", "The curriculum developer"


class Party(models.TextChoices):
    """A party of the trio by its role in it (research, district, developer)."""

    DISTRICT = "district", "The school district"
    RESEARCH = "research", "The research partner"
    DEVELOPER = "developer", "The curriculum developer"


class Steward(models.TextChoices):
    DISTRICT = "district", "The school district"
    RESEARCH = "research", "The research partner"
    DEVELOPER = "developer", "The curriculum developer"
    NONE = "none", "No steward (the owner holds it)"


class RoleName(models.TextChoices):
    """The roles a party can hold for a data element (what the schedule lists per party)."""

    OWNER = "owner", "Owner"
    CONTROLLER = "controller", "Controller"
    STEWARD = "steward", "Steward"
    PROCESSOR = "processor", "Processor"


#: The four answers of a position, in the order the schedule shows them.
QUESTIONS = ("owner", "controller", "steward", "processors")

QUESTION_LABELS = {
    "owner": "Owner",
    "controller": "Controller",
    "steward": "Steward",
    "processors": "Processors",
}
