"""One clause body as Markdown <-> its blocks, inside the document it belongs to.

People write and edit one clause at a time (a template clause, a proposed replacement or an
inserted clause): the text they type is Markdown (``**bold**``, lists, tables, ``[[param]]``,
``[date]``) and is stored as blocks (:mod:`~agreements.text.document.model`), read the way the
document importer reads a part's body: headings inside a body become bold paragraphs, typed
labels ("(a)", "7.2") become list items, blanks, parameters and references to the other parts
of ``context`` ("Section D", "Section 7.2(c)") are recognised.

- :func:`parse_body` never raises on bad input: it returns the blocks and an import report.
  Text with no Markdown in it (plain paragraphs and ``[[param]]``) is read without pandoc.
- :func:`body_markdown` is the inverse: the Markdown a person edits, which reads back to the
  same blocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from agreements.text.document.fillins import find_fillins
from agreements.text.document.import_report import ImportReport
from agreements.text.document.markdown_export import API_VERSION, WRITER, _Writer
from agreements.text.document.markdown_import import MAX_MARKDOWN_CHARS, READER, run_pandoc
from agreements.text.document.model import (
    Block,
    Document,
    NumberFormat,
    Paragraph,
    Param,
    Part,
    PartKind,
    Strong,
    Text,
)
from agreements.text.document.normalise import normalise
from agreements.text.document.pandoc_ast import Heading, Literal, PandocReader, Separator
from agreements.text.document.plain import inline_text
from agreements.text.document.resolver import Resolver
from agreements.text.document.typed_lists import rebuild
from agreements.text.entry import normalise_text

# Text that needs no Markdown reader: no markup characters, no list or quote markers, and
# square brackets only as [[param]] placeholders.
_MARKUP_RE = re.compile(r"[*_`\\<>{}|^~#\[\]]|^\s*(?:[-+]\s|\(?[0-9A-Za-z]{1,6}[.)]\s)", re.M)
_PARAM_RE = re.compile(r"\[\[([a-z][a-z0-9_]*)\]\]")
_LABEL_START_RE = re.compile(r"^\s*\(?[0-9A-Za-z]{1,6}[.)]\s")


def _plain_enough(text: str) -> bool:
    without_params = _PARAM_RE.sub("", text)
    return not _MARKUP_RE.search(without_params)


def _plain_blocks(text: str) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text):
        words = " ".join(line.strip() for line in chunk.split("\n") if line.strip())
        if not words:
            continue
        inlines: list[Any] = []
        position = 0
        for match in _PARAM_RE.finditer(words):
            if match.start() > position:
                inlines.append(Text(words[position : match.start()]))
            inlines.append(Param(match.group(1)))
            position = match.end()
        if position < len(words):
            inlines.append(Text(words[position:]))
        blocks.append(Paragraph(tuple(inlines)))
    return tuple(blocks)


def _as_blocks(raw: Sequence[object]) -> list[object]:
    """Headings inside a body become bold paragraphs; literal spans stay text; the empty
    comment :func:`body_markdown` writes between two lists keeps them apart. (Bodies are read
    without raw HTML: "<b>" is what the person typed.)"""
    out: list[object] = []
    for block in raw:
        if isinstance(block, Paragraph) and inline_text(block.inlines).strip() == "<!-- -->":
            out.append(Separator())
        elif isinstance(block, Heading):
            out.append(Paragraph((Strong(block.inlines),)))
        elif isinstance(block, Literal):
            out.append(Paragraph((Text(block.text),)))
        else:
            out.append(block)
    return out


def _section_counter(context: Document | None, key: str) -> int | None:
    """The decimal section number of part ``key``, for "7.2"-style items inside it."""
    if context is None or context.sections.numbering.formats[:1] != (NumberFormat.DECIMAL,):
        return None
    chain = Resolver(context).chain(key) if any(p.key == key for p in context.parts) else ()
    return chain[0] if chain else None


def parse_body(
    text: str,
    *,
    key: str = "clause",
    context: Document | None = None,
    kind: PartKind = PartKind.SECTION,
    max_chars: int = MAX_MARKDOWN_CHARS,
) -> tuple[tuple[Block, ...], ImportReport]:
    """The blocks of the Markdown body ``text`` of part ``key`` in ``context`` (the document
    it belongs to, for references and decimal item numbers; the part itself may be absent)."""
    report = ImportReport()
    # The entry normal form (LF, NFC, hard breaks as backslashes): CRLF from a browser reads as
    # the same blocks, and the plain fast path never meets a trailing-space hard break.
    text = normalise_text(text.removeprefix("\ufeff"))
    if len(text) > max_chars:
        report.error("", f"The text is {len(text):,} characters long; the limit is {max_chars:,}.")
        return (), report
    if "\x00" in text:
        report.error("", "The text contains a NUL character; paste it again as plain text.")
        return (), report
    if not text.strip():
        return (), report
    if _plain_enough(text):
        raw: list[object] = list(_plain_blocks(text))
    else:
        try:
            ast = json.loads(run_pandoc(text, reader=f"{READER}-raw_html", writer="json"))
        except (RuntimeError, ValueError) as error:
            report.error("", str(error))
            return (), report
        raw = _as_blocks(PandocReader(report).document(ast))
    blocks = rebuild(raw, _section_counter(context, key))  # type: ignore[arg-type]
    part = Part(key, kind, (), blocks)
    others = tuple(p for p in (context.parts if context else ()) if p.key != key)
    frame = context or Document()
    document = replace(frame, title=(), parts=(*others, part))
    found = find_fillins(document, report)
    mine = next(p for p in found.parts if p.key == key)
    return normalise(mine.blocks), report


# Pandoc escapes the brackets of a parameter; people edit "[[name]]" as they type it. Left
# escaped after "]", ")" or "}" (where it could join a link or a span).
_ESCAPED_PARAM_RE = re.compile(r"(?<![\])}\[])\\\[\\\[([a-z][a-z0-9_]*)\\\]\\\]")


def _readable(markdown: str) -> str:
    return _ESCAPED_PARAM_RE.sub(r"[[\1]]", markdown)


_PART_MARK = "<!-- collaboratory-part {} -->"
_PART_MARK_RE = re.compile(r"^<!-- collaboratory-part ([a-z0-9-]+) -->$", re.M)


def bodies_markdown(document: Document) -> dict[str, str]:
    """:func:`body_markdown` of every part of ``document``, by key, in one pandoc run."""
    writer = _Writer(document)
    blocks: list[Any] = []
    for part in document.parts:
        chain = writer.resolver.chain(part.key) if writer.resolver else ()
        blocks.append({"t": "RawBlock", "c": ["html", _PART_MARK.format(part.key)]})
        blocks.extend(writer.blocks(normalise(part.blocks), chain))
    ast = {"pandoc-api-version": API_VERSION, "meta": {}, "blocks": blocks}
    out = run_pandoc(json.dumps(ast), reader="json", writer=WRITER, extra=("--wrap=none",))
    pieces = _PART_MARK_RE.split(out)
    return {
        key: _readable(text.strip()) for key, text in zip(pieces[1::2], pieces[2::2], strict=True)
    }


def body_markdown(
    blocks: Sequence[Block], *, key: str = "clause", context: Document | None = None
) -> str:
    """The Markdown a person edits for ``blocks`` (the body of part ``key`` in ``context``)."""
    if not blocks:
        return ""
    if all(
        isinstance(b, Paragraph) and all(isinstance(i, (Text, Param)) for i in b.inlines)
        for b in blocks
    ):
        text = "\n\n".join(
            "".join(i.text if isinstance(i, Text) else f"[[{i.name}]]" for i in b.inlines)  # type: ignore[union-attr]
            for b in blocks
        )
        if _plain_enough(text) and not _LABEL_START_RE.search(text):
            return text
    document = context if context is not None and any(p.key == key for p in context.parts) else None
    writer = _Writer(document)
    chain = writer.resolver.chain(key) if writer.resolver and document is not None else ()
    ast = {
        "pandoc-api-version": API_VERSION,
        "meta": {},
        "blocks": writer.blocks(normalise(tuple(blocks)), chain),
    }
    out = run_pandoc(json.dumps(ast), reader="json", writer=WRITER, extra=("--wrap=none",))
    return _readable(out.strip())
