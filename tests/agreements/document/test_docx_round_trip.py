"""docx_import(docx_export(tree)) is the same tree: the corpus agreements and generated trees."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from agreements.text.document.canonical import to_json
from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_import import docx_import
from agreements.text.document.normalise import normalise
from agreements.text.document.plain import plain_text
from tests.agreements.document.tree_diff import tree_diff

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
