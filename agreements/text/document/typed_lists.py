"""Lists as a source really writes them: typed numbers, indented sub-items, lists in pieces.

Word files converted to Markdown rarely keep one clean list. This module rebuilds the lists of
a part's body, in one pass over its blocks with a stack of open lists:

- **Typed labels.** A paragraph starting with a label and a space is a list item: ``1.01``,
  ``1.0.``, ``7.2`` (dotted decimals), ``(a)``, ``(iv)``, ``a)``, ``a.``, ``iv.``. Its numbering
  is read off the label: ``"(%1)"`` lower-letter, ``"1.%1"`` decimal-zero for "1.01" (a literal
  prefix), ``"%1.%2"`` when the prefix is the section's own decimal number ("7.2" in section 7).
  "i"/"I" starts a roman list, other single letters a letter list. A label out of sequence is
  kept as the item's explicit label ("1.0." then "1.2.": the second keeps "1.2.").
- **Continuing and nesting.** A list (typed or pandoc's) with the numbering of an open list
  continues it (pandoc splits "1." ... "> a." ... "2." into three blocks); one with another
  numbering nests under the last item of the innermost open list (so "a." and "b." written in
  a block quote after item 1 become its sub-items). An indented passage after a list item
  belongs to that item. A dotted label with the same depth as an open one but another prefix
  ("2.01" after "1.03") starts a sibling list.
- Anything else (a paragraph without a label, a table, a bullet list, ``<!-- -->``) closes the
  open lists. A single typed paragraph that continues nothing and is not a dotted decimal
  ("A. Smith agrees") stays a paragraph, as the source wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agreements.text.document.labels import value_of
from agreements.text.document.model import (
    Block,
    BulletList,
    Cell,
    Indented,
    Inline,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Row,
    Table,
    Text,
)
from agreements.text.document.pandoc_ast import Separator

D = NumberFormat
_TYPED_RE = re.compile(
    r"(?:(?P<dotted>[0-9]{1,3}(?:\.[0-9]{1,3}){1,3})(?P<dot>\.?)"
    r"|\((?P<paren>[a-zA-Z]{1,5}|[0-9]{1,3})\)"
    r"|(?P<rparen>[a-z]{1,5}|[0-9]{1,3})\)"
    r"|(?P<period>[a-zA-Z]{1,5}|[0-9]{1,3})\.)[ \t\u00a0]+(?=\S)"
)
_ROMAN_CHARS = set("ivxlcdm")


@dataclass
class _Open:
    numbering: Numbering
    depth: int  # dotted components, 0 for other labels
    typed: bool
    items: list[list[Block | _Open]] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # labels as typed, to revert a lone item
    last: int = 0


@dataclass(frozen=True)
class Typed:
    numbering: Numbering
    depth: int
    value: int | None
    text: str  # the label as written
    rest: tuple[Inline, ...]


def _counter_format(token: str, open_lists: Sequence[_Open]) -> NumberFormat:
    if token.isdigit():
        return D.DECIMAL
    upper = token.isupper()
    for lst in reversed(open_lists):  # a list already open decides: "i" after "h" is a letter
        fmt = lst.numbering.formats[-1]
        if value_of(token, fmt) == lst.last + 1:
            return fmt
    lowered = token.lower()
    roman = set(lowered) <= _ROMAN_CHARS and (lowered == "i" or len(set(lowered)) > 1)
    if roman or lowered == "ii" or lowered == "iii":
        return D.UPPER_ROMAN if upper else D.LOWER_ROMAN
    return D.UPPER_LETTER if upper else D.LOWER_LETTER


def read_typed(
    paragraph: Paragraph, open_lists: Sequence[_Open], section: int | None
) -> Typed | None:
    """The typed label at the start of ``paragraph``, or None."""
    leading = 0  # the first run of text nodes, as one string (pandoc splits at spaces)
    while leading < len(paragraph.inlines) and isinstance(paragraph.inlines[leading], Text):
        leading += 1
    if not leading:
        return None
    first = "".join(t.text for t in paragraph.inlines[:leading])  # type: ignore[union-attr]
    # A label followed by more inlines (a link, a styled run) still counts: probe with a stand-in.
    match = _TYPED_RE.match(first + ("\x00" if leading < len(paragraph.inlines) else ""))
    if match is None:
        return None
    token = next(match.group(g) for g in ("dotted", "paren", "rparen", "period") if match.group(g))
    if match.group("dotted"):
        parts = token.split(".")
        last = parts[-1]
        fmt = D.DECIMAL_ZERO if len(last) == 2 and last.startswith("0") else D.DECIMAL
        suffix = match.group("dot")
        if section is not None and len(parts) == 2 and int(parts[0]) == section:
            numbering = Numbering(f"%1.%2{suffix}", (D.DECIMAL, fmt))
        else:
            numbering = Numbering(".".join(parts[:-1]) + ".%1" + suffix, (fmt,))
        depth, value = len(parts), int(last)
    else:
        if not (token.isdigit() or token.islower() or token.isupper()):
            return None
        fmt = _counter_format(token, open_lists)
        pattern = {"paren": "(%1)", "rparen": "%1)", "period": "%1."}[
            next(g for g in ("paren", "rparen", "period") if match.group(g))
        ]
        numbering = Numbering(pattern, (fmt,))
        depth = 0
        read = value_of(token, fmt)
        if read is None:
            return None
        value = read
    text = match.group(0).rstrip(" \t\u00a0")
    remainder = first[match.end() :] if match.end() <= len(first) else ""
    rest = ((Text(remainder),) if remainder else ()) + paragraph.inlines[leading:]
    return Typed(numbering, depth, value, text, rest)


def _same(a: Numbering, b: Numbering) -> bool:
    return a.pattern == b.pattern and a.formats == b.formats


class _Stack:
    def __init__(self, out: list[Block | _Open]) -> None:
        self.out = out
        self.open: list[_Open] = []

    def close(self) -> None:
        self.open.clear()

    def place(self, new: _Open) -> None:
        """Put a new list where it belongs: nested under the innermost open item, or on top."""
        if self.open:
            self.open[-1].items[-1].append(new)
        else:
            self.out.append(new)
        self.open.append(new)

    def level_for(self, numbering: Numbering, depth: int) -> int | None:
        for index in range(len(self.open) - 1, -1, -1):
            lst = self.open[index]
            if _same(lst.numbering, numbering) or (depth and lst.depth == depth):
                return index
        return None

    def typed(self, typed: Typed, paragraph: Paragraph) -> None:
        level = self.level_for(typed.numbering, typed.depth)
        if level is not None and not _same(self.open[level].numbering, typed.numbering):
            del self.open[level:]  # a sibling dotted list: "2.01" after "1.03"
            level = None
        if level is None and typed.depth:
            # A dotted label only nests under a shallower dotted item it extends.
            while self.open and not (
                0 < self.open[-1].depth < typed.depth
                and typed.text.startswith(self.open[-1].shown[-1].rstrip("."))
            ):
                self.open.pop()
        if level is None:
            start = typed.value if typed.value is not None else 1
            self.place(_Open(replace_start(typed.numbering, start), typed.depth, True))
            current = self.open[-1]
            current.last = start - 1
        else:
            del self.open[level + 1 :]
            current = self.open[level]
        expected = current.last + 1
        label = None if typed.value == expected else typed.text
        current.last = typed.value if typed.value is not None else expected
        current.items.append([Paragraph(typed.rest)] if typed.rest else [])
        current.labels.append(label)
        current.shown.append(typed.text)

    def pandoc_list(self, block: OrderedList, body: list[list[Block | _Open]]) -> None:
        level = self.level_for(block.numbering, 0)
        if level is not None:
            del self.open[level + 1 :]
            current = self.open[level]
            if block.numbering.start == current.last + 1:
                current.items.extend(body)
                current.labels.extend(item.label for item in block.items)
                current.shown.extend("" for _ in block.items)
                current.last += len(block.items)
                return
            del self.open[level:]
        new = _Open(block.numbering, 0, False, body, [i.label for i in block.items])
        new.shown = ["" for _ in block.items]
        new.last = block.numbering.start + len(block.items) - 1
        self.place(new)


def replace_start(numbering: Numbering, start: int) -> Numbering:
    return Numbering(numbering.pattern, numbering.formats, start)


def rebuild(blocks: Sequence[Block | Separator], section: int | None = None) -> tuple[Block, ...]:
    """The blocks of one body with its lists rebuilt (module docstring)."""
    out: list[Block | _Open] = []
    stack = _Stack(out)
    for block in blocks:
        if isinstance(block, Paragraph):
            typed = read_typed(block, stack.open, section)
            if typed is None:
                stack.close()
                out.append(block)
            else:
                stack.typed(typed, block)
        elif isinstance(block, OrderedList):
            body = [list(rebuild(item.blocks, section)) for item in block.items]
            stack.pandoc_list(block, body)  # type: ignore[arg-type]
        elif isinstance(block, Indented):
            if stack.open:
                inner = _Stack(stack.open[-1].items[-1])
                inner.open = stack.open  # typed sub-items nest under the open item
                for child in block.blocks:
                    _feed(inner, child, section)
            else:
                out.append(Indented(rebuild(block.blocks, section)))
        else:
            stack.close()
            if not isinstance(block, Separator):
                out.append(_inside(block, section))
    return tuple(_finish(kept) for item in out for kept in _revert(item))


def _feed(stack: _Stack, block: Block, section: int | None) -> None:
    """One block of an indented passage under an open list item."""
    if isinstance(block, Paragraph) and (typed := read_typed(block, stack.open, section)):
        stack.typed(typed, block)
    elif isinstance(block, OrderedList):
        stack.pandoc_list(block, [list(rebuild(item.blocks, section)) for item in block.items])
    else:
        stack.open[-1].items[-1].append(_inside(block, section))


def _inside(block: Block, section: int | None) -> Block:
    """Lists inside bullet items and table cells are rebuilt too."""
    if isinstance(block, BulletList):
        return BulletList(tuple(ListItem(rebuild(i.blocks, section), i.label) for i in block.items))
    if isinstance(block, Table):
        rows = tuple(
            Row(tuple(Cell(rebuild(c.blocks), c.colspan, c.rowspan) for c in row.cells))
            for row in block.rows
        )
        return Table(rows, block.header_rows, block.widths)
    return block


def _revert(item: Block | _Open) -> list[Block | _Open]:
    """A lone typed paragraph that is not a dotted decimal goes back to being a paragraph."""
    if not isinstance(item, _Open) or not item.typed or item.depth or len(item.items) != 1:
        return [item]
    blocks = item.items[0]
    if any(isinstance(b, _Open) for b in blocks) or len(blocks) > 1:
        return [item]
    rest = blocks[0].inlines if blocks and isinstance(blocks[0], Paragraph) else ()
    return [Paragraph((Text(item.shown[0] + " "), *rest))]


def _finish(item: Block | _Open) -> Block:
    if not isinstance(item, _Open):
        return item
    items = tuple(
        ListItem(tuple(_finish(b) for b in blocks), label)
        for blocks, label in zip(item.items, item.labels, strict=True)
    )
    return OrderedList(items, item.numbering)
