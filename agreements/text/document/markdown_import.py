"""Markdown -> document tree: CommonMark, pandoc Markdown and pandoc's output from Word.

Pandoc (bundled by ``pypandoc-binary``) reads the text with ``--sandbox`` (no file or network
access) as ``markdown`` without ``smart`` (quotes and dashes stay as typed), ``citations``,
``tex_math_dollars``/``raw_tex`` (a "$" is money) and ``auto_identifiers`` (only ``{#key}``
sets a key); its JSON AST goes through :mod:`~agreements.text.document.pandoc_ast`, then the
outline is built (:mod:`~agreements.text.document.outline_builder`: title, preamble, sections,
unnumbered parts, attachments; :mod:`~agreements.text.document.typed_lists`: typed numbers,
indented sub-items; :mod:`~agreements.text.document.fillins`: blanks, parameters, references).

``import_markdown(text)`` never raises on bad input: it returns an
:class:`~agreements.text.document.import_report.ImportReport` whose ``document`` is the tree
and whose findings list everything not understood or guessed, with where it is.
"""

from __future__ import annotations

import json
import subprocess

from agreements.text.document.import_report import ImportReport, refused
from agreements.text.document.outline_builder import build_document
from agreements.text.document.pandoc_ast import PandocReader

MAX_MARKDOWN_CHARS = 2_000_000
PANDOC_TIMEOUT_SECONDS = 60
READER = "markdown-smart-citations-tex_math_dollars-raw_tex-auto_identifiers"


def pandoc_path() -> str:
    import pypandoc  # imported late: only the importers and exporters need pandoc

    return pypandoc.get_pandoc_path()


def run_pandoc(
    source: str | bytes, *, reader: str, writer: str, extra: tuple[str, ...] = ()
) -> str:
    """Run the bundled pandoc over ``source``; ``RuntimeError`` with its message on failure."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    try:
        done = subprocess.run(  # noqa: S603 - a fixed executable and fixed arguments
            [pandoc_path(), "--sandbox", "-f", reader, "-t", writer, *extra],
            input=data,
            capture_output=True,
            timeout=PANDOC_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"pandoc took longer than {PANDOC_TIMEOUT_SECONDS} s") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[:500]
        raise RuntimeError(f"pandoc could not read the file: {message}")
    return done.stdout.decode("utf-8")


def import_markdown(text: str, *, max_chars: int = MAX_MARKDOWN_CHARS) -> ImportReport:
    """Read Markdown into a document tree (module docstring)."""
    if len(text) > max_chars:
        return refused(f"The text is {len(text):,} characters long; the limit is {max_chars:,}.")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        return refused("This is not a text file: upload Markdown (.md) or Word (.docx).")
    if not text.strip():
        return refused("The file is empty.")
    try:
        ast = json.loads(run_pandoc(text, reader=READER, writer="json"))
    except (RuntimeError, ValueError) as error:
        return refused(str(error))
    report = ImportReport()
    blocks = PandocReader(report).document(ast)
    report.document = build_document(blocks, report)
    return report
