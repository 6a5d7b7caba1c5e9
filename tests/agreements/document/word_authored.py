"""A Word file as a lawyer builds it, from a document tree: section letters and list numbers
from Word's automatic numbering (not in the text), headings bold or in heading styles, lists
restarted per section, manual numbers typed where the source's numbering breaks its sequence,
real tables. Independent of our exporter, so importing it tests the reader of real files."""

from __future__ import annotations

from dataclasses import dataclass, field

from docx.oxml import parse_xml
from docx.shared import Pt

from agreements.text.document.docx_inlines import flatten
from agreements.text.document.model import (
    Blank,
    Break,
    BulletList,
    Document,
    Indented,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Table,
    Text,
)
from agreements.text.document.resolver import Resolver, list_labels
from agreements.text.document.word_numbering import WORD_FORMATS
from tests.agreements.document.word_files import (
    Lvl,
    W,
    abstract_xml,
    new_document,
    num_xml,
    number,
    set_numbering,
    style_numbering,
    to_bytes,
)

SECTIONS = 100  # ids above python-docx's template's own lists
BULLETS = 101


def _lvl(numbering: Numbering, ilvl: int) -> Lvl:
    """Word's level for one of our single-slot numberings at level ``ilvl``."""
    text = numbering.pattern.replace("%1", f"%{ilvl + 1}")
    return Lvl(WORD_FORMATS[numbering.formats[-1]], text, numbering.start)


@dataclass
class _Lists:
    abstracts: list[str] = field(default_factory=list)
    nums: list[str] = field(default_factory=list)
    next_id: int = 110

    def add(self, levels: list[Lvl], start: int) -> int:
        ident = self.next_id
        self.next_id += 1
        self.abstracts.append(abstract_xml(ident, levels))
        self.nums.append(num_xml(ident, ident, {0: start}))  # Word's "Restart numbering"
        return ident


def word_file(document: Document, *, headings: str = "bold") -> bytes:
    """``headings``: "bold" (bold paragraphs numbered directly) or "styles" (Heading 1 with the
    numbering attached to the style, unnumbered parts with numbering removed)."""
    out = new_document()
    out.styles["Normal"].font.size = Pt(11)
    resolver = Resolver(document)
    lists = _Lists()
    sections = document.sections.numbering
    lists.abstracts.append(abstract_xml(SECTIONS, [_lvl(sections, 0)]))
    lists.abstracts.append(abstract_xml(BULLETS, [Lvl("bullet", "\u2022")]))
    lists.nums += [num_xml(SECTIONS, SECTIONS), num_xml(BULLETS, BULLETS)]
    if headings == "styles":
        style_numbering(out, "Heading 1", SECTIONS, 0)
    for line in document.title:
        paragraph = out.add_paragraph()
        _runs(paragraph, line, resolver, bold=True)
    for part in document.parts:
        _part(out, part, resolver, lists, headings)
    set_numbering(out, lists.abstracts, lists.nums)
    return to_bytes(out)


def _part(out, part: Part, resolver: Resolver, lists: _Lists, headings: str) -> None:
    if part.kind is not PartKind.PREAMBLE:
        style = "Heading 1" if headings == "styles" else None
        paragraph = out.add_paragraph(style=style)
        if part.kind is PartKind.ATTACHMENT:
            paragraph.add_run(resolver.part_label(part.key) + " ").bold = True
        _runs(paragraph, part.title, resolver, bold=headings == "bold")
        if part.kind is PartKind.SECTION and part.label is None:
            if headings == "bold":
                number(paragraph, SECTIONS, 0)
        elif headings == "styles":
            number(paragraph, 0)  # numbering from the style removed
    _blocks(out, part.blocks, resolver, lists, resolver.chain(part.key), 0, None)


def _blocks(out, blocks, resolver, lists, chain, depth, list_num) -> None:
    for block in blocks:
        if isinstance(block, Paragraph):
            paragraph = out.add_paragraph()
            if depth:
                paragraph.paragraph_format.left_indent = Pt(36 * depth)
            _runs(paragraph, block.inlines, resolver)
        elif isinstance(block, OrderedList):
            labels = list_labels(block, chain)
            typed = any(item.label is not None for item in block.items)
            num = None
            if not typed and list_num is None:
                nested = [b for i in block.items for b in i.blocks if isinstance(b, OrderedList)]
                levels = [_lvl(block.numbering, 0)]
                if nested:
                    levels.append(_lvl(nested[0].numbering, 1))
                num = lists.add(levels, block.numbering.start)
            for item, (label, own) in zip(block.items, labels, strict=True):
                first, rest = (item.blocks[0], item.blocks[1:]) if item.blocks else (None, ())
                paragraph = out.add_paragraph()
                if typed:
                    paragraph.add_run(label + " ")
                elif list_num is not None:
                    number(paragraph, list_num, 1)
                else:
                    number(paragraph, num, 0)
                if isinstance(first, Paragraph):
                    _runs(paragraph, first.inlines, resolver)
                else:
                    rest = item.blocks
                _blocks(out, rest, resolver, lists, own, depth + 1, num)
        elif isinstance(block, BulletList):
            for item in block.items:
                paragraph = number(out.add_paragraph(), BULLETS)
                if item.blocks and isinstance(item.blocks[0], Paragraph):
                    _runs(paragraph, item.blocks[0].inlines, resolver)
        elif isinstance(block, Indented):
            _blocks(out, block.blocks, resolver, lists, chain, depth + 1, None)
        elif isinstance(block, Table):
            _table(out, block, resolver)


def _table(out, block: Table, resolver: Resolver) -> None:
    columns = max(sum(c.colspan for c in row.cells) for row in block.rows)
    table = out.add_table(rows=len(block.rows), cols=columns)
    table.style = "Table Grid"
    for r, row in enumerate(block.rows):
        if r < block.header_rows:  # "Repeat as header row at the top of each page"
            table.rows[r]._tr.get_or_add_trPr().append(parse_xml(f"<w:tblHeader {W}/>"))
        for c, cell in enumerate(row.cells):
            target = table.cell(r, c)
            paragraphs = [b for b in cell.blocks if isinstance(b, Paragraph)]
            for index, paragraph in enumerate(paragraphs):
                p = target.paragraphs[0] if index == 0 else target.add_paragraph()
                _runs(p, paragraph.inlines, resolver)


def _runs(paragraph, inlines, resolver: Resolver, *, bold: bool = False) -> None:
    for marks, atom in flatten(inlines):
        if isinstance(atom, Break):
            paragraph.add_run().add_break()
            continue
        if isinstance(atom, Text):
            text = atom.text
        elif isinstance(atom, Blank):
            text = f"[{atom.prompt}]" if atom.prompt else "__________"
        elif isinstance(atom, Param):
            text = f"[[{atom.name}]]"
        elif isinstance(atom, Ref):
            text = resolver.ref_text(atom) or ""
        else:
            raise TypeError(atom)
        run = paragraph.add_run(text)
        run.bold = bold or "strong" in marks or None
        run.italic = "emph" in marks or None
        run.underline = "underline" in marks or None
        if "superscript" in marks:
            run.font.superscript = True


__all__ = ["word_file", "NumberFormat"]
