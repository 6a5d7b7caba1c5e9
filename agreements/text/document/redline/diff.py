"""The data of a structured redline: frozen dataclasses, what the renderers read.

The rules they follow are in :mod:`agreements.text.document.redline`'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from agreements.text.document.model import (
    Blank,
    Break,
    Document,
    Numbering,
    Param,
    PartKind,
    Ref,
)
from agreements.text.redline import OpKind


class Status(StrEnum):
    UNCHANGED = "unchanged"  # the same element reading the same (its label may differ)
    CHANGED = "changed"  # the same element with changes inside
    INSERTED = "inserted"
    DELETED = "deleted"
    MOVED_FROM = "moved-from"  # where a moved element was: its old content
    MOVED_TO = "moved-to"  # where it is now: its content aligned with its old self


type Atom = Break | Blank | Param | Ref


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text with one kind, one styling and at most one atom (a blank, parameter,
    reference or line break, shown by renderers their own way; ``text`` is its plain text)."""

    kind: OpKind
    text: str
    marks: frozenset[str] = frozenset()  # "strong", "emph", "underline", "superscript", "term"
    atom: Atom | None = None
    change: int | None = None


@dataclass(frozen=True)
class TextDiff:
    spans: tuple[Span, ...] = ()

    def text(self, side: Literal["old", "new"]) -> str:
        """The plain text of one side (references as that side reads them, except unchanged
        ones, which read as in the new document)."""
        skip = "insert" if side == "old" else "delete"
        return "".join(span.text for span in self.spans if span.kind != skip)

    @property
    def changed(self) -> bool:
        return any(span.kind != "equal" for span in self.spans)


@dataclass(frozen=True)
class ParagraphDiff:
    status: Status
    change: int | None
    text: TextDiff


@dataclass(frozen=True)
class ItemDiff:
    status: Status
    change: int | None
    label: str  # as shown in its document: new, or old for deleted and moved-from items
    old_label: str  # in the old document ("" for an inserted item); never marked as a change
    counters: tuple[int, ...]  # the counter chain of that label
    moved_label: str  # the label at the other end of a move ("" when not moved)
    blocks: tuple[BlockDiff, ...]


@dataclass(frozen=True)
class ListDiff:
    status: Status
    change: int | None
    ordered: bool
    numbering: Numbering | None  # ordered lists: the numbering shown (new, or old if deleted)
    items: tuple[ItemDiff, ...]


@dataclass(frozen=True)
class CellDiff:
    blocks: tuple[BlockDiff, ...]
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class RowDiff:
    status: Status
    change: int | None
    cells: tuple[CellDiff, ...]


@dataclass(frozen=True)
class TableDiff:
    status: Status
    change: int | None
    rows: tuple[RowDiff, ...]
    header_rows: int = 0  # leading rows that are header rows in their document
    widths: tuple[float, ...] = ()


@dataclass(frozen=True)
class IndentedDiff:
    status: Status
    change: int | None
    blocks: tuple[BlockDiff, ...]


type BlockDiff = ParagraphDiff | ListDiff | TableDiff | IndentedDiff


@dataclass(frozen=True)
class PartDiff:
    key: str
    kind: PartKind
    status: Status
    change: int | None
    label: str  # "C.", "ATTACHMENT A:"; "" when unnumbered (new, or old if only old)
    old_label: str  # in the old document ("" for an inserted part)
    counters: tuple[int, ...]  # the part's counter in its series, () when unnumbered
    moved_label: str
    title: TextDiff
    blocks: tuple[BlockDiff, ...]
    changes: int = 0  # change numbers used inside this part, its own included


@dataclass(frozen=True)
class BlocksDiff:
    blocks: tuple[BlockDiff, ...]
    changes: int


@dataclass(frozen=True)
class DocumentDiff:
    title: tuple[ParagraphDiff, ...]  # the title lines
    parts: tuple[PartDiff, ...]
    changes: int
    old: Document = field(repr=False)
    new: Document = field(repr=False)
