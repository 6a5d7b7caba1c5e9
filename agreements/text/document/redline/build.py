"""Building a structured redline from the alignment: statuses, change numbers, word spans.

Internal to :mod:`agreements.text.document.redline` (read its docstring first). Slots are
built in reading order, so change numbers are too: an inserted, deleted or moved element
takes the next number (a move once, at whichever end comes first), everything one-sided inside
it shares that number, and each word-level change region of a paired text takes one.

Word diffs run on the plain text of the inlines, each blank, parameter and reference being one
private-use character keyed by what it is (a reference by the element it cites, translated
through the alignment of list items, so one that cites the same item under a new label is
equal); the ops are then cut back into spans along the pieces of each side.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from agreements.text.document.docx_inlines import flatten
from agreements.text.document.model import (
    Blank,
    Break,
    Cell,
    Document,
    Inline,
    OrderedList,
    Param,
    Part,
    Ref,
    Table,
    Text,
)
from agreements.text.document.plain import EMPTY_BLANK, ref_text
from agreements.text.document.redline.align import Node, Slot
from agreements.text.document.redline.diff import (
    Atom,
    BlockDiff,
    CellDiff,
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
from agreements.text.document.resolver import Resolver
from agreements.text.redline import OpKind, diff_tokens, number_changes


@dataclass(frozen=True, slots=True)
class _Scope:
    """The one-sided change an element is inside: its spans' kind, status and number."""

    kind: OpKind
    status: Status
    number: int


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int  # in the encoded text
    text: str  # as shown
    marks: frozenset[str]
    atom: Atom | None


_PRIVATE_USE = 0xF0000  # one private-use character per blank, parameter, reference
_PRIVATE_RE = re.compile("[\U000f0000-\U0010ffff]")

type RefKey = tuple[str, tuple[int, ...]]


class Builder:
    def __init__(self, old: Document | None, new: Document | None) -> None:
        self.old = Resolver(old) if old is not None else None
        self.new = Resolver(new) if new is not None else None
        self.count = 0
        self.items: dict[RefKey, RefKey] = {}  # old (part, item path) -> new
        self.aligned: set[str] = set()  # parts whose items were aligned
        self.new_parts: set[str] = set(self.new.parts) if self.new is not None else set()

    def number(self) -> int:
        self.count += 1
        return self.count

    def learn_references(self, slots: Sequence[Slot]) -> None:
        """Where each old item is now, so a reference citing it is unchanged when the new
        document cites the same item under its new label."""
        for top in slots:
            for slot in top.walk():
                old, new = slot.old, slot.new
                if old is not None:
                    self.aligned.add(old.part)
                if old is None or new is None or old.family != "item":
                    continue
                if old.path is not None and new.path is not None:
                    self.items[(old.part, old.path)] = (new.part, new.path)

    # -- status -------------------------------------------------------------------------------

    def _state(self, slot: Slot, scope: _Scope | None) -> tuple[Status, int | None, _Scope | None]:
        """(status, change number, scope for the children) of a slot."""
        if slot.move is not None:
            if slot.move.number is None:
                slot.move.number = self.number()
            number = slot.move.number
            if slot.new is None:
                return Status.MOVED_FROM, number, _Scope("delete", Status.MOVED_FROM, number)
            return Status.MOVED_TO, number, None
        if slot.old is not None and slot.new is not None:
            return Status.UNCHANGED, None, None
        inserted = slot.old is None
        if scope is not None and scope.kind == ("insert" if inserted else "delete"):
            return scope.status, scope.number, scope
        status = Status.INSERTED if inserted else Status.DELETED
        number = self.number()
        return status, number, _Scope("insert" if inserted else "delete", status, number)

    # -- parts and blocks ---------------------------------------------------------------------

    def part(self, slot: Slot) -> PartDiff:
        first = self.count
        status, change, scope = self._state(slot, None)
        node = slot.node
        assert isinstance(node.model, Part)
        if scope is None and slot.old is not None and slot.new is not None:
            old_part, new_part = slot.old.model, slot.new.model
            assert isinstance(old_part, Part) and isinstance(new_part, Part)
            title = self.text(old_part.title, new_part.title)
        else:
            title = self.whole(node.model.title, scope)
        blocks = self.blocks(slot.children, scope)
        if status is Status.UNCHANGED and (title.changed or _any_change(blocks)):
            status = Status.CHANGED
        return PartDiff(
            key=node.model.key,
            kind=node.model.kind,
            status=status,
            change=change,
            label=node.label,
            old_label=slot.old.label if slot.old is not None else "",
            counters=node.counters,
            moved_label=self._moved_label(slot),
            title=title,
            blocks=blocks,
            changes=self.count - first,
        )

    def blocks(self, slots: Sequence[Slot], scope: _Scope | None) -> tuple[BlockDiff, ...]:
        return tuple(self.block(slot, scope) for slot in slots)

    def block(self, slot: Slot, scope: _Scope | None) -> BlockDiff:
        status, change, inner = self._state(slot, scope)
        node = slot.node
        family = node.family
        if family in ("paragraph", "line"):
            if inner is None and slot.old is not None and slot.new is not None:
                text = self.text(_inlines(slot.old), _inlines(slot.new))
            else:
                text = self.whole(_inlines(node), inner)
            return ParagraphDiff(_settle(status, text.changed), change, text)
        if family == "list":
            items = tuple(self.item(child, inner) for child in slot.children)
            model = node.model
            ordered = isinstance(model, OrderedList)
            numbering = model.numbering if isinstance(model, OrderedList) else None
            changed = any(item.status is not Status.UNCHANGED for item in items)
            return ListDiff(_settle(status, changed), change, ordered, numbering, items)
        if family == "table":
            rows = tuple(self.row(child, inner) for child in slot.children)
            assert isinstance(node.model, Table)
            header = sum(1 for _ in itertools.takewhile(lambda s: s.node.header, slot.children))
            changed = any(row.status is not Status.UNCHANGED for row in rows)
            return TableDiff(
                _settle(status, changed), change, rows, header, tuple(node.model.widths)
            )
        blocks = self.blocks(slot.children, inner)  # an indented passage
        return IndentedDiff(_settle(status, _any_change(blocks)), change, blocks)

    def item(self, slot: Slot, scope: _Scope | None) -> ItemDiff:
        status, change, inner = self._state(slot, scope)
        blocks = self.blocks(slot.children, inner)
        node = slot.node
        return ItemDiff(
            status=_settle(status, _any_change(blocks)),
            change=change,
            label=node.label,
            old_label=slot.old.label if slot.old is not None else "",
            counters=node.counters,
            moved_label=self._moved_label(slot),
            blocks=blocks,
        )

    def row(self, slot: Slot, scope: _Scope | None) -> RowDiff:
        status, change, inner = self._state(slot, scope)
        cells = []
        changed = False
        for cell_slot in slot.children:
            blocks = self.blocks(cell_slot.children, inner)
            changed = changed or _any_change(blocks)
            model = cell_slot.node.model
            assert isinstance(model, Cell)
            cells.append(CellDiff(blocks, model.colspan, model.rowspan))
        return RowDiff(_settle(status, changed), change, tuple(cells))

    def _moved_label(self, slot: Slot) -> str:
        """The label at a move's other end; an item moved to or from another part names
        that part too ("H. 3.")."""
        move = slot.move
        if move is None:
            return ""
        here = slot.node
        other = move.target.new if slot.new is None else move.source.old
        if other is None:
            return ""
        if other.family != "item" or other.part == here.part:
            return other.label
        resolver = self.new if slot.new is None else self.old
        part = resolver.part_label(other.part) if resolver is not None else ""
        return " ".join(piece for piece in (part, other.label) if piece)

    # -- text ---------------------------------------------------------------------------------

    def whole(self, inlines: Sequence[Inline], scope: _Scope | None) -> TextDiff:
        """Text all on one side: every span inserted or deleted as one change."""
        assert scope is not None
        old = scope.kind == "delete"
        _text, pieces = self._encode(inlines, old=old, codes={}, taken=set())
        return TextDiff(
            tuple(Span(scope.kind, p.text, p.marks, p.atom, scope.number) for p in pieces)
        )

    def text(self, old: Sequence[Inline], new: Sequence[Inline]) -> TextDiff:
        """Word-level changes between two runs of inlines, numbered in reading order."""
        codes: dict[tuple[object, ...], str] = {}
        taken = set(_PRIVATE_RE.findall(_raw(old) + _raw(new)))
        old_text, old_pieces = self._encode(old, old=True, codes=codes, taken=taken)
        new_text, new_pieces = self._encode(new, old=False, codes=codes, taken=taken)
        if old_text == new_text:
            return TextDiff(tuple(Span("equal", p.text, p.marks, p.atom) for p in new_pieces))
        spans: list[Span] = []
        old_at = new_at = 0
        base = self.count
        for op, number in number_changes(diff_tokens(old_text, new_text)):
            change = None if number is None else base + number
            self.count = max(self.count, change or 0)
            if op.kind == "delete":
                spans.extend(_cut(old_pieces, old_at, len(op.text), "delete", change))
                old_at += len(op.text)
                continue
            spans.extend(_cut(new_pieces, new_at, len(op.text), op.kind, change))
            new_at += len(op.text)
            if op.kind == "equal":
                old_at += len(op.text)
        return TextDiff(_merged(spans))

    def _encode(
        self,
        inlines: Sequence[Inline],
        *,
        old: bool,
        codes: dict[tuple[object, ...], str],
        taken: set[str],
    ) -> tuple[str, list[_Piece]]:
        """The text the word diff sees (one private-use character per blank, parameter and
        reference, keyed so equal ones match) and the pieces it is made of."""
        resolver = self.old if old else self.new
        encoded: list[str] = []
        pieces: list[_Piece] = []
        position = 0
        for marks, atom in flatten(inlines):
            if isinstance(atom, Text):
                if atom.text:
                    pieces.append(_Piece(position, atom.text, marks, None))
                    encoded.append(atom.text)
                    position += len(atom.text)
                continue
            if isinstance(atom, Break):
                pieces.append(_Piece(position, "\n", marks, atom))
                encoded.append("\n")
                position += 1
                continue
            if isinstance(atom, Blank):
                key: tuple[object, ...] = ("blank", atom.kind, atom.prompt)
                shown = f"[{atom.prompt}]" if atom.prompt else EMPTY_BLANK
            elif isinstance(atom, Param):
                key, shown = ("param", atom.name), f"[[{atom.name}]]"
            elif isinstance(atom, Ref):
                key, shown = self._ref_key(atom, old=old), ref_text(atom, resolver)
            else:  # pragma: no cover - flatten yields only the atoms above
                continue
            code = codes.get(key)
            if code is None:
                code = _fresh_code(len(codes), taken)
                codes[key] = code
            pieces.append(_Piece(position, shown, marks, atom))
            encoded.append(code)
            position += 1
        return "".join(encoded), pieces

    def _ref_key(self, ref: Ref, *, old: bool) -> tuple[object, ...]:
        """What a reference cites, in the new document's terms: equal keys cite the same."""
        resolver = self.old if old else self.new
        if resolver is None or resolver.ref_text(ref) is None:
            return ("missing", ref.target, ref.item, ref.prefix)
        if not old:
            return ("ref", ref.target, ref.item, ref.prefix)
        if not ref.item:
            known = ref.target in self.new_parts
            return ("ref" if known else "gone", ref.target, (), ref.prefix)
        if ref.target not in self.aligned:  # a part this diff did not align: same place
            return ("ref", ref.target, ref.item, ref.prefix)
        now = self.items.get((ref.target, ref.item))
        if now is None:
            return ("gone", ref.target, ref.item, ref.prefix)
        return ("ref", now[0], now[1], ref.prefix)


def _fresh_code(index: int, taken: set[str]) -> str:
    code = _PRIVATE_USE + index
    while chr(code) in taken:
        code += 1
    taken.add(chr(code))
    return chr(code)


def _raw(inlines: Sequence[Inline]) -> str:
    return "".join(atom.text for _marks, atom in flatten(inlines) if isinstance(atom, Text))


def _cut(
    pieces: list[_Piece], start: int, length: int, kind: OpKind, change: int | None
) -> list[Span]:
    """Spans for the encoded text [start, start + length) of one side."""
    end = start + length
    spans: list[Span] = []
    first = max(0, bisect_right(pieces, start, key=lambda p: p.start) - 1)
    for piece in itertools.islice(pieces, first, None):
        size = 1 if piece.atom is not None else len(piece.text)
        piece_end = piece.start + size
        if piece_end <= start:
            continue
        if piece.start >= end:
            break
        if piece.atom is not None:
            spans.append(Span(kind, piece.text, piece.marks, piece.atom, change))
        else:
            lo, hi = max(start, piece.start) - piece.start, min(end, piece_end) - piece.start
            spans.append(Span(kind, piece.text[lo:hi], piece.marks, None, change))
    return spans


def _merged(spans: list[Span]) -> tuple[Span, ...]:
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if (
            last is not None
            and last.atom is None
            and span.atom is None
            and (last.kind, last.marks, last.change) == (span.kind, span.marks, span.change)
        ):
            out[-1] = Span(span.kind, last.text + span.text, span.marks, None, span.change)
        else:
            out.append(span)
    return tuple(out)


def _inlines(node: Node) -> tuple[Inline, ...]:
    model = node.model
    if isinstance(model, tuple):
        return model
    return getattr(model, "inlines", ())


def _settle(status: Status, changed: bool) -> Status:
    return Status.CHANGED if status is Status.UNCHANGED and changed else status


def _any_change(blocks: Sequence[BlockDiff]) -> bool:
    return any(block.status is not Status.UNCHANGED for block in blocks)
