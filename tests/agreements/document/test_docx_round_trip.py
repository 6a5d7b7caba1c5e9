"""docx_import(docx_export(tree)) is the same tree: the corpus agreements and generated trees."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, assume, given, settings

from agreements.text.document.canonical import to_json
from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_import import docx_import
from agreements.text.document.model import Document, Text
from agreements.text.document.normalise import normalise
from agreements.text.document.plain import plain_text
from tests.agreements.document.strategies import documents
from tests.agreements.document.tree_diff import tree_diff
from tests.agreements.document.word_strategies import word_documents

MARKUP = ("**", "{.ul}", "^th^", "+---", "|---", "\\.", "[[Fill")


def document_text(data: bytes) -> str:
    """Every character Word shows in the body (w:t), joined."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    return "".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))


@pytest.mark.parametrize("name", ["master", "dua"])
def test_corpus_agreements_survive_word_export_and_import(request, name):
    tree = normalise(request.getfixturevalue(name).document)
    data = docx_export(tree)
    report = docx_import(data)
    assert report.ok, report.messages()
    assert report.document == tree, tree_diff(report.document, tree)
    assert to_json(report.document) == to_json(tree)
    assert plain_text(report.document) == plain_text(tree)


@pytest.mark.parametrize("name", ["master", "dua"])
def test_the_word_export_has_no_markup_characters(request, name):
    text = document_text(docx_export(request.getfixturevalue(name).document))
    for markup in MARKUP:
        assert markup not in text
    assert not any(line.startswith("> ") for line in text.splitlines())


REFERENCE_WORDS = re.compile(
    r"\b(?:Section|Article|Paragraph|Clause|Attachment|Exhibit|Schedule|Appendix|Annex|"
    r"Addendum)\b",
    re.IGNORECASE,
)


def _texts(value) -> str:
    """All Text node strings of a tree (not reference prefixes)."""
    if isinstance(value, Text):
        return value.text + " "
    if isinstance(value, tuple):
        return "".join(_texts(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return "".join(_texts(getattr(value, name)) for name in value.__dataclass_fields__)
    return ""


def _round_trip(document: Document) -> None:
    # Hypothesis also draws words from our own source ("Article"): text that reads as a
    # reference is linked on import, as it should be, so it is not a round-trip case.
    assume(not REFERENCE_WORDS.search(_texts(document.parts)))
    tree = normalise(document)
    report = docx_import(docx_export(tree))
    assert report.document == tree, tree_diff(report.document, tree)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_markdown_shaped_trees_survive_word(document):
    _round_trip(document)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_documents())
def test_word_shaped_trees_survive_word(document):
    """Explicit labels, outline numbering, merged cells, lists in cells, nested emphasis."""
    _round_trip(document)
