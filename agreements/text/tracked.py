"""A party's proposal as tracked changes over the clause's structure, as counsel read it in Word.

Pure functions over document trees (no ORM, no request). The redline itself is the one
structured redline (:func:`agreements.text.document.redline.diff_blocks`, word-level inside
paragraphs, items and cells) rendered by :mod:`agreements.text.document.redline_render`; this
module only decides what is compared and how terms read:

- **Terms are filled values, marked as terms.** A parameter (``[[breach_notice_hours]]``) is
  compared as one atom carrying its filled value on each side, so a proposal that changes the
  term shows ``72`` deleted and ``48`` inserted, each shaded as a term and titled with the
  term's name, never the raw ``[[...]]``; an unchanged term is one unchanged atom.
- **Whose changes.** Every mark names its author (the proposing party) in its cue, label and
  title, and the wrapper carries the party's colour class (``party--district``, ...).
- The base is the clause as it reads now, or the standard's clause (the caller chooses);
  an inserted clause has no base (all inserted), a deletion no proposed text (all deleted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString

from agreements.text.document.model import (
    Block,
    Document,
    Inline,
    Param,
)
from agreements.text.document.param_walk import ParamWalk
from agreements.text.document.redline import diff_blocks
from agreements.text.document.redline_render import redline_html as structured_redline
from agreements.text.placeholders import PlaceholderValue, fill
from agreements.text.redline_html import redline_html

__all__ = ["Author", "TrackedProposal", "proposal_changes", "terms_as_atoms"]

Values = Mapping[str, PlaceholderValue | None]


@dataclass(frozen=True)
class Author:
    """Who proposed a change: the organisation's name, and the party it is in the trio as a
    CSS-safe word (``district``, ``research``, ``developer``) that picks its colour."""

    name: str
    party: str
    role: str = ""  # the party's role as people say it ("Research partner")


@dataclass(frozen=True)
class TrackedProposal:
    """A proposal's text as tracked changes: its heading's changes (when it renames the
    clause), its body's, and how many changes there are (0: it reads as the base does)."""

    heading: SafeString | None
    body: SafeString
    changes: int
    author: Author


class _TermAtoms(ParamWalk):
    """Parameters as atoms that carry their filled value: ``Param("name=value")``."""

    def __init__(self, values: Values, labels: Mapping[str, str]) -> None:
        self.values = values
        self.labels = labels
        self.shown: dict[str, str] = {}  # atom name -> the words it reads as
        self.titles: dict[str, str] = {}  # atom name -> the term's name

    def param(self, inline: Param) -> Inline:
        filled = fill(f"[[{inline.name}]]", self.values)
        label = self.labels.get(inline.name, inline.name.replace("_", " "))
        if filled == f"[[{inline.name}]]":
            filled = f"({label}: no value yet)"
        atom = f"{inline.name}={filled}"
        self.shown[atom] = filled
        self.titles[atom] = label
        return Param(atom)


def terms_as_atoms(
    blocks: Sequence[Block], values: Values, labels: Mapping[str, str] | None = None
) -> tuple[tuple[Block, ...], dict[str, str], dict[str, str]]:
    """``blocks`` with each parameter an atom of its filled value; the words each atom reads
    as, and the name of its term (for the renderers)."""
    atoms = _TermAtoms(values, labels or {})
    return atoms.blocks(blocks), atoms.shown, atoms.titles


def proposal_changes(
    *,
    base: Sequence[Block] | None,
    proposed: Sequence[Block] | None,
    base_values: Values,
    proposed_values: Values,
    document: Document | None,
    key: str,
    author: Author,
    id_prefix: str,
    base_heading: str = "",
    proposed_heading: str = "",
    labels: Mapping[str, str] | None = None,
) -> TrackedProposal:
    """The proposal's text (``proposed`` blocks, unfilled, read with ``proposed_values``)
    against ``base`` (unfilled, read with ``base_values``), as tracked changes by ``author``.

    ``None`` for ``base`` is an inserted clause, for ``proposed`` a deletion. ``document`` (the
    unfilled text the clause belongs to) makes references and labels read as in it.
    """
    old, old_shown, old_titles = terms_as_atoms(base or (), base_values, labels)
    new, new_shown, new_titles = terms_as_atoms(proposed or (), proposed_values, labels)
    diff = diff_blocks(old, new, old_document=document, new_document=document, key=key)
    body = structured_redline(
        diff,
        id_prefix=id_prefix,
        params={**old_shown, **new_shown},
        param_labels={**old_titles, **new_titles},
        author=author.name,
        party=author.party,
    )
    heading = None
    changes = diff.changes
    if proposed_heading and proposed_heading != base_heading:
        heading = redline_html(
            base_heading, proposed_heading, id_prefix=f"{id_prefix}h-", author=author.name
        )
        changes += 1
    return TrackedProposal(heading=heading, body=body, changes=changes, author=author)
