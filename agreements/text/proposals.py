"""Comparisons about proposals: competing proposals for one clause, and an agreement's accepted
overrides carried onto a newer template version. Pure, like :mod:`agreements.text.comparisons`.

- ``conflict_positions``: the competing proposals for one clause against the standard text.
- ``upgrade_preview``: the agreement's accepted overrides re-applied onto a newer version.

Clauses are matched by their stable key, never by number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

from django.utils.safestring import SafeString

from agreements.text.comparisons import Comparison, Values, align
from agreements.text.consolidation import (
    ClauseLike,
    ConsolidatedText,
    OverrideLike,
    consolidate,
)
from agreements.text.document.model import Document
from agreements.text.placeholders import fill
from agreements.text.redline import WordStats, word_stats
from agreements.text.redline_html import redline_html
from agreements.text.titles import GONE, titles_with_standard

# --- Conflicts ------------------------------------------------------------------------------


class ProposalLike(OverrideLike, Protocol):
    rationale: str


@dataclass(frozen=True)
class Position:
    """One party's proposal for a conflicted clause, against the standard text."""

    party: str
    kind: str
    heading: str
    body: str
    rationale: str
    status: str
    anchor_prefix: str
    standard_body: str

    @cached_property
    def against_standard(self) -> SafeString:
        """The proposal with its insertions and deletions against the standard marked."""
        return redline_html(self.standard_body, self.body, id_prefix=self.anchor_prefix)

    @cached_property
    def stats(self) -> WordStats:
        return word_stats(self.standard_body, self.body)

    @property
    def mostly_rewritten(self) -> bool:
        """More than half of the standard's words are gone: the clean text reads better
        than the redline."""
        standard_words = word_stats("", self.standard_body)["words_inserted"]
        return self.stats["words_deleted"] * 2 > standard_words


@dataclass(frozen=True)
class PositionPair:
    first: Position
    second: Position
    anchor_prefix: str

    @cached_property
    def redline(self) -> SafeString:
        """How the second position differs from the first."""
        return redline_html(self.first.body, self.second.body, id_prefix=self.anchor_prefix)


@dataclass(frozen=True)
class ConflictComparison:
    key: str
    heading: str
    standard_body: str
    positions: tuple[Position, ...]

    @property
    def pairs(self) -> list[PositionPair]:
        return [
            PositionPair(a, b, anchor_prefix=f"chg-pair-{i}-{j}-")
            for i, a in enumerate(self.positions)
            for j, b in enumerate(self.positions)
            if i < j
        ]


def conflict_positions(
    *,
    key: str,
    standard: ClauseLike | None,
    proposals: Iterable[tuple[str, str, ProposalLike]],
    values: Values,
) -> ConflictComparison:
    """The standard clause and each party's proposal (``(party name, status label,
    override)``), placeholders filled, each proposal redlined against the standard."""
    standard_body = standard.body if standard else ""
    positions = []
    for index, (party, status, override) in enumerate(proposals, start=1):
        deleting = override.kind == "delete"
        positions.append(
            Position(
                party=party,
                kind=override.kind,
                heading=fill(override.heading, values) if override.heading else "",
                body="" if deleting else fill(override.body, values),
                rationale=override.rationale,
                status=status,
                anchor_prefix=f"chg-p{index}-",
                standard_body=standard_body,
            )
        )
    return ConflictComparison(
        key=key,
        heading=standard.heading if standard else key,
        standard_body=standard_body,
        positions=tuple(positions),
    )


# --- Moving to a newer template version -----------------------------------------------------


type Outcome = Literal["applies", "standard-changed", "lost"]


@dataclass(frozen=True)
class CarriedOverride:
    """What happens to one accepted override when the agreement moves to a newer version."""

    override_id: int
    kind: str
    clause_key: str
    target_key: str
    outcome: Outcome
    # As the document names them ("7. Data security"): the clause the change is to (or, for
    # an insert, the clause it adds) and the standard clause it was made against.
    target_title: str
    clause_title: str

    @property
    def explanation(self) -> str:
        if self.outcome == "lost":
            return f"Cannot be carried over: {self.clause_title} is not in the newer version."
        if self.outcome == "standard-changed":
            return (
                f"The standard text of {self.clause_title} changed in the newer version; this "
                "change was written against the old standard text and would replace the new one."
            )
        return "Carries over unchanged: the standard text of this clause did not change."


@dataclass(frozen=True)
class UpgradePreview:
    comparison: Comparison
    carried: tuple[CarriedOverride, ...]
    moved: ConsolidatedText = field(repr=False)


def upgrade_preview(
    *,
    current: ConsolidatedText,
    old_clauses: Sequence[ClauseLike],
    new_clauses: Sequence[ClauseLike],
    accepted_overrides: Sequence[OverrideLike],
    values: Values,
    header: Sequence[tuple[str, str]] = (),
    frame: Document | None = None,
    fillins: Mapping[str, Any] | None = None,
    current_label: str,
    new_label: str,
) -> UpgradePreview:
    """The agreement's text if it moved to ``new_clauses``: its accepted overrides re-applied
    onto the newer version (in their original order), compared with the text now."""
    moved = consolidate(
        clauses=new_clauses,
        accepted_overrides=accepted_overrides,
        values=values,
        header=header,
        schedule=current.schedule,
        frame=frame,
        fillins=fillins,
    )
    old_by_key = {c.key: c for c in old_clauses}
    new_by_key = {c.key: c for c in new_clauses}
    titles = titles_with_standard(current, old_clauses)
    carried = []
    for override in accepted_overrides:
        target_key = override.new_key if override.kind == "insert" else override.clause_key
        old, new = old_by_key.get(override.clause_key), new_by_key.get(override.clause_key)
        outcome: Outcome
        if new is None:
            outcome = "lost"
        elif override.kind != "insert" and (
            old is None or (old.heading, old.body) != (new.heading, new.body)
        ):
            outcome = "standard-changed"
        else:
            outcome = "applies"
        carried.append(
            CarriedOverride(
                override_id=override.id,
                kind=override.kind,
                clause_key=override.clause_key,
                target_key=target_key,
                outcome=outcome,
                target_title=titles.get(target_key) or GONE,
                clause_title=titles.get(override.clause_key) or GONE,
            )
        )
    notes = {c.target_key: c.explanation for c in carried if c.outcome != "applies"}
    return UpgradePreview(
        comparison=Comparison(
            old_label=current_label,
            new_label=new_label,
            rows=align(
                current.clauses,
                moved.clauses,
                notes=notes,
                old_document=current.document,
                new_document=moved.document,
            ),
            verb="would change",
        ),
        carried=tuple(carried),
        moved=moved,
    )
