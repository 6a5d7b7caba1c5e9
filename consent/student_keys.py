"""Which student keys an agreement's consent may be recorded under (issue 20, item 5).

The rule itself is ``partners.student_keys.check_student_key``: the district's format when
it has set one, else no key shaped like a name; the error never echoes the key. Here: which
district an agreement's keys belong to, the exemption for students already in the cohort
(they keep the key they were recorded under when the format changes, so their families can
still withdraw), and the count the settings page shows before a new format is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from django import forms
from django.http import QueryDict

from agreements.models import Agreement
from collaboratory.errors import DomainError
from consent.models import StudentConsent
from partners.models import Organisation, TrioRole
from partners.student_keys import format_of, student_key_problem


def district_of(agreement: Agreement) -> Organisation | None:
    """The agreement's district (from the prefetched trio members when there are some)."""
    for member in agreement.trio.members.all():
        if member.role == TrioRole.DISTRICT:
            return member.organisation
    return None


def key_rule(agreement: Agreement, *, known: Container[str] = ()) -> Callable[[str], str]:
    """``key -> problem`` ("" when the key may be written) for ``agreement``'s consent:
    a key in ``known`` (students already in the cohort) passes; any other must satisfy
    the district's rule."""
    district = district_of(agreement)

    def problem(key: str) -> str:
        if key in known:
            return ""
        return student_key_problem(district, key)

    return problem


def check_key_for_agreement(
    agreement: Agreement, key: str, *, known: Container[str] = (), field: str = "student_key"
) -> None:
    """``DomainError`` on ``field`` when ``key`` may not be written for ``agreement``."""
    problem = key_rule(agreement, known=known)(key)
    if problem:
        raise DomainError({field: problem}, code="student_key_refused")


def keys_not_matching(district: Organisation, regex: str) -> int:
    """The distinct keys recorded under ``district``'s agreements that ``regex`` does not
    match (counted in PostgreSQL; the values never leave it). Registered in
    ``partners.hooks.student_keys_not_matching``."""
    return (
        StudentConsent.objects.filter(
            agreement__trio__members__organisation=district,
            agreement__trio__members__role=TrioRole.DISTRICT,
        )
        .exclude(student_key__regex=regex)
        .values("student_key")
        .distinct()
        .count()
    )


def key_hint(agreement: Agreement) -> str:
    """What the agreement's student keys must look like, in words, for forms and pages."""
    district = district_of(agreement)
    key_format = format_of(district)
    if key_format is None:
        return (
            "The district's pseudonymous student ID, never a name: at least one digit and no "
            "word of four or more letters."
        )
    name = district.name if district is not None else "The district"
    examples = ", ".join(key_format.examples()[:2])
    return f"{name}'s student key: {key_format.description} (e.g. {examples}). Never a name."


def forget_refused_key(form: forms.Form) -> None:
    """Blank a refused key in a bound form, so the page does not show it again (it may be
    a child's name)."""
    if "student_key" in form.errors:
        if isinstance(form.data, QueryDict):
            data = form.data.copy()
            data["student_key"] = ""
            form.data = data
        else:
            form.data = {**form.data, "student_key": ""}
