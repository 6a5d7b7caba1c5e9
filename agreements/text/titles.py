"""Clauses as a lawyer names them: the document's own label and heading ("7. Data security"),
never the internal key ("data-security") the software files them under.

Every page, message and e-mail that names a clause asks here, so a clause reads the same in
"What happens next", the proposal lists, the review page, the activity feed and notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from agreements.text.consolidation import ClauseLike, ConsolidatedClause, ConsolidatedText


class Proposal(Protocol):
    """What naming a proposal needs of it (``ClauseOverride`` has these; this package stays
    free of models)."""

    kind: str
    clause_key: str
    new_key: str
    heading: str


#: How a page names a clause it has no title for any more (its key is never shown instead).
GONE = "a clause no longer in the text"
#: A part with neither label nor heading (an unheaded preamble).
OPENING = "the opening text"


def numbered_heading(number: str, heading: str) -> str:
    """ "7. Data security" from a label and a heading as stored (a standard's clause row, a
    search result's columns); "" when both are empty, for the caller to name that case."""
    return " ".join(part for part in (number, heading) if part)


def clause_title(clause: ConsolidatedClause) -> str:
    """ "7. Data security": the label and heading as the document shows them. A part with
    neither (an unheaded preamble) is named "the opening text" rather than by its key."""
    return numbered_heading(clause.number, clause.heading) or OPENING


def clause_titles(text: ConsolidatedText) -> dict[str, str]:
    """Key -> title of every clause of ``text``, including the deleted ones (a proposal or
    review may still name them), under the label they had."""
    return {c.key: clause_title(c) for c in (*text.deleted, *text.clauses)}


def titles_with_standard(text: ConsolidatedText, standard: Iterable[ClauseLike]) -> dict[str, str]:
    """:func:`clause_titles` of ``text``, plus the ``standard``'s clauses under their own label
    and heading: a history, record or preview may name a clause the text no longer has."""
    titles = {c.key: numbered_heading(c.number, c.heading) or OPENING for c in standard}
    titles.update(clause_titles(text))
    return titles


def proposal_title(override: Proposal, titles: dict[str, str]) -> str:
    """What a proposal is about, in the document's words: the clause it changes or deletes
    ("7. Data security"), or the new clause it inserts ("new clause “Data escrow” after
    7. Data security"; once accepted the clause has a label of its own)."""
    if override.kind == "insert":
        if override.new_key in titles:
            return titles[override.new_key]
        after = titles.get(override.clause_key)
        heading = f"new clause “{override.heading}”" if override.heading else "a new clause"
        return f"{heading} after {after}" if after else heading
    return titles.get(override.clause_key) or override.heading or GONE
