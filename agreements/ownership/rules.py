"""Where each data element's ownership stands, and what keeps an agreement from review.

The rule (issue 20, DOMAIN.md "Ownership and stewardship"): ownership is raised for a data
element when any party states a position on it. From then on it is *settled* only when

- every party has stated a position and all of them give the same four answers (owner,
  controller, steward, processors; notes are not compared): **agreed**; or
- every party has stated a position, they differ, and every party has confirmed one wording
  that records the difference: **agreed to differ**.

Until then it blocks legal review, named in the blocker: which parties have not stated a
position, on which questions the positions differ, who has not yet confirmed the wording.
An element nobody raised does not block: the agreement then says nothing about ownership.

Plain functions over rows the detail selectors prefetch (no query of their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from agreements.models import Agreement, DataElement
from agreements.negotiation.pending import names_in_words
from agreements.ownership.models import OwnershipDifference, OwnershipPosition
from agreements.ownership.schedule import AGREED, NOT_SETTLED, OwnershipRow
from agreements.ownership.vocabulary import (
    QUESTION_LABELS,
    QUESTIONS,
    Owner,
    Party,
    RoleName,
    Steward,
)
from agreements.selectors import parties
from partners.models import TrioMember


class State(StrEnum):
    UNSTATED = "unstated"  # nobody has raised ownership of this element
    WAITING = "waiting"  # some parties have stated a position, others not yet
    CONFLICT = "conflict"  # every party stated; they differ; no confirmed wording yet
    AGREED = "agreed"  # every party states the same position
    DIFFER = "differ"  # they differ, and every party confirmed the wording that says so


STATE_LABELS = {
    State.UNSTATED: "No positions yet",
    State.WAITING: "Waiting for positions",
    State.CONFLICT: "Conflict",
    State.AGREED: "Agreed",
    State.DIFFER: "Agreed to differ",
}


def holder_name(value: str, members: Sequence[TrioMember]) -> str:
    """A holder in the agreement's words: the party's name, or the students and families."""
    if value == Owner.STUDENTS_FAMILIES:
        return str(Owner.STUDENTS_FAMILIES.label)
    if value == Steward.NONE:
        return "None"
    for member in members:
        if member.role == value:
            return member.organisation.name
    return str(Party(value).label) if value in Party.values else value


def answer_text(position: OwnershipPosition, question: str, members: Sequence[TrioMember]) -> str:
    """One answer of ``position`` in words ("Riverbend Unified School District")."""
    if question == "processors":
        names = [holder_name(p, members) for p in sorted(position.processors)]
        return names_in_words(names) if names else "None"
    return holder_name(getattr(position, question), members)


def roles_of(position: OwnershipPosition, party_role: str) -> list[str]:
    """The roles ``position`` gives the party with trio role ``party_role`` ("Owner",
    "Controller", ...), in the vocabulary's order."""
    roles = []
    if position.owner == party_role:
        roles.append(str(RoleName.OWNER.label))
    if position.controller == party_role:
        roles.append(str(RoleName.CONTROLLER.label))
    if position.steward == party_role:
        roles.append(str(RoleName.STEWARD.label))
    if party_role in position.processors:
        roles.append(str(RoleName.PROCESSOR.label))
    return roles


@dataclass(frozen=True)
class PartyStand:
    member: TrioMember
    position: OwnershipPosition | None
    confirmed: bool  # confirmed the live agreement to differ, if there is one


@dataclass(frozen=True)
class ElementOwnership:
    """Where one data element's ownership stands."""

    element: DataElement
    stands: tuple[PartyStand, ...]
    difference: OwnershipDifference | None  # the live agreement to differ, if any
    state: State
    disputed: tuple[str, ...]  # the questions the stated positions answer differently

    @property
    def members(self) -> list[TrioMember]:
        return [s.member for s in self.stands]

    @property
    def positions(self) -> list[OwnershipPosition]:
        return [s.position for s in self.stands if s.position is not None]

    @property
    def settled(self) -> bool:
        return self.state in (State.AGREED, State.DIFFER, State.UNSTATED)

    @property
    def in_conflict(self) -> bool:
        return self.state == State.CONFLICT or (self.state == State.WAITING and bool(self.disputed))

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def not_stated(self) -> list[TrioMember]:
        return [s.member for s in self.stands if s.position is None]

    @property
    def not_confirmed(self) -> list[TrioMember]:
        if self.difference is None:
            return []
        return [s.member for s in self.stands if not s.confirmed]

    @property
    def disputed_labels(self) -> str:
        return names_in_words(QUESTION_LABELS[q].lower() for q in self.disputed)

    @property
    def agreed_position(self) -> OwnershipPosition | None:
        return self.positions[0] if self.state == State.AGREED else None

    def blocker(self) -> str | None:
        """Why this element keeps the agreement from review, naming it; None when settled."""
        name = f"“{self.element.name}”"
        if self.state == State.WAITING:
            missing = names_in_words(m.organisation.name for m in self.not_stated)
            clash = f"; the positions stated so far differ on {self.disputed_labels}" * bool(
                self.disputed
            )
            return (
                f"Ownership of {name} is not settled: {missing} "
                f"{'has' if len(self.not_stated) == 1 else 'have'} not stated a position "
                f"yet{clash}."
            )
        if self.state == State.CONFLICT:
            if self.difference is not None:
                waiting = names_in_words(m.organisation.name for m in self.not_confirmed)
                return (
                    f"Ownership of {name} is in conflict ({self.disputed_labels}): the wording "
                    f"agreeing to differ waits for confirmation from {waiting}."
                )
            return (
                f"Ownership of {name} is in conflict: the parties' positions differ on "
                f"{self.disputed_labels}. State the same position, or agree to differ in a "
                "wording every party confirms."
            )
        return None


def _disputed(positions: Iterable[OwnershipPosition]) -> tuple[str, ...]:
    positions = list(positions)
    return tuple(
        question
        for index, question in enumerate(QUESTIONS)
        if len({p.answers[index] for p in positions}) > 1
    )


def element_ownership(element: DataElement, members: Sequence[TrioMember]) -> ElementOwnership:
    """Where ``element``'s ownership stands among the parties ``members`` (prefetched rows:
    ``element.ownership_positions``, its live ``ownership_differences`` and their
    ``confirmations``)."""
    by_party = {p.organisation_id: p for p in element.ownership_positions.all()}
    difference = next((d for d in element.ownership_differences.all() if d.voided_at is None), None)
    confirmed = {c.organisation_id for c in difference.confirmations.all()} if difference else set()
    stands = tuple(
        PartyStand(
            member=m,
            position=by_party.get(m.organisation_id),
            confirmed=m.organisation_id in confirmed,
        )
        for m in members
    )
    stated = [s.position for s in stands if s.position is not None]
    disputed = _disputed(stated)
    if not stated:
        state = State.UNSTATED
    elif len(stated) < len(stands):
        state = State.WAITING
    elif not disputed:
        state = State.AGREED
    elif difference is not None and all(s.confirmed for s in stands):
        state = State.DIFFER
    else:
        state = State.CONFLICT
    return ElementOwnership(
        element=element,
        stands=stands,
        difference=difference if state in (State.CONFLICT, State.DIFFER) else None,
        state=state,
        disputed=disputed,
    )


def agreement_ownership(agreement: Agreement) -> list[ElementOwnership]:
    """Every data element's ownership, in schedule order (no query on an agreement from the
    detail selectors)."""
    members = parties(agreement)
    return [element_ownership(e, members) for e in agreement.data_elements.all()]


def ownership_blockers(agreement: Agreement) -> list[str]:
    """One plain-language review blocker per data element whose ownership is not settled."""
    return [b for item in agreement_ownership(agreement) if (b := item.blocker())]


def ownership_row(item: ElementOwnership) -> OwnershipRow | None:
    """How the schedule states ``item``; None when no party raised ownership of it."""
    if item.state == State.UNSTATED:
        return None
    members = item.members
    answers: list[tuple[str, ...]] = []
    for question in QUESTIONS:
        said = [
            (s.member.organisation.name, answer_text(s.position, question, members))
            for s in item.stands
            if s.position is not None
        ]
        if item.state != State.WAITING and len({text for _, text in said}) == 1:
            answers.append((said[0][1],))
        else:
            lines = [f"{name}: {text}" for name, text in said]
            lines += [f"{m.organisation.name}: no position yet" for m in item.not_stated]
            answers.append(tuple(lines))
    if item.state == State.AGREED:
        settlement = AGREED
    elif item.state == State.DIFFER and item.difference is not None:
        settlement = f"Agreed to differ: {' '.join(item.difference.wording.split())}"
    else:
        settlement = NOT_SETTLED
    return OwnershipRow(name=item.element.name, answers=tuple(answers), settlement=settlement)
