"""The labels of a whole document: parts, list items, and the text of cross-references.

One place computes them, so the web page, the PDFs, the plain text, the Markdown and the Word
export spell "Section I", "7.2(c)" and "Attachment A" the same way.

Counting rules (the model's docstring states them; this module implements them):

- **Parts.** Parts of kind ``section`` count in ``Document.sections``, parts of kind
  ``attachment`` in ``Document.attachments``, in document order, from the series' ``start``.
  Preamble and unnumbered parts have no label and no counter.
- **List items.** Each ordered list counts from its ``numbering.start``. Its label pattern sees
  the *chain* of counters: the part's counter (when the part is numbered), the counters of the
  enclosing list items, then the item's own; the pattern uses the last ``len(formats)`` of
  them. ``"(%1)"`` with one format is the item alone ("(c)"); ``"%1.%2"`` with two formats in
  section 7 is "7.2".
- **Explicit labels** (``Part.label``, ``ListItem.label``: the source's own label where it breaks
  the sequence) are shown as written. When such a label reads back as a number under the
  numbering ("1.2." under ``"1.%1."``), counting continues from it, so the item after "1.2." is
  "1.3."; otherwise the count goes on as if the label were computed.
- **Item paths** (``Ref.item``): 0-based indexes of ordered-list items, counting the items of
  every ordered list of a part (or of an item) in document order, looking through indented
  passages; bullet lists and tables are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from agreements.text.document.labels import count, label, value_of
from agreements.text.document.model import (
    Block,
    Document,
    Indented,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Part,
    PartKind,
    Ref,
)

_SLOT_PATTERNS = {
    NumberFormat.DECIMAL: r"[0-9]+",
    NumberFormat.DECIMAL_ZERO: r"[0-9]+",
    NumberFormat.LOWER_LETTER: r"[a-z]+",
    NumberFormat.UPPER_LETTER: r"[A-Z]+",
    NumberFormat.LOWER_ROMAN: r"[ivxlcdm]+",
    NumberFormat.UPPER_ROMAN: r"[IVXLCDM]+",
    NumberFormat.NONE: r"",
}


def read_label(numbering: Numbering, text: str) -> int | None:
    """The counter of this level that ``text`` shows under ``numbering`` ("1.2." under
    ``"1.%1."`` -> 2, "(iv)" under ``"(%1)"`` lower-roman -> 4), or None."""
    pattern, own = [], 0
    position = 0
    for match in re.finditer(r"%([1-9])", numbering.pattern):
        pattern.append(re.escape(numbering.pattern[position : match.start()]))
        index = int(match.group(1)) - 1
        fmt = _format(numbering, index)
        pattern.append(f"(?P<s{index}>{_SLOT_PATTERNS[fmt]})")
        own = max(own, index)
        position = match.end()
    pattern.append(re.escape(numbering.pattern[position:]))
    try:
        found = re.fullmatch("".join(pattern), text)
    except re.error:  # the same slot twice: not a pattern we can read back
        return None
    if found is None or f"s{own}" not in found.groupdict():
        return None
    return value_of(found.group(f"s{own}"), _format(numbering, own))


def _format(numbering: Numbering, index: int) -> NumberFormat:
    if index < len(numbering.formats):
        return numbering.formats[index]
    return NumberFormat.DECIMAL


def ordered_items(blocks: Sequence[Block]) -> Iterator[tuple[OrderedList, int, ListItem]]:
    """The ordered-list items directly under ``blocks`` (through indented passages), in order:
    the list, the item's index in its list, the item. Their position is the item path index."""
    for block in blocks:
        if isinstance(block, OrderedList):
            for index, item in enumerate(block.items):
                yield block, index, item
        elif isinstance(block, Indented):
            yield from ordered_items(block.blocks)


def item_counters(items: Sequence[ListItem], numbering: Numbering) -> list[int]:
    """The counter of each item of one list, explicit labels included (rules above)."""
    counters, current = [], numbering.start - 1
    for item in items:
        current += 1
        if item.label is not None:
            read = read_label(numbering, item.label)
            if read is not None:
                current = read
        counters.append(current)
    return counters


def item_label(item: ListItem, numbering: Numbering, chain: Sequence[int]) -> str:
    """The label shown for ``item`` whose counter chain (outermost first) is ``chain``."""
    if item.label is not None:
        return item.label
    width = max(1, len(numbering.formats))
    return label(numbering, list(chain[-width:]))


def _bare(text: str, numbering: Numbering) -> str:
    """ "A." -> "A", "ATTACHMENT A:" -> "A", "7.2." -> "7.2": a label as a reference cites it."""
    head, _, tail = numbering.pattern.partition("%1")
    if "%" in tail:
        tail = ""
    if head and text.lower().startswith(head.lower()):
        text = text[len(head) :]
    if tail and text.endswith(tail):
        text = text[: -len(tail)]
    return text.strip().rstrip(".:").strip()


@dataclass(frozen=True)
class PartLabel:
    label: str  # as shown in the heading: "A.", "ATTACHMENT A:", "" when unnumbered
    counter: int | None  # the part's count in its series, None when unnumbered
    numbering: Numbering | None


class Resolver:
    """Labels of every part and list item of one document, and the text of its references."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.parts: dict[str, Part] = {}
        self.part_labels: dict[str, PartLabel] = {}
        series = {
            PartKind.SECTION: document.sections.numbering,
            PartKind.ATTACHMENT: document.attachments.numbering,
        }
        counters = {kind: numbering.start - 1 for kind, numbering in series.items()}
        for part in document.parts:
            self.parts[part.key] = part
            if part.kind not in series:
                self.part_labels[part.key] = PartLabel(part.label or "", None, None)
                continue
            numbering = series[part.kind]
            current = counters[part.kind] + 1
            shown = part.label
            if shown is not None:
                read = read_label(numbering, shown)
                current = current if read is None else read
            else:
                shown = label(numbering, [current])
            counters[part.kind] = current
            self.part_labels[part.key] = PartLabel(shown, current, numbering)

    def part_label(self, key: str) -> str:
        found = self.part_labels.get(key)
        return found.label if found else ""

    def chain(self, key: str) -> tuple[int, ...]:
        found = self.part_labels.get(key)
        return (found.counter,) if found and found.counter is not None else ()

    def item_labels(self, key: str, path: Sequence[int]) -> list[str] | None:
        """The labels of the items along ``path`` in part ``key`` ("7.2", "(c)"), or None."""
        part = self.parts.get(key)
        if part is None or not path:
            return None
        blocks, chain, labels = part.blocks, self.chain(key), []
        for index in path:
            found = _nth_item(blocks, index)
            if found is None:
                return None
            numbering, item, counter = found
            chain = (*chain, counter)
            labels.append(item_label(item, numbering, chain))
            blocks = item.blocks
        return labels

    def ref_text(self, ref: Ref) -> str | None:
        """What a reference reads: "Section I", "Section 7.2(c)", "Attachment A"; None when
        its target is missing."""
        part = self.part_labels.get(ref.target)
        if part is None:
            return None
        bare = _bare(part.label, part.numbering) if part.numbering else part.label
        if (
            part.numbering
            and part.counter is not None
            and part.label == label(part.numbering, [part.counter])
        ):
            bare = count(part.counter, _format(part.numbering, 0))
        cited = bare
        if ref.item:
            labels = self.item_labels(ref.target, ref.item)
            if labels is None:
                return None
            cited = _join_item_labels(bare, labels, self._first_spans_part(ref))
        return f"{ref.prefix} {cited}".strip() if ref.prefix else cited

    def _first_spans_part(self, ref: Ref) -> bool:
        found = _nth_item(self.parts[ref.target].blocks, ref.item[0])
        return found is not None and len(found[0].formats) > 1 and bool(self.chain(ref.target))


def _join_item_labels(part: str, labels: list[str], spans_part: bool) -> str:
    pieces = [] if spans_part or not part else [part]
    for text in labels:
        text = text.strip().rstrip(".")
        if pieces and not text.startswith("("):
            pieces.append(".")
        pieces.append(text)
    return "".join(pieces)


def _nth_item(blocks: Sequence[Block], wanted: int) -> tuple[Numbering, ListItem, int] | None:
    for position, (lst, index, item) in enumerate(ordered_items(blocks)):
        if position == wanted:
            return lst.numbering, item, item_counters(lst.items, lst.numbering)[index]
    return None


def list_labels(lst: OrderedList, chain: Sequence[int]) -> list[tuple[str, tuple[int, ...]]]:
    """Each item's label and counter chain in ``lst``, under the enclosing ``chain``."""
    out = []
    for item, counter in zip(lst.items, item_counters(lst.items, lst.numbering), strict=True):
        own = (*chain, counter)
        out.append((item_label(item, lst.numbering, own), own))
    return out
