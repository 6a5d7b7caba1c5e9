"""Which old element is which new one: the alignment behind structured redlines.

Internal to :mod:`agreements.text.document.redline` (read its docstring first). Three steps:

1. **Annotate** each side: a :class:`Node` per part, block, list item, table row and cell, with
   the label and counters it shows, its ``Ref.item`` path, and a *signature*: its words and
   structure without labels or styling, so two elements with the same signature read the same
   whatever their numbers.
2. **Align** sibling sequences. Parts pair by key (common keys out of order are moved).
   Blocks of a body, items of a list and rows of a table pair first where their signatures are
   equal (a longest common subsequence of the signatures, so the fewest elements are left
   over: moving one of three items leaves one over, not two); between two such anchors, elements
   of the same family pair in order by word similarity (Dice over word multisets) when it
   reaches :data:`SIMILAR` (:data:`SIMILAR_CONTAINER` for lists, tables and indented
   passages, whose parts are aligned in turn). Rows pair only when their cells have the same
   shape; cells pair by position. The rest is inserted or deleted.
3. **Moves.** Anything still unpaired anywhere (a deleted item, a row of an inserted table, a
   paragraph of a deleted part) may be one end of a move: an unpaired element of the same
   family with the same signature (largest first), then with similarity of at least
   :data:`MOVE_SIMILAR`, is the same element moved. A moved element keeps its identity: its
   content is aligned with its old self, so its own edits show as word changes.

Work stays near linear for documents with few changes: equal signatures are anchors, the
pairing in between compares every pair only for small stretches (a band along the diagonal
for large ones, :mod:`.sequences`), and move detection compares at most
:data:`_MOVE_COMPARISONS` pairs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    BulletList,
    Cell,
    Document,
    Emph,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Param,
    Part,
    Ref,
    Row,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.redline.sequences import common_subsequence, heaviest_pairs
from agreements.text.document.resolver import Resolver, list_labels

type Family = Literal[
    "part", "line", "paragraph", "list", "table", "indented", "item", "row", "cell"
]
type Model = Part | tuple[Inline, ...] | Block | ListItem | Row | Cell

SIMILAR = 0.5  # paragraphs, items and rows pair in place from this word similarity
SIMILAR_CONTAINER = 0.3  # lists, tables and indented passages (their parts align in turn)
MOVE_SIMILAR = 0.6  # an unpaired element this similar to one elsewhere has moved there
_CONTAINERS = frozenset({"list", "table", "indented"})
_MOVE_COMPARISONS = 20_000
_MOVE_ROUNDS = 3  # a move's own content may hold moves; a few rounds find them
_WORD_RE = re.compile(r"\w+")


# --- Annotated trees -------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One element of one side, annotated (module docstring, step 1)."""

    family: Family
    model: Model
    children: list[Node]
    signature: str
    label: str = ""
    counters: tuple[int, ...] = ()  # the counter chain the element's label shows
    path: tuple[int, ...] | None = None  # Ref.item path of an ordered item a Ref can cite
    part: str = ""  # key of the part it is in
    header: bool = False  # a table row in the table's header rows
    _words: Counter[str] | None = None
    _word_count: int = -1

    @property
    def words(self) -> Counter[str]:
        if self._words is None:
            self._words = Counter(_WORD_RE.findall(self.signature.lower()))
            self._word_count = self._words.total()
        return self._words

    @property
    def word_count(self) -> int:
        if self._word_count < 0:
            _ = self.words
        return self._word_count


def inline_signature(inlines: Sequence[Inline]) -> str:
    """The words of inlines without styling; a blank, parameter or reference as a token of
    its own (a reference by its target part, not its label, which renumbering changes)."""
    out: list[str] = []
    for inline in inlines:
        match inline:
            case Text():
                out.append(inline.text)
            case Break():
                out.append("\n")
            case Strong() | Emph() | Underline() | Superscript() | Term():
                out.append(inline_signature(inline.children))
            case Blank():
                out.append(f"\x1eblank {inline.kind.value} {inline.prompt}\x1e")
            case Param():
                out.append(f"\x1eparam {inline.name}\x1e")
            case Ref():
                out.append(f"\x1eref {inline.target} {inline.prefix}\x1e")
    return "".join(out)


# Signature tags are control characters, never word characters, so only the words of the
# text count towards similarity (two rows share no words because both are rows).
_TAGS = {
    "line": "\x01",
    "part": "\x02",
    "paragraph": "\x03",
    "item": "\x04",
    "ordered": "\x05",
    "bullets": "\x06",
    "row": "\x07",
    "table": "\x08",
    "indented": "\x0e",
    "cell": "\x0f",
}


def _nested(tag: str, children: Sequence[Node]) -> str:
    return tag + "".join(f"\x1c{child.signature}\x1d" for child in children)


def _shape(cell: Cell) -> str:
    """A cell's spans as non-word characters (private use: not ``\\w``)."""
    return (
        _TAGS["cell"]
        + chr(0xE000 + min(cell.colspan, 4096))
        + chr(0xE000 + min(cell.rowspan, 4096))
    )


class Annotator:
    """Annotates one side; labels and counters as the resolver computes them."""

    def __init__(self, document: Document | None) -> None:
        self.resolver = Resolver(document) if document is not None else None

    def line(self, inlines: tuple[Inline, ...]) -> Node:
        return Node("line", inlines, [], _TAGS["line"] + inline_signature(inlines))

    def part(self, part: Part) -> Node:
        resolver = self.resolver
        chain = resolver.chain(part.key) if resolver is not None else ()
        label = resolver.part_label(part.key) if resolver is not None else (part.label or "")
        children = self.blocks(part.blocks, part.key, chain, (), [0])
        signature = _nested(_TAGS["part"] + inline_signature(part.title), children)
        return Node("part", part, children, signature, label, chain, (), part.key)

    def blocks(
        self,
        blocks: Sequence[Block],
        key: str,
        chain: tuple[int, ...],
        path: tuple[int, ...] | None,
        position: list[int],
    ) -> list[Node]:
        """``path`` is the enclosing item's Ref.item path (None where no reference can cite
        an item: in tables and bullet lists); ``position`` counts the ordered items under it
        across lists and indented passages, as ``resolver.ordered_items`` does."""
        out: list[Node] = []
        for block in blocks:
            match block:
                case Paragraph():
                    signature = _TAGS["paragraph"] + inline_signature(block.inlines)
                    out.append(Node("paragraph", block, [], signature, part=key))
                case OrderedList():
                    items = []
                    for item, (label, own) in zip(
                        block.items, list_labels(block, chain), strict=True
                    ):
                        here = None if path is None else (*path, position[0])
                        position[0] += 1
                        inner = self.blocks(item.blocks, key, own, here, [0])
                        signature = _nested(_TAGS["item"], inner)
                        node = Node("item", item, inner, signature, label, own, here, key)
                        items.append(node)
                    signature = _nested(_TAGS["ordered"], items)
                    out.append(Node("list", block, items, signature, "", chain, part=key))
                case BulletList():
                    items = []
                    for item in block.items:
                        inner = self.blocks(item.blocks, key, chain, None, [0])
                        signature = _nested(_TAGS["item"], inner)
                        node = Node("item", item, inner, signature, "", chain, part=key)
                        items.append(node)
                    signature = _nested(_TAGS["bullets"], items)
                    out.append(Node("list", block, items, signature, "", chain, part=key))
                case Table():
                    out.append(self.table(block, key))
                case Indented():
                    inner = self.blocks(block.blocks, key, chain, path, position)
                    signature = _nested(_TAGS["indented"], inner)
                    out.append(Node("indented", block, inner, signature, part=key))
        return out

    def table(self, table: Table, key: str) -> Node:
        rows = []
        for index, row in enumerate(table.rows):
            cells = []
            for cell in row.cells:
                inner = self.blocks(cell.blocks, key, (), None, [0])
                cells.append(Node("cell", cell, inner, _nested(_shape(cell), inner), part=key))
            node = Node("row", row, cells, _nested(_TAGS["row"], cells), part=key)
            node.header = index < table.header_rows
            rows.append(node)
        return Node("table", table, rows, _nested(_TAGS["table"], rows), part=key)


# --- Alignment -----------------------------------------------------------------------------


@dataclass(eq=False)
class Move:
    """One element moved: ``source`` is where it was (old only), ``target`` where it is now
    (old and new). The builder numbers the move once for both ends."""

    source: Slot
    target: Slot
    number: int | None = None


@dataclass(eq=False)
class Slot:
    """One place in the merged reading order: an old element, a new one, or both paired."""

    old: Node | None
    new: Node | None
    children: list[Slot] = field(default_factory=list)
    move: Move | None = None
    parent: Slot | None = None
    settled: bool = False  # may no longer become (or hold) a move end

    @property
    def node(self) -> Node:
        found = self.new if self.new is not None else self.old
        assert found is not None
        return found

    def walk(self) -> Iterator[Slot]:
        yield self
        for child in self.children:
            yield from child.walk()


def similarity(old: Node, new: Node, least: float = 0.0) -> float:
    """Dice coefficient of the two word multisets (1.0 for two elements without words that
    read the same); 0.0 early when it surely stays below ``least``."""
    total = old.word_count + new.word_count
    if not total:
        return 1.0 if old.signature == new.signature else 0.0
    if 2 * min(old.word_count, new.word_count) < least * total:
        return 0.0  # cannot reach the threshold: skip the multiset intersection
    return 2 * (old.words & new.words).total() / total


def pairable(old: Node, new: Node) -> bool:
    if old.family != new.family:
        return False
    if old.family == "row":  # cells pair by position: the same shape or not at all
        shape = [(c.colspan, c.rowspan) for c in _cells(old)]
        return shape == [(c.colspan, c.rowspan) for c in _cells(new)]
    return True


def _cells(node: Node) -> list[Cell]:
    return [child.model for child in node.children if isinstance(child.model, Cell)]


def _threshold(family: Family) -> float:
    return SIMILAR_CONTAINER if family in _CONTAINERS else SIMILAR


class Aligner:
    """Aligns two annotated trees into slots (module docstring, steps 2 and 3)."""

    def __init__(self) -> None:
        self.loose: list[Slot] = []  # one-sided slots that may turn out to be moved

    # -- pairing ------------------------------------------------------------------------------

    def pair(self, old: Node, new: Node) -> Slot:
        slot = Slot(old, new)
        self._fill(slot)
        return slot

    def _fill(self, slot: Slot) -> None:
        old, new = slot.old, slot.new
        assert old is not None and new is not None
        if old.family == "row":
            children = [self.pair(o, n) for o, n in zip(old.children, new.children, strict=True)]
        elif old.children or new.children:
            children = self.sequence(old.children, new.children)
        else:
            children = []
        slot.children = children
        for child in children:
            child.parent = slot

    def one_sided(self, node: Node, *, old: bool, loose: bool = True) -> Slot:
        """An element only one side has, and everything in it (each a possible move end)."""
        slot = Slot(node, None) if old else Slot(None, node)
        slot.children = [self.one_sided(child, old=old, loose=loose) for child in node.children]
        for child in slot.children:
            child.parent = slot
        if loose and node.family not in ("cell", "part"):
            self.loose.append(slot)
        else:
            slot.settled = True
        return slot

    def sequence(self, olds: Sequence[Node], news: Sequence[Node]) -> list[Slot]:
        """Siblings aligned: equal signatures anchor, the stretches between pair by
        similarity."""
        slots: list[Slot] = []
        i = j = 0
        anchors = common_subsequence([n.signature for n in olds], [n.signature for n in news])
        for a, b in [*anchors, (len(olds), len(news))]:
            if a > i or b > j:
                slots.extend(self._stretch(olds[i:a], news[j:b]))
            if a < len(olds):
                slots.append(self.pair(olds[a], news[b]))
            i, j = a + 1, b + 1
        return slots

    def _stretch(self, olds: Sequence[Node], news: Sequence[Node]) -> list[Slot]:
        """Pairs in order, most similar overall; deletions before insertions between them."""
        slots: list[Slot] = []
        i = j = 0

        def weight(i: int, j: int) -> float:
            old, new = olds[i], news[j]
            if not pairable(old, new):
                return 0.0
            least = _threshold(old.family)
            score = similarity(old, new, least)
            return score if score >= least else 0.0

        pairs = heaviest_pairs(len(olds), len(news), weight)
        for a, b in [*pairs, (len(olds), len(news))]:
            slots.extend(self.one_sided(node, old=True) for node in olds[i:a])
            slots.extend(self.one_sided(node, old=False) for node in news[j:b])
            if a < len(olds) and b < len(news):
                slots.append(self.pair(olds[a], news[b]))
            i, j = a + 1, b + 1
        return slots

    # -- parts ------------------------------------------------------------------------------

    def parts(self, olds: Sequence[Node], news: Sequence[Node]) -> list[Slot]:
        """Parts by key, in the new order; a deleted part where it was; a part present on both
        sides but out of order is moved: its source where it was, its target where it is."""
        old_keys = _unique_keys(olds)
        new_keys = _unique_keys(news)
        common = set(old_keys) & set(new_keys)
        slots: list[Slot] = []
        sources: dict[str, Slot] = {}
        targets: list[tuple[str, Slot]] = []
        i1 = j1 = 0
        for i2, j2 in [*common_subsequence(old_keys, new_keys), (len(olds), len(news))]:
            for key, node in zip(old_keys[i1:i2], olds[i1:i2], strict=True):
                moved = key in common
                slot = self.one_sided(node, old=True, loose=not moved)
                if moved:
                    sources[key] = slot
                slots.append(slot)
            for key, node in zip(new_keys[j1:j2], news[j1:j2], strict=True):
                if key in common:
                    slot = Slot(None, node)
                    targets.append((key, slot))
                else:
                    slot = self.one_sided(node, old=False)
                slots.append(slot)
            if i2 < len(olds):
                slots.append(self.pair(olds[i2], news[j2]))
            i1, j1 = i2 + 1, j2 + 1
        for key, target in targets:
            source = sources[key]
            target.old = source.old
            self._fill(target)
            target.move = source.move = Move(source, target)
            target.settled = source.settled = True
        return slots

    # -- moves ------------------------------------------------------------------------------

    def find_moves(self) -> None:
        """Pair unpaired elements across the whole document (module docstring, step 3)."""
        for _ in range(_MOVE_ROUNDS):
            gone = [s for s in self.loose if s.new is None and self._free(s)]
            came = [s for s in self.loose if s.old is None and self._free(s)]
            if not gone or not came or not self._match(gone, came):
                return

    @staticmethod
    def _free(slot: Slot) -> bool:
        return not slot.settled and slot.move is None

    def _match(self, gone: list[Slot], came: list[Slot]) -> int:
        found = 0
        by_signature: dict[tuple[str, str], list[Slot]] = defaultdict(list)
        for slot in came:
            by_signature[(slot.node.family, slot.node.signature)].append(slot)
        for source in sorted(gone, key=lambda s: -len(s.node.signature)):
            candidates = by_signature.get((source.node.family, source.node.signature), [])
            target = next((t for t in candidates if self._free(t)), None)
            if self._free(source) and target is not None and source.node.word_count:
                self._link(source, target)
                found += 1
        pairs: list[tuple[float, int, Slot, Slot]] = []
        budget = _MOVE_COMPARISONS
        by_family: dict[str, list[Slot]] = defaultdict(list)
        for slot in came:
            if slot.node.word_count >= 2:
                by_family[slot.node.family].append(slot)
        for source in gone:
            if not self._free(source) or source.node.word_count < 2:
                continue
            for target in by_family.get(source.node.family, ()):
                if budget <= 0:
                    break
                if not self._free(target) or not pairable(source.node, target.node):
                    continue
                budget -= 1
                score = similarity(source.node, target.node, MOVE_SIMILAR)
                if score >= MOVE_SIMILAR:
                    pairs.append((score, len(source.node.signature), source, target))
        for _score, _size, source, target in sorted(pairs, key=lambda p: (-p[0], -p[1])):
            if self._free(source) and self._free(target):
                self._link(source, target)
                found += 1
        return found

    def _link(self, source: Slot, target: Slot) -> None:
        """``source`` (old only) moved to ``target`` (new only): pair their content."""
        for slot in (source, target):
            for inner in slot.walk():
                inner.settled = True
            parent = slot.parent
            while parent is not None and not parent.settled:
                parent.settled = True  # an enclosing one-sided element can no longer move
                parent = parent.parent
        target.old = source.old
        self._fill(target)  # its new children may be moves of their own: another round
        target.move = source.move = Move(source, target)


def _unique_keys(nodes: Sequence[Node]) -> list[str]:
    """Part keys, a repeated key numbered (keys should be unique; a document is not refused
    for it)."""
    seen: Counter[str] = Counter()
    keys = []
    for node in nodes:
        seen[node.part] += 1
        keys.append(node.part if seen[node.part] == 1 else f"{node.part}\x00{seen[node.part]}")
    return keys
