"""The corpus agreements written as a lawyer's Word file (section letters and list numbers from
Word's automatic numbering) import to the same document as their Markdown."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agreements.text.document.docx_import import docx_import
from agreements.text.document.model import Document, Table
from agreements.text.document.plain import outline, plain_text
from tests.agreements.document.tree_diff import tree_diff
from tests.agreements.document.word_authored import word_file


def without_widths(document: Document) -> Document:
    """Word always stores column widths; Markdown pipe tables have none."""

    def blocks(seq):
        return tuple(replace(b, widths=()) if isinstance(b, Table) else b for b in seq)

    return replace(
        document, parts=tuple(replace(p, blocks=blocks(p.blocks)) for p in document.parts)
    )


@pytest.mark.parametrize("headings", ["bold", "styles"])
def test_master_agreement_with_auto_numbered_letters_and_lists(master, headings):
    source = master.document
    report = docx_import(word_file(source, headings=headings))
    assert report.ok, report.messages()
    imported = report.document
    labels = [(p["kind"], p["label"], p["title"]) for p in outline(imported)]
    assert labels == [(p["kind"], p["label"], p["title"]) for p in outline(source)]
    assert [label for kind, label, _ in labels if kind == "section"] == [
        f"{c}." for c in "ABCDEFGHIJ"
    ]
    assert plain_text(imported) == plain_text(source)
    assert without_widths(imported) == without_widths(source), tree_diff(
        without_widths(imported), without_widths(source)
    )


@pytest.mark.parametrize("headings", ["bold", "styles"])
def test_data_use_agreement_with_blanks_tables_and_letters_a_to_l(dua, headings):
    source = dua.document
    report = docx_import(word_file(source, headings=headings))
    assert report.ok, report.messages()
    imported = report.document
    sections = [p["label"] for p in outline(imported) if p["kind"] == "section"]
    assert sections == [f"{c}." for c in "ABCDEFGHIJKL"]
    assert plain_text(imported) == plain_text(source)
    assert without_widths(imported) == without_widths(source), tree_diff(
        without_widths(imported), without_widths(source)
    )
