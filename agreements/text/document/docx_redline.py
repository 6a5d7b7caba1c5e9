"""A structured redline as a Word file with real tracked changes, its structure kept.

``docx_redline(diff)`` writes a :class:`~.redline.DocumentDiff` the way the Word export
(:mod:`.docx_export`) writes a document (the same styles, headings numbered by Word, native
list numbering, real tables), with every change a Word revision that counsel accept or reject
in Word (Review > Accept / Reject):

- words inserted in ``w:ins``, deleted in ``w:del`` (text in ``w:delText``), each with
  ``w:author`` and, when given, ``w:date``;
- an inserted or deleted paragraph, heading or list item has its runs in ``w:ins`` /
  ``w:del`` and its paragraph mark revised too (``w:pPr/w:rPr/w:ins`` or ``w:del``), so
  accepting removes it whole; table rows inserted or deleted are revised rows
  (``w:trPr/w:ins`` / ``w:del``);
- a moved part, paragraph or list item is a Word move: its old place in ``w:moveFrom``, its
  new place in ``w:moveTo`` (paragraph marks likewise), each end inside a named range
  (``w:moveFromRangeStart`` .. ``End``, ``w:moveToRangeStart`` .. ``End``). The new place
  holds the new text whole (edits inside a moved element are not shown word by word in Word;
  the HTML redline shows them). A move whose ends are not both at the top of a change (one
  end inside an inserted list, say), and a moved table row, are written as a deletion and an
  insertion;
- numbering is Word's own: an item or heading on the new side is numbered and counted as the
  Word export counts it, so with every change accepted Word shows the new document's labels;
  a deleted item or heading keeps its list (``w:numPr``) but is not counted, so with every
  change rejected Word counts the old document's labels again. While changes are shown, Word
  counts deleted items too; that is Word's way with numbered lists under track changes.

A part that only changed kind (a section become an unnumbered part) is not a change of words,
but its heading carries its old numbering as a tracked formatting change (``w:pPrChange``), as
does a paragraph that became (or stopped being) the numbered first paragraph of an item.

Accepting every change gives the text and labels of ``docx_export(diff.new)``; rejecting every
change gives those of ``docx_export(diff.old)``, with one exception: references are written
as text (without links) reading as in the new document, so a reference whose target was only
renumbered ("Section 2.2(c)" now "(d)") keeps its new label: a label is never a change.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import docx
from lxml import etree  # type: ignore[import-untyped]

from agreements.text.document.docx_export import _Writer
from agreements.text.document.docx_inlines import (
    FILL_IN_STYLE,
    PARAM_STYLE,
    TERM_STYLE,
    blank_text,
)
from agreements.text.document.docx_lists import STEP, hanging_for
from agreements.text.document.docx_styles import lawyers_styles, with_our_namespace
from agreements.text.document.docx_tables import write_table
from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    Param,
    PartKind,
    Table,
)
from agreements.text.document.redline import (
    BlockDiff,
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
from agreements.text.document.word_numbering import w

__all__ = ["docx_redline"]

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


@dataclass(frozen=True)
class _Mode:
    """Writing one side only: which revision wraps it and which side's text it shows."""

    tag: Literal["ins", "del", "moveFrom", "moveTo"]
    move: int | None = None  # the change number of a real move

    @property
    def old(self) -> bool:
        return self.tag in ("del", "moveFrom")


_SKIP = _Mode("del", -1)  # "not on the side being written": a sentinel, never written

# What write_table reads of a table is its rows, their cells, each cell's spans and blocks,
# and the table's header rows and widths; each cell's blocks come back to ``blocks`` below.


@dataclass(frozen=True)
class _CellContent:
    blocks: tuple[BlockDiff, ...]
    mode: _Mode | None


@dataclass(frozen=True)
class _CellView:
    blocks: _CellContent
    colspan: int
    rowspan: int


@dataclass(frozen=True)
class _RowView:
    cells: tuple[_CellView, ...]


@dataclass(frozen=True)
class _TableView:
    rows: tuple[_RowView, ...]
    header_rows: int
    widths: tuple[float, ...]


type Attribution = Callable[[str], tuple[str, dt.datetime | None]]


class _RedlineWriter(_Writer):
    def __init__(
        self,
        diff: DocumentDiff,
        body: Any,
        author: str,
        date: dt.datetime | None,
        attribution: Attribution | None = None,
    ) -> None:
        super().__init__(diff.new, body)
        self.diff = diff
        self.attribution = attribution
        self.attribute(author, date)
        self.created: list[Any] = []
        self.real_moves = _real_moves(diff)
        self.old_kinds = {part.key: part.kind for part in diff.old.parts}
        self.old_only: set[str] = set()  # list instances that hold only old-side items

    def attribute(self, author: str, date: dt.datetime | None) -> None:
        """Who and when the revisions written from now on are by."""
        self.author = _xml_text(author)
        self.date = date.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if date else None

    # -- hooks of the Word export ------------------------------------------------------------

    def paragraph(self, parent: Any | None = None, *, style: str | None = None) -> Any:
        p = super().paragraph(parent, style=style)
        self.created.append(p)
        return p

    def part_kind(self, key: str) -> PartKind:
        if key in self.resolver.parts:
            return self.resolver.parts[key].kind
        return self.old_kinds[key]

    def blocks(
        self,
        blocks: Sequence[Block] | _CellContent,
        parent: Any | None,
        base: int,
        chain: tuple[int, ...],
        position: list[int],
        path: tuple[int, ...],
        key: str | None = None,
    ) -> None:
        """Where write_table hands back a cell's content."""
        assert isinstance(blocks, _CellContent)
        self.block_diffs(blocks.blocks, parent, base, blocks.mode, None)

    # -- revisions ----------------------------------------------------------------------------

    def revision(self, tag: str, **extra: str) -> Any:
        self.bookmark_id += 1  # one id series for bookmarks and revisions keeps them unique
        element = etree.Element(w(tag), {w("id"): str(self.bookmark_id)})
        for name, value in extra.items():
            element.set(w(name), value)
        element.set(w("author"), self.author)
        if self.date:
            element.set(w("date"), self.date)
        return element

    def view(self, status: Status, change: int | None, mode: _Mode | None) -> _Mode | None:
        """The mode an element is written in: None for both sides (changes inside it are
        marked one by one), ``_SKIP`` when it is not on the side being written."""
        if mode is not None:
            if status in (Status.INSERTED, Status.MOVED_TO) and mode.old:
                return _SKIP
            if status in (Status.DELETED, Status.MOVED_FROM) and not mode.old:
                return _SKIP
            return mode
        if status is Status.INSERTED:
            return _Mode("ins")
        if status is Status.DELETED:
            return _Mode("del")
        real = change in self.real_moves
        if status is Status.MOVED_FROM:
            return _Mode("moveFrom", change) if real else _Mode("del")
        if status is Status.MOVED_TO:
            return _Mode("moveTo", change) if real else _Mode("ins")
        return None

    @contextmanager
    def move_range(self, mode: _Mode | None, outer: _Mode | None) -> Iterator[None]:
        """Name the paragraphs of a real move's end (Word pairs the two ends by name)."""
        start = len(self.created)
        yield
        if outer is not None or mode is None or mode.move is None:
            return
        made = self.created[start:]
        if not made:
            return
        opening = self.revision(f"{mode.tag}RangeStart", name=f"move{mode.move}")
        made[0].find(w("pPr")).addnext(opening)
        made[-1].append(etree.Element(w(f"{mode.tag}RangeEnd"), {w("id"): opening.get(w("id"))}))

    def mark_paragraph(self, p: Any, mode: _Mode | None) -> None:
        if mode is None:
            return
        rpr = etree.SubElement(p.find(w("pPr")), w("rPr"))
        rpr.append(self.revision(mode.tag))

    # -- text -------------------------------------------------------------------------------

    def spans(self, p: Any, text: TextDiff, mode: _Mode | None) -> None:
        container: Any = None
        current: tuple[str, int | None] | None = None
        for span in text.spans:
            if mode is not None:
                if span.kind == ("insert" if mode.old else "delete"):
                    continue
                if container is None:
                    container = self.revision(mode.tag)
                    p.append(container)
                self.span_run(container, span, deleted=mode.tag == "del")
                continue
            if span.kind == "equal":
                container, current = p, None
            elif current != (span.kind, span.change):
                container = self.revision("ins" if span.kind == "insert" else "del")
                p.append(container)
                current = (span.kind, span.change)
            self.span_run(container, span, deleted=span.kind == "delete")

    def span_run(self, parent: Any, span: Span, *, deleted: bool) -> None:
        atom = span.atom
        marks = span.marks
        if isinstance(atom, Break):
            r = self._run(parent, marks, "")
            etree.SubElement(r, w("br"))
            return
        style = None
        text = span.text
        if isinstance(atom, Blank):
            style, text = FILL_IN_STYLE + atom.kind.value.title(), blank_text(atom)
        elif isinstance(atom, Param):
            style = TERM_STYLE if "term" in marks else PARAM_STYLE
        r = self._run(parent, marks, _xml_text(text), style)
        if deleted:
            for t in r.iter(w("t")):
                t.tag = w("delText")
                t.set(_XML_SPACE, "preserve")

    # -- the document -----------------------------------------------------------------------

    def write(self) -> None:
        for line in self.diff.title:
            mode = self.view(line.status, line.change, None)
            if mode is not None and mode.move is not None:  # a title line moved: plain
                mode = _Mode("del" if mode.old else "ins")
            p = self.paragraph(style="Title")
            self.spans(p, line.text, mode)
            self.mark_paragraph(p, mode)
        for part in self.diff.parts:
            self.part_diff(part)
        if self.sect_pr.getprevious() is not None and self.sect_pr.getprevious().tag == w("tbl"):
            self.paragraph()  # Word ends a document with a paragraph, never a table

    def part_diff(self, part: PartDiff) -> None:
        if self.attribution is not None:
            self.attribute(*self.attribution(part.key))
        mode = self.view(part.status, part.change, None)
        with self.move_range(mode, None):
            if part.kind is PartKind.PREAMBLE:
                self.block_diffs(part.blocks, None, 0, mode, part.key)
                return
            p = self.paragraph(style="Heading 1")
            if part.kind in self.series and part.counters:
                if mode is None or not mode.old:
                    num = self.lists.place(
                        self.series_now[part.kind], 0, part.label, part.counters[0]
                    )
                    self.series_now[part.kind] = num
                self._number(p, self.series_now[part.kind], 0)
            self.spans(p, part.title, mode)
            self.mark_paragraph(p, mode)
            old_kind = self.old_kinds.get(part.key)
            if mode is None and old_kind not in (None, part.kind, PartKind.PREAMBLE):
                # A section become an unnumbered part (or the other way round): its old
                # numbering as a tracked formatting change, so rejecting gives it back.
                before = etree.Element(w("p"))
                ppr = etree.SubElement(before, w("pPr"))
                etree.SubElement(ppr, w("pStyle"), {w("val"): "Heading1"})
                if old_kind in self.series:
                    self._number(before, self.series_now[old_kind], 0)
                change = self.revision("pPrChange")
                change.append(ppr)
                p.find(w("pPr")).append(change)
            self.block_diffs(part.blocks, None, 0, mode, part.key)

    def block_diffs(
        self,
        blocks: Sequence[BlockDiff],
        parent: Any | None,
        base: int,
        mode: _Mode | None,
        key: str | None,
        within: tuple[str, int, int] | None = None,
    ) -> None:
        for block in blocks:
            own = self.view(block.status, block.change, mode)
            if own is _SKIP:
                continue
            with self.move_range(own, mode):
                if isinstance(block, ParagraphDiff):
                    p = self.paragraph(parent)
                    if base:
                        etree.SubElement(p.find(w("pPr")), w("ind"), {w("left"): str(base)})
                    self.spans(p, block.text, own)
                    self.mark_paragraph(p, own)
                elif isinstance(block, ListDiff):
                    self.list_diff(block, parent, base, own, key, within)
                elif isinstance(block, TableDiff):
                    self.table_diff(block, parent, base, own)
                elif isinstance(block, IndentedDiff):
                    self.block_diffs(block.blocks, parent, base + STEP, own, key)

    def list_diff(
        self,
        block: ListDiff,
        parent: Any | None,
        base: int,
        mode: _Mode | None,
        key: str | None,
        within: tuple[str, int, int] | None,
    ) -> None:
        numbering = block.numbering if block.ordered else None
        labels = [item.label for item in block.items] if block.ordered else []
        hanging = max((hanging_for(label) for label in labels), default=360)
        chain = block.items[0].counters[:-1] if block.ordered and block.items else ()
        # A list only the old side has, outside any list, gets a list instance of its own:
        # counting it there shows its old labels exactly and leaves the new side's counts be.
        apart = mode is not None and mode.old and within is None
        home_key = None if apart else key
        num, ilvl, list_base = self._list_home(numbering, within, base, chain, home_key, hanging)
        if apart or (within is not None and within[0] in self.old_only):
            self.old_only.add(num)
        for item in block.items:
            own = self.view(item.status, item.change, mode)
            if own is _SKIP:
                continue
            if own is None or not own.old or num in self.old_only:
                # Counted as Word counts the new side (or an old-only list on its own).
                if block.ordered and item.counters:
                    placed = self.lists.place(num, ilvl, item.label, item.counters[-1])
                    if num in self.old_only:
                        self.old_only.add(placed)
                    num = placed
                elif not block.ordered:
                    self.lists.counter.count(num, ilvl)
            with self.move_range(own, mode):
                self.item_diff(item, parent, num, ilvl, list_base, key, own)

    def item_diff(
        self,
        item: ItemDiff,
        parent: Any | None,
        num: str,
        ilvl: int,
        base: int,
        key: str | None,
        mode: _Mode | None,
    ) -> None:
        """An item's numbered paragraph is its first paragraph, on each side. Where the sides
        lead with different paragraphs, each is numbered on its own side; a paragraph both
        sides have that leads on one side only carries the other side's formatting as a
        tracked formatting change (``w:pPrChange``), so accepting or rejecting every change
        numbers the right paragraph. A side that leads with no paragraph (a table, a list)
        gets an empty numbered paragraph, as the Word export writes it."""
        indent = base + STEP * (ilvl + 1)
        blocks = [b for b in item.blocks if self.view(b.status, b.change, mode) is not _SKIP]
        if mode is None and _replaced_lead(blocks):  # the first paragraph rewritten
            p = self.paragraph(parent)
            self._number(p, num, ilvl, indent if base else None)
            self.spans(p, cast(ParagraphDiff, blocks.pop(0)).text, _Mode("del"))
            self.spans(p, cast(ParagraphDiff, blocks.pop(0)).text, _Mode("ins"))
            new_lead = old_lead = None
        else:
            new_lead, old_lead = _lead(blocks, mode, old=False), _lead(blocks, mode, old=True)
            new_missing = new_lead is None and (mode is None or not mode.old)
            old_missing = old_lead is None and (mode is None or mode.old)
            if new_missing or old_missing:
                p = self.paragraph(parent)
                self._number(p, num, ilvl, indent if base else None)
                if mode is not None:
                    self.mark_paragraph(p, mode)
                elif new_missing != old_missing:
                    self.mark_paragraph(p, _Mode("ins" if new_missing else "del"))
        for block in blocks:
            if isinstance(block, ParagraphDiff) and (block is new_lead or block is old_lead):
                own = self.view(block.status, block.change, mode)
                with self.move_range(own, mode):
                    p = self.paragraph(parent)
                    new_side = own is None or not own.old
                    old_side = own is None or own.old
                    numbered = block is new_lead if new_side else block is old_lead
                    self._format(p, numbered, num, ilvl, base)
                    self.spans(p, block.text, own)
                    self.mark_paragraph(p, own)
                    if new_side and old_side and (block is new_lead) != (block is old_lead):
                        before = etree.Element(w("p"))
                        etree.SubElement(before, w("pPr"))
                        self._format(before, block is old_lead, num, ilvl, base)
                        change = self.revision("pPrChange")
                        change.append(before.find(w("pPr")))
                        p.find(w("pPr")).append(change)
            elif isinstance(block, ListDiff):
                self.block_diffs([block], parent, base, mode, key, (num, ilvl, base))
            else:
                self.block_diffs([block], parent, indent, mode, key)

    def _format(self, p: Any, numbered: bool, num: str, ilvl: int, base: int) -> None:
        """An item's numbered paragraph, or a paragraph indented to the item's text."""
        indent = base + STEP * (ilvl + 1)
        if numbered:
            self._number(p, num, ilvl, indent if base else None)
        else:
            etree.SubElement(p.find(w("pPr")), w("ind"), {w("left"): str(indent)})

    def table_diff(
        self, table: TableDiff, parent: Any | None, base: int, mode: _Mode | None
    ) -> None:
        rows: list[tuple[RowDiff, _Mode | None]] = []
        header = 0
        for index, row in enumerate(table.rows):
            own = self.view(row.status, row.change, mode)
            if own is _SKIP:
                continue
            if own is not None and own.move is not None:  # Word moves no table rows
                own = _Mode("del" if own.old else "ins")
            rows.append((row, own))
            header += index < table.header_rows
        if not rows:
            return
        view = _TableView(
            tuple(
                _RowView(
                    tuple(
                        _CellView(_CellContent(cell.blocks, own), cell.colspan, cell.rowspan)
                        for cell in row.cells
                    )
                )
                for row, own in rows
            ),
            header,
            table.widths,
        )
        write_table(self, cast(Table, view), parent, base)
        tbl = parent[-1] if parent is not None else self.sect_pr.getprevious()
        for tr, (_row, own) in zip(tbl.iterfind(w("tr")), rows, strict=False):
            if own is not None:
                tag = "del" if own.old else "ins"
                tr.find(w("trPr")).append(self.revision(tag))


def _lead(blocks: Sequence[BlockDiff], mode: _Mode | None, *, old: bool) -> ParagraphDiff | None:
    """The paragraph an item leads with on one side (None when it leads with no paragraph)."""
    hidden = (Status.INSERTED, Status.MOVED_TO) if old else (Status.DELETED, Status.MOVED_FROM)
    side = [b for b in blocks if mode is not None or b.status not in hidden]
    first = side[0] if side else None
    return first if isinstance(first, ParagraphDiff) else None


def _replaced_lead(blocks: Sequence[BlockDiff]) -> bool:
    return (
        len(blocks) >= 2
        and isinstance(blocks[0], ParagraphDiff)
        and isinstance(blocks[1], ParagraphDiff)
        and (blocks[0].status, blocks[1].status) == (Status.DELETED, Status.INSERTED)
    )


def _real_moves(diff: DocumentDiff) -> set[int]:
    """Moves whose two ends are each at the top of a change, where Word can show a move."""
    sources: set[int] = set()
    targets: set[int] = set()

    def visit(status: Status, change: int | None) -> bool:
        """Record a move end; whether to look inside (only where both sides are shown)."""
        if status is Status.MOVED_FROM and change is not None:
            sources.add(change)
        elif status is Status.MOVED_TO and change is not None:
            targets.add(change)
        return status in (Status.UNCHANGED, Status.CHANGED)

    def blocks(seq: Sequence[BlockDiff]) -> None:
        for block in seq:
            if not visit(block.status, block.change):
                continue
            if isinstance(block, ListDiff):
                for item in block.items:
                    if visit(item.status, item.change):
                        blocks(item.blocks)
            elif isinstance(block, TableDiff):
                for row in block.rows:  # rows are never Word moves: only look inside
                    if row.status in (Status.UNCHANGED, Status.CHANGED):
                        for cell in row.cells:
                            blocks(cell.blocks)
            elif isinstance(block, IndentedDiff):
                blocks(block.blocks)

    for part in diff.parts:
        if visit(part.status, part.change):
            blocks(part.blocks)
    return sources & targets


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def docx_redline(
    diff: DocumentDiff,
    *,
    author: str = "Collaboratory",
    date: dt.datetime | None = None,
    attribution: Attribution | None = None,
    preface: Sequence[tuple[str, bool]] = (),
) -> bytes:
    """The .docx bytes of a structured redline (module docstring); every revision is by
    ``author`` at ``date`` (an aware datetime; none written when omitted), or, per part, by
    whom ``attribution(part key)`` names. ``preface``: paragraphs (text, italic) written
    before the document, outside the tracked changes (what this redline compares)."""
    out = docx.Document()
    lawyers_styles(out)
    root = with_our_namespace(out)
    body = root.find(w("body"))
    writer = _RedlineWriter(diff, body, author, date, attribution)
    for text, italic in preface:
        p = writer.paragraph()
        run = etree.SubElement(p, w("r"))
        if italic:
            etree.SubElement(etree.SubElement(run, w("rPr")), w("i"))
        t = etree.SubElement(run, w("t"))
        t.text = _xml_text(text)
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    writer.write()
    writer.lists.write(out.part.numbering_part.element)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
