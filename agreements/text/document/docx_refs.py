"""Cross-references in a Word file: internal links to bookmarks, read back as references.

The export writes a reference as a link (``w:hyperlink w:anchor``) to a bookmark on the target
heading or list item, its text the reference as it reads ("Section 7.2(c)"). Reading a file,
each link to a bookmark on a part heading or on an ordered-list item becomes a
:class:`~agreements.text.document.model.Ref` (the words before the label its prefix) when its
text still reads as the target's label; otherwise it stays text, with a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from agreements.text.document.docx_blocks import BIndented, BList
from agreements.text.document.docx_inlines import PendingRef
from agreements.text.document.import_report import ImportReport
from agreements.text.document.model import (
    Block,
    BulletList,
    Document,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Ref,
    Row,
    Table,
    Text,
)
from agreements.text.document.resolver import Resolver


def item_paths(blocks: Sequence[Any], prefix: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Bookmark -> Ref.item path, counting ordered items as resolver.ordered_items does."""
    out: dict[str, tuple[int, ...]] = {}
    position = 0

    def walk(blocks: Sequence[Any]) -> None:
        nonlocal position
        for block in blocks:
            if isinstance(block, BList) and block.ordered:
                for item in block.items:
                    path = (*prefix, position)
                    position += 1
                    out.update(dict.fromkeys(item.bookmarks, path))
                    out.update(item_paths(item.blocks, path))
            elif isinstance(block, BIndented):
                walk(block.blocks)

    walk(blocks)
    return out


def resolve_refs(
    document: Document, anchors: dict[str, tuple[str, tuple[int, ...]]], report: ImportReport
) -> Document:
    resolver = Resolver(document)

    def resolve(inline: Any) -> Inline:
        if not isinstance(inline, PendingRef):
            return inline
        target = anchors.get(inline.anchor)
        if target is None:
            report.note(
                "", f"a link to bookmark {inline.anchor!r} is kept as its text {inline.text!r}"
            )
            return Text(inline.text)
        cited = resolver.ref_text(Ref(target[0], target[1], ""))
        if cited is not None and inline.text.endswith(cited):
            return Ref(target[0], target[1], inline.text[: len(inline.text) - len(cited)].strip())
        report.warn(
            "", f"the reference {inline.text!r} does not match its target's label; kept as text"
        )
        return Text(inline.text)

    return map_inlines(document, resolve)


def map_inlines(document: Document, fn: Callable[[Any], Inline]) -> Document:
    """The document with ``fn`` applied to every inline that is not a styled container."""

    def inlines(seq: Sequence[Any]) -> tuple[Inline, ...]:
        out = []
        for inline in seq:
            if hasattr(inline, "children"):
                out.append(type(inline)(inlines(inline.children)))
            else:
                out.append(fn(inline))
        return tuple(out)

    def blocks(seq: Sequence[Block]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in seq:
            match block:
                case Paragraph():
                    out.append(Paragraph(inlines(block.inlines)))
                case OrderedList():
                    out.append(replace(block, items=items(block.items)))
                case BulletList():
                    out.append(BulletList(items(block.items)))
                case Table():
                    rows = tuple(
                        Row(tuple(replace(c, blocks=blocks(c.blocks)) for c in row.cells))
                        for row in block.rows
                    )
                    out.append(replace(block, rows=rows))
                case Indented():
                    out.append(Indented(blocks(block.blocks)))
        return tuple(out)

    def items(seq: Sequence[ListItem]) -> tuple[ListItem, ...]:
        return tuple(replace(item, blocks=blocks(item.blocks)) for item in seq)

    return replace(
        document,
        title=tuple(inlines(line) for line in document.title),
        parts=tuple(
            replace(p, title=inlines(p.title), blocks=blocks(p.blocks)) for p in document.parts
        ),
    )
