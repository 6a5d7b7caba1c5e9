"""A document tree as a Word file (.docx) that a lawyer can work in: no markup characters.

``docx_export(document)`` writes:

- the title lines in the Title style (centred, bold), the preamble as body text;
- each section, unnumbered part and attachment as a Heading 1; sections and attachments are
  numbered by Word itself, each series with its own list definition ("A." upper-letter,
  "ATTACHMENT %1:"), so Word's navigation pane and cross-references see real numbered headings;
- ordered lists with native Word numbering at their level, bullets as Word bullets, labels
  checked against our counting rules (:mod:`.docx_lists`); what belongs to a list item is
  indented to its text, an indented passage half an inch further;
- tables as Word tables with the header rows repeated on each page (``w:tblHeader``), merged
  cells (``w:gridSpan``, ``w:vMerge``), column widths from the tree, rows kept on one page;
- bold, italic, underline and superscript as run formatting, line breaks as breaks, defined
  terms in the "Defined Term" character style, blanks as their prompt in brackets (or a line
  of underscores, drawn wide enough to sign on for a signature) in a "Fill-in <kind>" character
  style, parameters as ``[[name]]``; the title also as the file's title property;
- references as links to a bookmark on the target heading or item, reading as the target's
  current label ("Section I").

What Word cannot hold is written in an ignorable namespace (``cb:``: part keys and kinds, each
list's numbering and first item, exact column widths, the series), which
:mod:`.docx_import` reads back so ``docx_import(docx_export(tree))`` is the same tree; Word
and LibreOffice skip it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import docx
from lxml import etree  # type: ignore[import-untyped]

from agreements.text.document.docx_import import cb, encode_numbering
from agreements.text.document.docx_inlines import (
    FILL_IN_STYLE,
    PARAM_STYLE,
    TERM_STYLE,
    blank_text,
    flatten,
)
from agreements.text.document.docx_lists import (
    STEP,
    NumberingWriter,
    fixed_parents,
    hanging_for,
    level_for,
)
from agreements.text.document.docx_styles import lawyers_styles, with_our_namespace
from agreements.text.document.docx_tables import write_table
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Document,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Table,
    Text,
)
from agreements.text.document.normalise import normalise
from agreements.text.document.plain import inline_text
from agreements.text.document.resolver import Resolver, list_labels
from agreements.text.document.word_numbering import Level, w

_MARK_XML = {"strong": "b", "emph": "i"}
# An empty signature blank's line drawn three times as wide: about two and a half inches.
SIGNATURE_SCALE = "300"


def _style_id(name: str) -> str:
    """The id python-docx (and Word) give a style: its name without spaces."""
    return name.replace(" ", "")


class _Writer:
    def __init__(self, document: Document, body: Any) -> None:
        self.document = document
        self.body = body
        self.sect_pr = body.find(w("sectPr"))
        self.resolver = Resolver(document)
        self.lists = NumberingWriter(first_id=1000)
        self.bookmarks: dict[tuple[str, tuple[int, ...]], str] = {}
        self.bookmark_id = 0
        self.series: dict[PartKind, tuple[str, str]] = {}
        for kind, numbering in (
            (PartKind.SECTION, document.sections.numbering),
            (PartKind.ATTACHMENT, document.attachments.numbering),
        ):
            abstract = self.lists.definition()
            level = level_for(numbering, 0, outer={}, hanging=STEP)
            self.lists.levels(abstract)[0] = level
            if len(level.text) > 6:
                self.lists.suffix_space.add((abstract, 0))
            self.series[kind] = (abstract, self.lists.instance(abstract))
        self.series_now = {kind: num for kind, (_, num) in self.series.items()}
        for ref in _refs(document):
            self.bookmarks.setdefault((ref.target, ref.item), f"_Ref{100000 + len(self.bookmarks)}")

    # -- elements -----------------------------------------------------------------------------

    def paragraph(self, parent: Any | None = None, *, style: str | None = None) -> Any:
        p = etree.Element(w("p"))
        if parent is None:
            self.sect_pr.addprevious(p)
        else:
            parent.append(p)
        ppr = etree.SubElement(p, w("pPr"))
        if style:
            etree.SubElement(ppr, w("pStyle"), {w("val"): _style_id(style)})
        return p

    def bookmark(self, p: Any, name: str | None) -> None:
        if name is None:
            return
        self.bookmark_id += 1
        ident = str(self.bookmark_id)
        start = etree.Element(w("bookmarkStart"), {w("id"): ident, w("name"): name})
        p.find(w("pPr")).addnext(start)
        etree.SubElement(p, w("bookmarkEnd"), {w("id"): ident})

    def runs(self, p: Any, inlines: Sequence[Inline]) -> None:
        for marks, atom in flatten(inlines):
            if isinstance(atom, Ref):
                target = self.bookmarks.get((atom.target, atom.item))
                text = self.resolver.ref_text(atom)
                if text is None:  # a reference to no part: its words stay readable
                    text = f"{atom.prefix} {atom.target}".strip()
                link = etree.SubElement(p, w("hyperlink"), {w("anchor"): target or ""})
                self._run(link, marks, text)
            elif isinstance(atom, Blank):
                style = FILL_IN_STYLE + atom.kind.value.title()
                r = self._run(p, marks, blank_text(atom), style)
                if atom.kind is BlankKind.SIGNATURE and not atom.prompt:
                    # Room to sign: the same underscores (as the plain text reads them),
                    # drawn wider.
                    etree.SubElement(r.find(w("rPr")), w("w"), {w("val"): SIGNATURE_SCALE})
                if "term" in marks:  # a run has one character style: say it is in a term
                    r.set(cb("term"), "1")
            elif isinstance(atom, Param):
                style = TERM_STYLE if "term" in marks else PARAM_STYLE
                self._run(p, marks, f"[[{atom.name}]]", style)
            elif isinstance(atom, Break):
                r = self._run(p, marks, "")
                etree.SubElement(r, w("br"))
            elif isinstance(atom, Text):
                self._run(p, marks, atom.text)

    def _run(self, parent: Any, marks: frozenset[str], text: str, style: str | None = None) -> Any:
        r = etree.SubElement(parent, w("r"))
        rpr = etree.SubElement(r, w("rPr"))
        if style is None and "term" in marks:
            style = TERM_STYLE
        if style:
            etree.SubElement(rpr, w("rStyle"), {w("val"): _style_id(style)})
        for mark, tag in _MARK_XML.items():
            if mark in marks:
                etree.SubElement(rpr, w(tag))
        if "underline" in marks:
            etree.SubElement(rpr, w("u"), {w("val"): "single"})
        if "superscript" in marks:
            etree.SubElement(rpr, w("vertAlign"), {w("val"): "superscript"})
        if not len(rpr):
            r.remove(rpr)
        for index, piece in enumerate(text.split("\t")):
            if index:
                etree.SubElement(r, w("tab"))
            if piece:
                t = etree.SubElement(r, w("t"))
                t.text = piece
                if piece != piece.strip():
                    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        return r

    # -- document -----------------------------------------------------------------------------

    def write(self) -> None:
        for line in self.document.title:
            self.runs(self.paragraph(style="Title"), line)
        for index, part in enumerate(self.document.parts):
            self.part(part, first=index == 0)

    def part(self, part: Part, *, first: bool) -> None:
        if part.kind is PartKind.PREAMBLE:
            marker_at = len(self.body) - 1
            self.blocks(part.blocks, None, 0, (), [0], ())
            start = self.body[marker_at] if len(self.body) - 1 > marker_at else None
            anchor = self.bookmarks.get((part.key, ()))
            if start is None or anchor is not None:  # an empty paragraph marks where it starts
                marker = etree.Element(w("p"))
                etree.SubElement(marker, w("pPr"))
                (start if start is not None else self.sect_pr).addprevious(marker)
                start = marker
                self.bookmark(start, anchor)
            start.set(cb("part"), "preamble")
            start.set(cb("key"), part.key)
            return
        p = self.paragraph(style="Heading 1")
        p.set(cb("key"), part.key)
        if part.label is not None:
            p.set(cb("label"), part.label)
        p.set(cb("kind"), part.kind.value)
        if part.generated:
            p.set(cb("generated"), part.generated)
        if part.kind in self.series:
            shown = self.resolver.part_label(part.key)
            counter = self.resolver.chain(part.key)[0]
            num = self.lists.place(self.series_now[part.kind], 0, shown, counter)
            self.series_now[part.kind] = num
            self._number(p, num, 0)
        self.bookmark(p, self.bookmarks.get((part.key, ())))
        self.runs(p, part.title)
        self.blocks(part.blocks, None, 0, self.resolver.chain(part.key), [0], (), part.key)

    def part_kind(self, key: str) -> PartKind:
        """The kind of part ``key`` (a hook: the redline writer also writes parts that only
        the old document has)."""
        return self.resolver.parts[key].kind

    def _number(self, p: Any, num: str, ilvl: int, indent: int | None = None) -> None:
        ppr = p.find(w("pPr"))
        numpr = etree.SubElement(ppr, w("numPr"))
        etree.SubElement(numpr, w("ilvl"), {w("val"): str(ilvl)})
        etree.SubElement(numpr, w("numId"), {w("val"): num})
        if indent is not None:
            level = self.lists.counter.count(num, ilvl, dry_run=True)
            hanging = level.level.hanging if level else 360
            etree.SubElement(ppr, w("ind"), {w("left"): str(indent), w("hanging"): str(hanging)})

    def blocks(
        self,
        blocks: Sequence[Block],
        parent: Any | None,
        base: int,
        chain: tuple[int, ...],
        position: list[int],
        path: tuple[int, ...],
        key: str | None = None,
    ) -> None:
        for block in blocks:
            if isinstance(block, Paragraph):
                p = self.paragraph(parent)
                if base:
                    etree.SubElement(p.find(w("pPr")), w("ind"), {w("left"): str(base)})
                self.runs(p, block.inlines)
            elif isinstance(block, (OrderedList, BulletList)):
                self.list(block, parent, base, chain, position, path, key, None)
            elif isinstance(block, Table):
                write_table(self, block, parent, base)
            elif isinstance(block, Indented):
                self.blocks(block.blocks, parent, base + STEP, chain, position, path, key)

    def list(
        self,
        block: OrderedList | BulletList,
        parent: Any | None,
        base: int,
        chain: tuple[int, ...],
        position: list[int],
        path: tuple[int, ...],
        key: str | None,
        within: tuple[str, int, int] | None,  # (num, ilvl, base) of the enclosing list
    ) -> None:
        ordered = isinstance(block, OrderedList)
        numbering = block.numbering if isinstance(block, OrderedList) else None
        labels = list_labels(block, chain) if isinstance(block, OrderedList) else None
        hanging = max((hanging_for(label) for label, _ in labels or []), default=360)
        num, ilvl, list_base = self._list_home(numbering, within, base, chain, key, hanging)
        for index, item in enumerate(block.items):
            label, own = labels[index] if labels else ("", chain)
            here = (*path, position[0]) if ordered else path
            if ordered:
                position[0] += 1
                num = self.lists.place(num, ilvl, label, own[-1])
            else:
                self.lists.counter.count(num, ilvl)
            hint = encode_numbering(numbering) if index == 0 and numbering is not None else None
            self.item(
                item, parent, num, ilvl, list_base, own, here, key, first=index == 0, hint=hint
            )

    def _list_home(
        self,
        numbering: Any,
        within: tuple[str, int, int] | None,
        base: int,
        chain: tuple[int, ...],
        key: str | None,
        hanging: int,
    ) -> tuple[str, int, int]:
        """(num, level, base indent) for a list: the next level of the enclosing list when its
        definition has room for this list's numbering, the sections' definition when the
        labels show the section's counter, else a definition of its own."""
        formats = len(numbering.formats) if numbering is not None else 1
        candidates: list[tuple[str, int, int]] = []
        if within is not None:
            candidates.append((within[0], within[1] + 1, within[2]))
        elif key is not None and chain and formats > 1:
            kind = self.part_kind(key)
            if kind in self.series:
                candidates.append((self.series_now[kind], 1, base))
        for num, ilvl, list_base in candidates:
            abstract = self.lists.model.nums[num].abstract_id
            levels = self.lists.levels(abstract)
            wanted = level_for(numbering, ilvl, outer=levels, hanging=hanging)
            existing = levels.setdefault(ilvl, wanted) if ilvl < 9 else None
            if existing is not None and _same_shape(existing, wanted):
                return num, ilvl, list_base
        if within is not None and within[1] < 8:
            return self._nested_apart(numbering, within, hanging)
        abstract = self.lists.definition()
        self.lists.levels(abstract)[0] = level_for(numbering, 0, outer={}, hanging=hanging)
        return self.lists.instance(abstract), 0, base

    def _nested_apart(
        self, numbering: Any, within: tuple[str, int, int], hanging: int
    ) -> tuple[str, int, int]:
        """A nested list unlike its siblings at that level: a definition of its own, indented
        to the item's text, the enclosing items' numbers written into its label ("2.1.%1")."""
        num, ilvl, base = within
        levels = self.lists.effective(num)
        wanted = level_for(numbering, ilvl + 1, outer=levels, hanging=hanging)
        fixed = fixed_parents(wanted, self.lists.counter.shown(num), levels)
        own = re.sub(r"%([1-9])", "%1", fixed.text)
        abstract = self.lists.definition()
        self.lists.levels(abstract)[0] = replace(fixed, ilvl=0, text=own, indent=STEP)
        return self.lists.instance(abstract), 0, base + STEP * (ilvl + 1)

    def item(
        self,
        item: ListItem,
        parent: Any | None,
        num: str,
        ilvl: int,
        base: int,
        chain: tuple[int, ...],
        path: tuple[int, ...],
        key: str | None,
        *,
        first: bool,
        hint: str | None,
    ) -> None:
        p = self.paragraph(parent)
        self._number(p, num, ilvl, base + STEP * (ilvl + 1) if base else None)
        if first:
            p.set(cb("list"), "start")
        if hint:
            p.set(cb("numbering"), hint)
        if item.label is not None:
            p.set(cb("label"), item.label)
        if key is not None:
            self.bookmark(p, self.bookmarks.get((key, path)))
        blocks = list(item.blocks)
        if blocks and isinstance(lead := blocks[0], Paragraph):
            self.runs(p, lead.inlines)
            blocks.pop(0)
        text_indent = base + STEP * (ilvl + 1)
        position = [0]
        for block in blocks:
            if isinstance(block, (OrderedList, BulletList)):
                self.list(block, parent, base, chain, position, path, key, (num, ilvl, base))
            else:
                self.blocks([block], parent, text_indent, chain, position, path, key)


def _same_shape(a: Level, b: Level) -> bool:
    return (a.fmt, a.text, a.legal) == (b.fmt, b.text, b.legal)


def _refs(document: Document) -> list[Ref]:
    found: list[Ref] = []

    def inlines(seq: Sequence[Inline]) -> None:
        for inline in seq:
            if isinstance(inline, Ref):
                found.append(inline)
            elif hasattr(inline, "children"):
                inlines(inline.children)

    def blocks(seq: Sequence[Block]) -> None:
        for block in seq:
            if isinstance(block, Paragraph):
                inlines(block.inlines)
            elif isinstance(block, (OrderedList, BulletList)):
                for item in block.items:
                    blocks(item.blocks)
            elif isinstance(block, Table):
                for row in block.rows:
                    for cell in row.cells:
                        blocks(cell.blocks)
            elif isinstance(block, Indented):
                blocks(block.blocks)

    for line in document.title:
        inlines(line)
    for part in document.parts:
        inlines(part.title)
        blocks(part.blocks)
    return found


# -- the package ----------------------------------------------------------------------------------


def docx_export(document: Document) -> bytes:
    """The .docx bytes of ``document`` (module docstring)."""
    document = normalise(document)
    out = docx.Document()
    out.core_properties.title = " ".join(
        inline_text(line).strip() for line in document.title
    ).strip()[:255]
    lawyers_styles(out)
    root = with_our_namespace(out)
    body = root.find(w("body"))
    body.set(cb("sections"), encode_numbering(document.sections.numbering))
    body.set(cb("attachments"), encode_numbering(document.attachments.numbering))
    writer = _Writer(document, body)
    writer.write()
    writer.lists.write(out.part.numbering_part.element)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


__all__ = ["docx_export"]
