"""Plain text of a document tree, with its computed labels, and the document's outline.

``plain_text`` is for search, for comparing with ``pdftotext`` output and for diffs that need
no hashing: one line per paragraph, a blank line between blocks, list items as "label text"
indented four spaces per level, table cells one after another (a blank line between rows).
Styling is dropped; a blank reads as its prompt in brackets ("[date]", "__________" without a
prompt), a parameter as ``[[name]]``, a reference as its target's current label ("Section I").

``outline`` is the JSON outline ``manage.py template_import`` prints: for each part its kind,
label, title, key and the labels of its ordered-list items, nested as in the document (item
positions are the ``Ref.item`` paths of :mod:`~agreements.text.document.resolver`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    OrderedList,
    Paragraph,
    Param,
    Part,
    Ref,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.resolver import Resolver, list_labels

INDENT = "    "
EMPTY_BLANK = "__________"


def inline_text(inlines: Sequence[Inline], resolver: Resolver | None = None) -> str:
    """The text of a run of inlines; line breaks become LF."""
    out: list[str] = []
    for inline in inlines:
        match inline:
            case Text():
                out.append(inline.text)
            case Break():
                out.append("\n")
            case Strong() | Emph() | Underline() | Superscript() | Term():
                out.append(inline_text(inline.children, resolver))
            case Blank():
                out.append(f"[{inline.prompt}]" if inline.prompt else EMPTY_BLANK)
            case Param():
                out.append(f"[[{inline.name}]]")
            case Ref():
                out.append(ref_text(inline, resolver))
    return "".join(out)


def ref_text(ref: Ref, resolver: Resolver | None) -> str:
    """A reference as read: its target's current label, or "Section ?" when it is missing."""
    text = resolver.ref_text(ref) if resolver is not None else None
    return text if text is not None else f"{ref.prefix} ?".strip()


def _indent(text: str, depth: int) -> str:
    return "\n".join(INDENT * depth + line if line else line for line in text.split("\n"))


def blocks_text(
    blocks: Sequence[Block],
    resolver: Resolver | None = None,
    chain: tuple[int, ...] = (),
) -> list[str]:
    """One string per block (lists: one per item), not yet indented."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Paragraph():
                out.append(inline_text(block.inlines, resolver))
            case OrderedList():
                for item, (label, own) in zip(block.items, list_labels(block, chain), strict=True):
                    out.append(_item(label, blocks_text(item.blocks, resolver, own)))
            case BulletList():
                for item in block.items:
                    out.append(_item("•", blocks_text(item.blocks, resolver, chain)))
            case Table():
                for row in block.rows:
                    for cell in row.cells:
                        out.append("\n".join(blocks_text(cell.blocks, resolver)))
            case Indented():
                inner = blocks_text(block.blocks, resolver, chain)
                out.extend(_indent(text, 1) for text in inner)
    return out


def _item(label: str, inner: list[str]) -> str:
    """ "label first-paragraph", the item's other blocks indented one level below it."""
    first, rest = (inner[0], inner[1:]) if inner else ("", [])
    lines = [f"{label} {_indent(first, 1).lstrip()}".rstrip()]
    lines.extend(_indent(text, 1) for text in rest)
    return "\n".join(lines)


def heading_text(part: Part, resolver: Resolver | None) -> str:
    label = resolver.part_label(part.key) if resolver is not None else (part.label or "")
    return " ".join(piece for piece in (label, inline_text(part.title, resolver)) if piece)


def plain_text(tree: Document | Part | Sequence[Block], document: Document | None = None) -> str:
    """The plain text of a document, a part or blocks (module docstring). Pass ``document``
    with a part or blocks so labels and references resolve as in that document."""
    if isinstance(tree, Document):
        document = tree
    resolver = Resolver(document) if document is not None else None
    pieces: list[str] = []
    if isinstance(tree, Document):
        pieces.extend(inline_text(line, resolver) for line in tree.title)
        for part in tree.parts:
            pieces.extend(_part_pieces(part, resolver))
    elif isinstance(tree, Part):
        pieces.extend(_part_pieces(tree, resolver))
    else:
        pieces.extend(blocks_text(tree, resolver))
    return "\n\n".join(piece for piece in pieces if piece) + "\n"


def _part_pieces(part: Part, resolver: Resolver | None) -> list[str]:
    chain = resolver.chain(part.key) if resolver is not None else ()
    return [heading_text(part, resolver), *blocks_text(part.blocks, resolver, chain)]


# --- outline ---------------------------------------------------------------------------------


def outline(document: Document) -> list[dict[str, Any]]:
    """The document's outline: one dict per part (module docstring)."""
    resolver = Resolver(document)
    return [
        {
            "kind": part.kind.value,
            "label": resolver.part_label(part.key),
            "title": inline_text(part.title, resolver),
            "key": part.key,
            "items": _outline_items(part.blocks, resolver.chain(part.key)),
        }
        for part in document.parts
    ]


def _outline_items(blocks: Sequence[Block], chain: tuple[int, ...]) -> list[dict[str, Any]]:
    """Labels of ordered-list items, in Ref.item path order, nested as in the document."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, OrderedList):
            for item, (label, own) in zip(block.items, list_labels(block, chain), strict=True):
                entry: dict[str, Any] = {"label": label}
                if nested := _outline_items(item.blocks, own):
                    entry["items"] = nested
                out.append(entry)
        elif isinstance(block, Indented):
            out.extend(_outline_items(block.blocks, chain))
    return out


def title_text(document: Document) -> str:
    """The document's title lines joined by LF."""
    return "\n".join(inline_text(line) for line in document.title)
