"""One walk over a block tree that rewrites its inlines and keeps its structure.

Filling a text (consolidation), showing terms as atoms (tracked changes) and finding blanks
(fill-ins) walk the same structure: paragraphs, list items, table cells, indented blocks.
:class:`BlockWalk` walks it and leaves the inlines to :meth:`BlockWalk.inlines`;
:class:`ParamWalk` also walks inline formatting and leaves only what a parameter becomes to
:meth:`ParamWalk.param`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from agreements.text.document.model import (
    Block,
    BulletList,
    Cell,
    Emph,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Param,
    Row,
    Strong,
    Superscript,
    Table,
    Term,
    Underline,
)


def _same[T](before: Sequence[T], after: list[T]) -> tuple[T, ...]:
    """``after`` as a tuple, or ``before`` itself when the walk changed none of its elements:
    a tree the walk leaves alone keeps its identity, so that what is derived from it once
    (agreements.text.document.normalise, canonical) serves every text that shares it."""
    if type(before) is tuple and len(before) == len(after):
        for old, new in zip(before, after, strict=True):
            if old is not new:
                return tuple(after)
        return before
    return tuple(after)


class BlockWalk:
    """Rebuilds a block tree with every run of inlines rewritten by :meth:`inlines`; a node
    whose content comes back unchanged (the same objects) is kept as it was."""

    def inlines(self, inlines: Sequence[Inline]) -> tuple[Inline, ...]:
        raise NotImplementedError

    def blocks(self, blocks: Sequence[Block]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in blocks:
            match block:
                case Paragraph():
                    inlines = self.inlines(block.inlines)
                    out.append(block if inlines is block.inlines else Paragraph(inlines))
                case OrderedList() | BulletList():
                    items = _same(block.items, [self._item(i) for i in block.items])
                    out.append(block if items is block.items else replace(block, items=items))
                case Table():
                    rows = _same(block.rows, [self._row(row) for row in block.rows])
                    out.append(block if rows is block.rows else replace(block, rows=rows))
                case Indented():
                    inner = self.blocks(block.blocks)
                    out.append(block if inner is block.blocks else Indented(inner))
        return _same(blocks, out)

    def _item(self, item: ListItem) -> ListItem:
        blocks = self.blocks(item.blocks)
        return item if blocks is item.blocks else replace(item, blocks=blocks)

    def _row(self, row: Row) -> Row:
        cells = _same(row.cells, [self._cell(cell) for cell in row.cells])
        return row if cells is row.cells else Row(cells)

    def _cell(self, cell: Cell) -> Cell:
        blocks = self.blocks(cell.blocks)
        return cell if blocks is cell.blocks else replace(cell, blocks=blocks)


class ParamWalk(BlockWalk):
    """Rewrites every :class:`Param` of a tree through :meth:`param`."""

    def param(self, inline: Param) -> Inline:
        raise NotImplementedError

    def inlines(self, inlines: Sequence[Inline]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in inlines:
            if isinstance(inline, Param):
                out.append(self.param(inline))
            elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
                children = self.inlines(inline.children)
                out.append(
                    inline if children is inline.children else replace(inline, children=children)
                )
            else:
                out.append(inline)
        return _same(inlines, out)
