"""Word paragraphs to blocks: lists nested by level and indentation, indented passages, tables.

Word has no list or quote *elements*: a list item is a paragraph with a list level, a nested
item is a paragraph at a deeper level, and what belongs to an item is indented to its text.
:class:`Assembler` rebuilds the structure with a stack of containers (the part body, a list
item, an indented passage, a table cell), each with the indentation of its text:

- A numbered paragraph continues the list of the same Word list definition (``abstractNum``)
  at its level, or nests under the innermost item of that list at a higher level; otherwise it
  starts a list in the innermost container its indentation reaches. A "Restart numbering"
  (a new ``w:num`` whose start override shows on its first paragraph) starts a new list; in
  files we wrote, ``cb:list="start"`` marks each list's first item instead.
- An unnumbered paragraph indented to an item's text continues that item; indented further
  than its container it is an indented passage; less, it closes the items it is outside of.
- Each ordered list takes its Numbering (pattern, formats, start) from its first item's level,
  and an item keeps an explicit label only where Word's label differs from the one our
  counting rules (``resolver``) compute, so numbering is exactly as Word shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agreements.text.document.model import (
    Block,
    BulletList,
    Cell,
    Indented,
    ListItem,
    Numbering,
    OrderedList,
    Row,
    Table,
)
from agreements.text.document.resolver import item_counters, item_label
from agreements.text.document.word_numbering import NumberedParagraph

TOLERANCE = 180  # twips: indents within an eighth of an inch are the same
INDENT_STEP = 720  # what the export uses for one indented passage or list level


@dataclass
class BItem:
    blocks: list[Any] = field(default_factory=list)
    word_label: str = ""
    bookmarks: list[str] = field(default_factory=list)
    frozen: ListItem | None = None
    written: tuple[str | None] | None = None  # the explicit label our export wrote, if ours


@dataclass
class BList:
    ordered: bool
    abstract_id: str
    ilvl: int
    numbering: Numbering | None
    items: list[BItem] = field(default_factory=list)


@dataclass
class BIndented:
    base: int
    blocks: list[Any] = field(default_factory=list)


@dataclass
class _Container:
    base: int
    blocks: list[Any]
    frame: BList | None = None  # for a list item: the list it is an item of
    item: BItem | None = None


@dataclass
class NumberedEntry:
    """What the assembler needs to know about one numbered paragraph."""

    numbered: NumberedParagraph
    numbering: Numbering | None  # None for a bullet
    indent: int  # the paragraph's left indent (its text), twips
    level_indent: int  # the indent its list level defines
    reach: int  # how far in it reaches to find the item it nests in (see feed())
    starts_list: bool  # cb:list="start", or Word's restart
    bookmarks: list[str]
    written: tuple[str | None] | None = None  # (cb:label,) in files we wrote


class Assembler:
    """Builds the blocks of one container (a part body or a table cell) from its paragraphs,
    tables and numbered paragraphs, in document order."""

    def __init__(self) -> None:
        self.root = _Container(0, [])
        self.stack: list[_Container] = [self.root]

    @property
    def blocks(self) -> list[Any]:
        return self.root.blocks

    def _pop_to(self, container: _Container) -> None:
        while self.stack[-1] is not container:
            self.stack.pop()

    def _reach(self, indent: int) -> _Container:
        """The innermost open container whose text the indent reaches."""
        for container in reversed(self.stack):
            if container.base <= indent + TOLERANCE:
                return container
        return self.root

    def _open(self, indent: int, reach: int | None = None) -> _Container:
        """The container for a block at ``indent``: the innermost one that ``reach`` (by
        default the indent) gets to, inside an indented passage (continued or new) for each
        half inch the indent goes further."""
        container = self._reach(indent if reach is None else reach)
        self._pop_to(container)
        while indent >= container.base + INDENT_STEP // 2:
            last = container.blocks[-1] if container.blocks else None
            if not (isinstance(last, BIndented) and last.base <= indent + TOLERANCE):
                last = BIndented(container.base + INDENT_STEP)
                container.blocks.append(last)
            container = _Container(last.base, last.blocks)
            self.stack.append(container)
        return container

    def paragraph(self, paragraph: Any, indent: int) -> None:
        """An unnumbered paragraph at ``indent``."""
        self._open(indent).blocks.append(paragraph)

    def numbered(self, entry: NumberedEntry, first_block: Any | None) -> BItem:
        """A numbered paragraph: a new item of a list found or started as the module says."""
        numbered = entry.numbered
        target: _Container | None = None
        frame: BList | None = None
        for container in reversed(self.stack):
            owner = container.frame
            if owner is None or owner.abstract_id != numbered.abstract_id:
                continue
            if owner.ilvl == numbered.ilvl and not entry.starts_list:
                frame = owner
                index = self.stack.index(container)
                target = self.stack[index - 1]
                break
            if owner.ilvl < numbered.ilvl:
                target = container
                break
        if target is None:
            # Another list: inside the innermost item whose text its number reaches, in an
            # indented passage if the whole list is indented further than its container.
            target = self._open(entry.indent - entry.level_indent, entry.reach)
        self._pop_to(target)
        if frame is None:
            last = target.blocks[-1] if target.blocks else None
            if (
                isinstance(last, BList)
                and not entry.starts_list
                and last.abstract_id == numbered.abstract_id
                and last.ilvl == numbered.ilvl
            ):
                frame = last
            else:
                frame = BList(
                    not numbered.is_bullet, numbered.abstract_id, numbered.ilvl, entry.numbering
                )
                target.blocks.append(frame)
        item = BItem(word_label=numbered.label, bookmarks=entry.bookmarks, written=entry.written)
        if first_block is not None:
            item.blocks.append(first_block)
        frame.items.append(item)
        self.stack.append(_Container(entry.indent, item.blocks, frame, item))
        return item

    def table(self, table: Any, indent: int) -> None:
        self._open(indent).blocks.append(table)


# -- freezing: builders to the model, with labels decided ----------------------------------------


def freeze(blocks: Sequence[Any], chain: tuple[int, ...]) -> tuple[Block, ...]:
    """The model blocks for builder ``blocks`` under the counter ``chain`` of their container
    (the part's counter, the enclosing items'), keeping Word's labels where they differ."""
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, BList):
            out.append(_freeze_list(block, chain))
        elif isinstance(block, BIndented):
            out.append(Indented(freeze(block.blocks, chain)))
        elif isinstance(block, BTable):
            out.append(block.freeze())
        else:
            out.append(block)
    return tuple(out)


def _freeze_list(block: BList, chain: tuple[int, ...]) -> Block:
    if not block.ordered or block.numbering is None:
        items = []
        for item in block.items:
            item.frozen = ListItem(freeze(item.blocks, chain))
            items.append(item.frozen)
        return BulletList(tuple(items))
    numbering = block.numbering
    decided: list[ListItem] = []
    for item in block.items:
        # Try the computed label first; keep Word's where ours would differ.
        plain = ListItem((), None)
        counters = item_counters([*decided, plain], numbering)
        own = (*chain, counters[-1])
        if item.written is not None:
            label = item.written[0]
        elif item_label(plain, numbering, own) == item.word_label:
            label = None
        else:
            label = item.word_label
        if label is not None:
            counters = item_counters([*decided, ListItem((), label)], numbering)
            own = (*chain, counters[-1])
        item.frozen = ListItem(freeze(item.blocks, own), label)
        decided.append(item.frozen)
    return OrderedList(tuple(decided), numbering)


@dataclass
class BCell:
    blocks: list[Any]
    colspan: int = 1
    rowspan: int = 1


@dataclass
class BTable:
    rows: list[list[BCell]]
    header_rows: int = 0
    widths: tuple[float, ...] = ()

    def freeze(self) -> Table:
        rows = tuple(
            Row(tuple(Cell(freeze(c.blocks, ()), c.colspan, c.rowspan) for c in row))
            for row in self.rows
        )
        return Table(rows, self.header_rows, self.widths)


__all__ = [
    "Assembler",
    "BCell",
    "BIndented",
    "BItem",
    "BList",
    "BTable",
    "NumberedEntry",
    "freeze",
]
