"""The look of the Word export: styles a lawyer expects, and the root our hints need.

Body text in a serif face with modest spacing; the title centred and bold; part headings
black, bold and kept with the text that follows; one-inch margins. Character styles carry
what the tree means and Word shows: "Fill-in <kind>" (underlined) for blanks, "Defined Term"
(bold) for defined terms, "Parameter" for ``[[parameters]]``.
"""

from __future__ import annotations

from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from lxml import etree  # type: ignore[import-untyped]

from agreements.text.document.docx_inlines import FILL_IN_STYLE, PARAM_STYLE, TERM_STYLE
from agreements.text.document.docx_runs import CB_NS
from agreements.text.document.model import BlankKind
from agreements.text.document.word_numbering import W_NS, w

_NORMAL = (
    '<w:rPr {ns}><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
    'w:cs="Times New Roman" w:eastAsia="Times New Roman"/><w:sz w:val="22"/>'
    '<w:szCs w:val="22"/></w:rPr>'
)


def lawyers_styles(document: Any) -> None:
    """Styles a lawyer expects: serif body text, black bold headings kept with their text,
    and the character styles our blanks, terms and parameters are written in."""
    ns = f'xmlns:w="{W_NS}"'
    styles = document.styles
    for name, ppr, rpr in (
        (
            "Normal",
            '<w:spacing w:after="120" w:line="252" w:lineRule="auto"/>',
            _NORMAL.format(ns=ns),
        ),
        (
            "Title",
            '<w:keepNext/><w:spacing w:after="60"/><w:jc w:val="center"/>',
            f'<w:rPr {ns}><w:b/><w:sz w:val="26"/><w:szCs w:val="26"/></w:rPr>',
        ),
        (
            "Heading 1",
            '<w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="120"/>'
            '<w:outlineLvl w:val="0"/>',
            f'<w:rPr {ns}><w:b/><w:sz w:val="22"/><w:szCs w:val="22"/></w:rPr>',
        ),
    ):
        element = styles[name].element
        for old in element.findall(w("pPr")) + element.findall(w("rPr")):
            element.remove(old)
        element.append(parse_xml(f"<w:pPr {ns}>{ppr}</w:pPr>"))
        element.append(parse_xml(rpr))
    for kind in BlankKind:
        style = styles.add_style(FILL_IN_STYLE + kind.value.title(), WD_STYLE_TYPE.CHARACTER)
        style.font.underline = True
    styles.add_style(TERM_STYLE, WD_STYLE_TYPE.CHARACTER).font.bold = True
    styles.add_style(PARAM_STYLE, WD_STYLE_TYPE.CHARACTER)
    section = document.sections[0]
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, 914400)  # one inch in EMU


def with_our_namespace(document: Any) -> Any:
    """The document root again, declaring the ignorable ``cb`` namespace (before any text)."""
    old = document.part.element
    nsmap = {**old.nsmap, "cb": CB_NS}
    root = etree.Element(old.tag, nsmap=nsmap)
    for name, value in old.attrib.items():
        root.set(name, value)
    mc = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Ignorable"
    root.set(mc, f"{old.get(mc, '')} cb".strip())
    for child in list(old):
        root.append(child)
    document.part._element = root
    return root
