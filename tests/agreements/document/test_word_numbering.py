"""Word's automatic numbering counted as Word counts it, and spelled by labels.label too."""

from __future__ import annotations

import docx
import pytest

from agreements.text.document.labels import label
from agreements.text.document.model import NumberFormat, Numbering
from agreements.text.document.word_numbering import (
    Counter,
    Level,
    WordNumbering,
    numbering_for,
    paragraphs_in_order,
    w,
)
from tests.agreements.document.word_files import (
    Lvl,
    abstract_xml,
    new_document,
    num_xml,
    number,
    set_numbering,
    style_numbering,
)


def labels_of(document: docx.document.Document) -> list[tuple[str, str]]:
    """(text, label) of every paragraph, "" for unnumbered ones; and check labels.label agrees."""
    numbering = WordNumbering(document.part.numbering_part.element, document.styles.element)
    counter = Counter(numbering)
    out = []
    for paragraph in paragraphs_in_order(document.element.body):
        found = counter.advance(paragraph)
        text = "".join(t.text or "" for t in paragraph.iter(w("t")))
        if found is None:
            out.append((text, ""))
            continue
        if not found.is_bullet:
            ours = found.numbering()
            counters = found.counters[len(found.counters) - len(ours.formats) :]
            assert label(ours, counters) == found.label, (text, ours, found.counters)
        out.append((text, found.label))
    return out


OUTLINE = [
    Lvl("decimal", "%1."),
    Lvl("decimal", "%1.%2"),
    Lvl("lowerLetter", "(%3)"),
    Lvl("lowerRoman", "(%4)"),
]


def test_it_counts_a_multilevel_decimal_outline_with_restarts():
    document = new_document()
    set_numbering(document, [abstract_xml(1, OUTLINE)], [num_xml(1, 1)])
    for text, ilvl in [
        ("Definitions", 0),
        ("Data", 1),
        ("Party", 1),
        ("first", 2),
        ("second", 2),
        ("roman", 3),
        ("roman two", 3),
        ("third", 2),
        ("Term", 0),
        ("Start", 1),
        ("sub", 2),
    ]:
        number(document.add_paragraph(text), 1, ilvl)
    assert labels_of(document) == [
        ("Definitions", "1."),
        ("Data", "1.1"),
        ("Party", "1.2"),
        ("first", "(a)"),
        ("second", "(b)"),
        ("roman", "(i)"),
        ("roman two", "(ii)"),
        ("third", "(c)"),
        ("Term", "2."),
        ("Start", "2.1"),
        ("sub", "(a)"),
    ]


def test_nums_sharing_an_abstract_continue_and_a_start_override_restarts():
    document = new_document()
    set_numbering(
        document,
        [abstract_xml(1, [Lvl("lowerLetter", "(%1)")])],
        [num_xml(1, 1), num_xml(2, 1), num_xml(3, 1, {0: 4})],
    )
    number(document.add_paragraph("one"), 1)
    number(document.add_paragraph("two"), 1)
    document.add_paragraph("between")
    number(document.add_paragraph("three"), 2)  # same abstract: continues
    number(document.add_paragraph("restart"), 3)  # startOverride 4: its own count
    number(document.add_paragraph("next"), 3)
    number(document.add_paragraph("old list"), 1)
    assert [lbl for _, lbl in labels_of(document)] == ["(a)", "(b)", "", "(c)", "(d)", "(e)", "(d)"]


def test_level_restart_and_legal_numbering():
    document = new_document()
    levels = [
        Lvl("upperRoman", "Article %1"),
        Lvl("decimal", "%1.%2", legal=True),
        Lvl("lowerLetter", "(%3)", restart=1),  # restarts only after level 1 (Article)
    ]
    set_numbering(document, [abstract_xml(1, levels)], [num_xml(1, 1)])
    for text, ilvl in [
        ("I", 0),
        ("s1", 1),
        ("a", 2),
        ("s2", 1),
        ("b", 2),
        ("II", 0),
        ("s", 1),
        ("a again", 2),
    ]:
        number(document.add_paragraph(text), 1, ilvl)
    assert [lbl for _, lbl in labels_of(document)] == [
        "Article I",
        "1.1",
        "(a)",
        "1.2",
        "(b)",
        "Article II",
        "2.1",
        "(a)",
    ]


def test_lvl_restart_zero_never_restarts():
    document = new_document()
    levels = [Lvl("upperLetter", "%1."), Lvl("decimal", "%2.", restart=0)]
    set_numbering(document, [abstract_xml(1, levels)], [num_xml(1, 1)])
    for text, ilvl in [("A", 0), ("x", 1), ("y", 1), ("B", 0), ("z", 1)]:
        number(document.add_paragraph(text), 1, ilvl)
    assert [lbl for _, lbl in labels_of(document)] == ["A.", "1.", "2.", "B.", "3."]


def test_headings_numbered_through_their_style_and_basedon():
    document = new_document()
    set_numbering(
        document,
        [abstract_xml(1, [Lvl("upperLetter", "%1.", style="Heading1"), Lvl("decimal", "%2.")])],
        [num_xml(1, 1)],
    )
    style_numbering(document, "Heading 1", 1)  # no ilvl: the level whose pStyle is Heading1
    custom = document.styles.add_style("Clause Heading", docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Heading 1"]
    document.add_paragraph("PURPOSE", style="Heading 1")
    number(document.add_paragraph("item"), 1, 1)
    number(document.add_paragraph("item"), 1, 1)
    document.add_paragraph("SCOPE", style="Clause Heading")  # inherits Heading 1's numbering
    number(document.add_paragraph("item"), 1, 1)
    removed = document.add_paragraph("NOT NUMBERED", style="Heading 1")
    number(removed, 0)  # numId 0 removes the style's numbering
    assert [lbl for _, lbl in labels_of(document)] == ["A.", "1.", "2.", "B.", "1.", ""]


def test_numbers_inside_tables_count_in_document_order():
    document = new_document()
    set_numbering(document, [abstract_xml(1, [Lvl("decimal", "%1)")])], [num_xml(1, 1)])
    number(document.add_paragraph("before"), 1)
    table = document.add_table(rows=1, cols=2)
    number(table.cell(0, 0).paragraphs[0], 1)
    number(table.cell(0, 1).paragraphs[0], 1)
    number(document.add_paragraph("after"), 1)
    assert [lbl for _, lbl in labels_of(document) if lbl] == ["1)", "2)", "3)", "4)"]


def test_num_style_link_borrows_the_numbering_style_definition():
    document = new_document()
    set_numbering(
        document,
        [
            abstract_xml(1, [Lvl("upperRoman", "%1.")], style_link="LegalList"),
            abstract_xml(2, [], num_style_link="LegalList"),
        ],
        [num_xml(1, 1), num_xml(2, 2)],
    )
    number(document.add_paragraph("one"), 2)
    number(document.add_paragraph("two"), 2)
    assert [lbl for _, lbl in labels_of(document)] == ["I.", "II."]


def test_bullets_and_decimal_zero():
    document = new_document()
    set_numbering(
        document,
        [abstract_xml(1, [Lvl("bullet", "\u2022")]), abstract_xml(2, [Lvl("decimalZero", "%1")])],
        [num_xml(1, 1), num_xml(2, 2, {0: 9})],
    )
    number(document.add_paragraph("dot"), 1)
    number(document.add_paragraph("nine"), 2)
    number(document.add_paragraph("ten"), 2)
    assert [lbl for _, lbl in labels_of(document)] == ["\u2022", "09", "10"]


@pytest.mark.parametrize(
    ("levels", "ilvl", "expected"),
    [
        ({0: Level(0, "upperLetter", "%1.")}, 0, Numbering("%1.", (NumberFormat.UPPER_LETTER,))),
        (
            {0: Level(0, "decimal", "%1."), 1: Level(1, "decimal", "%1.%2", start=3)},
            1,
            Numbering("%1.%2", (NumberFormat.DECIMAL, NumberFormat.DECIMAL), 3),
        ),
        (
            {2: Level(2, "lowerLetter", "(%3)")},
            2,
            Numbering("(%1)", (NumberFormat.LOWER_LETTER,)),
        ),
        ({0: Level(0, "none", "Recital")}, 0, Numbering("Recital", ())),
    ],
)
def test_numbering_for_keeps_only_the_levels_the_label_shows(levels, ilvl, expected):
    assert numbering_for(levels, ilvl) == expected
