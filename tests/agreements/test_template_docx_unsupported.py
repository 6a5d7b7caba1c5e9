"""What a Word template holds that the tree cannot is listed in the upload's report, where it
is, and no text vanishes silently; a DTD or entities are refused, never expanded (issue 18: an
external entity in a .docx, and the text after it, vanished)."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from agreements.standards.report import ImportReport
from agreements.standards.upload import parse_upload
from agreements.text.document.plain import plain_text

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


def read(data: bytes) -> ImportReport:
    return parse_upload(data, filename="template.docx")


def text(report: ImportReport) -> str:
    """The one clause's text as a reader sees it."""
    assert report.ok, report.errors
    [clause] = report.clauses
    return plain_text(clause.blocks or ()).strip()


def findings(report: ImportReport) -> str:
    return "\n".join(str(issue) for issue in [*report.errors, *report.warnings, *report.notes])


def with_doctype(doctype: str, old: str = "", new: str = ""):
    def change(xml: str) -> str:
        declaration, rest = xml.split("?>", 1)
        return declaration + "?>" + doctype + rest.replace(old, new, 1)

    return change


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>',
        '<!DOCTYPE w:document [<!ENTITY xxe "lollollol">]>',
        "<!DOCTYPE w:document>",
    ],
)
def test_a_dtd_or_an_entity_is_refused_never_expanded(doctype):
    data = with_document_xml(document_with(), with_doctype(doctype, "Start.", "Keep &xxe; days."))

    report = read(data)

    # Word never writes one: the file is refused naming the part, nothing is read or fetched.
    assert not report.ok and not report.clauses
    [error] = report.errors
    assert "word/document.xml declares a DTD or XML entities" in error.message
    assert "root:" not in findings(report) and "lollollol" not in findings(report)


CASES = {
    "content control in a paragraph": (
        document_with(
            '<w:sdt><w:sdtPr><w:alias w:val="Name"/></w:sdtPr>'
            '<w:sdtContent><w:r><w:t xml:space="preserve"> Riverbend</w:t></w:r></w:sdtContent>'
            "</w:sdt>"
        ),
        "Start. Riverbend\n\nEnd.",
        "paragraph 2: content control Name kept as its text “Riverbend”",
    ),
    "content control around paragraphs": (
        document_with(
            body_xml="<w:sdt><w:sdtContent><w:p><w:r><w:t>Controlled.</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        ),
        "Start.\n\nControlled.\n\nEnd.",
        "paragraph 3: content control kept as its text “Controlled.”",
    ),
    "simple field": (
        document_with(
            '<w:fldSimple w:instr=" DATE \\@ &quot;d MMMM yyyy&quot; ">'
            '<w:r><w:t xml:space="preserve"> 1 January 2026</w:t></w:r></w:fldSimple>'
        ),
        "Start. 1 January 2026\n\nEnd.",
        "paragraph 2: field DATE kept as the text it showed “1 January 2026”",
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
        "paragraph 2: field REF kept as the text it showed “Section 4”",
    ),
    "image": (
        document_with("<w:r><w:drawing/></w:r>"),
        "Start.\n\nEnd.",
        "paragraph 2: an image is not imported",
    ),
    "text box": (
        document_with(
            '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
            "<w:txbxContent><w:p><w:r><w:t>Boxed words</w:t></w:r></w:p></w:txbxContent>"
            "</v:textbox></v:shape></w:pict></w:r>"
        ),
        "Start.\n\nEnd.",
        "paragraph 2: text box “Boxed words” is not imported",
    ),
    "comment": (
        document_with(
            '<w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve"> noted</w:t></w:r>'
            '<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>'
        ),
        "Start. noted\n\nEnd.",
        "paragraph 2: comment “” is not imported",
    ),
    "footnote": (
        document_with('<w:r><w:footnoteReference w:id="1"/></w:r>'),
        "Start.\n\nEnd.",
        "paragraph 2: footnote “” is not imported",
    ),
    "tracked insertion": (
        document_with(
            '<w:ins w:id="1" w:author="Counsel" w:date="2026-01-01T00:00:00Z">'
            '<w:r><w:t xml:space="preserve"> and more</w:t></w:r></w:ins>'
        ),
        "Start. and more\n\nEnd.",
        "paragraph 2: tracked change accepted: “and more” inserted by Counsel",
    ),
    "tracked deletion": (
        document_with(
            '<w:del w:id="1" w:author="Counsel" w:date="2026-01-01T00:00:00Z">'
            '<w:r><w:delText xml:space="preserve"> and less</w:delText></w:r></w:del>'
        ),
        "Start.\n\nEnd.",
        "paragraph 2: tracked change accepted: “and less” deleted by Counsel is left out",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_unsupported_content_is_listed_in_the_report(case):
    data, expected_text, expected_finding = CASES[case]
    report = read(data)
    assert text(report) == expected_text
    assert expected_finding in findings(report)


def test_a_plain_document_has_no_such_findings():
    report = read(document_with())
    assert (text(report), findings(report)) == ("Start.\n\nEnd.", "")
