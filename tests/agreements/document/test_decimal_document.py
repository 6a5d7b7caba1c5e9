"""A document of our own: decimal sections, typed sub-items, lettered lists, "Section 7.2(c)"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agreements.text.document.canonical import to_json
from agreements.text.document.html import render_html
from agreements.text.document.markdown_export import export_markdown
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import (
    BlankKind,
    ListItem,
    NumberFormat,
    OrderedList,
    Paragraph,
    Param,
    PartKind,
    Ref,
    Text,
)
from agreements.text.document.plain import outline, plain_text
from agreements.text.document.resolver import Resolver

from .walk import all_inlines

SOURCE = """\
**DATA LICENCE AGREEMENT**

This Agreement is made on [date] between [Name] ("Licensor") and ______ ("Licensee").

**1. DEFINITIONS**

1.1 "Data" means the records listed in Schedule 1.

1.2 "Breach" has the meaning given in Section 2.2(c).

**2. OBLIGATIONS**

2.1 The Licensee shall keep the Data secure.

2.2 The Licensee shall:

(a) use the Data only for the Project;

(b) not disclose the Data; and

(c) report any breach within [[breach_notice_hours]] hours.

2.3 Sections 1.1 and 2.1 survive termination under Section 3.

**3. TERMINATION**

3.1 Either party may terminate on notice. On termination Section 2.2(c) continues to apply.

**SCHEDULE 1: DATA ELEMENTS**

| Element    | Description           |
|------------|-----------------------|
| Student ID | Scrambled identifier  |
"""


@pytest.fixture(scope="module")
def licence():
    report = import_markdown(SOURCE)
    assert report.ok, report.messages()
    return report.document


def test_it_finds_decimal_sections_and_a_schedule(licence):
    assert [(e["kind"], e["label"], e["title"]) for e in outline(licence)] == [
        ("preamble", "", ""),
        ("section", "1.", "DEFINITIONS"),
        ("section", "2.", "OBLIGATIONS"),
        ("section", "3.", "TERMINATION"),
        ("attachment", "SCHEDULE 1:", "DATA ELEMENTS"),
    ]
    assert licence.sections.numbering.formats == (NumberFormat.DECIMAL,)


def test_sub_items_count_under_their_section(licence):
    obligations = next(e for e in outline(licence) if e["key"] == "obligations")
    assert obligations["items"] == [
        {"label": "2.1"},
        {"label": "2.2", "items": [{"label": "(a)"}, {"label": "(b)"}, {"label": "(c)"}]},
        {"label": "2.3"},
    ]
    (items,) = [b for b in next(p for p in licence.parts if p.key == "obligations").blocks]
    assert items.numbering.pattern == "%1.%2"  # "2.2" is section 2's counter, not typed text
    assert all(item.label is None for item in items.items)


def test_references_resolve_to_sections_items_and_the_schedule(licence):
    resolver = Resolver(licence)
    found = {resolver.ref_text(i) for _p, i in all_inlines(licence) if isinstance(i, Ref)}
    assert found == {"Schedule 1", "Section 2.2(c)", "Section 3"}
    text = plain_text(licence)
    assert "given in Section 2.2(c)." in text and "Sections 1.1 and 2.1 survive" in text


def test_blanks_and_parameters(licence):
    inlines = [i for _p, i in all_inlines(licence)]
    kinds = [getattr(i, "kind", None) for i in inlines if type(i).__name__ == "Blank"]
    assert kinds == [BlankKind.DATE, BlankKind.NAME, BlankKind.TEXT]
    assert Param("breach_notice_hours") in inlines


def test_an_inserted_sub_item_renumbers_the_ones_after_it_and_references_follow(licence):
    obligations = next(p for p in licence.parts if p.key == "obligations")
    (items,) = obligations.blocks
    sub = items.items[1].blocks[1]
    assert isinstance(sub, OrderedList)
    new = ListItem((Paragraph((Text("keep a register;"),)),))
    grown = replace(sub, items=(new, *sub.items))
    second = replace(items.items[1], blocks=(items.items[1].blocks[0], grown))
    part = replace(
        obligations, blocks=(replace(items, items=(items.items[0], second, items.items[2])),)
    )
    # The editor moves references along with the item they point at.
    edited = replace(
        licence,
        parts=tuple(part if p.key == "obligations" else p for p in licence.parts),
    )
    text = plain_text(edited)
    assert "(a) keep a register;" in text and "(d) report any breach" in text
    assert Resolver(edited).ref_text(Ref("obligations", (1, 3))) == "Section 2.2(d)"
    html = render_html(edited, params={"breach_notice_hours": "72"})
    assert '<li id="part-obligations-item-1-3"><span class="label">(d)</span>' in html


def test_it_survives_a_markdown_round_trip(licence):
    again = import_markdown(export_markdown(licence))
    assert again.ok
    assert to_json(again.document) == to_json(licence)


def test_headings_written_as_markdown_headings_work_too():
    source = (
        SOURCE.replace("**1. DEFINITIONS**", "## 1. Definitions")
        .replace("**2. OBLIGATIONS**", "## 2. Obligations")
        .replace("**3. TERMINATION**", "## 3. Termination")
        .replace("**SCHEDULE 1: DATA ELEMENTS**", "## Schedule 1: Data elements")
        .replace("**DATA LICENCE AGREEMENT**", "# Data Licence Agreement")
    )
    report = import_markdown(source)
    assert report.ok, report.messages()
    assert [(e["kind"], e["label"]) for e in outline(report.document)] == [
        ("preamble", ""),
        ("section", "1."),
        ("section", "2."),
        ("section", "3."),
        ("attachment", "Schedule 1:"),
    ]
    assert report.document.title == ((Text("Data Licence Agreement"),),)


def test_numbered_list_items_whose_text_is_a_heading_are_sections():
    source = (
        "**LICENCE**\n\nPreamble text.\n\n1.  **LICENSE**\n\n    The licensor grants a licence.\n\n"
        "2.  **TERM**\n\n    One year.\n"
    )
    report = import_markdown(source)
    assert report.ok, report.messages()
    assert [(e["kind"], e["label"], e["title"]) for e in outline(report.document)] == [
        ("preamble", "", ""),
        ("section", "1.", "LICENSE"),
        ("section", "2.", "TERM"),
    ]
    assert "The licensor grants a licence." in plain_text(report.document)


def test_a_document_without_headings_is_refused_not_made_one_part():
    report = import_markdown("Just a paragraph.\n\nAnd another one.\n")
    assert not report.ok
    assert "No section headings found" in report.messages()[0]


def test_kinds_of_parts_are_kept(licence):
    assert [p.kind for p in licence.parts][-1] is PartKind.ATTACHMENT
