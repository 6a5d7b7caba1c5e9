"""The Word export as LibreOffice shows it: every heading, list label, table cell and blank
reads exactly as our plain text does, so Word's own numbering prints our labels.

Needs ``soffice`` (Debian: libreoffice-writer-nogui); skipped without it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_import import docx_import
from agreements.text.document.plain import plain_text
from agreements.text.document.word_numbering import (
    NS,
    Counter,
    WordNumbering,
    paragraphs_in_order,
    w,
)
from tests.agreements.document.test_docx_import import decimal_agreement
from tests.agreements.document.word_strategies import word_documents

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is not installed"
)


def _lines(text: str) -> list[str]:
    """Non-empty lines, white space collapsed; any bullet glyph as "•" (LibreOffice's text
    export does not always keep the glyph, and a bullet's glyph is not part of the tree)."""
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]
    return [re.sub(r"^[\u25e6\u25aa] ", "\u2022 ", line) for line in lines]


def _missing(ours: list[str], shown: list[str]) -> list[str]:
    """Our lines that LibreOffice does not show, in order."""
    missing, position = [], 0
    for line in ours:
        try:
            position = shown.index(line, position) + 1
        except ValueError:
            missing.append(line)
    return missing


def _convert(tmp_path: Path, names: list[str]) -> None:
    subprocess.run(  # noqa: S603 - a fixed program on files we wrote
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "txt:Text (encoded):UTF8",
            "--outdir",
            str(tmp_path),
            *(str(tmp_path / f"{name}.docx") for name in names),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def _shown(tmp_path: Path, name: str) -> list[str]:
    return _lines((tmp_path / f"{name}.txt").read_text(encoding="utf-8-sig"))


def test_libreoffice_shows_every_label_as_we_compute_it(tmp_path, master, dua):
    documents = {
        "master": master.document,
        "dua": dua.document,
        "decimal": docx_import(decimal_agreement()).document,
    }
    for name, document in documents.items():
        (tmp_path / f"{name}.docx").write_bytes(docx_export(document))
    _convert(tmp_path, list(documents))
    for name, document in documents.items():
        ours = _lines(plain_text(document))
        assert _missing(ours, _shown(tmp_path, name)) == [], name


def _numbered_lines(data: bytes) -> list[str]:
    """Each paragraph of a .docx as LibreOffice writes it to text: the label our numbering
    engine gives it, then its text (a line break starts a new line)."""
    package = zipfile.ZipFile(io.BytesIO(data))
    body = etree.fromstring(package.read("word/document.xml")).find("w:body", NS)
    numbering = WordNumbering(
        etree.fromstring(package.read("word/numbering.xml")),
        etree.fromstring(package.read("word/styles.xml")),
    )
    counter = Counter(numbering)
    out: list[str] = []
    for paragraph in paragraphs_in_order(body):
        found = counter.advance(paragraph)
        text = "".join(
            "\n" if el.tag == w("br") else "\t" if el.tag == w("tab") else el.text or ""
            for el in paragraph.iter(w("t"), w("br"), w("tab"))
        )
        lines = text.split("\n")
        if found is not None:
            lines[0] = f"{found.label} {lines[0]}"
        out.extend(lines)
    return _lines("\n".join(out))


def test_libreoffice_counts_generated_lists_as_our_engine_does(tmp_path):
    """Restarts, explicit labels, outline numbering, lists in cells: what the engine says Word
    shows (and the export checked against our labels) is what LibreOffice shows."""
    documents: list[bytes] = []

    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(word_documents())
    def collect(document):
        documents.append(docx_export(document))

    collect()
    names = [f"generated-{index}" for index in range(len(documents))]
    for name, data in zip(names, documents, strict=True):
        (tmp_path / f"{name}.docx").write_bytes(data)
    _convert(tmp_path, names)
    for name, data in zip(names, documents, strict=True):
        assert _missing(_numbered_lines(data), _shown(tmp_path, name)) == [], name
