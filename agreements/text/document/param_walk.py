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
    Emph,
    Indented,
    Inline,
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


class BlockWalk:
    """Rebuilds a block tree with every run of inlines rewritten by :meth:`inlines`."""

    def inlines(self, inlines: Sequence[Inline]) -> tuple[Inline, ...]:
        raise NotImplementedError

    def blocks(self, blocks: Sequence[Block]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in blocks:
            match block:
                case Paragraph():
                    out.append(Paragraph(self.inlines(block.inlines)))
                case OrderedList() | BulletList():
                    items = tuple(replace(i, blocks=self.blocks(i.blocks)) for i in block.items)
                    out.append(replace(block, items=items))
                case Table():
                    rows = tuple(
                        Row(tuple(replace(c, blocks=self.blocks(c.blocks)) for c in row.cells))
                        for row in block.rows
                    )
                    out.append(replace(block, rows=rows))
                case Indented():
                    out.append(Indented(self.blocks(block.blocks)))
        return tuple(out)


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
                out.append(replace(inline, children=self.inlines(inline.children)))
            else:
                out.append(inline)
        return tuple(out)
