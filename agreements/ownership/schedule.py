"""The ownership part of the data-element schedule: a table after the elements' table.

Pure functions over plain values (``agreements.text.consolidation`` calls them, like the rest
of the text): no ORM, no request. An agreement on which no party stated a position gets no
table, so texts written before ownership was recorded keep their hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agreements.text.document.model import (
    Block,
    Cell,
    Emph,
    Paragraph,
    Row,
    Strong,
    Table,
    Text,
)

OWNERSHIP_HEADING = "Ownership and stewardship"
OWNERSHIP_COLUMNS = ("Data element", "Owner", "Controller", "Steward", "Processors", "Settled as")
#: What the last column says for an element the parties agree on.
AGREED = "Agreed by all parties"
#: ... and for one not settled yet (only seen before review: review waits for it).
NOT_SETTLED = "Not settled yet"


@dataclass(frozen=True)
class OwnershipRow:
    """One data element's ownership as the schedule states it.

    ``answers`` holds, per question (owner, controller, steward, processors), the lines of
    its cell: one line when the parties answer alike, else one "Party: answer" line each.
    ``settlement`` is ``AGREED``, ``NOT_SETTLED`` or "Agreed to differ: <wording>".
    """

    name: str
    answers: tuple[tuple[str, ...], ...]
    settlement: str


def _cell(lines: Sequence[str], *, emphasis: bool = False) -> Cell:
    return Cell(
        tuple(
            Paragraph((Emph((Text(line),)),) if emphasis else (Text(line),))
            for line in lines
            if line.strip()
        )
    )


def ownership_blocks(rows: Sequence[OwnershipRow]) -> tuple[Block, ...]:
    """A heading paragraph and the table; nothing when no row."""
    if not rows:
        return ()
    header = Row(tuple(Cell((Paragraph((Strong((Text(c),)),)),)) for c in OWNERSHIP_COLUMNS))
    body = [
        Row(
            (
                _cell([" ".join(row.name.split())]),
                *(_cell(lines) for lines in row.answers),
                _cell([row.settlement], emphasis=row.settlement == NOT_SETTLED),
            )
        )
        for row in rows
    ]
    return (
        Paragraph((Strong((Text(OWNERSHIP_HEADING),)),)),
        Table((header, *body), header_rows=1, widths=(3, 2, 2, 2, 2, 3)),
    )
