"""Word files built in the tests, the way Word writes them: python-docx for the text, raw
``numbering.xml`` for automatic numbering (python-docx has no API for it)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import docx
from docx.document import Document as DocxDocument
from docx.oxml import parse_xml
from docx.text.paragraph import Paragraph

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


@dataclass(frozen=True)
class Lvl:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1
    restart: int | None = None
    legal: bool = False
    style: str | None = None

    def xml(self, ilvl: int) -> str:
        extra = ""
        if self.restart is not None:
            extra += f'<w:lvlRestart w:val="{self.restart}"/>'
        if self.style:
            extra += f'<w:pStyle w:val="{self.style}"/>'
        if self.legal:
            extra += "<w:isLgl/>"
        indent = 720 * (ilvl + 1)
        return (
            f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{self.start}"/>'
            f'<w:numFmt w:val="{self.fmt}"/>{extra}<w:lvlText w:val="{self.text}"/>'
            f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{indent}" w:hanging="360"/></w:pPr>'
            "</w:lvl>"
        )


def abstract_xml(
    abstract_id: int, levels: list[Lvl], *, style_link: str = "", num_style_link: str = ""
) -> str:
    links = ""
    if style_link:
        links += f'<w:styleLink w:val="{style_link}"/>'
    if num_style_link:
        links += f'<w:numStyleLink w:val="{num_style_link}"/>'
    body = "".join(level.xml(index) for index, level in enumerate(levels))
    return f'<w:abstractNum {W} w:abstractNumId="{abstract_id}">{links}{body}</w:abstractNum>'


def num_xml(num_id: int, abstract_id: int, start_overrides: dict[int, int] | None = None) -> str:
    overrides = "".join(
        f'<w:lvlOverride w:ilvl="{ilvl}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
        for ilvl, start in (start_overrides or {}).items()
    )
    return (
        f'<w:num {W} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>{overrides}</w:num>'
    )


def set_numbering(document: DocxDocument, abstracts: list[str], nums: list[str]) -> None:
    """Replace the document's numbering.xml with these definitions."""
    part = document.part.numbering_part
    root = part.element
    for child in list(root):
        root.remove(child)
    for xml in abstracts + nums:
        root.append(parse_xml(xml))


def number(paragraph: Paragraph, num_id: int, ilvl: int = 0) -> Paragraph:
    """Give a paragraph automatic numbering (w:numPr), as Word does for a list item."""
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(
        parse_xml(f'<w:numPr {W}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>')
    )
    return paragraph


def style_numbering(
    document: DocxDocument, style_name: str, num_id: int, ilvl: int | None = None
) -> None:
    """Attach numbering to a paragraph style (how numbered headings usually work)."""
    style = document.styles[style_name]
    ppr = style.element.get_or_add_pPr()
    level = "" if ilvl is None else f'<w:ilvl w:val="{ilvl}"/>'
    ppr.append(parse_xml(f'<w:numPr {W}>{level}<w:numId w:val="{num_id}"/></w:numPr>'))


def to_bytes(document: DocxDocument) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def new_document() -> DocxDocument:
    return docx.Document()


def replace_part(data: bytes, name: str, content: bytes) -> bytes:
    """The same package with one part's bytes replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item.filename))
        target.writestr(name, content)
    return out.getvalue()


def read_part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)
