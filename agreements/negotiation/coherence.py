"""Whether an agreement's terms agree with each other: each data element's identifiability
and the agreement's sharing mode.

The rule (issue 16, DOMAIN.md "Sharing mode"): analysis mode shares aggregate or
de-identified data only. An identifiable or pseudonymous data element under it contradicts
the mode, and the agreement may not go to legal review until the element's identifiability
or the sharing mode changes. Operations mode, with its stricter clauses, takes any level.

Identifiability's choices run from the most identifying to the least (identifiable,
pseudonymous, de-identified, aggregate); a new data element starts at the least, so a
person raises it on purpose rather than lowering it by accident.

Plain functions over plain values, so the wizard (its answers live in the session), the
review blockers and the pages ask the same question and get the same words.
"""

from __future__ import annotations

from collections.abc import Iterable

from agreements.models import Agreement, Identifiability, SharingMode

#: Where a new data element starts: the least identifying level.
LEAST_IDENTIFYING = Identifiability.AGGREGATE

#: The levels each sharing mode admits; a mode not listed admits every level.
ADMITTED: dict[str, frozenset[str]] = {
    SharingMode.ANALYSIS: frozenset({Identifiability.DEIDENTIFIED, Identifiability.AGGREGATE}),
}


def admits(sharing_mode: str, identifiability: str) -> bool:
    """Whether data of ``identifiability`` may be shared in ``sharing_mode``."""
    admitted = ADMITTED.get(sharing_mode)
    return admitted is None or identifiability in admitted


def mismatches(sharing_mode: str, elements: Iterable[tuple[str, str]]) -> list[str]:
    """One plain-language blocker per data element, given as (name, identifiability), whose
    identifiability ``sharing_mode`` does not admit; empty when the terms agree."""
    return [
        f"“{name}” is {Identifiability(level).label.lower()}, but this agreement shares only "
        "aggregate or de-identified data (analysis mode): change the element's "
        "identifiability or the sharing mode."
        for name, level in elements
        if not admits(sharing_mode, level)
    ]


def identifiability_mismatches(agreement: Agreement) -> list[str]:
    """Why ``agreement``'s data elements and sharing mode disagree (empty when they agree):
    a review blocker each. Reads ``agreement.data_elements.all()``, so the detail selectors'
    prefetch serves it without a query."""
    return mismatches(
        agreement.sharing_mode,
        ((element.name, element.identifiability) for element in agreement.data_elements.all()),
    )
