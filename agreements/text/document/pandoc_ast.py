"""Pandoc's JSON AST (pandoc-api-version 1.23, pandoc 3.x) turned into our blocks and inlines.

Pandoc reads Markdown (and Word) into a typed tree; this module maps it node by node and says,
through the import report, what has no place in an agreement's text. The outline (title,
parts, series, lists written as typed numbers) is built afterwards by ``outline_builder``.

Mapping: ``Para``/``Plain`` -> paragraph, ``OrderedList`` -> ordered list (style and delimiter
become the numbering: ``LowerAlpha`` + ``TwoParens`` is ``"(%1)"`` lower-letter, start kept),
``BulletList``, ``Table`` (head rows become header rows; body, intermediate head and foot rows
follow in order; spans kept; relative widths only with ``keep_widths``, as for Word),
``BlockQuote`` -> indented passage, ``Header`` -> :class:`Heading` (for the builder),
``LineBlock`` -> paragraphs with breaks, ``Div`` -> its content. Inlines:
``Str``/``Space``/``SoftBreak`` -> text, ``LineBreak`` -> break,
``Strong``/``Emph``/``Underline``/``Superscript``; spans with class ``ul`` or ``underline`` ->
underline, ``blank`` (attribute ``kind``) -> blank, ``term`` -> defined term, ``literal`` ->
text that is not searched for blanks or references; a link to ``#KEY`` or ``#KEY/1/2`` -> a
reference (prefix: the link text's first word, or ``{prefix="..."}``). Code, math, other
links, small caps, strikeout, subscript keep their text with a warning; images, footnotes, raw
HTML and other raw content are findings, their text kept where they have any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agreements.text.document.import_report import ImportReport
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Cell,
    Emph,
    Indented,
    Inline,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Ref,
    Row,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)

SUPPORTED_API = (1, 23)


@dataclass(frozen=True)
class Literal:
    """Text from a ``[...]{.literal}`` span: kept as written, never read as a blank or a
    reference. Only lives between this module and the builder."""

    text: str


@dataclass(frozen=True)
class Heading:
    """A Markdown heading (``#``/``##``, setext), for the builder to place."""

    level: int
    inlines: tuple[Inline, ...]
    identifier: str
    classes: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Separator:
    """``<!-- -->`` between blocks: the lists on either side are not one list."""


@dataclass(frozen=True)
class Metadata:
    """``<!-- collaboratory-document {...} -->``: the series our Markdown export writes."""

    json: str


_METADATA_RE = re.compile(r"\s*<!--\s*collaboratory-document\s+(\{.*\})\s*-->\s*", re.S)


_STYLES = {
    "Decimal": NumberFormat.DECIMAL,
    "DefaultStyle": NumberFormat.DECIMAL,
    "Example": NumberFormat.DECIMAL,
    "LowerAlpha": NumberFormat.LOWER_LETTER,
    "UpperAlpha": NumberFormat.UPPER_LETTER,
    "LowerRoman": NumberFormat.LOWER_ROMAN,
    "UpperRoman": NumberFormat.UPPER_ROMAN,
}
_DELIMITERS = {"DefaultDelim": "%1.", "Period": "%1.", "OneParen": "%1)", "TwoParens": "(%1)"}
_REF_URL_RE = re.compile(r"#([a-z0-9]+(?:-[a-z0-9]+)*)((?:/[0-9]{1,4})*)")
_UNDERLINE_CLASSES = {"ul", "underline"}


def _plain(inlines: Sequence[Any]) -> str:
    """The text of pandoc inlines, for messages."""
    out = []
    for node in inlines:
        tag, content = node.get("t"), node.get("c")
        if tag == "Str":
            out.append(content)
        elif tag in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif isinstance(content, list) and content and isinstance(content[0], dict):
            out.append(_plain(content))  # Strong, Emph, Underline, ...
        elif isinstance(content, list) and content and isinstance(content[-1], list):
            out.append(_plain([c for c in content[-1] if isinstance(c, dict)]))  # Span, Link
    return "".join(out)


def _spaced(inline: Any) -> Any:
    return Text(inline.text.replace("\u00a0", " ")) if isinstance(inline, Text) else inline


class PandocReader:
    """Converts one pandoc document; findings go to ``report``."""

    def __init__(self, report: ImportReport, *, keep_widths: bool = False) -> None:
        self.report = report
        # Column widths of a Markdown table are an accident of its layout in a text editor;
        # a Word table's are the author's.
        self.keep_widths = keep_widths
        self.where = ""  # an excerpt of the paragraph being read, for findings
        self.spaces = 0  # bold or italic runs of nothing but spaces

    def document(self, ast: Any) -> list[Block | Heading | Separator]:
        version = tuple(ast.get("pandoc-api-version", ())[:2]) if isinstance(ast, dict) else ()
        if version != SUPPORTED_API:
            self.report.warn("", f"pandoc API {version} is not the tested {SUPPORTED_API}.")
        blocks = self.blocks(ast.get("blocks", []) if isinstance(ast, dict) else [])
        if self.spaces:
            self.report.note(
                "",
                f"{self.spaces} bold or italic runs of only spaces (empty fill-in lines or "
                "cells without an underline) were read as empty.",
            )
        return blocks

    def warn(self, message: str) -> None:
        self.report.warn(self.where, message)

    # --- blocks ---

    def blocks(self, nodes: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            out.extend(self.block(node))
        return out

    def block(self, node: Any) -> list[Any]:
        tag, content = node.get("t"), node.get("c")
        if tag in ("Para", "Plain"):
            self.where = f"“{_plain(content)[:60]}”"
            return [Paragraph(self.inlines(content))]
        if tag == "Header":
            level, (identifier, classes, attributes), inlines = content
            self.where = f"heading “{_plain(inlines)[:60]}”"
            return [
                Heading(
                    level,
                    self.inlines(inlines),
                    identifier,
                    tuple(classes),
                    tuple((k, v) for k, v in attributes),
                )
            ]
        if tag == "OrderedList":
            (start, style, delimiter), items = content
            numbering = Numbering(
                _DELIMITERS.get(delimiter["t"], "%1."),
                (_STYLES.get(style["t"], NumberFormat.DECIMAL),),
                start,
            )
            return [OrderedList(tuple(ListItem(tuple(self.blocks(i))) for i in items), numbering)]
        if tag == "BulletList":
            return [BulletList(tuple(ListItem(tuple(self.blocks(i))) for i in content))]
        if tag == "BlockQuote":
            return [Indented(tuple(self.blocks(content)))]
        if tag == "Table":
            return [self.table(content)]
        if tag == "LineBlock":
            lines: list[Inline] = []
            for index, line in enumerate(content):
                lines.extend(([Break()] if index else []) + list(self.inlines(line)))
            return [Paragraph(tuple(lines))]
        if tag == "Div":
            return self.blocks(content[1])
        if tag == "RawBlock":
            fmt, text = content
            if fmt == "html" and (metadata := _METADATA_RE.fullmatch(text)):
                return [Metadata(metadata.group(1))]
            if fmt == "html" and re.fullmatch(r"\s*<!--\s*-->\s*", text):
                return [Separator()]
            self.warn(f"Raw {fmt} left out: {text[:80]!r}.")
            return []
        if tag == "CodeBlock":
            self.warn(
                "A code block (text indented four spaces or fenced) was read as plain "
                "paragraphs; check its indentation."
            )
            text = content[1]
            return [Paragraph((Text(part),)) for part in re.split(r"\n\s*\n", text) if part]
        if tag == "HorizontalRule":
            self.report.note(self.where, "A horizontal rule was left out.")
            return []
        if tag == "DefinitionList":
            self.warn("A definition list was read as bold terms and indented definitions.")
            out: list[Any] = []
            for term, definitions in content:
                out.append(Paragraph((Strong(self.inlines(term)),)))
                for definition in definitions:
                    out.append(Indented(tuple(self.blocks(definition))))
            return out
        if tag == "Figure":
            self.warn("A figure (image) was left out; its caption is kept.")
            return self.blocks(content[1][1]) + self.blocks(content[2])
        self.warn(f"A {tag} block was not understood and left out.")
        return []

    def table(self, content: Any) -> Table:
        _attr, caption, colspecs, head, bodies, foot = content
        if caption[1]:
            self.warn("A table caption was moved above the table as a paragraph.")
        widths = tuple(
            spec[1].get("c", 0.0) if spec[1].get("t") == "ColWidth" else 0.0 for spec in colspecs
        )
        if not any(widths) or not self.keep_widths:
            widths = ()
        head_rows = [self.row(row) for row in head[1]]
        body_rows: list[Row] = []
        for body in bodies:
            body_rows.extend(self.row(row) for row in body[2])
            body_rows.extend(self.row(row) for row in body[3])
        body_rows.extend(self.row(row) for row in foot[1])
        return Table(tuple(head_rows + body_rows), len(head_rows), widths)

    def row(self, row: Any) -> Row:
        cells = []
        for _attr, _align, rowspan, colspan, blocks in row[1]:
            cells.append(Cell(tuple(self.blocks(blocks)), colspan, rowspan))
        return Row(tuple(cells))

    # --- inlines ---

    def inlines(self, nodes: Sequence[Any]) -> tuple[Inline, ...]:
        out: list[Any] = []
        for node in nodes:
            out.extend(self.inline(node))
        return tuple(out)

    def inline(self, node: Any) -> list[Any]:
        tag, content = node.get("t"), node.get("c")
        simple = {"Strong": Strong, "Emph": Emph, "Underline": Underline}
        if tag == "Str":
            if re.fullmatch(r"\*{1,3}", content):
                self.warn(
                    f"Stray emphasis markers “{content}” (a table cut through them) left out."
                )
                return []
            return [Text(content)]
        if tag in ("Space", "SoftBreak"):
            return [Text(" ")]
        if tag == "LineBreak":
            return [Break()]
        if tag in simple:
            children = self.inlines(content)
            if (
                tag != "Underline"
                and children
                and all(isinstance(c, Text) and not c.text.strip() for c in children)
            ):
                self.spaces += 1  # "**     **": an empty fill-in line that lost its underline
                return [Text(" ")]
            return [simple[tag](children)]
        if tag == "Superscript":
            # Markdown can only write a space inside ^...^ as "\ ", which reads back as a
            # no-break space: read it as the space it was.
            children = self.inlines(content)
            return [Superscript(tuple(_spaced(child) for child in children))]
        if tag == "Span":
            return self.span(content)
        if tag == "Link":
            return self.link(content)
        if tag in ("Code", "Math"):
            self.warn(f"{tag} was kept as plain text: {content[-1][:60]!r}.")
            return [Text(content[-1])]
        if tag in ("SmallCaps", "Strikeout", "Subscript", "Quoted", "Cite"):
            if tag != "Quoted":
                self.warn(f"{tag} formatting was dropped; its text is kept.")
            children = content[-1] if tag in ("Quoted", "Cite") else content
            if tag == "Quoted":
                mark = '"' if content[0]["t"] == "DoubleQuote" else "'"
                return [Text(mark), *self.inlines(children), Text(mark)]
            return list(self.inlines(children))
        if tag == "RawInline":
            fmt, text = content
            if fmt == "html" and re.fullmatch(r"</?u>", text.strip(), re.I):
                self.warn("HTML underline tags (<u>) were left out; write [text]{.ul} instead.")
            else:
                self.warn(f"Raw {fmt} left out: {text[:60]!r}.")
            return []
        if tag == "Image":
            self.warn(f"An image was left out (alt text: {_plain(content[1])[:60]!r}).")
            return []
        if tag == "Note":
            self.warn("A footnote was moved into the text, in brackets, where it was referenced.")
            inner = [i for b in self.blocks(content) if isinstance(b, Paragraph) for i in b.inlines]
            return [Text(" ["), *inner, Text("]")]
        self.warn(f"An inline {tag} was not understood and left out.")
        return []

    def span(self, content: Any) -> list[Any]:
        (_identifier, classes, attributes), children = content
        inner = self.inlines(children)
        if "blank" in classes:
            kind_name = dict(attributes).get("kind", "text")
            try:
                kind = BlankKind(kind_name)
            except ValueError:
                self.warn(f"Unknown blank kind {kind_name!r}; read as a text blank.")
                kind = BlankKind.TEXT
            return [Blank(kind, _plain(children))]
        if "literal" in classes:
            return [Literal(_plain(children))]
        if "term" in classes:
            return [Term(inner)]
        if _UNDERLINE_CLASSES & set(classes):
            return [Underline(inner)]
        if classes or attributes:
            self.report.note(self.where, f"Span attributes {classes} left out; text kept.")
        return list(inner)

    def link(self, content: Any) -> list[Any]:
        (_identifier, _classes, attributes), children, (url, _title) = content
        match = _REF_URL_RE.fullmatch(url)
        text = _plain(children)
        if match:
            path = tuple(int(i) for i in match.group(2).split("/")[1:])
            words = text.split()
            prefix = words[0] if len(words) > 1 and words[0].isalpha() else ""
            prefix = dict(attributes).get("prefix", prefix)
            return [Ref(match.group(1), path, prefix)]
        if text.strip() != url:
            self.warn(f"A link to {url!r} was kept as its text {text[:60]!r} and the address.")
            return [*self.inlines(children), Text(f" ({url})")]
        return [Text(url)]
