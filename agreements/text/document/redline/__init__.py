"""Redlines over structure: what changed between two document trees, part by part, item by item.

Public API (pure: no ORM, no request; frozen dataclasses in, frozen dataclasses out)::

    diff_documents(old: Document, new: Document) -> DocumentDiff
    diff_parts(old: Part | None, new: Part | None, *, old_document=None, new_document=None)
        -> PartDiff        # one clause; None on one side: the clause is inserted / deleted
    diff_blocks(old: Sequence[Block], new: Sequence[Block], *, old_document=None,
        new_document=None) -> BlocksDiff

    DocumentDiff(title: lines as ParagraphDiff, parts, changes, old, new)
    PartDiff(key, kind, status, change, label, old_label, counters, moved_label, title, blocks,
        changes)
    BlocksDiff(blocks, changes)
    BlockDiff = ParagraphDiff | ListDiff | TableDiff | IndentedDiff
        ParagraphDiff(status, change, text)
        ListDiff(status, change, ordered, numbering, items)
            ItemDiff(status, change, label, old_label, counters, moved_label, blocks)
        TableDiff(status, change, rows, header_rows, widths)
            RowDiff(status, change, cells) / CellDiff(blocks, colspan, rowspan)
        IndentedDiff(status, change, blocks)
    TextDiff(spans): Span(kind "equal" | "insert" | "delete", text, marks, atom, change)
    Status: unchanged | changed | inserted | deleted | moved-from | moved-to

Renderers: :func:`agreements.text.document.redline_render.redline_html` (safe HTML) and
:func:`agreements.text.document.docx_redline.docx_redline` (a .docx with Word tracked changes).
Inside this package: :mod:`.diff` (the dataclasses), :mod:`.align` (which element is which),
:mod:`.sequences` (the order-keeping alignments), :mod:`.build` (statuses, numbers, spans).

The rules:

- **Parts** pair by key. A key only the old document has is a deleted part, only the new one
  an inserted part; a part both have but out of order (not in the longest run of keys in
  order) has moved. Parts are shown in the new order, deleted ones where they were.
- **Inside a part** blocks, list items (at every depth) and table rows are aligned by
  structure and content (:mod:`.align`): equal content anchors; between anchors,
  elements pair in order by word similarity; the rest is inserted or deleted. An element
  unpaired here and one unpaired elsewhere with the same or very similar content are one
  element moved (a ``moved-from`` slot where it was, holding its old content, and a
  ``moved-to`` slot where it is, aligned with its old self).
- **Words** inside paired paragraphs, list items, cells, part titles and title lines are
  diffed by :func:`agreements.text.redline.diff_tokens` (the one word-level diff, with its
  work budget) over their plain text. Blanks, parameters and references are one token each,
  so they change whole; styling is kept on every span (unchanged text shows the new styling;
  a change of styling alone is not a change of words and is not marked).
- **Labels are not changes.** Every element shows the label it has in its own document: an
  unchanged item after an insertion shows its new label, a deleted item its old one, and a
  label that changed only because something before it was inserted or deleted is never
  marked. A reference is unchanged when it cites the same element, whatever its label now
  reads ("Section 2.2(c)" becoming "Section 2.2(d)" because an item was inserted before (c)).
- **Changes** are numbered 1..``changes`` in reading order: each word-level change region
  (as :func:`agreements.text.redline.number_changes` counts them) is one change, each
  inserted or deleted element is one change however much it holds, and a move is one change
  (both of its ends carry its number; edits inside the moved element count on their own).
  ``change`` on an element is the number of its structural change; a span's ``change`` is
  its change's number, so renderers give each change an id (``id_prefix`` + number).
- Two identical documents give ``changes == 0`` and every status ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Sequence

from agreements.text.document.model import Block, Document, Part
from agreements.text.document.redline.align import Aligner, Annotator, Node
from agreements.text.document.redline.build import Builder
from agreements.text.document.redline.diff import (
    BlockDiff,
    BlocksDiff,
    CellDiff,
    DocumentDiff,
    IndentedDiff,
    ItemDiff,
    ListDiff,
    ParagraphDiff,
    PartDiff,
    RowDiff,
    Span,
    Status,
    TableDiff,
    TextDiff,
)

__all__ = [
    "BlockDiff",
    "BlocksDiff",
    "CellDiff",
    "DocumentDiff",
    "IndentedDiff",
    "ItemDiff",
    "ListDiff",
    "ParagraphDiff",
    "PartDiff",
    "RowDiff",
    "Span",
    "Status",
    "TableDiff",
    "TextDiff",
    "diff_blocks",
    "diff_documents",
    "diff_parts",
]


def _body(side: Annotator, blocks: Sequence[Block], key: str) -> list[Node]:
    chain = side.resolver.chain(key) if side.resolver is not None and key else ()
    return side.blocks(blocks, key, chain, (), [0])


# --- Public API ---------------------------------------------------------------------------------


def diff_documents(old: Document, new: Document) -> DocumentDiff:
    """The structured redline of two documents (module docstring)."""
    old_side, new_side = Annotator(old), Annotator(new)
    aligner = Aligner()
    title_slots = aligner.sequence(
        [old_side.line(line) for line in old.title], [new_side.line(line) for line in new.title]
    )
    part_slots = aligner.parts(
        [old_side.part(part) for part in old.parts], [new_side.part(part) for part in new.parts]
    )
    aligner.find_moves()
    builder = Builder(old, new)
    builder.learn_references(part_slots)
    title = []
    for slot in title_slots:
        line = builder.block(slot, None)
        assert isinstance(line, ParagraphDiff)
        title.append(line)
    parts = tuple(builder.part(slot) for slot in part_slots)
    return DocumentDiff(tuple(title), parts, builder.count, old, new)


def diff_parts(
    old: Part | None,
    new: Part | None,
    *,
    old_document: Document | None = None,
    new_document: Document | None = None,
) -> PartDiff:
    """The redline of one part (a clause), ``None`` on the side where it does not exist.
    Pass the documents so labels and references read as in them."""
    if old is None and new is None:
        raise ValueError("diff_parts needs a part on at least one side")
    aligner = Aligner()
    old_node = Annotator(old_document).part(old) if old is not None else None
    new_node = Annotator(new_document).part(new) if new is not None else None
    if old_node is not None and new_node is not None:
        slot = aligner.pair(old_node, new_node)
    elif old_node is not None:
        slot = aligner.one_sided(old_node, old=True, loose=False)
    else:
        assert new_node is not None
        slot = aligner.one_sided(new_node, old=False, loose=False)
    aligner.find_moves()
    builder = Builder(old_document, new_document)
    builder.learn_references([slot])
    return builder.part(slot)


def diff_blocks(
    old: Sequence[Block],
    new: Sequence[Block],
    *,
    old_document: Document | None = None,
    new_document: Document | None = None,
    key: str = "",
) -> BlocksDiff:
    """The redline of two block sequences (a clause body); ``key`` is the part they belong
    to when references to its items should resolve."""
    aligner = Aligner()
    olds = _body(Annotator(old_document), old, key)
    news = _body(Annotator(new_document), new, key)
    slots = aligner.sequence(olds, news)
    aligner.find_moves()
    builder = Builder(old_document, new_document)
    builder.learn_references(slots)
    blocks = builder.blocks(slots, None)
    return BlocksDiff(blocks, builder.count)
