"""Reading Word files as lawyers write them: decimal outlines, merged tables, blanks, and a
report of everything the tree cannot hold; refusing what must not be opened."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.shared import Inches

from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_import import docx_import
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Cell,
    Document,
    OrderedList,
    Paragraph,
    PartKind,
    Ref,
    Row,
    Strong,
    Table,
    Text,
    Underline,
)
from agreements.text.document.plain import outline, plain_text
from agreements.text.document.resolver import Resolver
from tests.agreements.document.word_files import (
    Lvl,
    W,
    abstract_xml,
    new_document,
    num_xml,
    number,
    read_part,
    replace_part,
    set_numbering,
    style_numbering,
    to_bytes,
)

DECIMAL_OUTLINE = [
    Lvl("decimal", "%1.", style="Heading1"),
    Lvl("decimal", "%1.%2"),
    Lvl("decimal", "%1.%2.%3"),
    Lvl("lowerLetter", "(%4)"),
    Lvl("lowerRoman", "(%5)"),
]


def decimal_agreement() -> bytes:
    """Sections 1., 2. from Heading 1's numbering; 1.1, 1.1.1, (a), (i) from levels of the same
    list; "(c)" restarted by a second list instance with a start override."""
    document = new_document()
    set_numbering(
        document,
        [abstract_xml(100, DECIMAL_OUTLINE)],
        [num_xml(100, 100), num_xml(101, 100, {3: 3})],
    )
    style_numbering(document, "Heading 1", 100)
    document.add_paragraph("DATA SHARING AGREEMENT", style="Title")
    document.add_paragraph("This Agreement is made between the District and the University.")
    document.add_paragraph("Definitions", style="Heading 1")
    for text, level, num in [
        ("“Data” means the records listed in Attachment A.", 1, 100),
        ("“Party” means:", 1, 100),
        ("the District;", 3, 100),
        ("the University, including:", 3, 100),
        ("its schools; and", 4, 100),
        ("its centres.", 4, 100),
    ]:
        number(document.add_paragraph(text), num, level)
    document.add_paragraph("Use of Data", style="Heading 1")
    for text, level, num in [
        ("Permitted uses.", 1, 100),
        ("Research approved by the District.", 2, 100),
        ("Audits required by law.", 2, 100),
        ("Restrictions. The University shall make:", 1, 100),
        ("no resale of Data;", 3, 101),
        ("no linking of Data.", 3, 101),
        ("Survival. Section 1.2(b) and Section 2.2(c) survive termination.", 1, 100),
    ]:
        number(document.add_paragraph(text), num, level)
    attachment = document.add_paragraph("ATTACHMENT A: DATA ELEMENTS", style="Heading 1")
    number(attachment, 0)  # a typed attachment label: the sections' numbering removed
    document.add_paragraph("Student identifier, grade, school.")
    return to_bytes(document)


def test_a_decimal_outline_with_sub_items_and_a_start_override():
    report = docx_import(decimal_agreement())
    assert report.ok, report.messages()
    document = report.document
    assert document.title == ((Text("DATA SHARING AGREEMENT"),),)
    parts = outline(document)
    assert [(p["kind"], p["label"], p["title"]) for p in parts] == [
        ("preamble", "", ""),
        ("section", "1.", "Definitions"),
        ("section", "2.", "Use of Data"),
        ("attachment", "ATTACHMENT A:", "DATA ELEMENTS"),
    ]

    def labels(items):
        return [(i["label"], labels(i.get("items", []))) for i in items]

    assert labels(parts[1]["items"]) == [
        ("1.1", []),
        ("1.2", [("(a)", []), ("(b)", [("(i)", []), ("(ii)", [])])]),
    ]
    assert labels(parts[2]["items"]) == [
        ("2.1", [("2.1.1", []), ("2.1.2", [])]),
        ("2.2", [("(c)", []), ("(d)", [])]),
        ("2.3", []),
    ]
    # No label is stored: each is computed from the list's own numbering.
    use = document.parts[2].blocks[0]
    assert isinstance(use, OrderedList) and use.numbering.pattern == "%1.%2"
    assert all(item.label is None for item in use.items)
    # The references typed in the text point at those items and read as written.
    survival = use.items[2].blocks[0].inlines
    refs = [i for i in survival if isinstance(i, Ref)]
    assert [Resolver(document).ref_text(r) for r in refs] == ["Section 1.2(b)", "Section 2.2(c)"]
    assert "Attachment A" in plain_text(document)


def test_the_decimal_outline_survives_export_and_import():
    document = docx_import(decimal_agreement()).document
    again = docx_import(docx_export(document))
    assert again.document == document
    assert plain_text(again.document) == plain_text(document)


def merged_table_file() -> bytes:
    document = new_document()
    document.add_paragraph().add_run("APPROVED STAFF").bold = True  # a title line
    table = document.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    header = table.rows[0]._tr.get_or_add_trPr()
    header.append(parse_xml(f"<w:tblHeader {W}/>"))
    table.cell(0, 0).text = "Organisation"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "Contact"
    merged = table.cell(1, 0).merge(table.cell(2, 0))
    merged.text = "Stanford"
    merged.add_paragraph("Graduate School of Education")
    table.cell(1, 1).text = "Name"
    table.cell(1, 2).text = "Role"
    table.cell(2, 1).text = "[Name]"
    table.cell(2, 2).text = "Researcher"
    return to_bytes(document)


def test_a_table_with_a_header_row_and_merged_cells():
    report = docx_import(merged_table_file())
    assert report.ok, report.messages()
    (table,) = [b for p in report.document.parts for b in p.blocks if isinstance(b, Table)]
    assert table.header_rows == 1
    assert table.rows == (
        Row(
            (
                Cell((Paragraph((Text("Organisation"),)),)),
                Cell((Paragraph((Text("Contact"),)),), colspan=2),
            )
        ),
        Row(
            (
                Cell(
                    (
                        Paragraph((Text("Stanford"),)),
                        Paragraph((Text("Graduate School of Education"),)),
                    ),
                    rowspan=2,
                ),
                Cell((Paragraph((Text("Name"),)),)),
                Cell((Paragraph((Text("Role"),)),)),
            )
        ),
        Row(
            (
                Cell((Paragraph((Blank(BlankKind.NAME, "Name"),)),)),
                Cell((Paragraph((Text("Researcher"),)),)),
            )
        ),
    )
    assert len(table.widths) == 3


def test_blanks_as_lawyers_type_them():
    document = new_document()
    title = document.add_paragraph()
    title.add_run("FILL-IN FORM").bold = True
    document.add_paragraph("Signed on Month, Day, Year by [Name], [title], on [date].")
    document.add_paragraph("[Describe the project and its purpose]")
    document.add_paragraph("Check one: [ ] analysis \u2610 operations")
    p = document.add_paragraph("Contact: ")
    p.add_run("          ").underline = True
    document.add_paragraph("Retention: [[retention_days]] days. Notes: ________")
    report = docx_import(to_bytes(document))
    assert report.ok, report.messages()
    blanks = [
        i
        for p in report.document.parts
        for b in p.blocks
        for i in b.inlines
        if isinstance(i, (Blank,)) or type(i).__name__ == "Param"
    ]
    assert [
        (getattr(b, "kind", None), getattr(b, "prompt", getattr(b, "name", ""))) for b in blanks
    ] == [
        (BlankKind.DATE, "Month, Day, Year"),
        (BlankKind.NAME, "Name"),
        (BlankKind.TITLE, "title"),
        (BlankKind.DATE, "date"),
        (BlankKind.TEXT, "Describe the project and its purpose"),
        (BlankKind.CHOICE, ""),
        (BlankKind.CHOICE, ""),
        (BlankKind.TEXT, ""),
        (None, "retention_days"),
        (BlankKind.TEXT, ""),
    ]


# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def annotated_file() -> bytes:
    """A comment, a tracked insertion and deletion, an image, a field, a content control, a
    text box, hidden text and a page break: all outside what the tree holds."""
    document = new_document()
    document.add_paragraph("A. PURPOSE").runs[0].bold = True
    commented = document.add_paragraph("The District shares data for research.")
    document.add_comment(commented.runs[0], text="Which data exactly?", author="Counsel")
    changed = document.add_paragraph("The period is ")
    changed._p.append(
        parse_xml(
            f'<w:ins {W} w:id="1" w:author="Vendor" w:date="2026-01-01T00:00:00Z">'
            "<w:r><w:t>three</w:t></w:r></w:ins>"
        )
    )
    changed._p.append(
        parse_xml(
            f'<w:del {W} w:id="2" w:author="Vendor" w:date="2026-01-01T00:00:00Z">'
            "<w:r><w:delText>two</w:delText></w:r></w:del>"
        )
    )
    changed.add_run(" years.")
    document.add_picture(io.BytesIO(PNG), width=Inches(0.5))
    field = document.add_paragraph("Page ")
    field._p.append(
        parse_xml(f'<w:fldSimple {W} w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>')
    )
    control = parse_xml(
        f'<w:sdt {W}><w:sdtPr><w:alias w:val="Researcher"/></w:sdtPr><w:sdtContent>'
        "<w:r><w:t>Dr. Smith</w:t></w:r></w:sdtContent></w:sdt>"
    )
    holder = document.add_paragraph("Researcher: ")
    holder._p.append(control)
    box = document.add_paragraph()
    box._p.append(
        parse_xml(
            f'<w:r {W} xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:shape><v:textbox>'
            "<w:txbxContent><w:p><w:r><w:t>Draft only</w:t></w:r></w:p></w:txbxContent>"
            "</v:textbox></v:shape></w:pict></w:r>"
        )
    )
    hidden = document.add_paragraph("Visible ")
    hidden.add_run("secret").font.hidden = True
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    return to_bytes(document)


def test_everything_outside_the_tree_is_reported_with_where():
    report = docx_import(annotated_file())
    assert report.ok, report.messages()
    messages = "\n".join(report.messages())
    for expected in (
        "comment by Counsel “Which data exactly?” is not imported",
        "tracked change accepted: “three” inserted by Vendor",
        "tracked change accepted: “two” deleted by Vendor is left out",
        "an image",
        "field PAGE kept as the text it showed “1”",
        "content control Researcher kept as its text “Dr. Smith”",
        "text box “Draft only” is not imported",
        "hidden text “secret” left out",
        "a page break is layout",
    ):
        assert expected in messages, messages
    assert all(f.where for f in report.findings if "comment" not in f.message)
    text = plain_text(report.document)
    assert "The period is three years." in text  # changes accepted, as the report says
    assert "Dr. Smith" in text and "secret" not in text and "Draft only" not in text


def test_an_external_entity_is_refused_before_parsing():
    data = to_bytes(new_document())
    xml = read_part(data, "word/document.xml").decode()
    head, body = xml.split("?>", 1)
    evil = (
        f'{head}?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + body.replace("<w:body>", "<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>", 1)
    )
    report = docx_import(replace_part(data, "word/document.xml", evil.encode()))
    assert report.document is None
    (error,) = report.errors
    assert "word/document.xml" in error.message and "DTD" in error.message
    assert "root:" not in "\n".join(report.messages())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old-format Word file"),
        (b"%PDF-1.7", "not a Word document"),
    ],
)
def test_files_that_are_not_word_documents_are_refused(data, expected):
    report = docx_import(data)
    assert report.document is None
    assert expected in report.errors[0].message


def test_a_zip_bomb_is_refused_before_anything_is_inflated():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"<" + b" " * (8 * 1024 * 1024) + b"/>")
    report = docx_import(out.getvalue())
    assert report.document is None
    assert "would unpack to" in report.errors[0].message


def test_a_file_over_the_size_limit_is_refused():
    report = docx_import(to_bytes(new_document()), max_bytes=1000)
    assert report.document is None
    assert "the limit is" in report.errors[0].message


def test_no_heading_anywhere_is_one_preamble_not_a_made_up_section():
    document = new_document()
    document.add_paragraph("Just one paragraph of text.")
    report = docx_import(to_bytes(document))
    assert [p.kind for p in report.document.parts] == [PartKind.PREAMBLE]


def test_partly_bold_headings_and_underlined_titles():
    document = new_document()
    for label, title, underline in (("A. ", "PURPOSE", False), ("B. ", "SCOPE", True)):
        p = document.add_paragraph(label)
        run = p.add_run(title)
        run.bold = True
        run.underline = underline
        document.add_paragraph("Body text.")
    report = docx_import(to_bytes(document))
    assert report.ok, report.messages()
    parts = report.document.parts
    assert [(p.kind, p.title) for p in parts] == [
        (PartKind.SECTION, (Text("PURPOSE"),)),
        (PartKind.SECTION, (Underline((Text("SCOPE"),)),)),
    ]
    assert Resolver(report.document).part_label(parts[1].key) == "B."
    assert not any(isinstance(i, Strong) for p in parts for i in p.title)


def test_a_document_exported_then_saved_without_our_hints_reads_the_same_labels(master):
    """Word drops the ignorable hints when it saves: the labels still come from numbering."""
    data = docx_export(master.document)
    xml = read_part(data, "word/document.xml").decode()
    stripped = re.sub(r' cb:[a-z]+="[^"]*"', "", xml)
    report = docx_import(replace_part(data, "word/document.xml", stripped.encode()))
    assert report.ok, report.messages()
    assert plain_text(report.document) == plain_text(master.document)
    assert outline(report.document) == outline(master.document)


__all__ = ["Document"]
