"""Reading a Word file (.docx) into a document tree, with a report of what was not understood.

``docx_import(data)`` returns an :class:`~agreements.text.document.import_report.ImportReport`
whose ``document`` is the normalised tree, or None when the file was refused. It never raises
on bad input.

1. The package is checked and parsed safely (:mod:`.docx_package`: size, zip bomb, no DTD or
   entities in any part).
2. Every paragraph is counted by Word's automatic numbering in document order
   (:mod:`.word_numbering`), its runs read into inlines (:mod:`.docx_runs`: emphasis, blanks,
   and what cannot be kept, reported), tables read with header rows and merged cells.
3. The outline is found (:mod:`.docx_outline`: title, preamble, sections in the source's own
   numbering, unnumbered parts, attachments) and each part's paragraphs assembled into lists,
   indented passages and tables (:mod:`.docx_blocks`).

Files written by :func:`~agreements.text.document.docx_export.docx_export` carry, in an
ignorable namespace (``cb:``, which Word and LibreOffice skip and drop when they save), what
Word cannot hold: part keys, each list's numbering and first item, exact column widths; they
re-import to the identical tree. Without those hints (any other file, or ours saved again by
Word) everything is read from Word's own structure.

``Finding.where`` is "paragraph N", counting the body's paragraphs and tables from 1, with the
row and column inside a table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agreements.text.document.docx_blocks import Assembler, BCell, BTable, NumberedEntry
from agreements.text.document.docx_inlines import MARK_ORDER, Marks, Styles, nest
from agreements.text.document.docx_package import PackageError, WordPackage, open_package
from agreements.text.document.docx_runs import CB_NS, ReadParagraph, RunReader, all_text, snippet
from agreements.text.document.import_report import ImportReport, Severity, refused
from agreements.text.document.model import NumberFormat, Numbering, Paragraph
from agreements.text.document.normalise import normalise
from agreements.text.document.word_numbering import (
    NS,
    Counter,
    NumberedParagraph,
    WordNumbering,
    numbering_for,
    w,
)

logger = logging.getLogger(__name__)


def cb(name: str) -> str:
    return f"{{{CB_NS}}}{name}"


def encode_numbering(numbering: Numbering) -> str:
    """``"%1.%2|decimal,lower-letter|3"``: a list's numbering as a ``cb:numbering`` hint."""
    formats = ",".join(fmt.value for fmt in numbering.formats)
    return f"{numbering.pattern}|{formats}|{numbering.start}"


def decode_numbering(text: str | None) -> Numbering | None:
    if not text:
        return None
    try:
        pattern, formats, start = text.rsplit("|", 2)
        return Numbering(
            pattern,
            tuple(NumberFormat(f) for f in formats.split(",") if f),
            max(0, int(start)),
        )
    except ValueError:
        return None


@dataclass
class ParaEntry:
    where: str
    element: Any
    style_id: str | None
    heading_level: int | None
    numbered: NumberedParagraph | None
    read: ReadParagraph
    style_marks: Marks
    indent: int
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.read.text.strip()

    def body_pieces(self) -> list[Any]:
        """The pieces with the formats the paragraph style gives (body text)."""
        if not self.style_marks:
            return self.read.pieces
        return [(marks | self.style_marks, atom) for marks, atom in self.read.pieces]

    def paragraph(self) -> Paragraph:
        # References stay pending (PendingRef) until the outline is known.
        return Paragraph(tuple(nest(self.body_pieces())))  # type: ignore[arg-type]


@dataclass
class TableEntry:
    where: str
    table: BTable
    indent: int
    hints: dict[str, str] = field(default_factory=dict)


type Entry = ParaEntry | TableEntry


class BodyReader:
    """Reads the body in document order into paragraph and table entries."""

    def __init__(self, package: WordPackage, report: ImportReport) -> None:
        self.package = package
        self.report = report
        styles_root = package.first("styles")
        self.styles = Styles(styles_root)
        self.numbering = WordNumbering(package.first("numbering"), styles_root)
        self.counter = Counter(self.numbering)
        self.runs = RunReader(package, self.styles)
        # Our export marks the body; Word drops the mark with the other hints when it saves.
        body = package.document.find("w:body", NS)
        self.ours = body is not None and body.get(cb("sections")) is not None
        self.position = 0
        self.where_stack: list[str] = []
        self.seen_abstract_levels: set[tuple[str, int]] = set()
        for fmt in sorted(self.numbering.unknown_formats):
            report.warn("", f"list numbers in Word's {fmt!r} format are shown as 1, 2, 3")

    def where(self) -> str:
        return ", ".join(self.where_stack) if self.where_stack else f"paragraph {self.position}"

    def notice(self, severity: Severity, message: str) -> None:
        self.report.add(severity, self.where(), message)

    def body(self) -> list[Entry]:
        body = self.package.document.find("w:body", NS)
        if body is None:
            raise PackageError("The document has no body.")
        return list(self.entries(body, top=True))

    def entries(self, parent: Any, *, top: bool = False) -> Iterator[Entry]:
        for child in parent:
            tag = child.tag
            if tag in (w("p"), w("tbl")) and top:
                self.position += 1
            if tag == w("p"):
                yield self.paragraph(child)
            elif tag == w("tbl"):
                yield self.table(child)
            elif tag == w("sdt"):
                alias = child.find("w:sdtPr/w:alias", NS)
                name = "" if alias is None else f"{alias.get(w('val'))} "
                content = child.find("w:sdtContent", NS)
                if content is not None:
                    text = snippet(all_text(content))
                    self.report.note(
                        f"paragraph {self.position + 1}" if top else self.where(),
                        f"content control {name}kept as its text {text}",
                    )
                    yield from self.entries(content, top=top)
            elif tag in (w("customXml"), w("ins"), w("moveTo")):
                yield from self.entries(child, top=top)
            elif tag in (w("del"), w("moveFrom")):
                self.notice(
                    Severity.WARNING,
                    f"tracked change accepted: deleted {snippet(all_text(child))} is left out",
                )
            elif tag == w("altChunk"):
                self.notice(Severity.WARNING, "an embedded HTML or RTF chunk is not imported")

    def paragraph(self, element: Any) -> ParaEntry:
        ppr = element.find("w:pPr", NS)
        style = None if ppr is None else ppr.find("w:pStyle", NS)
        style_id = (None if style is None else style.get(w("val"))) or self.styles.default_paragraph
        numbered = self.counter.advance(element)
        read = self.runs.read(element, self.notice, style_flags={})
        flags = self.styles.flags(style_id)
        style_marks = frozenset(m for m in MARK_ORDER if flags.get(m) and m != "term")
        if ppr is not None and ppr.find("w:rPr/w:del", NS) is not None:
            self.notice(
                Severity.WARNING,
                "tracked change: this paragraph's end was deleted; the paragraph is kept apart",
            )
        hints = _hints(element)
        return ParaEntry(
            self.where(),
            element,
            style_id,
            self.styles.heading_level(style_id),
            numbered,
            read,
            style_marks,
            self._indent(ppr, style_id, numbered),
            hints,
        )

    def _indent(self, ppr: Any, style_id: str | None, numbered: NumberedParagraph | None) -> int:
        ind = None if ppr is None else ppr.find("w:ind", NS)
        if ind is not None and (left := ind.get(w("left")) or ind.get(w("start"))) is not None:
            return _twips(left)
        if numbered is not None and numbered.level.indent is not None:
            return numbered.level.indent
        return self.styles.indent(style_id) or 0

    # -- tables -------------------------------------------------------------------------------

    def table(self, element: Any) -> TableEntry:
        grid = [_twips(col.get(w("w"))) for col in element.iterfind("w:tblGrid/w:gridCol", NS)]
        hint = element.get(cb("widths")) if self.ours else None
        widths: tuple[float, ...] = ()
        if hint is not None:
            try:
                widths = tuple(float(x) for x in hint.split())
            except ValueError:
                widths = ()
        elif grid and sum(grid) > 0:
            widths = tuple(round(col / sum(grid), 4) for col in grid)
        rows_el = element.findall("w:tr", NS)
        header = 0
        for row in rows_el:
            if row.find("w:trPr/w:tblHeader", NS) is None:
                break
            header += 1
        starts: list[list[tuple[int, Any]]] = []  # per row: (grid column, w:tc)
        for row in rows_el:
            column, cells = 0, []
            for tc in row.iterfind("w:tc", NS):
                cells.append((column, tc))
                span = tc.find("w:tcPr/w:gridSpan", NS)
                column += int(span.get(w("val")) or 1) if span is not None else 1
            starts.append(cells)
        rows: list[list[BCell]] = []
        table_where = self.where()
        for r, cells in enumerate(starts):
            out = []
            for c, (column, tc) in enumerate(cells):
                merge = tc.find("w:tcPr/w:vMerge", NS)
                self.where_stack.append(f"{table_where}, table row {r + 1}, column {c + 1}")
                blocks = self.cell_blocks(tc)
                self.where_stack.pop()
                if merge is not None and merge.get(w("val")) != "restart":
                    if blocks:
                        self.report.warn(
                            f"{table_where}, table row {r + 1}",
                            "text in a merged cell below its first row was left out",
                        )
                    continue
                span = tc.find("w:tcPr/w:gridSpan", NS)
                rowspan = 1
                if merge is not None:
                    rowspan += _continued(starts, r, column)
                out.append(
                    BCell(blocks, int(span.get(w("val")) or 1) if span is not None else 1, rowspan)
                )
            rows.append(out)
        indent_el = element.find("w:tblPr/w:tblInd", NS)
        indent = _twips(indent_el.get(w("w"))) if indent_el is not None else 0
        return TableEntry(table_where, BTable(rows, header, widths), indent, _hints(element))

    def cell_blocks(self, tc: Any) -> list[Any]:
        assembler = Assembler()
        for entry in self.entries(tc):
            feed(assembler, entry, ours=self.ours, numbering=self.numbering)
        return assembler.blocks


def _hints(element: Any) -> dict[str, str]:
    """Our ``cb:`` attributes on an element, by local name."""
    prefix = f"{{{CB_NS}}}"
    return {
        name[len(prefix) :]: value
        for name, value in element.attrib.items()
        if name.startswith(prefix)
    }


def _twips(value: str | None) -> int:
    try:
        return int(float(value or 0))
    except ValueError:
        return 0


def _continued(starts: list[list[tuple[int, Any]]], row: int, column: int) -> int:
    """How many rows below ``row`` continue a vertical merge at grid ``column``."""
    count = 0
    for cells in starts[row + 1 :]:
        below = next((tc for col, tc in cells if col == column), None)
        merge = None if below is None else below.find("w:tcPr/w:vMerge", NS)
        if merge is None or merge.get(w("val")) == "restart":
            break
        count += 1
    return count


def feed(assembler: Assembler, entry: Entry, *, ours: bool, numbering: WordNumbering) -> None:
    """Give one body entry to an assembler (see docx_blocks for the rules)."""
    if isinstance(entry, TableEntry):
        assembler.table(entry.table, entry.indent)
        return
    paragraph = entry.paragraph()
    if entry.numbered is None:
        if paragraph.inlines:
            assembler.paragraph(paragraph, entry.indent)
        return
    found = entry.numbered
    list_numbering = None
    if not found.is_bullet:
        list_numbering = decode_numbering(entry.hints.get("numbering")) if ours else None
        if list_numbering is None:
            own = numbering_for(found.levels, found.ilvl)
            list_numbering = Numbering(own.pattern, own.formats, found.counters[-1])
    num = numbering.nums[found.num_id]
    restart = (
        found.first_of_num
        and found.ilvl in num.start_overrides
        and found.counters[-1] == num.start_overrides[found.ilvl]
    )
    assembler.numbered(
        NumberedEntry(
            found,
            list_numbering,
            entry.indent,
            found.level.indent or 0,
            # A list of another definition nests in the item whose text its number reaches;
            # our export indents such a list as a whole, so there the whole list must reach.
            entry.indent - (found.level.indent or 0 if ours else found.level.hanging or 0),
            entry.hints.get("list") == "start" if ours else restart,
            entry.read.bookmarks,
            (entry.hints.get("label"),) if ours else None,
        ),
        paragraph if paragraph.inlines else None,
    )


def docx_import(data: bytes, **limits: Any) -> ImportReport:
    """The document tree of a .docx file and what was not understood (module docstring)."""
    from agreements.text.document.docx_outline import build_document

    try:
        package = open_package(data, **limits)
    except PackageError as error:
        return refused(str(error))
    report = ImportReport()
    try:
        reader = BodyReader(package, report)
        entries = reader.body()
        document = build_document(entries, reader, report)
    except PackageError as error:
        return refused(str(error))
    except Exception:  # a malformed part can fail anywhere; the user gets one clear error
        logger.exception("Could not read a .docx file")
        return refused("The file could not be read as a Word document: save it again as .docx.")
    _report_outside_body(package, reader, report)
    report.document = normalise(document)
    return report


def _report_outside_body(package: WordPackage, reader: BodyReader, report: ImportReport) -> None:
    for kind in ("header", "footer"):
        for name, root in package.related(kind):
            text = all_text(root).strip()
            if text:
                report.note(name, f"{kind} text {snippet(text)} is not imported")
    for comment_id, (author, text) in reader.runs.comments.items():
        if comment_id not in reader.runs.comments_seen:
            by = f" by {author}" if author else ""
            report.note("word/comments.xml", f"comment{by} {snippet(text)} is not imported")
    media = sorted(name for name in package.names if name.startswith("word/media/"))
    if media and not any("image" in f.message for f in report.findings):
        report.warn("", f"{len(media)} image file(s) in the package are not imported")
