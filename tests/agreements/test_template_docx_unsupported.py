"""What the .docx template reader cannot import is listed in the report, and no text vanishes
silently (issue 18: an external entity in a .docx, and the text after it, vanished)."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from agreements.standards.docx_import import parse_docx
from agreements.standards.report import ImportReport

W = nsdecls("w")


def document_with(paragraph_xml: str = "", body_xml: str = "") -> bytes:
    """A template with one clause, "1. Term", whose second paragraph holds ``paragraph_xml``
    (runs and the like) after "Start." and is followed by ``body_xml`` (paragraphs)."""
    document = docx.Document()
    document.add_heading("1. Term", level=2)
    paragraph = document.add_paragraph("Start.")
    if paragraph_xml:
        for element in parse_xml(f"<w:wrap {W}>{paragraph_xml}</w:wrap>"):
            paragraph._p.append(element)
    if body_xml:
        for element in parse_xml(f"<w:wrap {W}>{body_xml}</w:wrap>"):
            document.element.body.insert(len(document.element.body) - 1, element)  # before sectPr
    document.add_paragraph("End.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_document_xml(data: bytes, change) -> bytes:
    """``data`` with ``word/document.xml`` replaced by ``change(its text)``."""
    source, target = io.BytesIO(data), io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            content = original.read(item)
            if item.filename == "word/document.xml":
                content = change(content.decode()).encode()
            copy.writestr(item, content)
    return target.getvalue()


def body(report: ImportReport) -> str:
    assert report.ok, report.errors
    [clause] = report.clauses
    return clause.body


def warnings(report: ImportReport) -> str:
    return "\n".join(str(w) for w in report.warnings)


@pytest.mark.parametrize("system", ["file:///etc/passwd", "http://127.0.0.1:9/x"])
def test_an_external_entity_is_listed_and_the_text_after_it_kept(system):
    def add_entity(xml: str) -> str:
        declaration, rest = xml.split("?>", 1)
        doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{system}">]>'
        return declaration + "?>" + doctype + rest.replace("Start.", "Keep for &xxe; days.", 1)

    report = parse_docx(with_document_xml(document_with(), add_entity))

    # Never expanded (no file read, no request); the reference stays where it was, as text.
    assert body(report) == "Keep for &xxe; days.\n\nEnd."
    assert "root:" not in body(report)
    assert (
        "The document declares a DTD with entities, which Word never writes: they were not "
        "expanded and are left as written (&xxe; in paragraph 2)." in warnings(report)
    )


def test_an_internal_entity_is_not_expanded_either():
    def add_entity(xml: str) -> str:
        declaration, rest = xml.split("?>", 1)
        doctype = '<!DOCTYPE w:document [<!ENTITY lol "lollollol">]>'
        return declaration + "?>" + doctype + rest.replace("End.", "&lol;&lol; after", 1)

    report = parse_docx(with_document_xml(document_with(), add_entity))
    assert body(report) == "Start.\n\n&lol;&lol; after"
    assert "(&lol; in paragraph 3)" in warnings(report)


def test_a_dtd_without_entities_is_listed():
    def add_dtd(xml: str) -> str:
        declaration, rest = xml.split("?>", 1)
        return declaration + "?><!DOCTYPE w:document>" + rest

    report = parse_docx(with_document_xml(document_with(), add_dtd))
    assert body(report) == "Start.\n\nEnd."
    assert "The document declares a DTD, which Word never writes; it was ignored." in warnings(
        report
    )


CASES = {
    "content control in a paragraph": (
        document_with(
            '<w:sdt><w:sdtPr><w:alias w:val="Name"/></w:sdtPr>'
            '<w:sdtContent><w:r><w:t xml:space="preserve"> Riverbend</w:t></w:r></w:sdtContent>'
            "</w:sdt>"
        ),
        "Start. Riverbend\n\nEnd.",
        "1 content control (paragraph 2) was imported as plain text.",
    ),
    "content control around paragraphs": (
        document_with(
            body_xml="<w:sdt><w:sdtContent><w:p><w:r><w:t>Controlled.</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        ),
        "Start.\n\nControlled.\n\nEnd.",
        "1 content control (paragraph 3) was imported as plain text.",
    ),
    "simple field": (
        document_with(
            '<w:fldSimple w:instr=" DATE \\@ &quot;d MMMM yyyy&quot; ">'
            '<w:r><w:t xml:space="preserve"> 1 January 2026</w:t></w:r></w:fldSimple>'
        ),
        "Start. 1 January 2026\n\nEnd.",
        "1 field (DATE; paragraph 2) was imported as the text Word last showed for it.",
    ),
    "complex field": (
        document_with(
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> REF clause_4 \\h </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:t xml:space="preserve"> Section 4</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        ),
        "Start. Section 4\n\nEnd.",
        "1 field (REF; paragraph 2) was imported as the text Word last showed for it.",
    ),
    "image": (
        document_with("<w:r><w:drawing/></w:r>"),
        "Start.\n\nEnd.",
        "1 image or drawing (paragraph 2) was not imported.",
    ),
    "text box": (
        document_with(
            '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
            "<w:txbxContent><w:p><w:r><w:t>Boxed words</w:t></w:r></w:p></w:txbxContent>"
            "</v:textbox></v:shape></w:pict></w:r>"
        ),
        "Start.\n\nEnd.",
        "1 image or drawing (paragraph 2) was not imported, with the text in it: “Boxed words”.",
    ),
    "comment": (
        document_with(
            '<w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve"> noted</w:t></w:r>'
            '<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>'
        ),
        "Start. noted\n\nEnd.",
        "1 comment (paragraph 2) was not imported.",
    ),
    "footnote": (
        document_with('<w:r><w:footnoteReference w:id="1"/></w:r>'),
        "Start.\n\nEnd.",
        "1 footnote or endnote (paragraph 2) was not imported.",
    ),
    "tracked changes": (
        document_with(
            '<w:ins w:id="1" w:author="Counsel" w:date="2026-01-01T00:00:00Z">'
            '<w:r><w:t xml:space="preserve"> and more</w:t></w:r></w:ins>'
        ),
        "Start.\n\nEnd.",
        "The document has tracked changes (paragraph 2). Only text outside them was imported: "
        "accept or reject all changes in Word and upload it again.",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_unsupported_content_is_listed_in_the_report(case):
    data, expected_body, expected_warning = CASES[case]
    report = parse_docx(data)
    assert body(report) == expected_body
    assert expected_warning in warnings(report)


def test_a_plain_document_has_no_such_warnings():
    report = parse_docx(document_with())
    assert (body(report), report.warnings) == ("Start.\n\nEnd.", [])
