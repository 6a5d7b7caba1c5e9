"""Consent rules as plain functions: the effective state of a student, the age rule, which
roster columns an agreement allows, and what keeps an agreement from legal review.

No request, no database writes: the services, selectors, import, trend and API all call
these, so a rule lives in one place.

The effective state
-------------------
``effective_state`` derives a student's state from their ordered consent records (grant,
refuse, withdraw; a withdrawal is a new record, never an edit). Records are ordered by the
date of the decision, then by the order they were recorded. Only the latest decision of
each giver counts: the parent/guardian's and the student's own.

* A refusal or withdrawal recorded by the party whose decision counts always wins: the
  latest of them names the state (``refused`` or ``withdrawn``). A later grant by the same
  giver replaces it (re-grant).
* Parental consent: a minor is permitted when the parent's latest decision is a grant.
* Parental consent + assent: a minor needs both the parent's grant and their own assent;
  assent without parental consent is ``awaiting_parent`` and not permitted.
* Opt-out: a minor is permitted unless the parent (or the student) opted out.
* Turning 18: from the day a student is certainly an adult, parental consent no longer
  counts and neither does assent given as a minor. The student's own decision, given as an
  adult, is needed (``needs_own_consent`` until then) and overrides any earlier parental
  decision. A refusal the student or parent gave earlier still stands until the adult
  student grants. Under opt-out an adult is permitted unless someone opted out.

Age is computed from the birth year alone, conservatively: on a given day a student is
assumed to be the youngest they can be, ``day.year - birth_year - 1``. So a student born in
2008 counts as a minor for all of 2026 and as an adult from 1 January 2027; a student with no
birth year is always a minor. Both directions of doubt therefore demand more consent, never
less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from django.db import models

ADULT_AGE = 18


class ConsentKind(models.TextChoices):
    NONE = "none", "No consent needed (legal basis recorded)"
    OPT_OUT = "opt_out", "Opt-out: notice with the right to refuse"
    PARENTAL = "parental", "Parental consent"
    PARENTAL_ASSENT = "parental_assent", "Parental consent and student assent (under 18)"


#: Stricter requirements come later; the strictest governs a roster that serves several
#: data elements. (Stored kinds read back as plain strings.)
STRICTNESS: list[str] = [
    ConsentKind.NONE,
    ConsentKind.OPT_OUT,
    ConsentKind.PARENTAL,
    ConsentKind.PARENTAL_ASSENT,
]


class Action(models.TextChoices):
    GRANTED = "granted", "Granted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class GivenBy(models.TextChoices):
    PARENT = "parent", "Parent or guardian"
    STUDENT = "student", "Student (assent, or own consent at 18+)"


class Method(models.TextChoices):
    PAPER = "paper", "Paper form"
    ELECTRONIC = "electronic", "Electronic form"
    VERBAL = "verbal", "Verbal, with a witness"


class State(models.TextChoices):
    GRANTED = "granted", "Granted"
    NOT_OPTED_OUT = "not_opted_out", "Not opted out"
    NOT_REQUIRED = "not_required", "No consent needed"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    AWAITING_ASSENT = "awaiting_assent", "Parent consented, assent missing"
    AWAITING_PARENT = "awaiting_parent", "Assent given, parental consent missing"
    NEEDS_OWN_CONSENT = "needs_own_consent", "Turned 18: own consent needed"
    NO_RESPONSE = "no_response", "No response"


PERMITTED_STATES = frozenset({State.GRANTED, State.NOT_OPTED_OUT, State.NOT_REQUIRED})
INCOMPLETE_STATES = frozenset(
    {State.AWAITING_ASSENT, State.AWAITING_PARENT, State.NEEDS_OWN_CONSENT}
)


class Bucket(models.TextChoices):
    """The coverage dashboard's columns: states grouped the way a director reads them."""

    PERMITTED = "permitted", "Permitted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    INCOMPLETE = "incomplete", "Incomplete"
    NO_RESPONSE = "no_response", "No response"


def bucket_of(state: str) -> str:
    if state in PERMITTED_STATES:
        return Bucket.PERMITTED
    if state in INCOMPLETE_STATES:
        return Bucket.INCOMPLETE
    if state == State.REFUSED:
        return Bucket.REFUSED
    if state == State.WITHDRAWN:
        return Bucket.WITHDRAWN
    return Bucket.NO_RESPONSE


class Decision(NamedTuple):
    """One consent record as the rules see it. ``sequence`` breaks ties on the same day
    (the order the records were written). A tuple: imports make a hundred thousand."""

    action: str
    given_by: str
    decided_on: dt.date
    sequence: int = 0


class Effective(NamedTuple):
    state: str
    permitted: bool
    adult: bool
    #: The first day the state may change by the passage of time alone (the student
    #: becomes an adult), or None when it cannot.
    valid_until: dt.date | None


def age_on(birth_year: int | None, day: dt.date) -> int | None:
    """The youngest the student can be on ``day`` (conservative: birthday not yet reached)."""
    if birth_year is None:
        return None
    return day.year - birth_year - 1


def is_adult(birth_year: int | None, day: dt.date) -> bool:
    age = age_on(birth_year, day)
    return age is not None and age >= ADULT_AGE


def adult_from(birth_year: int | None) -> dt.date | None:
    """The first day the conservative rule treats the student as an adult."""
    if birth_year is None:
        return None
    return dt.date(birth_year + ADULT_AGE + 1, 1, 1)


def _blocking(*decisions: Decision | None) -> Decision | None:
    """The latest refusal or withdrawal among ``decisions``."""
    refusals = [d for d in decisions if d is not None and d.action != Action.GRANTED]
    if not refusals:
        return None
    return max(refusals, key=lambda d: (d.decided_on, d.sequence))


def _state_of(decision: Decision) -> str:
    return State.WITHDRAWN if decision.action == Action.WITHDRAWN else State.REFUSED


def latest_by_giver(
    decisions: Iterable[Decision], *, as_of: dt.date | None = None
) -> dict[str, Decision]:
    """The latest decision of each giver, ignoring decisions after ``as_of``."""
    latest: dict[str, Decision] = {}
    for decision in sorted(decisions, key=lambda d: (d.decided_on, d.sequence)):
        if as_of is not None and decision.decided_on > as_of:
            continue
        latest[decision.given_by] = decision
    return latest


def effective_state(
    decisions: Iterable[Decision], *, kind: str, birth_year: int | None, as_of: dt.date
) -> Effective:
    """The student's consent state on ``as_of`` under requirement ``kind`` (see module doc)."""
    adult = is_adult(birth_year, as_of)
    turns_adult = adult_from(birth_year)
    valid_until = turns_adult if turns_adult and not adult and kind != ConsentKind.NONE else None

    def result(state: str) -> Effective:
        return Effective(state, state in PERMITTED_STATES, adult, valid_until)

    if kind == ConsentKind.NONE:
        return result(State.NOT_REQUIRED)
    latest = latest_by_giver(decisions, as_of=as_of)
    parent = latest.get(GivenBy.PARENT)
    student = latest.get(GivenBy.STUDENT)

    if adult:
        own = student if student and is_adult(birth_year, student.decided_on) else None
        if own is not None:
            return result(State.GRANTED if own.action == Action.GRANTED else _state_of(own))
        blocking = _blocking(parent, student)
        if blocking is not None:
            return result(_state_of(blocking))
        if kind == ConsentKind.OPT_OUT:
            return result(State.NOT_OPTED_OUT)
        return result(State.NEEDS_OWN_CONSENT if (parent or student) else State.NO_RESPONSE)

    blocking = _blocking(parent, student)
    if blocking is not None:
        return result(_state_of(blocking))
    parent_granted = parent is not None  # not blocking, so a grant
    assented = student is not None
    if kind == ConsentKind.OPT_OUT:
        return result(State.GRANTED if parent_granted else State.NOT_OPTED_OUT)
    if kind == ConsentKind.PARENTAL:
        if parent_granted:
            return result(State.GRANTED)
        return result(State.AWAITING_PARENT if assented else State.NO_RESPONSE)
    # Parental consent and assent.
    if parent_granted and assented:
        return result(State.GRANTED)
    if parent_granted:
        return result(State.AWAITING_ASSENT)
    return result(State.AWAITING_PARENT if assented else State.NO_RESPONSE)


def strictest(kinds: Iterable[str]) -> str | None:
    ordered = sorted(set(kinds), key=lambda k: STRICTNESS.index(k))
    return ordered[-1] if ordered else None


# --- the consented roster's columns -------------------------------------------------------

#: Roster columns by the most identifying district data element shared with the recipient.
#: A roster links data to students, so an agreement that only shares de-identified or
#: aggregate data with the recipient allows no roster at all; pseudonymous data allows the
#: key plus school and grade (the usual strata of an analysis); only identifiable data also
#: allows the birth year, which narrows a student down further.
ROSTER_COLUMNS = {
    "identifiable": ("student_key", "school", "grade", "birth_year"),
    "pseudonymous": ("student_key", "school", "grade"),
    "deidentified": (),
    "aggregate": (),
}
_IDENTIFIABILITY_ORDER = ["aggregate", "deidentified", "pseudonymous", "identifiable"]


def roster_columns(identifiabilities: Iterable[str]) -> tuple[str, ...]:
    """Columns of a roster for a recipient of district data elements with these
    identifiability levels (empty: no roster allowed)."""
    levels = [i for i in identifiabilities if i in ROSTER_COLUMNS]
    if not levels:
        return ()
    most = max(levels, key=_IDENTIFIABILITY_ORDER.index)
    return ROSTER_COLUMNS[most]


# --- review gate --------------------------------------------------------------------------


def consent_blockers(agreement) -> list[str]:
    """Why ``agreement`` cannot go to review for consent reasons (empty when it can).

    An operations-mode agreement that shares identifiable student data needs, for each such
    data element, a consent requirement (agreement-wide or for the element), or a recorded
    legal basis for needing none.
    """
    from consent.models import ConsentRequirement

    if agreement.sharing_mode != "operations":
        return []
    identifiable = [e for e in agreement.data_elements.all() if e.identifiability == "identifiable"]
    if not identifiable:
        return []
    covered = set(
        ConsentRequirement.objects.filter(agreement_id=agreement.pk).values_list(
            "data_element_id", flat=True
        )
    )
    if None in covered:
        return []
    missing = [e.name for e in identifiable if e.pk not in covered]
    if not missing:
        return []
    names = ", ".join(f"“{name}”" for name in missing)
    return [
        f"Consent: this operations-mode agreement shares identifiable student data ({names}). "
        "Set a consent requirement, or record the legal basis for needing none, on the "
        "agreement's consent page."
    ]
