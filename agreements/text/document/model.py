"""The structured text of an agreement: a document tree, close to pandoc's AST but smaller.

An agreement is a legal document, not a list of strings (see DOMAIN.md, "Document outline"):

    Document
      title: lines of inlines ("AGREEMENT FOR CONFIDENTIAL DATA EXCHANGE BETWEEN", ...)
      parts: Part*            kind = preamble | section | unnumbered | attachment
        series numbering      sections and attachments each count in their own series,
                              in the source's own style (A., I., 1., Article 1, Attachment A)
        title: inlines        "PURPOSE"
        blocks: Block*        the clause body

    Block  = Paragraph | OrderedList | BulletList | Table | Indented
    Inline = Text | Strong | Emph | Underline | Superscript | Blank | Ref | Param | Term | Break

Labels (section letters, list numbers) are computed from the numbering, never stored as text,
except where the source's own label does not follow its sequence (a typed "1.0." before "1.2."):
then ``ListItem.label`` keeps it as written, so numbering is always exactly as the source.
``resolver.py`` holds the counting rules every renderer shares (which counters a pattern sees,
how counting goes on after an explicit label, what a ``Ref.item`` path counts).

Everything here is data: frozen dataclasses of plain values, no ORM, no HTML. Renderers (HTML,
PDF, .docx, plain text) and importers (Markdown, .docx) live beside this module; the one
canonical serialisation (``canonical.py``) is what the SHA-256 covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# --- Numbering ------------------------------------------------------------------------------


class NumberFormat(StrEnum):
    """How one level counts (Word's ``w:numFmt``, pandoc's list style)."""

    DECIMAL = "decimal"  # 1 2 3
    DECIMAL_ZERO = "decimal-zero"  # 01 02 03 (Word's decimalZero)
    LOWER_LETTER = "lower-letter"  # a b c ... z aa bb
    UPPER_LETTER = "upper-letter"  # A B C
    LOWER_ROMAN = "lower-roman"  # i ii iii
    UPPER_ROMAN = "upper-roman"  # I II III
    NONE = "none"  # unnumbered level


@dataclass(frozen=True)
class Numbering:
    """One numbering level: a counting format and a label pattern.

    ``pattern`` is Word's ``w:lvlText`` idea: ``%1`` .. ``%9`` stand for the counters of the
    enclosing levels, outermost first, with the last one being this level. Examples:
    ``"%1."`` -> "1.", ``"(%1)"`` -> "(a)", ``"%1.%2"`` -> "7.2" (decimal outline under section
    7), ``"Article %1"`` -> "Article IV", ``"Attachment %1"`` -> "Attachment A".
    ``formats`` gives the format of each ``%n`` (outer levels keep their own format: in
    "7.2(c)" the section counts decimal and the item lower-letter).
    """

    pattern: str = "%1."
    formats: tuple[NumberFormat, ...] = (NumberFormat.DECIMAL,)
    start: int = 1


# --- Inlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Break:
    """A line break inside a paragraph (Shift+Enter in Word)."""


@dataclass(frozen=True)
class Strong:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Emph:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Underline:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Superscript:
    """ "5^th^" in pandoc Markdown, superscript runs in Word."""

    children: tuple[Inline, ...]


class BlankKind(StrEnum):
    """What a fill-in blank asks for; every blank must be filled or marked not applicable."""

    TEXT = "text"  # [Describe the project], ______
    NAME = "name"  # [Name], Name: ______
    TITLE = "title"  # [title]
    DATE = "date"  # [date], Month, Day, Year
    SIGNATURE = "signature"  # By: ______ in a signature block
    CHOICE = "choice"  # [ ] check box


@dataclass(frozen=True)
class Blank:
    """A fill-in blank. ``prompt`` is the source's own words ("Summarize the project"), empty
    for a bare underscore run."""

    kind: BlankKind
    prompt: str = ""


@dataclass(frozen=True)
class Ref:
    """A cross-reference to a part ("Section I") or an item inside one ("Section 7.2(c)"),
    by key; rendered with the target's current label, so it follows renumbering.
    ``prefix`` is the word the source used ("Section", "Article", "Attachment", "paragraph")."""

    target: str  # part key, e.g. "termination"
    item: tuple[int, ...] = ()  # path of list-item indexes inside the part (0-based)
    prefix: str = "Section"


@dataclass(frozen=True)
class Param:
    """A typed agreement parameter (``[[breach_notice_hours]]``), filled from the agreement."""

    name: str


@dataclass(frozen=True)
class Term:
    """A defined term where the document defines it ("Data", "Parties")."""

    children: tuple[Inline, ...]


type Inline = Text | Break | Strong | Emph | Underline | Superscript | Blank | Ref | Param | Term


# --- Blocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    inlines: tuple[Inline, ...]


@dataclass(frozen=True)
class ListItem:
    blocks: tuple[Block, ...]
    label: str | None = None  # only when the source's label breaks the computed sequence


@dataclass(frozen=True)
class OrderedList:
    items: tuple[ListItem, ...]
    numbering: Numbering = field(default_factory=Numbering)


@dataclass(frozen=True)
class BulletList:
    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class Cell:
    blocks: tuple[Block, ...]
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    header_rows: int = 0
    widths: tuple[float, ...] = ()  # relative column widths when the source gives them


@dataclass(frozen=True)
class Indented:
    """An indented passage (a Markdown block quote, a Word paragraph indented as a whole)."""

    blocks: tuple[Block, ...]


type Block = Paragraph | OrderedList | BulletList | Table | Indented


# --- The outline ---------------------------------------------------------------------------


class PartKind(StrEnum):
    PREAMBLE = "preamble"  # recitals, WHEREAS ..., NOW THEREFORE: unnumbered, untitled
    SECTION = "section"  # numbered in the sections series
    UNNUMBERED = "unnumbered"  # titled but not numbered: signature blocks, definitions heading
    ATTACHMENT = "attachment"  # attachments / exhibits / schedules / appendices series


@dataclass(frozen=True)
class Part:
    key: str  # stable across versions (e.g. "data-retention")
    kind: PartKind
    title: tuple[Inline, ...] = ()
    blocks: tuple[Block, ...] = ()
    label: str | None = None  # only when the source's label breaks the series' sequence
    generated: str = ""  # "data-elements" where the product fills the part (the schedule)


@dataclass(frozen=True)
class Series:
    """How a series of parts is numbered: sections ("%1." upper-letter -> "A."), attachments
    ("Attachment %1" upper-letter -> "Attachment A", "Exhibit %1", "Schedule %1")."""

    numbering: Numbering


@dataclass(frozen=True)
class Document:
    title: tuple[tuple[Inline, ...], ...] = ()  # lines of the title
    parts: tuple[Part, ...] = ()
    sections: Series = field(
        default_factory=lambda: Series(Numbering("%1.", (NumberFormat.DECIMAL,)))
    )
    attachments: Series = field(
        default_factory=lambda: Series(Numbering("Attachment %1", (NumberFormat.UPPER_LETTER,)))
    )
