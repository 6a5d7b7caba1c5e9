"""The two real agreements in shared/corpus, imported from pandoc's Markdown."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from agreements.text.document.html import render_html
from agreements.text.document.model import Blank, BlankKind, NumberFormat, PartKind, Ref
from agreements.text.document.plain import outline, plain_text
from agreements.text.document.resolver import Resolver

from .walk import MARKUP, all_inlines, cell_texts, html_text, source_tables, tables

MASTER_SECTIONS = [
    ("A.", "THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT"),
    ("B.", "PURPOSE"),
    ("C.", "SCOPE"),
    ("D.", "NATURE OF DATA"),
    ("E.", "TRANSFER OF DATA"),
    ("F.", "PERIOD OF AGREEMENT; EFFECTIVE DATE"),
    ("G.", "STANFORD UNIVERSITY RESPONSIBILITIES"),
    ("H.", "LIABILITY"),
    ("I.", "TERMINATION"),
    ("J.", "GENERAL UNDERSTANDING"),
]
DUA_SECTIONS = [
    ("A.", "THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT"),
    ("B.", "PURPOSE"),
    ("C.", "SCOPE"),
    ("D.", "NATURE OF DATA"),
    ("E.", "IRB APPROVAL FROM STANFORD UNIVERSITY"),
    ("F.", "TRANSFER OF DATA"),
    ("G.", "PERIOD OF AGREEMENT"),
    ("H.", "STANFORD RESEARCH ORGANIZATION RESPONSIBILITIES"),
    ("I.", "LIABILITY"),
    ("J.", "TERMINATION"),
    ("K.", "GENERAL UNDERSTANDING"),
    ("L.", "PARTY SIGNATURES TO THE AGREEMENT"),
]


def kinds_and_labels(document):
    return [(entry["kind"], entry["label"], entry["title"]) for entry in outline(document)]


def test_the_master_agreement_has_its_title_preamble_sections_and_attachment(master):
    document = master.document
    assert [line[0].text for line in document.title] == [
        "AGREEMENT FOR CONFIDENTIAL DATA EXCHANGE BETWEEN",
        "SAN FRANCISCO UNIFIED SCHOOL DISTRICT AND",
        "STANFORD UNIVERSITY",
    ]
    assert kinds_and_labels(document) == [
        ("preamble", "", ""),
        *[("section", label, title) for label, title in MASTER_SECTIONS],
        ("unnumbered", "", "PARTY SIGNATURES TO THE AGREEMENT"),
        ("attachment", "ATTACHMENT A:", "SPECIFIC RECORDS OR DATA ELEMENTS"),
    ]
    assert document.sections.numbering.formats == (NumberFormat.UPPER_LETTER,)
    assert all(part.label is None for part in document.parts)  # every label is computed
    preamble = plain_text(document.parts[0], document)
    assert "WHEREAS, SFUSD desires" in preamble and "NOW THEREFORE" in preamble


def test_the_data_use_agreement_has_sections_a_to_l_and_two_attachments(dua):
    document = dua.document
    assert [line[0].text for line in document.title] == [
        "DATA USE AGREEMENT",
        "BETWEEN",
        "SAN FRANCISCO UNIFIED SCHOOL DISTRICT",
        "AND STANFORD RESEARCH ORGANIZATION",
    ]
    assert kinds_and_labels(document) == [
        ("preamble", "", ""),
        *[("section", label, title) for label, title in DUA_SECTIONS],
        ("attachment", "ATTACHMENT A:", "SPECIFIC RECORDS AND DATA ELEMENTS"),
        ("attachment", "ATTACHMENT B:", "LIST OF STAFF WITH ACCESS TO SFUSD DATA"),
    ]
    # The running-header table before the title is kept, in the preamble, and said so.
    assert any("before the title" in str(finding) for finding in dua.warnings)


def test_headings_keep_their_underline(dua):
    purpose = next(p for p in dua.document.parts if p.key == "purpose")
    assert type(purpose.title[0]).__name__ == "Underline"


def _source_labels(source: str) -> list[str]:
    labels = []
    for line in source.split("\n"):
        if match := re.match(r"(\d+)\. +(?=\S)", line):
            labels.append(f"{match.group(1)}.")
        elif match := re.match(r"> ([a-z])\\\. ", line):
            labels.append(f"{match.group(1)}.")
        elif match := re.match(r"(\d+\.\d+\.?) ", line):
            labels.append(match.group(1))
    return labels


def _outline_labels(entries) -> list[str]:
    out = []
    for entry in entries:
        out.append(entry["label"])
        out.extend(_outline_labels(entry.get("items", [])))
    return out


@pytest.mark.parametrize("name", ["master", "dua"])
def test_every_list_number_survives_in_order(name, request):
    report = request.getfixturevalue(name)
    source = request.getfixturevalue(f"{name}_source")
    found = [label for part in outline(report.document) for label in _outline_labels(part["items"])]
    assert found == _source_labels(source)
    assert len(found) > 25


def test_typed_numbers_keep_their_own_labels(master):
    items = {part["key"]: _outline_labels(part["items"]) for part in outline(master.document)}
    assert items["purpose"] == ["1.0.", "1.2.", "1.3."]
    assert items["scope"] == [
        "1.01",
        "1.02",
        "1.03",
        "2.01",
        "3.01",
        "3.02",
        "3.03",
        "4.01",
        "5.01",
    ]
    assert items["termination"] == ["1.", "a.", "b.", "2.", "3."]
    # "1.2." breaks the "1.0." sequence, so it is the one explicit label.
    purpose = next(p for p in master.document.parts if p.key == "purpose")
    assert [item.label for item in purpose.blocks[1].items] == [None, "1.2."]


def test_the_indented_sub_items_nest_under_their_item(master):
    entry = next(p for p in outline(master.document) if p["key"] == "termination")
    assert entry["items"][0] == {"label": "1.", "items": [{"label": "a."}, {"label": "b."}]}


@pytest.mark.parametrize("name", ["master", "dua"])
def test_every_table_cell_survives(name, request):
    report = request.getfixturevalue(name)
    source = request.getfixturevalue(f"{name}_source")
    ours = [cell_texts(table) for table in tables(report.document)]
    theirs = source_tables(source)
    assert len(ours) == len(theirs) > 0
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine == expected


def test_the_signature_table_has_a_header_row_and_many_paragraph_cells(dua):
    signatures = next(p for p in dua.document.parts if p.key == "party-signatures-to-the-agreement")
    (table,) = signatures.blocks
    assert table.header_rows == 1 and len(table.rows) == 2
    assert len(table.rows[1].cells[0].blocks) > 10


def refs(document):
    resolver = Resolver(document)
    return Counter(
        (inline.target, resolver.ref_text(inline))
        for _part, inline in all_inlines(document)
        if isinstance(inline, Ref)
    )


def test_cross_references_in_the_master_agreement_resolve(master):
    found = refs(master.document)
    assert found[("termination", "Section I")] == 1
    assert found[("the-family-educational-rights-and-privacy-act", "Section A")] == 1
    assert found[("nature-of-data", "Section D")] == 1
    assert found[("specific-records-or-data-elements", "Attachment A")] == 4
    assert all(text is not None for _target, text in found)
    # "Exhibit A/B/C" name forms that are not part of this agreement: reported, not linked.
    assert sum("Exhibit" in str(f) for f in master.warnings) == 3


def test_cross_references_in_the_data_use_agreement_resolve(dua):
    found = refs(dua.document)
    assert found[("termination", "Section J")] == 1
    assert found[("the-family-educational-rights-and-privacy-act", "Section A")] == 1
    assert found[("nature-of-data", "Section D")] == 1
    assert found[("list-of-staff-with-access-to-sfusd-data", "Attachment B")] == 1
    assert found[("specific-records-and-data-elements", "Attachment A")] == 2
    assert "Section J. (" in plain_text(dua.document)


def test_the_data_use_agreement_blanks_are_all_found(dua):
    blanks = [inline for _part, inline in all_inlines(dua.document) if isinstance(inline, Blank)]
    prompted = Counter((b.kind, b.prompt) for b in blanks if b.prompt)
    assert prompted == Counter(
        {
            (BlankKind.TEXT, "Fill in Title of Research Study here"): 1,
            (BlankKind.NAME, "Fill in Stanford Principal Investigator name here"): 1,
            (BlankKind.NAME, "Fill in Researcher name here"): 1,
            (BlankKind.DATE, "date"): 1,
            (
                BlankKind.TEXT,
                "Summarize the purpose of the research. The form will expand as you type",
            ): 1,
            (BlankKind.TEXT, next(b.prompt for b in blanks if b.prompt.startswith("Describe"))): 1,
            (BlankKind.DATE, "Month, Day, Year"): 1,
            (BlankKind.NAME, "Name"): 1,
            (BlankKind.TITLE, "title"): 1,
        }
    )
    signature_lines = [b for b in blanks if b.kind is BlankKind.SIGNATURE]
    assert len(signature_lines) == 5  # four in the left column, one in the right
    assert len(blanks) == 14


def test_the_master_agreement_blank(master):
    blanks = [i for _p, i in all_inlines(master.document) if isinstance(i, Blank)]
    assert [(b.kind, b.prompt) for b in blanks] == [(BlankKind.TEXT, "Variables listed here")]


@pytest.mark.parametrize("name", ["master", "dua"])
def test_no_markup_characters_reach_plain_text_or_html(name, request):
    document = request.getfixturevalue(name).document
    for text in (plain_text(document), html_text(render_html(document))):
        for markup in MARKUP:
            assert markup not in text, markup
        assert not re.search(r"^\s*> ", text, re.M)
        assert "5th year seniors" in text or name == "dua"


def test_parts_are_never_merged_into_one(master, dua):
    for report in (master, dua):
        sections = [p for p in report.document.parts if p.kind is PartKind.SECTION]
        assert len(sections) >= 10
