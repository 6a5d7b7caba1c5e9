"""Normalisation of a document tree: the rules of the canonical form, steps 1-6.

:mod:`~agreements.text.document.canonical` documents the rules and applies ``normalise`` before
writing and after reading; importers may call it too. Pure functions over the frozen model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import overload

from agreements.text.document.memo import IdentityMemo
from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    ListItem,
    Numbering,
    OrderedList,
    Paragraph,
    Part,
    Ref,
    Row,
    Series,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)

STYLED = (Strong, Emph, Underline, Superscript, Term)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EDGE = " \t"
_SPACES_RE = re.compile(r" {2,}")


def clean_text(text: str) -> str:
    """NFC, LF line ends, no control characters other than tab and LF, single spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SPACES_RE.sub(" ", unicodedata.normalize("NFC", _CONTROL_RE.sub("", text)))


@overload
def normalise(tree: Document) -> Document: ...
@overload
def normalise(tree: Part) -> Part: ...
@overload
def normalise(tree: Sequence[Block]) -> tuple[Block, ...]: ...


def normalise(tree: Document | Part | Sequence[Block]) -> Document | Part | tuple[Block, ...]:
    """The canonical form of ``tree`` (rules in the module docstring)."""
    if isinstance(tree, Document):
        return Document(
            title=tuple(line for line in (_heading(line) for line in tree.title) if line),
            parts=tuple(_part(part) for part in tree.parts),
            sections=Series(_numbering(tree.sections.numbering)),
            attachments=Series(_numbering(tree.attachments.numbering)),
        )
    if isinstance(tree, Part):
        return _part(tree)
    return _blocks(tree)


#: A part's top-level block in normal form (none, or one block), by the block's identity
#: (agreements.text.document.memo): the standard's paragraphs and lists are normalised once
#: per process, not once per agreement, and a clause with one filled-in term among five
#: paragraphs normalises only that one.
_PART_BLOCK: IdentityMemo[Block, tuple[Block, ...]] = IdentityMemo(8192)


def _one(block: Block) -> tuple[Block, ...]:
    return _blocks((block,))


def _part_blocks(blocks: Sequence[Block]) -> tuple[Block, ...]:
    out: list[Block] = []
    for block in blocks:
        out.extend(_PART_BLOCK.get(block, _one))
    return tuple(out)


def _part(part: Part) -> Part:
    return replace(
        part,
        title=_heading(part.title),
        blocks=_part_blocks(part.blocks),
        label=None if part.label is None else clean_text(part.label).strip(),
        generated=clean_text(part.generated),
    )


def _numbering(numbering: Numbering) -> Numbering:
    return replace(numbering, pattern=clean_text(numbering.pattern))


def _blocks(blocks: Sequence[Block]) -> tuple[Block, ...]:
    out: list[Block] = []
    for block in blocks:
        match block:
            case Paragraph():
                if inlines := _line(block.inlines):
                    out.append(Paragraph(inlines))
            case OrderedList() if block.items:
                out.append(OrderedList(_items(block.items), _numbering(block.numbering)))
            case BulletList() if block.items:
                out.append(BulletList(_items(block.items)))
            case Table():
                rows = tuple(
                    Row(tuple(replace(c, blocks=_blocks(c.blocks)) for c in row.cells))
                    for row in block.rows
                    if row.cells
                )
                if rows:
                    widths = tuple(round(width, 6) for width in block.widths)
                    header = block.header_rows if block.header_rows < len(rows) else 0
                    if not any(c.blocks for row in rows[:header] for c in row.cells):
                        header = 0  # an empty header row heads nothing
                    out.append(Table(rows, header, widths))
            case Indented():
                if inner := _blocks(block.blocks):
                    out.append(Indented(inner))
    return tuple(out)


def _items(items: Sequence[ListItem]) -> tuple[ListItem, ...]:
    return tuple(
        ListItem(_blocks(item.blocks), None if item.label is None else clean_text(item.label))
        for item in items
    )


def _line(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    """A paragraph, title line or part title: inlines normalised, line ends trimmed."""
    flat = _inlines(inlines)
    while flat and isinstance(flat[0], Break):
        flat = flat[1:]
    while flat and isinstance(flat[-1], Break):
        flat = flat[:-1]
    if flat and isinstance(flat[0], Text):
        flat = _with_text(flat, 0, flat[0].text.lstrip(_EDGE + "\n"))
    if flat and isinstance(flat[-1], Text):
        flat = _with_text(flat, len(flat) - 1, flat[-1].text.rstrip(_EDGE + "\n"))
    return flat


def unbold(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    """A heading's inlines without the bold that covers all of them (headings are bold)."""
    meaningful = [i for i in inlines if not (isinstance(i, Text) and not i.text.strip())]
    if not meaningful or not all(isinstance(i, Strong) for i in meaningful):
        return tuple(inlines)
    out: list[Inline] = []
    for inline in inlines:
        out.extend(inline.children if isinstance(inline, Strong) else (inline,))
    return tuple(out)


def _heading(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    return _line(unbold(_line(inlines)))


def _with_text(flat: tuple[Inline, ...], index: int, text: str) -> tuple[Inline, ...]:
    replacement: tuple[Inline, ...] = (Text(text),) if text else ()
    return flat[:index] + replacement + flat[index + 1 :]


def _inlines(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    """Steps 1-5 of the docstring on one sequence of inlines (recursively)."""
    out: list[Inline] = []
    for inline in inlines:
        if isinstance(inline, Text):
            pieces = clean_text(inline.text).split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    out.append(Break())
                out.append(Text(piece))
        elif isinstance(inline, STYLED):
            children = _inlines(_unwrap_same(inline))
            out.extend(_move_edges_out(type(inline), children))
        elif isinstance(inline, Blank):
            out.append(Blank(inline.kind, clean_text(inline.prompt).strip()))
        elif isinstance(inline, Ref):
            out.append(replace(inline, prefix=clean_text(inline.prefix).strip()))
        else:
            out.append(inline)
    return _merge(out)


def _unwrap_same(node: Strong | Emph | Underline | Superscript | Term) -> list[Inline]:
    children: list[Inline] = []
    for child in node.children:
        if type(child) is type(node):
            children.extend(_unwrap_same(child))
        else:
            children.append(child)
    return children


def _move_edges_out(cls: type, children: tuple[Inline, ...]) -> list[Inline]:
    before: list[Inline] = []
    after: list[Inline] = []
    inner = list(children)
    while inner and (isinstance(inner[0], Break) or _edge_space(inner[0], 0)):
        first = inner[0]
        if isinstance(first, Text):
            stripped = first.text.lstrip(_EDGE)
            before.append(Text(first.text[: len(first.text) - len(stripped)]))
            inner[0:1] = [Text(stripped)] if stripped else []
        else:
            before.append(inner.pop(0))
    while inner and (isinstance(inner[-1], Break) or _edge_space(inner[-1], -1)):
        last = inner[-1]
        if isinstance(last, Text):
            stripped = last.text.rstrip(_EDGE)
            after.insert(0, Text(last.text[len(stripped) :]))
            inner[-1:] = [Text(stripped)] if stripped else []
        else:
            after.insert(0, inner.pop())
    middle: list[Inline] = [cls(tuple(inner))] if inner else []
    if len(inner) == 1 and isinstance(inner[0], Blank):
        middle = inner  # a blank's look is its own: styling around it alone goes
    return before + middle + after


def _edge_space(inline: Inline, index: int) -> bool:
    return isinstance(inline, Text) and bool(inline.text) and inline.text[index] in _EDGE


def _merge(inlines: list[Inline]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for inline in inlines:
        if isinstance(inline, Text) and not inline.text:
            continue
        previous = out[-1] if out else None
        if isinstance(inline, Text) and isinstance(previous, Text):
            out[-1] = Text(_SPACES_RE.sub(" ", previous.text + inline.text))
        elif isinstance(inline, STYLED) and type(previous) is type(inline):
            merged = _inlines(previous.children + inline.children)
            out[-1] = type(inline)(merged)
        elif isinstance(inline, Break):
            if isinstance(previous, Text):
                trimmed = previous.text.rstrip(_EDGE)
                out[-1:] = [Text(trimmed)] if trimmed else []
            out.append(inline)
        elif isinstance(inline, Text) and isinstance(previous, Break):
            if trimmed := inline.text.lstrip(_EDGE):
                out.append(Text(trimmed))
        else:
            out.append(inline)
    return tuple(out)
