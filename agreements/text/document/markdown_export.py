"""Document tree -> pandoc Markdown that :mod:`markdown_import` reads back to the same tree.

The tree becomes pandoc's JSON AST and the bundled pandoc writes it (so escaping, grid tables
with several paragraphs per cell, and list markers are pandoc's own). What it writes:

- a first line ``<!-- collaboratory-document {"sections": ..., "attachments": ...} -->`` with
  both series (invisible when rendered; it keeps the numbering when no part shows it);
- the title lines as ``#`` headings (or ``<!-- -->`` when there is no title, so a bold first
  paragraph is not taken for one);
- each part as ``## LABEL TITLE {#key .section}`` (``.attachment``, ``.unnumbered``,
  ``.preamble``; ``label="..."`` for an explicit label, ``generated="..."``), except a first
  preamble keyed ``preamble`` without a title, whose text simply follows the title;
- ordered lists pandoc can write (``1.``, ``a)``, ``(iv)``: one format, no explicit labels) as
  Markdown lists; others (``1.01``, ``7.2``, ``"1.%1."``, explicit labels) as paragraphs that
  start with the typed label, the item's further blocks in a block quote after it;
  ``<!-- -->`` between two lists, or a list and an indented passage, that must stay apart;
- blanks as ``[prompt]{.blank kind="date"}``, references as links ``[Section 7.2(c)](#key/1/2)``
  (0-based item path), defined terms as ``[term]{.term}``, parameters as ``[[name]]``; text
  that the importer would otherwise read as a blank, a reference or a typed label is wrapped in
  ``[...]{.literal}``.

Lost on the way, by design: table column widths (Markdown tables have none worth keeping),
more than one header row, and cell spans (pandoc's Markdown tables have none). Markdown itself
cannot tell a roman list starting at V or X from a letter list (pandoc reads "X." as a letter),
and holds only plain words in a superscript.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agreements.text.document.canonical import _encode
from agreements.text.document.fillins import _NOT_BLANK_RE, _PIECES_RE, _Finder
from agreements.text.document.import_report import ImportReport
from agreements.text.document.markdown_import import READER, run_pandoc
from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    NumberFormat,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.normalise import normalise
from agreements.text.document.plain import inline_text, ref_text
from agreements.text.document.resolver import Resolver, list_labels
from agreements.text.document.typed_lists import _TYPED_RE

API_VERSION = [1, 23, 1, 1]
# Grid tables only: they hold several paragraphs per cell and rows of empty cells.
WRITER = f"{READER}-simple_tables-multiline_tables-pipe_tables"
_NO_ATTR: list[Any] = ["", [], []]
_STYLES = {
    NumberFormat.DECIMAL: "Decimal",
    NumberFormat.LOWER_LETTER: "LowerAlpha",
    NumberFormat.UPPER_LETTER: "UpperAlpha",
    NumberFormat.LOWER_ROMAN: "LowerRoman",
    NumberFormat.UPPER_ROMAN: "UpperRoman",
}
_DELIMITERS = {"%1.": "Period", "%1)": "OneParen", "(%1)": "TwoParens"}
_UNDERLINED_WORDS = {"name", "title", "date"}


def _separator() -> dict[str, Any]:
    return {"t": "RawBlock", "c": ["html", "<!-- -->"]}


def _words(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index, word in enumerate(text.split(" ")):
        if index:
            out.append({"t": "Space"})
        if word:
            out.append({"t": "Str", "c": word})
    return out


def _span(classes: list[str], attributes: list[list[str]], inlines: list[Any]) -> dict[str, Any]:
    return {"t": "Span", "c": [["", classes, attributes], inlines]}


def _literal(words: list[dict[str, Any]]) -> dict[str, Any]:
    return _span(["literal"], [], words)


class _Writer:
    def __init__(self, document: Document | None) -> None:
        self.resolver = Resolver(document) if document is not None else None
        # The importer's own reader of references, to know which text it would link.
        self.finder = _Finder(document or Document(), ImportReport())

    def text(self, text: str, first: bool) -> list[Any]:
        """Words, with whatever the importer would read as a blank, parameter, reference or
        typed label wrapped in a literal span."""
        out: list[Any] = []
        position = 0
        if first and (typed := _TYPED_RE.match(text)):
            out.append(_literal(_words(typed.group(0).rstrip())))
            position = len(typed.group(0).rstrip())
        for match in _PIECES_RE.finditer(text, position):
            bracket = match.group("bracket")
            if bracket and _NOT_BLANK_RE.fullmatch(match.group("prompt") or ""):
                continue
            if match.group("ref") and self.finder.reference(match) is None:
                continue
            out.extend(_words(text[position : match.start()]))
            out.append(_literal(_words(match.group(0))))
            position = match.end()
        out.extend(_words(text[position:]))
        return [node for node in out if node != {"t": "Str", "c": ""}]

    # --- inlines ---

    def inlines(self, inlines: Sequence[Inline], first: bool = False) -> list[Any]:
        out: list[Any] = []
        for index, inline in enumerate(inlines):
            out.extend(self.inline(inline, first and index == 0))
        return out

    def inline(self, inline: Inline, first: bool) -> list[Any]:
        match inline:
            case Text():
                return self.text(inline.text, first)
            case Break():
                return [{"t": "LineBreak"}]
            case Strong() | Emph() | Underline() | Superscript():
                children = self.inlines(inline.children)
                content = inline_text(inline.children)
                if isinstance(inline, Underline) and (
                    content.strip().lower() in _UNDERLINED_WORDS or not content.strip()
                ):
                    children = [_span(["literal"], [], children)]
                return [{"t": type(inline).__name__, "c": children}]
            case Term():
                return [_span(["term"], [], self.inlines(inline.children))]
            case Blank():
                return [_span(["blank"], [["kind", inline.kind.value]], _words(inline.prompt))]
            case Param():
                return [{"t": "Str", "c": f"[[{inline.name}]]"}]
            case Ref():
                url = "#" + "/".join([inline.target, *(str(i) for i in inline.item)])
                text = ref_text(inline, self.resolver)
                words = text.split()
                plain = (len(words) > 1 and words[0] == inline.prefix) or (
                    len(words) == 1 and not inline.prefix and not words[0].isalpha()
                )
                attr = _NO_ATTR if plain else ["", [], [["prefix", inline.prefix]]]
                return [{"t": "Link", "c": [attr, _words(text), [url, ""]]}]
        raise TypeError(f"not an inline: {inline!r}")

    def para(self, inlines: Sequence[Inline]) -> dict[str, Any]:
        return {"t": "Para", "c": self.inlines(inlines, first=True)}

    # --- blocks ---

    def blocks(self, blocks: Sequence[Block], chain: tuple[int, ...]) -> list[Any]:
        out: list[Any] = []
        for index, block in enumerate(blocks):
            previous = blocks[index - 1] if index else None
            if isinstance(previous, (OrderedList, BulletList)) and isinstance(
                block, (OrderedList, BulletList, Indented)
            ):
                out.append(_separator())
            out.extend(self.block(block, chain))
        return out

    def block(self, block: Block, chain: tuple[int, ...]) -> list[Any]:
        match block:
            case Paragraph():
                return [self.para(block.inlines)]
            case OrderedList():
                return self.ordered(block, chain)
            case BulletList():
                return [
                    {"t": "BulletList", "c": [self.blocks(i.blocks, chain) for i in block.items]}
                ]
            case Table():
                return [self.table(block)]
            case Indented():
                return [{"t": "BlockQuote", "c": self.blocks(block.blocks, chain)}]
        raise TypeError(f"not a block: {block!r}")

    def ordered(self, block: OrderedList, chain: tuple[int, ...]) -> list[Any]:
        numbering = block.numbering
        labels = list_labels(block, chain)
        native = (
            numbering.pattern in _DELIMITERS
            and len(numbering.formats) == 1
            and numbering.formats[0] in _STYLES
            and numbering.start >= 1
            and all(item.label is None for item in block.items)
        )
        if native:
            attributes = [
                numbering.start,
                {"t": _STYLES[numbering.formats[0]]},
                {"t": _DELIMITERS[numbering.pattern]},
            ]
            items = [
                self.blocks(item.blocks, own)
                for item, (_label, own) in zip(block.items, labels, strict=True)
            ]
            return [{"t": "OrderedList", "c": [attributes, items]}]
        out: list[Any] = []
        for item, (label, own) in zip(block.items, labels, strict=True):
            blocks = list(item.blocks)
            inlines: list[Any] = []
            first = blocks[0] if blocks else None
            if isinstance(first, Paragraph):
                inlines = self.inlines(first.inlines)
                blocks.pop(0)
            out.append({"t": "Para", "c": [*_words(label), {"t": "Space"}, *inlines]})
            if blocks:
                out.append({"t": "BlockQuote", "c": self.blocks(blocks, own)})
        return out

    def table(self, table: Table) -> dict[str, Any]:
        columns = max((sum(c.colspan for c in row.cells) for row in table.rows), default=1)
        rows = [
            [
                _NO_ATTR,
                [
                    [_NO_ATTR, {"t": "AlignDefault"}, 1, 1, self.blocks(c.blocks, ())]
                    for c in row.cells
                ],
            ]
            for row in table.rows
        ]
        head, body = rows[: min(table.header_rows, 1)], rows[min(table.header_rows, 1) :]
        return {
            "t": "Table",
            "c": [
                _NO_ATTR,
                [None, []],
                [[{"t": "AlignDefault"}, {"t": "ColWidthDefault"}] for _ in range(columns)],
                [_NO_ATTR, head],
                [[_NO_ATTR, 0, [], body]],
                [_NO_ATTR, []],
            ],
        }

    # --- parts ---

    def part(self, part: Part, first: bool) -> list[Any]:
        chain = self.resolver.chain(part.key) if self.resolver else ()
        body = self.blocks(part.blocks, chain)
        if (
            first
            and part.kind is PartKind.PREAMBLE
            and part.key == "preamble"
            and not part.title
            and part.label is None
        ):
            return body
        label = self.resolver.part_label(part.key) if self.resolver else (part.label or "")
        attributes = [["label", part.label]] if part.label is not None else []
        if part.generated:
            attributes.append(["generated", part.generated])
        title = self.inlines(part.title)
        text = [*_words(label), *([{"t": "Space"}] if label and title else []), *title]
        header = {"t": "Header", "c": [2, [part.key, [part.kind.value], attributes], text]}
        return [header, *body]


def to_pandoc(document: Document) -> dict[str, Any]:
    """The pandoc JSON AST of a (normalised) document."""
    writer = _Writer(document)
    series = {
        "sections": _encode(document.sections),
        "attachments": _encode(document.attachments),
    }
    comment = json.dumps(series, separators=(",", ":")).replace("-", "\\u002d")
    blocks: list[Any] = [
        {"t": "RawBlock", "c": ["html", f"<!-- collaboratory-document {comment} -->"]}
    ]
    if document.title:
        blocks.extend(
            {"t": "Header", "c": [1, _NO_ATTR, writer.inlines(line)]} for line in document.title
        )
    else:
        blocks.append(_separator())
    for index, part in enumerate(document.parts):
        blocks.extend(writer.part(part, first=index == 0))
    return {"pandoc-api-version": API_VERSION, "meta": {}, "blocks": blocks}


def export_markdown(document: Document) -> str:
    """Pandoc Markdown for ``document`` (module docstring)."""
    ast = to_pandoc(normalise(document))
    return run_pandoc(json.dumps(ast), reader="json", writer=WRITER, extra=("--wrap=none",))
