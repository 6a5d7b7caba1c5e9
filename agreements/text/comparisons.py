"""What legal users compare, as plain structures: clause by clause, old text against new.

Pure functions over consolidated texts and clause lists (no ORM, no request). Views, the
redline exports and the review service build on them; every redline comes from
``agreements.text.redline`` (the one diff module).

- ``agreement_vs_template``: the agreement's consolidated text against its template version,
  filled with the same placeholder values, so only the parties' changes show (parameters such
  as the breach-notice window are not deviations).
- ``text_vs_earlier``: the consolidated text now against the text at an earlier point.
- ``template_vs_template``: what changed in the standard between two versions.

The competing proposals for one clause, and moving an agreement to a newer template version,
are in :mod:`agreements.text.proposals`, built on these.

Clauses are matched by their stable key, never by number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from django.utils.safestring import SafeString

from agreements.text.consolidation import (
    ClauseLike,
    ConsolidatedText,
    ScheduleRow,
    consolidate,
    template_part,
)
from agreements.text.document.model import Document, Part
from agreements.text.document.redline import BlocksDiff, diff_blocks
from agreements.text.document.redline_render import redline_html as structured_redline
from agreements.text.document.retarget import by_citation
from agreements.text.placeholders import PlaceholderValue
from agreements.text.redline import (
    Op,
    WordStats,
    diff_tokens,
    word_stats,
)
from agreements.text.redline_html import redline_html, side_by_side

ClauseState = Literal["unchanged", "modified", "inserted", "deleted"]
Values = Mapping[str, PlaceholderValue | None]
STATE_LABELS: dict[str, str] = {
    "unchanged": "Unchanged",
    "modified": "Modified",
    "inserted": "Inserted clause",
    "deleted": "Deleted clause",
}


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


@dataclass(frozen=True)
class ClauseText:
    """One clause as it reads on one side of a comparison: its label, heading and plain text,
    and (when known) its structured part in the document it belongs to."""

    key: str
    number: str
    heading: str
    body: str
    part: Part | None = field(default=None, compare=False, repr=False)
    document: Document | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, clause: ClauseLike, document: Document | None = None) -> ClauseText:
        part = getattr(clause, "part", None)
        if part is None and (hasattr(clause, "blocks") or hasattr(clause, "kind")):
            part = template_part(clause)  # a template clause: model row or imported clause
        return cls(
            key=clause.key,
            number=clause.number,
            heading=clause.heading,
            body=clause.body,
            part=part,
            document=document,
        )

    def same_text(self, other: ClauseText) -> bool:
        """Whether ``other`` says the same: structurally when both are parts (labels that
        moved because something was inserted elsewhere do not count), else word for word."""
        if self.heading != other.heading:
            return False
        if self.part is not None and other.part is not None:
            if self.part.blocks == other.part.blocks:
                return True
            # A reference that cites the same item reads the same, whatever its number now.
            return by_citation(self.part.blocks, self.document) == by_citation(
                other.part.blocks, other.document
            )
        return self.body == other.body


def clause_hash(state: str, clause: ClauseText | None) -> str:
    """SHA-256 identifying what a reviewer saw: the change kind and the clause's text."""
    text = f"{state}\n{clause.heading}\n\n{clause.body}" if clause else state
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClauseComparison:
    """One clause, old against new. Redlines are computed on first use only."""

    key: str
    state: ClauseState
    old: ClauseText | None
    new: ClauseText | None
    conflict: bool = False
    override_id: int | None = None
    note: str = ""
    # Who made the change (a party's organisation), and its colour class: the redline's marks
    # name them (agreements.review.tracked_changes). Empty: not attributed.
    author: str = ""
    party: str = ""

    @property
    def changed(self) -> bool:
        return self.state != "unchanged"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def heading(self) -> str:
        side = self.new or self.old
        return side.heading if side else self.key

    @property
    def number(self) -> str:
        return self.new.number if self.new else self.old.number if self.old else ""

    @property
    def old_number(self) -> str:
        return self.old.number if self.old else ""

    @property
    def old_body(self) -> str:
        return self.old.body if self.old else ""

    @property
    def new_body(self) -> str:
        return self.new.body if self.new else ""

    @property
    def old_heading(self) -> str:
        return self.old.heading if self.old else ""

    @property
    def new_heading(self) -> str:
        return self.new.heading if self.new else ""

    @property
    def heading_changed(self) -> bool:
        return self.state == "modified" and self.old_heading != self.new_heading

    @property
    def anchor_prefix(self) -> str:
        """Ids of this clause's changes: ``chg-<key>-N`` (redline.py numbers them)."""
        return f"chg-{self.key}-"

    @property
    def first_change_anchor(self) -> str:
        """The id of the first change in the inline view (the heading's, when it changed)."""
        if self.heading_changed:
            return f"{self.anchor_prefix}h-1"
        return f"{self.anchor_prefix}1"

    @cached_property
    def body_ops(self) -> list[Op]:
        return diff_tokens(self.old_body, self.new_body)

    @property
    def structured(self) -> bool:
        """Whether the redline is over the clause's structure (lists, items, table rows)."""
        sides = [side for side in (self.old, self.new) if side is not None]
        return bool(sides) and all(side.part is not None for side in sides)

    @cached_property
    def structure(self) -> BlocksDiff | None:
        if not self.structured:
            return None
        old, new = self.old, self.new
        return diff_blocks(
            old.part.blocks if old is not None and old.part is not None else (),
            new.part.blocks if new is not None and new.part is not None else (),
            old_document=old.document if old is not None else None,
            new_document=new.document if new is not None else None,
            key=self.key,
        )

    @cached_property
    def inline(self) -> SafeString:
        if self.structure is not None:
            return structured_redline(
                self.structure, id_prefix=self.anchor_prefix, author=self.author, party=self.party
            )
        return redline_html(
            self.old_body, self.new_body, id_prefix=self.anchor_prefix, author=self.author
        )

    @cached_property
    def side(self) -> tuple[SafeString, SafeString]:
        return side_by_side(self.old_body, self.new_body, id_prefix=self.anchor_prefix)

    @cached_property
    def heading_inline(self) -> SafeString:
        return redline_html(
            self.old_heading,
            self.new_heading,
            id_prefix=f"{self.anchor_prefix}h-",
            author=self.author,
        )

    @cached_property
    def stats(self) -> WordStats:
        return word_stats(self.old_body, self.new_body)

    @property
    def review_hash(self) -> str:
        """What a party's review of this deviation is tied to (see ``ClauseReview``)."""
        if self.state == "deleted":
            return clause_hash("deleted", self.old)
        return clause_hash(self.state, self.new)


def align(
    old: Sequence[ClauseLike],
    new: Sequence[ClauseLike],
    *,
    conflict_keys: Collection[str] = (),
    override_ids: Mapping[str, int | None] | None = None,
    notes: Mapping[str, str] | None = None,
    old_document: Document | None = None,
    new_document: Document | None = None,
) -> tuple[ClauseComparison, ...]:
    """Every clause of ``old`` and ``new``, matched by key, in reading order.

    Rows follow ``new``; a clause only in ``old`` (deleted) comes right after the clause that
    preceded it in ``old`` and is still there (first, when there is none).
    """
    old_by_key = {c.key: c for c in old}
    new_keys = {c.key for c in new}
    override_ids = override_ids or {}
    notes = notes or {}

    def row(key: str, state: ClauseState, before, after) -> ClauseComparison:
        return ClauseComparison(
            key=key,
            state=state,
            old=ClauseText.of(before, old_document) if before is not None else None,
            new=ClauseText.of(after, new_document) if after is not None else None,
            conflict=key in conflict_keys,
            override_id=override_ids.get(key),
            note=notes.get(key, ""),
        )

    deleted_after: dict[str | None, list[ClauseComparison]] = {}
    survivor: str | None = None
    for clause in old:
        if clause.key in new_keys:
            survivor = clause.key
        else:
            deleted_after.setdefault(survivor, []).append(row(clause.key, "deleted", clause, None))
    rows = list(deleted_after.get(None, []))
    for clause in new:
        before = old_by_key.get(clause.key)
        if before is None:
            rows.append(row(clause.key, "inserted", None, clause))
        else:
            same = ClauseText.of(before, old_document).same_text(
                ClauseText.of(clause, new_document)
            )
            rows.append(row(clause.key, "unchanged" if same else "modified", before, clause))
        rows.extend(deleted_after.get(clause.key, []))
    return tuple(rows)


@dataclass(frozen=True)
class Comparison:
    """A whole document compared clause by clause, with its one-line summary."""

    old_label: str
    new_label: str
    rows: tuple[ClauseComparison, ...]
    verb: str = "differ"
    conflicts: int | None = None
    preamble_old: str = ""
    preamble_new: str = ""

    def count(self, state: ClauseState) -> int:
        return sum(1 for r in self.rows if r.state == state)

    @property
    def modified(self) -> int:
        return self.count("modified")

    @property
    def inserted(self) -> int:
        return self.count("inserted")

    @property
    def deleted(self) -> int:
        return self.count("deleted")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def base_count(self) -> int:
        """Clauses of the old side (the standard, for agreement comparisons)."""
        return sum(1 for r in self.rows if r.old is not None)

    @property
    def deviating(self) -> int:
        """Clauses of the old side whose text changed or that are gone."""
        return self.modified + self.deleted

    @property
    def changed_rows(self) -> list[ClauseComparison]:
        return [r for r in self.rows if r.changed]

    @property
    def has_changes(self) -> bool:
        return bool(self.changed_rows) or self.preamble_changed

    @property
    def preamble_changed(self) -> bool:
        return self.preamble_old != self.preamble_new

    @cached_property
    def preamble_inline(self) -> SafeString:
        return redline_html(self.preamble_old, self.preamble_new, id_prefix="chg-preamble-")

    @property
    def summary(self) -> str:
        """E.g. "6 of 34 clauses deviate from the standard (5 modified, 1 deleted); 1 conflict;
        2 inserted clauses"."""
        text = f"{self.deviating} of {_plural(self.base_count, 'clause')} {self.verb}"
        if self.deviating:
            text += f" ({self.modified} modified, {self.deleted} deleted)"
        if self.conflicts is not None:
            text += f"; {_plural(self.conflicts, 'conflict')}"
        text += f"; {_plural(self.inserted, 'inserted clause')}"
        if self.preamble_changed:
            text += "; the parameters or the data schedule changed too"
        return text

    @property
    def navigation(self) -> list[tuple[ClauseComparison, str, str]]:
        """Each changed row with the anchors of the previous and next changed rows ("" at the
        ends), for "previous/next change" links that work without JavaScript."""
        changed = [r for r in self.rows if r.changed or r.conflict]
        return [
            (
                row,
                changed[i - 1].first_change_anchor if i else "",
                changed[i + 1].first_change_anchor if i + 1 < len(changed) else "",
            )
            for i, row in enumerate(changed)
        ]


def standard_text(
    clauses: Sequence[ClauseLike],
    values: Values,
    frame: Document | None = None,
    schedule: Sequence[ScheduleRow] = (),
    fillins: Mapping[str, Any] | None = None,
) -> ConsolidatedText:
    """The template's clauses filled with an agreement's values, its fill-ins and its
    data-element schedule: its text with no overrides (so none of those is a deviation)."""
    return consolidate(
        clauses=clauses,
        accepted_overrides=(),
        values=values,
        frame=frame,
        schedule=schedule,
        fillins=fillins,
    )


def agreement_vs_template(
    text: ConsolidatedText,
    standard: ConsolidatedText,
    *,
    conflict_keys: Collection[str] = (),
    template_label: str = "Standard",
    agreement_label: str = "This agreement",
) -> Comparison:
    """Every clause of the agreement against the standard: unchanged, modified, inserted or
    deleted. ``standard`` is ``standard_text`` of the same template clauses and values."""
    override_ids = {c.key: c.override_id for c in (*text.clauses, *text.deleted)}
    return Comparison(
        old_label=template_label,
        new_label=agreement_label,
        rows=align(
            standard.clauses,
            text.clauses,
            conflict_keys=conflict_keys,
            override_ids=override_ids,
            old_document=standard.document,
            new_document=text.document,
        ),
        verb="deviate from the standard",
        conflicts=len(conflict_keys),
    )


def _preamble(text: ConsolidatedText) -> str:
    """The header of the text (the data schedule is a part, compared with the clauses)."""
    return "\n".join(f"{name}: {value}" for name, value in text.header) + "\n"


def text_vs_earlier(
    earlier: ConsolidatedText, now: ConsolidatedText, *, earlier_label: str, now_label: str = "Now"
) -> Comparison:
    """The consolidated text now against an earlier one, header and schedule included."""
    return Comparison(
        old_label=earlier_label,
        new_label=now_label,
        rows=align(
            earlier.clauses, now.clauses, old_document=earlier.document, new_document=now.document
        ),
        verb="changed since then",
        preamble_old=_preamble(earlier),
        preamble_new=_preamble(now),
    )


def template_vs_template(
    old: Sequence[ClauseLike], new: Sequence[ClauseLike], *, old_label: str, new_label: str
) -> Comparison:
    """What changed in the standard between two versions (placeholders left as written)."""
    return Comparison(
        old_label=old_label, new_label=new_label, rows=align(old, new), verb="changed"
    )
