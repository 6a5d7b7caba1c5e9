"""Reading one Word paragraph's runs into pieces, and noticing what the tree cannot hold.

Decisions, each reported where it applies:

- **Tracked changes** are taken as accepted: inserted and moved-in text is kept, deleted and
  moved-out text is left out (a warning per change says which, and by whom), because the
  document as its authors last left it is the one under negotiation; formatting changes are
  taken as they now stand.
- **Fields** keep the text Word last showed (their result); legacy form fields
  (``FORMTEXT``, ``FORMCHECKBOX``) become fill-in blanks.
- **Content controls** (``w:sdt``) keep their text; **hyperlinks** to the web keep their text,
  links to a bookmark in the document become references once the outline is known.
- **Images, text boxes, embedded objects, equations, footnotes and comments** are left out,
  each reported with a snippet of its text so nobody has to guess what it was.
- **Hidden text** is left out; struck-through and subscript text is kept as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agreements.text.document.docx_inlines import (
    CHECK_BOX,
    OUR_CHARACTER_STYLES,
    TERM_STYLE,
    Marks,
    PendingRef,
    Piece,
    Styles,
    _rpr_flags,
    styled_blank,
)
from agreements.text.document.docx_package import WordPackage
from agreements.text.document.import_report import Severity
from agreements.text.document.model import Blank, BlankKind, Break, Text
from agreements.text.document.word_numbering import NS, W_NS, w

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CB_NS = "urn:collaboratory:docx:1"  # our ignorable hints (docx_import)
M_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MARKS = ("strong", "emph", "underline", "superscript")

type Notice = Callable[[Severity, str], None]


def snippet(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text[:length]}…”" if len(text) > length else f"“{text}”"


def all_text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(w("t"), w("delText"), f"{{{M_NS}}}t"))


def _notes_by_id(root: Any | None, tag: str) -> dict[str, tuple[str, str]]:
    """(author, text) of each comment / footnote in a part, by id."""
    if root is None:
        return {}
    return {
        element.get(w("id")) or "": (element.get(w("author")) or "", all_text(element))
        for element in root.iterfind(f"w:{tag}", NS)
    }


@dataclass
class _Field:
    instruction: str = ""
    showing_result: bool = False
    start: int = 0  # where its result starts in the pieces


@dataclass
class ReadParagraph:
    pieces: list[Piece]
    bookmarks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(atom.text if isinstance(atom, Text) else " " for _, atom in self.pieces)


class RunReader:
    """Reads paragraphs in document order (fields may span paragraphs)."""

    def __init__(self, package: WordPackage, styles: Styles) -> None:
        self.package = package
        self.styles = styles
        self.fields: list[_Field] = []
        self.comments = _notes_by_id(package.first("comments"), "comment")
        self.footnotes = _notes_by_id(package.first("footnotes"), "footnote")
        self.endnotes = _notes_by_id(package.first("endnotes"), "endnote")
        self.comments_seen: set[str] = set()

    def read(
        self, paragraph: Any, notice: Notice, *, style_flags: dict[str, bool]
    ) -> ReadParagraph:
        """The pieces of one ``w:p``; ``style_flags`` are the formats its paragraph style gives
        its text (empty for headings, whose style formatting is not emphasis)."""
        read = ReadParagraph([])
        self._children(paragraph, read, notice, style_flags)
        read.pieces = recognise(read.pieces)
        return read

    # -- containers ---------------------------------------------------------------------------

    def _children(
        self, parent: Any, read: ReadParagraph, notice: Notice, flags: dict[str, bool]
    ) -> None:
        for child in parent:
            tag = child.tag
            if tag == w("r"):
                self._run(child, read, notice, flags)
            elif tag == w("hyperlink"):
                self._hyperlink(child, read, notice, flags)
            elif tag in (w("ins"), w("moveTo")):
                who = child.get(w("author")) or "someone"
                notice(
                    Severity.WARNING,
                    f"tracked change accepted: {snippet(all_text(child))} inserted by {who}",
                )
                self._children(child, read, notice, flags)
            elif tag in (w("del"), w("moveFrom")):
                who = child.get(w("author")) or "someone"
                notice(
                    Severity.WARNING,
                    f"tracked change accepted: {snippet(all_text(child))} deleted by {who} "
                    "is left out",
                )
            elif tag == w("sdt"):
                self._content_control(child, read, notice, flags)
            elif tag in (w("smartTag"), w("customXml"), w("dir"), w("bdo")):
                self._children(child, read, notice, flags)
            elif tag == w("fldSimple"):
                instruction = (child.get(w("instr")) or "").strip()
                start = len(read.pieces)
                self._children(child, read, notice, flags)
                self._field_done(_Field(instruction, True, start), read, notice)
            elif tag == w("bookmarkStart"):
                read.bookmarks.append(child.get(w("name")) or "")
            elif tag in (f"{{{M_NS}}}oMath", f"{{{M_NS}}}oMathPara"):
                notice(Severity.WARNING, f"equation kept as plain text: {snippet(all_text(child))}")
                read.pieces.append((frozenset(), Text(all_text(child))))
            elif tag == w("subDoc"):
                notice(Severity.WARNING, "a linked sub-document is not imported")
            elif tag == f"{{{MC_NS}}}AlternateContent":
                choice = child.find(f"{{{MC_NS}}}Choice")
                if choice is not None:
                    self._children(choice, read, notice, flags)
            elif all_text(child).strip() and tag != w("pPr"):
                notice(
                    Severity.WARNING, f"unrecognised content {snippet(all_text(child))} left out"
                )

    def _hyperlink(
        self, link: Any, read: ReadParagraph, notice: Notice, flags: dict[str, bool]
    ) -> None:
        anchor = link.get(w("anchor"))
        start = len(read.pieces)
        self._children(link, read, notice, flags)
        if anchor:
            inner = read.pieces[start:]
            marks = _common_marks(inner)
            text = "".join(a.text for _, a in inner if isinstance(a, Text))
            read.pieces[start:] = [(marks, PendingRef(anchor, text))]
            return
        rel = self.package.relationships.get(link.get(f"{{{R_NS}}}id") or "")
        if rel is not None:
            notice(Severity.NOTE, f"link to {rel.target} kept as its text only")

    def _content_control(
        self, sdt: Any, read: ReadParagraph, notice: Notice, flags: dict[str, bool]
    ) -> None:
        props = sdt.find("w:sdtPr", NS)
        alias = props.find("w:alias", NS) if props is not None else None
        name = alias.get(w("val")) if alias is not None else ""
        content = sdt.find("w:sdtContent", NS)
        if content is None:
            return
        text = all_text(content)
        notice(
            Severity.NOTE,
            f"content control {name + ' ' if name else ''}kept as its text {snippet(text)}",
        )
        self._children(content, read, notice, flags)

    # -- runs ---------------------------------------------------------------------------------

    def _run(
        self, run: Any, read: ReadParagraph, notice: Notice, para_flags: dict[str, bool]
    ) -> None:
        rpr = run.find("w:rPr", NS)
        style_id = None if rpr is None else rpr.find("w:rStyle", NS)
        style_id = None if style_id is None else style_id.get(w("val"))
        style_name = self.styles.name(style_id)
        ours = style_name in OUR_CHARACTER_STYLES
        flags = {**para_flags, **({} if ours else self.styles.flags(style_id)), **_rpr_flags(rpr)}
        marks: Marks = frozenset(m for m in _MARKS if flags.get(m))
        if style_name == TERM_STYLE or run.get(f"{{{CB_NS}}}term") == "1":
            marks |= {"term"}
        start = len(read.pieces)
        for child in run:
            self._run_child(child, read, notice, marks)
        if len(read.pieces) == start:  # an empty run still says how a link around it looks
            read.pieces.append((marks, Text("")))
        if flags.get("hidden") and len(read.pieces) > start:
            hidden = "".join(a.text for _, a in read.pieces[start:] if isinstance(a, Text))
            if hidden.strip():
                notice(Severity.NOTE, f"hidden text {snippet(hidden)} left out")
            del read.pieces[start:]
            return
        text = "".join(a.text for _, a in read.pieces[start:] if isinstance(a, Text))
        if (blank := styled_blank(style_name, text)) is not None:
            read.pieces[start:] = [(marks, blank)]
        elif flags.get("strike") and text.strip():
            notice(Severity.WARNING, f"struck-through text {snippet(text)} kept as plain text")

    def _run_child(self, child: Any, read: ReadParagraph, notice: Notice, marks: Marks) -> None:
        tag = child.tag
        showing = all(f.showing_result for f in self.fields)
        if tag == w("t") and showing:
            read.pieces.append((marks, Text(child.text or "")))
        elif tag in (w("tab"), w("ptab")) and showing:
            read.pieces.append((marks, Text("\t")))
        elif tag in (w("br"), w("cr")) and showing:
            if child.get(w("type")) in ("page", "column"):
                notice(Severity.NOTE, "a page break is layout and was not kept")
            else:
                read.pieces.append((marks, Break()))
        elif tag == w("noBreakHyphen") and showing:
            read.pieces.append((marks, Text("-")))
        elif tag == w("sym"):
            char = (child.get(w("char")) or "").upper()
            if char in ("F06F", "F0A8", "F071", "F0FE", "F078"):  # Wingdings check boxes
                read.pieces.append((marks, Blank(BlankKind.CHOICE)))
            else:
                notice(Severity.WARNING, f"a symbol ({child.get(w('font'))} {char}) left out")
        elif tag == w("fldChar"):
            self._field_char(child.get(w("fldCharType")), read, notice)
        elif tag == w("instrText") and self.fields:
            self.fields[-1].instruction += child.text or ""
        elif tag in (w("drawing"), w("pict"), w("object")) or tag == f"{{{MC_NS}}}AlternateContent":
            self._drawing(child, notice)
        elif tag in (w("footnoteReference"), w("endnoteReference")):
            notes = self.footnotes if tag == w("footnoteReference") else self.endnotes
            what = "footnote" if tag == w("footnoteReference") else "endnote"
            text = notes.get(child.get(w("id")) or "", ("", ""))[1]
            notice(Severity.WARNING, f"{what} {snippet(text)} is not imported")
        elif tag == w("commentReference"):
            comment_id = child.get(w("id")) or ""
            self.comments_seen.add(comment_id)
            author, text = self.comments.get(comment_id, ("", ""))
            by = f" by {author}" if author else ""
            notice(Severity.NOTE, f"comment{by} {snippet(text)} is not imported")
        elif tag == w("ruby"):
            notice(Severity.WARNING, f"phonetic guide text {snippet(all_text(child))} left out")

    def _drawing(self, element: Any, notice: Notice) -> None:
        boxes = list(element.iter(w("txbxContent")))
        if boxes:
            text = all_text(boxes[0])
            notice(
                Severity.WARNING,
                f"text box {snippet(text)} is not imported: move its text into the body",
            )
        elif element.tag == w("object"):
            notice(Severity.WARNING, "an embedded object (OLE) is not imported")
        else:
            names = [
                d.get("descr") or d.get("name") or ""
                for d in element.iter(
                    "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"
                )
            ]
            label = f" ({names[0]})" if names and names[0] else ""
            notice(Severity.WARNING, f"an image{label} is not imported")

    # -- fields -------------------------------------------------------------------------------

    def _field_char(self, kind: str | None, read: ReadParagraph, notice: Notice) -> None:
        if kind == "begin":
            self.fields.append(_Field())
        elif kind == "separate" and self.fields:
            self.fields[-1].showing_result = True
            self.fields[-1].start = len(read.pieces)
        elif kind == "end" and self.fields:
            done = self.fields.pop()
            if not done.showing_result:
                done.start = len(read.pieces)
            self._field_done(done, read, notice)

    def _field_done(self, done: _Field, read: ReadParagraph, notice: Notice) -> None:
        words = done.instruction.split()
        name = words[0].upper() if words else ""
        result = read.pieces[done.start :]
        text = "".join(a.text for _, a in result if isinstance(a, Text))
        marks = _common_marks(result)
        if name == "FORMTEXT":
            prompt = text.strip().strip("\u2002\u00a0 ")
            read.pieces[done.start :] = [(marks, Blank(BlankKind.TEXT, prompt))]
        elif name == "FORMCHECKBOX":
            read.pieces[done.start :] = [(marks, Blank(BlankKind.CHOICE))]
        elif name:
            notice(Severity.NOTE, f"field {name} kept as the text it showed {snippet(text)}")


def _common_marks(pieces: list[Piece]) -> Marks:
    sets = [marks for marks, _ in pieces]
    return frozenset.intersection(*sets) if sets else frozenset()


def recognise(pieces: list[Piece]) -> list[Piece]:
    """Adjacent text with the same formats as one piece, and check boxes (☐) as blanks;
    typed blanks and parameters are found later, by the same rules as for Markdown."""
    out: list[Piece] = []
    for marks, atom in pieces:
        if isinstance(atom, Text) and CHECK_BOX in atom.text:
            for index, part in enumerate(atom.text.split(CHECK_BOX)):
                if index:
                    out.append((marks, Blank(BlankKind.CHOICE)))
                if part:
                    out.append((marks, Text(part)))
        else:
            out.append((marks, atom))
    return _merge(out)


def _merge(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for marks, atom in pieces:
        previous = out[-1][1] if out else None
        if isinstance(atom, Text) and isinstance(previous, Text) and out[-1][0] == marks:
            out[-1] = (marks, Text(previous.text + atom.text))
        else:
            out.append((marks, atom))
    return out


__all__ = ["RunReader", "ReadParagraph", "recognise", "all_text", "snippet", "W_NS", "PendingRef"]
