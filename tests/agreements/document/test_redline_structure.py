"""Redlines over structure (agreements/text/document/redline.py, redline_render.py,
docx_redline.py): parts, list items and table rows are aligned, not just strings; labels that
an insertion renumbers are not changes; the same changes in the data, the HTML and the .docx.

Pure: no database. The LibreOffice checks are skipped without ``soffice``."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_inlines import flatten
from agreements.text.document.docx_redline import docx_redline
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Cell,
    Document,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Row,
    Strong,
    Table,
    Text,
)
from agreements.text.document.plain import EMPTY_BLANK
from agreements.text.document.redline import (
    BlockDiff,
    DocumentDiff,
    IndentedDiff,
    ItemDiff,
    ListDiff,
    ParagraphDiff,
    PartDiff,
    RowDiff,
    Status,
    TableDiff,
    TextDiff,
    diff_blocks,
    diff_documents,
    diff_parts,
)
from agreements.text.document.redline_render import redline_html
from agreements.text.document.resolver import Resolver, list_labels
from agreements.text.document.word_numbering import (
    NS,
    Counter,
    WordNumbering,
    paragraphs_in_order,
    w,
)
from tests.agreements.document.strategies import documents

FERPA = "the-family-educational-rights-and-privacy-act"

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
| Grade      | Grade level           |
| School     | School attended       |
"""


@pytest.fixture(scope="module")
def licence() -> Document:
    report = import_markdown(SOURCE)
    assert report.ok, report.messages()
    return report.document


# --- Editing trees in tests -------------------------------------------------------------------


def with_part(document: Document, key: str, edit: Callable[[Part], Part]) -> Document:
    parts = tuple(edit(p) if p.key == key else p for p in document.parts)
    return replace(document, parts=parts)


def sub_items(document: Document) -> OrderedList:
    """Items (a)-(c) of 2.2."""
    (items,) = part(document, "obligations").blocks
    assert isinstance(items, OrderedList)
    sub = items.items[1].blocks[1]
    assert isinstance(sub, OrderedList)
    return sub


def with_sub_items(document: Document, items: Sequence[ListItem]) -> Document:
    def edit(obligations: Part) -> Part:
        (outer,) = obligations.blocks
        assert isinstance(outer, OrderedList)
        second = outer.items[1]
        sub = replace(sub_items(document), items=tuple(items))
        grown = replace(second, blocks=(second.blocks[0], sub))
        items_now = (outer.items[0], grown, outer.items[2])
        return replace(obligations, blocks=(replace(outer, items=items_now),))

    return with_part(document, "obligations", edit)


def with_rows(document: Document, rows: Sequence[Row]) -> Document:
    def edit(schedule: Part) -> Part:
        (table,) = schedule.blocks
        assert isinstance(table, Table)
        return replace(schedule, blocks=(replace(table, rows=tuple(rows)),))

    return with_part(document, schedule_key(document), edit)


def replace_refs(document: Document, new: Ref, *, old: Ref) -> Document:
    """The document with every reference ``old`` made ``new`` (as the editor does when the
    item it cites moves)."""

    def inlines(seq: Sequence[Inline]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in seq:
            if inline == old:
                out.append(new)
            elif hasattr(inline, "children"):
                out.append(replace(inline, children=inlines(inline.children)))  # type: ignore[arg-type]
            else:
                out.append(inline)
        return tuple(out)

    return map_paragraphs(document, inlines)


def map_paragraphs(
    document: Document, inlines: Callable[[Sequence[Inline]], tuple[Inline, ...]]
) -> Document:
    def blocks(seq: Sequence[Block]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in seq:
            if isinstance(block, Paragraph):
                out.append(Paragraph(inlines(block.inlines)))
            elif isinstance(block, (OrderedList, BulletList)):
                items = tuple(replace(i, blocks=blocks(i.blocks)) for i in block.items)
                out.append(replace(block, items=items))
            elif isinstance(block, Table):
                rows = tuple(
                    Row(tuple(replace(c, blocks=blocks(c.blocks)) for c in r.cells))
                    for r in block.rows
                )
                out.append(replace(block, rows=rows))
            elif isinstance(block, Indented):
                out.append(Indented(blocks(block.blocks)))
        return tuple(out)

    parts = tuple(
        replace(p, title=inlines(p.title), blocks=blocks(p.blocks)) for p in document.parts
    )
    return replace(document, parts=parts)


def schedule_key(document: Document) -> str:
    return next(p.key for p in document.parts if p.kind is PartKind.ATTACHMENT)


def part(document: Document, key: str) -> Part:
    return next(p for p in document.parts if p.key == key)


def para(text: str) -> Paragraph:
    return Paragraph((Text(text),))


def item(text: str) -> ListItem:
    return ListItem((para(text),))


def row(*texts: str) -> Row:
    return Row(tuple(Cell((para(text),)) for text in texts))


def replace_text(document: Document, old: str, new: str) -> Document:
    """The document with ``old`` replaced in every Text inline."""

    def inlines(seq: Sequence[Inline]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in seq:
            if isinstance(inline, Text):
                out.append(Text(inline.text.replace(old, new)))
            elif hasattr(inline, "children"):
                out.append(replace(inline, children=inlines(inline.children)))  # type: ignore[arg-type]
            else:
                out.append(inline)
        return tuple(out)

    return map_paragraphs(document, inlines)


# --- Reading diffs in tests -------------------------------------------------------------------

type Element = PartDiff | BlockDiff | ItemDiff | RowDiff


def elements(diff: DocumentDiff | PartDiff | Sequence[BlockDiff]) -> Iterator[Element]:
    """Every part, block, item and row of a diff, in reading order."""
    if isinstance(diff, DocumentDiff):
        yield from diff.title
        for part_diff in diff.parts:
            yield from elements(part_diff)
        return
    if isinstance(diff, PartDiff):
        yield diff
        yield from elements(diff.blocks)
        return
    for block in diff:
        yield block
        if isinstance(block, ListDiff):
            for entry in block.items:
                yield entry
                yield from elements(entry.blocks)
        elif isinstance(block, TableDiff):
            for table_row in block.rows:
                yield table_row
                for cell in table_row.cells:
                    yield from elements(cell.blocks)
        elif isinstance(block, IndentedDiff):
            yield from elements(block.blocks)


def texts(diff: DocumentDiff | PartDiff | Sequence[BlockDiff]) -> Iterator[TextDiff]:
    for element in elements(diff):
        if isinstance(element, PartDiff):
            yield element.title
        elif isinstance(element, ParagraphDiff):
            yield element.text


def marked(diff: DocumentDiff | PartDiff | Sequence[BlockDiff]) -> list[tuple[str, str]]:
    """Word-level changes (kind, text) inside paired text, in reading order."""
    return [
        (span.kind, span.text)
        for text in texts(diff)
        for span in text.spans
        if span.kind != "equal" and not _whole_change(text)
    ]


def _whole_change(text: TextDiff) -> bool:
    return len({span.kind for span in text.spans}) == 1 and text.spans[0].kind != "equal"


def structural(
    diff: DocumentDiff | PartDiff | Sequence[BlockDiff],
) -> list[tuple[str, str, Status]]:
    """Elements inserted, deleted or moved, the outermost of each change: (what, label,
    status)."""
    found = []
    seen = set()
    for element in elements(diff):
        if element.status in (Status.UNCHANGED, Status.CHANGED):
            continue
        if (element.change, element.status) in seen:
            continue
        seen.add((element.change, element.status))
        label = getattr(element, "label", "")
        found.append((type(element).__name__, label, element.status))
    return found


def cell_text(table_row: RowDiff) -> str:
    first = table_row.cells[0].blocks[0]
    assert isinstance(first, ParagraphDiff)
    gone = (Status.DELETED, Status.MOVED_FROM)
    return first.text.text("old" if table_row.status in gone else "new")


def item_labels(items: ListDiff) -> list[tuple[str, Status]]:
    return [(entry.label, entry.status) for entry in items.items]


def sub_items_diff(diff: DocumentDiff) -> ListDiff:
    obligations = next(p for p in diff.parts if p.key == "obligations")
    (outer,) = obligations.blocks
    assert isinstance(outer, ListDiff)
    inner = outer.items[1].blocks[1]
    assert isinstance(inner, ListDiff)
    return inner


def lead_text(entry: ItemDiff, side: str = "new") -> str:
    lead = entry.blocks[0]
    assert isinstance(lead, ParagraphDiff)
    return lead.text.text(side)  # type: ignore[arg-type]


# --- Identical documents --------------------------------------------------------------------


def test_identical_documents_have_no_changes(licence, master, dua):
    for document in (licence, master.document, dua.document):
        diff = diff_documents(document, document)

        assert diff.changes == 0
        assert all(e.status is Status.UNCHANGED for e in elements(diff))
        html = redline_html(diff)
        assert "<ins" not in html and "<del" not in html and "data-change" not in html


# --- Words ----------------------------------------------------------------------------------


def test_a_word_changed_in_a_paragraph_is_one_change(licence):
    new = replace_text(licence, "Either party may terminate", "Either party may end this Agreement")

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert marked(diff) == [("delete", "terminate"), ("insert", "end this Agreement")]
    assert [(p.key, p.status) for p in diff.parts if p.status is not Status.UNCHANGED] == [
        ("termination", Status.CHANGED)
    ]


def test_a_word_changed_in_a_list_item_keeps_the_item_and_its_label(licence):
    new = replace_text(licence, "not disclose the Data", "not sell or disclose the Data")

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert marked(diff) == [("insert", "sell or ")]
    assert item_labels(sub_items_diff(diff)) == [
        ("(a)", Status.UNCHANGED),
        ("(b)", Status.CHANGED),
        ("(c)", Status.UNCHANGED),
    ]


def test_a_word_changed_in_a_table_cell(licence):
    new = replace_text(licence, "Scrambled identifier", "Hashed identifier")

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert marked(diff) == [("delete", "Scrambled"), ("insert", "Hashed")]
    (table,) = next(p for p in diff.parts if p.key == schedule_key(licence)).blocks
    assert isinstance(table, TableDiff)
    assert [r.status for r in table.rows] == [
        Status.UNCHANGED,
        Status.CHANGED,
        Status.UNCHANGED,
        Status.UNCHANGED,
    ]
    assert table.header_rows == 1


def test_styling_of_unchanged_words_is_kept():
    old = (Paragraph((Text("The "), Strong((Text("Licensee"),)), Text(" shall comply."))),)
    new = (Paragraph((Text("The "), Strong((Text("Licensee"),)), Text(" must comply."))),)

    diff = diff_blocks(old, new)

    (paragraph,) = diff.blocks
    assert isinstance(paragraph, ParagraphDiff)
    assert [(s.kind, s.text, sorted(s.marks)) for s in paragraph.text.spans] == [
        ("equal", "The ", []),
        ("equal", "Licensee", ["strong"]),
        ("equal", " ", []),
        ("delete", "shall", []),
        ("insert", "must", []),
        ("equal", " comply.", []),
    ]
    assert "<strong>Licensee</strong>" in redline_html(diff)


def test_blanks_and_parameters_change_whole():
    old = (Paragraph((Text("Notify within "), Param("breach_notice_hours"), Text(" hours."))),)
    new = (Paragraph((Text("Notify within "), Blank(BlankKind.TEXT, "hours"), Text(" hours."))),)

    diff = diff_blocks(old, new)

    assert diff.changes == 1
    assert marked(diff.blocks) == [("delete", "[[breach_notice_hours]]"), ("insert", "[hours]")]


# --- List items: inserted, deleted, moved; renumbering is not a change --------------------------


def test_an_inserted_sub_item_is_the_only_change_and_the_ones_after_it_are_renumbered(licence):
    old_items = sub_items(licence).items
    register = item("keep a register of every disclosure;")
    new = with_sub_items(licence, [old_items[0], register, *old_items[1:]])
    # The editor moves references along with the item they point at: (c) is now (d).
    new = replace_refs(new, Ref("obligations", (1, 3)), old=Ref("obligations", (1, 2)))

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert item_labels(sub_items_diff(diff)) == [
        ("(a)", Status.UNCHANGED),
        ("(b)", Status.INSERTED),
        ("(c)", Status.UNCHANGED),  # was (b)
        ("(d)", Status.UNCHANGED),  # was (c)
    ]
    assert structural(diff) == [("ItemDiff", "(b)", Status.INSERTED)]
    assert marked(diff) == []  # "Section 2.2(c)" now reads "Section 2.2(d)": not a change
    html = redline_html(diff)
    assert 'given in <a class="ref" href="#chg-part-obligations">Section 2.2(d)</a>.' in html
    assert html.count("<ins") == 1 and "<del" not in html
    assert re.search(
        r'<li class="inserted" id="chg-1" data-change="1"><span class="label">\(b\)', html
    )
    assert '<li><span class="label">(d)</span><div class="item-body"><p>report any breach' in html


def test_a_reference_left_citing_the_old_position_is_a_change(licence):
    old_items = sub_items(licence).items
    new = with_sub_items(licence, [old_items[0], item("keep a register;"), *old_items[1:]])

    diff = diff_documents(licence, new)

    # Ref (1, 2) now cites "not disclose the Data" (c), not "report any breach" (d).
    assert diff.changes == 3  # the inserted item, and the two references that now read (c)
    assert ("delete", "Section 2.2(c)") in marked(diff)
    assert ("insert", "Section 2.2(c)") in marked(diff)


def test_a_deleted_item_shows_its_old_label_and_the_next_one_its_new_label(licence):
    a, b, c = sub_items(licence).items
    new = with_sub_items(licence, [a, c])
    new = replace_refs(new, Ref("obligations", (1, 1)), old=Ref("obligations", (1, 2)))

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert item_labels(sub_items_diff(diff)) == [
        ("(a)", Status.UNCHANGED),
        ("(b)", Status.DELETED),
        ("(b)", Status.UNCHANGED),  # was (c)
    ]
    deleted = sub_items_diff(diff).items[1]
    assert lead_text(deleted, "old") == "not disclose the Data; and"
    assert all(s.kind == "delete" and s.change == 1 for s in deleted.blocks[0].text.spans)  # type: ignore[union-attr]


def test_a_moved_item_keeps_its_identity(licence):
    a, b, c = sub_items(licence).items
    new = with_sub_items(licence, [b, c, a])
    new = replace_refs(new, Ref("obligations", (1, 1)), old=Ref("obligations", (1, 2)))

    diff = diff_documents(licence, new)

    assert diff.changes == 1  # one move, both of its ends numbered 1
    assert item_labels(sub_items_diff(diff)) == [
        ("(a)", Status.MOVED_FROM),
        ("(a)", Status.UNCHANGED),  # was (b)
        ("(b)", Status.UNCHANGED),  # was (c)
        ("(c)", Status.MOVED_TO),
    ]
    source, *_, target = sub_items_diff(diff).items
    assert source.change == target.change == 1
    assert (source.moved_label, target.moved_label) == ("(c)", "(a)")
    html = redline_html(diff)
    assert 'id="chg-1-from"' in html and 'id="chg-1"' in html
    assert '<a class="move-note" href="#chg-1">moved to (c)</a>' in html
    assert '<a class="move-note" href="#chg-1-from">moved from (a)</a>' in html


def test_a_moved_and_edited_item_shows_the_move_and_the_words(licence):
    a, b, c = sub_items(licence).items
    edited = item("use the Data only for the approved Project;")
    new = with_sub_items(licence, [b, c, edited])
    new = replace_refs(new, Ref("obligations", (1, 1)), old=Ref("obligations", (1, 2)))

    diff = diff_documents(licence, new)

    assert diff.changes == 2
    target = sub_items_diff(diff).items[-1]
    assert target.status is Status.MOVED_TO and target.change == 1
    assert marked(diff) == [("insert", "approved ")]


def test_items_move_between_lists_and_parts(licence):
    a, b, c = sub_items(licence).items
    new = with_sub_items(licence, [a, c])
    new = with_part(new, "termination", lambda p: replace(p, blocks=(*p.blocks, OrderedList((b,)))))
    new = replace_refs(new, Ref("obligations", (1, 1)), old=Ref("obligations", (1, 2)))

    diff = diff_documents(licence, new)

    assert diff.changes == 2  # the move, and the new list that holds it
    assert [(kind, label, status) for kind, label, status in structural(diff)] == [
        ("ItemDiff", "(b)", Status.MOVED_FROM),
        ("ListDiff", "", Status.INSERTED),
        ("ItemDiff", "1.", Status.MOVED_TO),
    ]
    moved = [e for e in elements(diff) if isinstance(e, ItemDiff) and e.status is Status.MOVED_TO]
    assert moved[0].moved_label == "2. (b)"


def test_nested_lists_align_item_by_item(licence):
    """An item whose sub-list changes is the same item; its sub-items are aligned in turn."""
    a, b, c = sub_items(licence).items
    new = with_sub_items(
        licence, [a, replace(b, blocks=(*b.blocks, OrderedList((item("nor sell it."),)))), c]
    )

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    ((kind, _label, status),) = structural(diff)
    assert (kind, status) == ("ListDiff", Status.INSERTED)


def test_a_paragraph_moved_to_another_clause(licence):
    preamble = part(licence, "preamble")
    moved = preamble.blocks[0]
    new = with_part(licence, "preamble", lambda p: replace(p, blocks=p.blocks[1:]))
    new = with_part(new, "termination", lambda p: replace(p, blocks=(*p.blocks, moved)))

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert structural(diff) == [
        ("ParagraphDiff", "", Status.MOVED_FROM),
        ("ParagraphDiff", "", Status.MOVED_TO),
    ]
    html = redline_html(diff)
    assert '<a class="move-note" href="#chg-1">moved below</a>' in html
    assert '<a class="move-note" href="#chg-1-from">moved from above</a>' in html


# --- Table rows -------------------------------------------------------------------------------


def test_table_rows_inserted_deleted_and_moved(licence):
    (table,) = part(licence, schedule_key(licence)).blocks
    assert isinstance(table, Table)
    header, student, grade, school = table.rows
    new = with_rows(licence, [header, school, student, row("Postcode", "Home postcode")])

    diff = diff_documents(licence, new)

    (table_diff,) = next(p for p in diff.parts if p.key == schedule_key(licence)).blocks
    assert isinstance(table_diff, TableDiff)
    rows = [(r.status, cell_text(r)) for r in table_diff.rows]
    # Student ID and School swapped: one of them moved (either reads as one move).
    moved = [text for status, text in rows if status is Status.MOVED_TO]
    assert moved in (["School"], ["Student ID"])
    assert [text for status, text in rows if status is Status.MOVED_FROM] == moved
    assert (Status.DELETED, "Grade") in rows and (Status.INSERTED, "Postcode") in rows
    assert [text for status, text in rows if status is Status.UNCHANGED] == [
        "Element",
        "Student ID" if moved == ["School"] else "School",
    ]
    assert diff.changes == 3
    html = redline_html(diff)
    assert re.search(r'<tr class="deleted" id="chg-\d" data-change="\d">', html)
    assert re.search(r'<tr class="inserted" id="chg-\d" data-change="\d">', html)


# --- Parts ------------------------------------------------------------------------------------


def test_an_inserted_part_shifts_the_section_numbers_without_marking_them(licence):
    new_part = Part("audit", PartKind.SECTION, (Text("AUDIT"),), (para("The Licensor may audit."),))
    parts = list(licence.parts)
    parts.insert(2, new_part)  # before OBLIGATIONS
    new = replace(licence, parts=tuple(parts))

    diff = diff_documents(licence, new)

    assert diff.changes == 1
    assert [(p.label, p.status) for p in diff.parts] == [
        ("", Status.UNCHANGED),
        ("1.", Status.UNCHANGED),
        ("2.", Status.INSERTED),
        ("3.", Status.UNCHANGED),  # was 2.
        ("4.", Status.UNCHANGED),  # was 3.
        ("SCHEDULE 1:", Status.UNCHANGED),
    ]
    assert marked(diff) == []  # "Section 2.2(c)" reads "Section 3.2(c)": the same item
    html = redline_html(diff)
    assert '<section class="part part--section redline-part inserted" id="chg-part-audit">' in html
    assert '<h2 class="part-heading" id="chg-1" data-change="1">' in html


def test_a_deleted_part_and_a_moved_part(licence):
    preamble, definitions, obligations, _termination, schedule = licence.parts
    new = replace(licence, parts=(preamble, obligations, definitions, schedule))

    diff = diff_documents(licence, new)

    assert [(p.key, p.label, p.old_label, p.status, p.change) for p in diff.parts] == [
        ("preamble", "", "", Status.UNCHANGED, None),
        ("definitions", "1.", "1.", Status.MOVED_FROM, 1),
        ("obligations", "1.", "2.", Status.CHANGED, None),
        ("termination", "3.", "3.", Status.DELETED, 3),
        ("definitions", "2.", "1.", Status.MOVED_TO, 1),
        ("data-elements", "SCHEDULE 1:", "SCHEDULE 1:", Status.UNCHANGED, None),
    ]
    # 2.3 cited the deleted Section 3: the reference now reads "Section ?", a real change.
    assert marked(diff) == [("delete", "Section 3"), ("insert", "Section ?")]
    assert diff.changes == 3
    html = redline_html(diff)
    assert '<h2 class="part-heading" id="chg-1-from" data-change="1">' in html
    assert '<a class="move-note" href="#chg-1">moved to 2.</a>' in html
    assert '<a class="move-note" href="#chg-1-from">moved from 1.</a>' in html
    assert html.count('id="chg-part-definitions"') == 1  # the old place shows no body


def test_diff_parts_compares_one_clause_or_shows_it_inserted(licence):
    termination = part(licence, "termination")
    edited = replace_text(licence, "on notice", "on thirty days' notice")

    diff = diff_parts(
        termination, part(edited, "termination"), old_document=licence, new_document=edited
    )
    inserted = diff_parts(None, termination, new_document=licence)

    assert diff.status is Status.CHANGED and diff.changes == 1
    assert marked(diff) == [("insert", "thirty days' ")]
    assert inserted.status is Status.INSERTED and inserted.changes == 1 and inserted.label == "3."


# --- The FERPA clause of the corpus ----------------------------------------------------------


def test_the_ferpa_edit_is_exactly_three_changes(master, dua):
    """Education -> Educational, ", and other applicable laws" deleted, and the period moved
    inside the quotation marks: the master agreement's FERPA clause becomes the data use
    agreement's, and the redline shows exactly those three changes."""
    old = master.document
    new_paragraph = part(dua.document, FERPA).blocks
    new = with_part(old, FERPA, lambda p: replace(p, blocks=new_paragraph))

    diff = diff_documents(old, new)
    clause = diff_parts(
        part(old, FERPA), part(dua.document, FERPA), old_document=old, new_document=dua.document
    )

    assert diff.changes == 3
    assert clause.changes == 3
    assert marked(diff) == [
        ("delete", "Education"),
        ("insert", "Educational"),
        ("insert", "."),
        ("delete", ", and other applicable laws,"),
    ]
    ferpa = next(p for p in diff.parts if p.key == FERPA)
    assert ferpa.status is Status.CHANGED and ferpa.changes == 3
    html = redline_html(diff)
    assert re.findall(r'id="(chg-\d+)"', html) == ["chg-1", "chg-2", "chg-3"]


def test_the_corpus_agreements_redline_into_each_other(master, dua):
    diff = diff_documents(master.document, dua.document)

    assert next(p for p in diff.parts if p.key == FERPA).changes == 3
    assert diff_text(diff, "old") == document_text(master.document)
    assert diff_text(diff, "new") == document_text(dua.document)
    numbers = sorted({n for n in change_numbers(diff)})
    assert numbers == list(range(1, diff.changes + 1))


# --- Both sides of a diff give back both documents ------------------------------------------


def diff_text(diff: DocumentDiff, side: str) -> list[tuple[str, ...]]:
    """One side of a diff as (what, label, text) rows, in that side's reading order."""
    hidden = (
        (Status.INSERTED, Status.MOVED_TO) if side == "old" else (Status.DELETED, Status.MOVED_FROM)
    )
    rows: list[tuple[str, ...]] = [
        ("title", _side(line.text, side)) for line in diff.title if line.status not in hidden
    ]

    def blocks(seq: Sequence[BlockDiff]) -> None:
        for block in seq:
            if block.status in hidden:
                continue
            if isinstance(block, ParagraphDiff):
                rows.append(("p", _side(block.text, side)))
            elif isinstance(block, ListDiff):
                for entry in block.items:
                    if entry.status not in hidden:
                        label = entry.label if side == "new" else entry.old_label
                        rows.append(("item", label or "•"))
                        blocks(entry.blocks)
            elif isinstance(block, TableDiff):
                for table_row in block.rows:
                    if table_row.status not in hidden:
                        rows.append(("row",))
                        for cell in table_row.cells:
                            rows.append(("cell",))
                            blocks(cell.blocks)
            elif isinstance(block, IndentedDiff):
                blocks(block.blocks)

    for part_diff in diff.parts:
        if part_diff.status in hidden:
            continue
        label = part_diff.label if side == "new" else part_diff.old_label
        rows.append(("part", part_diff.key, label, _side(part_diff.title, side)))
        blocks(part_diff.blocks)
    return rows


def _side(text: TextDiff, side: str) -> str:
    skip = "insert" if side == "old" else "delete"
    return "".join(
        "<ref>" if isinstance(s.atom, Ref) else s.text for s in text.spans if s.kind != skip
    )


def document_text(document: Document) -> list[tuple[str, ...]]:
    """The same rows read from a document tree, labels from its resolver."""
    resolver = Resolver(document)
    rows: list[tuple[str, ...]] = [("title", _inline_text(line)) for line in document.title]

    def blocks(seq: Sequence[Block], chain: tuple[int, ...]) -> None:
        for block in seq:
            if isinstance(block, Paragraph):
                rows.append(("p", _inline_text(block.inlines)))
            elif isinstance(block, OrderedList):
                for entry, (label, own) in zip(block.items, list_labels(block, chain), strict=True):
                    rows.append(("item", label or "•"))
                    blocks(entry.blocks, own)
            elif isinstance(block, BulletList):
                for entry in block.items:
                    rows.append(("item", "•"))
                    blocks(entry.blocks, chain)
            elif isinstance(block, Table):
                for table_row in block.rows:
                    rows.append(("row",))
                    for cell in table_row.cells:
                        rows.append(("cell",))
                        blocks(cell.blocks, ())
            elif isinstance(block, Indented):
                blocks(block.blocks, chain)

    for p in document.parts:
        rows.append(("part", p.key, resolver.part_label(p.key), _inline_text(p.title)))
        blocks(p.blocks, resolver.chain(p.key))
    return rows


def _inline_text(inlines: Sequence[Inline]) -> str:
    out = []
    for _marks, atom in flatten(inlines):
        if isinstance(atom, Text):
            out.append(atom.text)
        elif isinstance(atom, Break):
            out.append("\n")
        elif isinstance(atom, Blank):
            out.append(f"[{atom.prompt}]" if atom.prompt else EMPTY_BLANK)
        elif isinstance(atom, Param):
            out.append(f"[[{atom.name}]]")
        elif isinstance(atom, Ref):
            out.append("<ref>")
    return "".join(out)


def change_numbers(diff: DocumentDiff) -> Iterator[int]:
    for element in elements(diff):
        if element.change is not None:
            yield element.change
    for text in texts(diff):
        yield from (s.change for s in text.spans if s.change is not None)


# Generating document trees is what costs here (about a second a pair on two cores).
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), documents())
def test_both_sides_of_any_diff_give_back_both_documents(old, new):
    diff = diff_documents(old, new)

    assert diff_text(diff, "old") == document_text(old)
    assert diff_text(diff, "new") == document_text(new)
    assert sorted(set(change_numbers(diff))) == list(range(1, diff.changes + 1))
    assert diff_documents(new, new).changes == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.randoms(use_true_random=False))
def test_edits_of_a_document_give_back_both_sides(document, rng):
    edited = shuffle_and_edit(document, rng)

    diff = diff_documents(document, edited)

    assert diff_text(diff, "old") == document_text(document)
    assert diff_text(diff, "new") == document_text(edited)


def shuffle_and_edit(document: Document, rng) -> Document:
    """Random edits a negotiator makes: reorder, drop and duplicate items, rows and blocks,
    change a word."""

    def edit_seq(seq: Sequence) -> tuple:
        items = list(seq)
        if len(items) > 1 and rng.random() < 0.5:
            a, b = rng.randrange(len(items)), rng.randrange(len(items))
            items[a], items[b] = items[b], items[a]
        if items and rng.random() < 0.3:
            del items[rng.randrange(len(items))]
        if items and rng.random() < 0.3:
            items.insert(rng.randrange(len(items) + 1), rng.choice(items))
        return tuple(items)

    def blocks(seq: Sequence[Block]) -> tuple[Block, ...]:
        out = []
        for block in edit_seq(seq):
            if isinstance(block, Paragraph) and rng.random() < 0.3:
                block = Paragraph((*block.inlines, Text(" changed")))
            elif isinstance(block, (OrderedList, BulletList)):
                items = edit_seq(
                    [replace(i, blocks=blocks(i.blocks) or i.blocks) for i in block.items]
                )
                block = replace(block, items=items or block.items)
            elif isinstance(block, Table):
                rows = edit_seq(block.rows)
                block = replace(
                    block,
                    rows=rows or block.rows,
                    header_rows=min(block.header_rows, len(rows or block.rows)),
                )
            out.append(block)
        return tuple(out)

    parts = edit_seq(document.parts)
    parts = tuple(replace(p, blocks=blocks(p.blocks)) for p in parts)
    keys = [p.key for p in parts]
    unique = tuple(p for index, p in enumerate(parts) if p.key not in keys[:index])
    return replace(document, parts=unique)


# --- Speed -------------------------------------------------------------------------------------


def test_a_15000_word_document_diffs_well_under_a_second():
    from bench.bench_redline import agreement_pair

    pairs = agreement_pair()
    old_parts, new_parts = [], []
    for index, (old_text, new_text) in enumerate(pairs):
        for text, out in ((old_text, old_parts), (new_text, new_parts)):
            if text:
                paragraphs = text.split("\n\n")
                body = (para(paragraphs[0]), OrderedList(tuple(item(p) for p in paragraphs[1:])))
                out.append(
                    Part(f"clause-{index}", PartKind.SECTION, (Text(f"CLAUSE {index}"),), body)
                )
    old, new = Document(parts=tuple(old_parts)), Document(parts=tuple(new_parts))
    assert sum(len(t.split()) for _, t in pairs) > 14_000

    started = time.perf_counter()
    diff = diff_documents(old, new)
    html = redline_html(diff)
    elapsed = time.perf_counter() - started

    assert 3 <= diff.changes < 60 and "<ins" in html
    assert elapsed < 1.0  # about 0.15 s here; the bench's clause-by-clause redline is ~0.1 s


# --- HTML -------------------------------------------------------------------------------------


def test_user_text_is_escaped():
    old = (para("The <b>Licensee</b> & co."),)
    new = (para("The <script>alert(1)</script> & co."),)

    html = redline_html(diff_blocks(old, new))

    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&amp; co." in html


def test_every_change_has_one_id_and_pages_keep_ids_apart(licence):
    a, b, c = sub_items(licence).items
    new = replace_text(with_sub_items(licence, [b, c, a]), "secure", "safe")
    new = replace_refs(new, Ref("obligations", (1, 1)), old=Ref("obligations", (1, 2)))

    html = redline_html(diff_documents(licence, new), id_prefix="v2-chg-")

    ids = re.findall(r'id="(v2-chg-[^"]+)"', html)
    assert len(ids) == len(set(ids))
    changes = [i for i in ids if not i.startswith("v2-chg-part-")]
    assert changes == ["v2-chg-1", "v2-chg-2-from", "v2-chg-2"]  # safe; the move of (a)
    assert set(re.findall(r'data-change="(\d+)"', html)) == {"1", "2"}
    assert 'id="chg-' not in html


# --- Word -------------------------------------------------------------------------------------


def resolved(data: bytes, *, accept: bool) -> list[tuple[str, str]]:
    """(label, text) of each paragraph once every change is accepted (or rejected), labels as
    Word counts them: a tracked-changes reader of our own for the markup we write."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = etree.fromstring(package.read("word/document.xml"))
        numbering = etree.fromstring(package.read("word/numbering.xml"))
        styles = etree.fromstring(package.read("word/styles.xml"))
    gone, kept = (
        (("del", "moveFrom"), ("ins", "moveTo"))
        if accept
        else (("ins", "moveTo"), ("del", "moveFrom"))
    )
    for tr in list(root.iter(w("tr"))):
        if any(tr.find(f"w:trPr/w:{tag}", NS) is not None for tag in gone):
            tr.getparent().remove(tr)
    for p in list(root.iter(w("p"))):
        for tag in gone:
            for element in p.findall(f"w:{tag}", NS):
                p.remove(element)
        for tag in kept:
            for element in p.findall(f"w:{tag}", NS):
                for child in list(element):
                    element.addprevious(child)
                p.remove(element)
        ppr = p.find("w:pPr", NS)
        change = p.find("w:pPr/w:pPrChange", NS)
        if change is not None:  # a formatting change: the old formatting back, or kept
            if not accept:
                for child in list(ppr):
                    if child.tag != w("rPr"):
                        ppr.remove(child)
                ppr.extend(list(change.find("w:pPr", NS)))
            else:
                ppr.remove(change)
        mark = p.find("w:pPr/w:rPr", NS)
        if mark is not None and any(mark.find(f"w:{t}", NS) is not None for t in gone):
            assert not "".join(p.itertext()).strip(), "a removed paragraph mark with text left"
            p.getparent().remove(p)
    counter = Counter(WordNumbering(numbering, styles))
    out = []
    for p in paragraphs_in_order(root.find(w("body"))):
        found = counter.advance(p)
        text = "".join(t.text or "" for t in p.iter(w("t"), w("delText")))
        if text or found:
            out.append((found.label if found else "", text))
    return out


def word_text(data: bytes) -> list[tuple[str, str]]:
    return resolved(data, accept=True)


def edited_licence(licence: Document) -> Document:
    """An insertion, a deletion, a move, row changes and word changes, as a negotiation does."""
    a, b, c = sub_items(licence).items
    new = with_sub_items(licence, [b, item("keep a register;"), c, a])
    (table,) = part(licence, schedule_key(licence)).blocks
    assert isinstance(table, Table)
    header, student, grade, school = table.rows
    new = with_rows(new, [header, student, row("Postcode", "Home postcode"), school])
    return replace_text(new, "secure", "safe and secure")


def test_the_word_redline_has_tracked_changes_numbering_and_tables(licence):
    new = edited_licence(licence)
    data = docx_redline(diff_documents(licence, new))

    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    assert body.findall(".//w:ins", NS) and body.findall(".//w:del", NS)
    assert body.findall(".//w:delText", NS)
    assert body.findall(".//w:numPr", NS)
    assert len(document.tables) == 1
    assert body.findall(".//w:trPr/w:ins", NS) and body.findall(".//w:trPr/w:del", NS)
    assert body.findall(".//w:pPr/w:rPr/w:ins", NS)
    sources = body.findall(".//w:moveFromRangeStart", NS)
    targets = body.findall(".//w:moveToRangeStart", NS)
    assert len(sources) == len(targets) == 1
    assert sources[0].get(w("name")) == targets[0].get(w("name"))
    ends = {w("moveFromRangeEnd"), w("moveToRangeEnd"), w("bookmarkEnd")}
    ids = [e.get(w("id")) for e in body.iter() if e.get(w("id")) and e.tag not in ends]
    assert len(ids) == len(set(ids))  # every revision has an id of its own


def test_accepting_every_change_gives_the_new_document_and_rejecting_the_old(licence):
    new = edited_licence(licence)
    data = docx_redline(diff_documents(licence, new))

    assert resolved(data, accept=True) == word_text(docx_export(new))
    assert resolved(data, accept=False) == word_text(docx_export(licence))


def test_a_clause_that_lost_its_number_gets_it_back_when_rejected(licence):
    new = with_part(licence, "termination", lambda p: replace(p, kind=PartKind.UNNUMBERED))
    data = docx_redline(diff_documents(licence, new))

    assert diff_documents(licence, new).changes == 0  # a label alone is not a change
    assert ("", "TERMINATION") in resolved(data, accept=True)
    assert ("3.", "TERMINATION") in resolved(data, accept=False)
    # References are text: "under Section 3" reads "under Section" on both (module docstring).
    assert resolved(data, accept=True) == word_text(docx_export(new))


def test_accepting_the_corpus_redline_gives_the_new_agreement(master, dua):
    data = docx_redline(diff_documents(master.document, dua.document))

    assert resolved(data, accept=True) == word_text(docx_export(dua.document))


def test_ferpa_in_word_is_three_tracked_changes(master, dua):
    old = master.document
    new = with_part(old, FERPA, lambda p: replace(p, blocks=part(dua.document, FERPA).blocks))

    body = etree.fromstring(
        zipfile.ZipFile(io.BytesIO(docx_redline(diff_documents(old, new)))).read(
            "word/document.xml"
        )
    )

    changes = [
        ("".join(e.itertext()), etree.QName(e).localname) for e in body.iter(w("ins"), w("del"))
    ]
    assert changes == [
        ("Education", "del"),
        ("Educational", "ins"),
        (".", "ins"),
        (", and other applicable laws,", "del"),
    ]


soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")


@soffice
def test_libreoffice_renders_the_word_redline(tmp_path, licence):
    """Look at it once: tmp_path keeps redline.pdf and redline-1.png."""
    (tmp_path / "redline.docx").write_bytes(
        docx_redline(diff_documents(licence, edited_licence(licence)))
    )

    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "redline.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (tmp_path / "redline.pdf").stat().st_size > 5_000
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                str(tmp_path / "redline.pdf"),
                str(tmp_path / "redline"),
            ],
            check=True,
            timeout=120,
        )
        assert next(tmp_path.glob("redline-*1.png")).stat().st_size > 1_000


_UNO_SCRIPT = """
import os, subprocess, sys, time
import uno
from com.sun.star.beans import PropertyValue

def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

profile, jobs = sys.argv[1], sys.argv[2:]
pipe = "redline%d" % os.getpid()
office = subprocess.Popen(["soffice", "-env:UserInstallation=file://" + profile, "--headless",
                           "--invisible", "--norestore", "--accept=pipe,name=%s;urp;" % pipe])
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            context = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.5)
    manager = context.ServiceManager
    desktop = manager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    dispatcher = manager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", context)
    for job in jobs:
        source, action, target = job.split("|")
        document = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(source), "_blank", 0, (prop("Hidden", True),))
        if action != "none":
            command = ".uno:%sAllTrackedChanges" % ("Accept" if action == "accept" else "Reject")
            frame = document.getCurrentController().getFrame()
            dispatcher.executeDispatch(frame, command, "", 0, ())
        document.storeToURL(uno.systemPathToFileUrl(target),
            (prop("FilterName", "Text (encoded)"), prop("FilterOptions", "UTF8")))
        document.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        office.wait(timeout=60)
    except subprocess.TimeoutExpired:
        office.kill()
"""


def _has_uno() -> bool:
    if shutil.which("soffice") is None or not Path("/usr/bin/python3").exists():
        return False
    found = subprocess.run(
        ["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=60, check=False
    )
    return found.returncode == 0


@pytest.mark.skipif(not _has_uno(), reason="LibreOffice with its Python bridge is not installed")
def test_libreoffice_accepting_or_rejecting_every_change_gives_each_document(tmp_path, licence):
    """LibreOffice itself reads our revisions: Accept All gives the text (list labels
    included) LibreOffice shows for the Word export of the new document, Reject All that of
    the old one."""
    new = edited_licence(licence)
    (tmp_path / "redline.docx").write_bytes(docx_redline(diff_documents(licence, new)))
    (tmp_path / "old.docx").write_bytes(docx_export(licence))
    (tmp_path / "new.docx").write_bytes(docx_export(new))
    (tmp_path / "uno_script.py").write_text(_UNO_SCRIPT, encoding="utf-8")
    jobs = [
        ("redline", "accept", "accepted"),
        ("redline", "reject", "rejected"),
        ("old", "none", "old"),
        ("new", "none", "new"),
    ]
    subprocess.run(
        [
            "/usr/bin/python3",
            str(tmp_path / "uno_script.py"),
            str(tmp_path / "profile"),
            *(f"{tmp_path / a}.docx|{action}|{tmp_path / b}.txt" for a, action, b in jobs),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )

    def lines(name: str) -> list[str]:
        text = (tmp_path / f"{name}.txt").read_text(encoding="utf-8-sig")
        return [" ".join(line.split()) for line in text.splitlines() if line.strip()]

    assert lines("accepted") == lines("new")
    assert lines("rejected") == lines("old")
    assert "(d) use the Data only for the Project;" in lines("accepted")
