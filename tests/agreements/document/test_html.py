"""Safe HTML of a document tree."""

from __future__ import annotations

from django.utils.safestring import SafeString

from agreements.text.document.html import render_html
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Cell,
    Document,
    Emph,
    Indented,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Row,
    Series,
    Strong,
    Superscript,
    Table,
    Text,
    Underline,
)

EVIL = '<script>alert("x")</script> & "quotes"'


def document() -> Document:
    items = OrderedList(
        (
            ListItem((Paragraph((Text(EVIL),)),)),
            ListItem(
                (
                    Paragraph((Text("second"),)),
                    OrderedList(
                        (ListItem((Paragraph((Text("sub"),)),)),),
                        Numbering("(%1)", (NumberFormat.LOWER_LETTER,)),
                    ),
                )
            ),
        ),
        Numbering("%1.", (NumberFormat.DECIMAL,)),
    )
    table = Table(
        (
            Row(
                (
                    Cell((Paragraph((Strong((Text("Name"),)),)),)),
                    Cell((Paragraph((Text("Role"),)),)),
                )
            ),
            Row((Cell(()), Cell((Paragraph((Text("x"),)), Paragraph((Text("y"),)))))),
        ),
        header_rows=1,
    )
    body = Paragraph(
        (
            Text("See "),
            Ref("scope", (1, 0)),
            Text(" and "),
            Ref("data", (), "Attachment"),
            Text(" on "),
            Blank(BlankKind.DATE, 'date <b>"'),
            Text(" within "),
            Param("breach_notice_hours"),
            Text(" hours, 5"),
            Superscript((Text("th"),)),
            Text(" "),
            Underline((Text("u"),)),
            Emph((Text("e"),)),
            Ref("gone", ()),
        )
    )
    return Document(
        title=((Text("AGREEMENT <i>"),),),
        parts=(
            Part("preamble", PartKind.PREAMBLE, (), (Paragraph((Text("WHEREAS"),)),)),
            Part(
                "purpose",
                PartKind.SECTION,
                (Text("PURPOSE"),),
                (body, Indented((Paragraph((Text("in"),)),))),
            ),
            Part("scope", PartKind.SECTION, (Underline((Text("SCOPE"),)),), (items, table)),
            Part("signatures", PartKind.UNNUMBERED, (Text("SIGNATURES"),)),
            Part("data", PartKind.ATTACHMENT, (Text("DATA"),)),
        ),
        sections=Series(Numbering("%1.", (NumberFormat.UPPER_LETTER,))),
        attachments=Series(Numbering("ATTACHMENT %1:", (NumberFormat.UPPER_LETTER,))),
    )


def test_it_escapes_every_text_and_returns_a_safe_string():
    html = render_html(document(), params={"breach_notice_hours": "<72>"})
    assert isinstance(html, SafeString)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert '<span class="param" data-name="breach_notice_hours">&lt;72&gt;</span>' in html


def test_parts_have_ids_and_headings_with_their_labels():
    html = render_html(document())
    assert '<section class="part part--preamble" id="part-preamble"><p>WHEREAS</p>' in html
    assert '<h2 class="part-heading"><span class="label">A.</span> PURPOSE</h2>' in html
    assert '<span class="label">B.</span> <u>SCOPE</u>' in html
    assert '<h2 class="part-heading">SIGNATURES</h2>' in html
    assert '<span class="label">ATTACHMENT A:</span> DATA' in html
    assert '<header class="document-title"><p>AGREEMENT &lt;i&gt;</p></header>' in html


def test_list_items_carry_their_labels_and_anchors():
    html = render_html(document())
    assert '<li id="part-scope-item-0"><span class="label">1.</span><div class="item-body">' in html
    assert '<li id="part-scope-item-1-0"><span class="label">(a)</span>' in html


def test_references_link_to_their_target_with_its_current_label():
    html = render_html(document())
    assert '<a class="ref" href="#part-scope-item-1-0">Section B.2(a)</a>' in html
    assert '<a class="ref" href="#part-data">Attachment A</a>' in html
    assert '<span class="ref ref--missing">Section ?</span>' in html


def test_blanks_show_their_prompt_and_kind():
    html = render_html(document())
    assert '<span class="blank" data-kind="date">date &lt;b&gt;&quot;</span>' in html


def test_tables_are_real_tables_with_a_header():
    html = render_html(document())
    assert '<table class="doc-table"><thead><tr><th><p><strong>Name</strong></p></th>' in html
    assert "<tbody><tr><td></td><td><p>x</p><p>y</p></td></tr></tbody></table>" in html


def test_styles_and_indented_passages():
    html = render_html(document())
    for fragment in (
        "<sup>th</sup>",
        "<u>u</u>",
        "<em>e</em>",
        '<div class="indented"><p>in</p></div>',
    ):
        assert fragment in html


def test_a_part_or_blocks_render_alone():
    doc = document()
    assert render_html(doc.parts[1], doc).startswith(
        '<section class="part part--section" id="part-purpose">'
    )
    assert render_html(doc.parts[2].blocks).startswith(
        '<ol class="doc-list"><li><span class="label">1.</span>'
    )
    assert 'id="doc2-purpose"' in render_html(doc, id_prefix="doc2-")


def test_column_widths_are_classes_not_inline_styles_which_pages_forbid():
    from agreements.text.document.html import column_widths

    html = str(column_widths((3, 1)))
    assert html == '<col class="col-w75"><col class="col-w25">'
    assert "style" not in html
    assert str(column_widths(())) == ""
