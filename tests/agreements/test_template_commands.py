"""``manage.py template_import`` and ``template_export``: the real agreements of shared/corpus
imported from Markdown and from Word (pandoc's, and a lawyer's with Word auto-numbering),
published, exported as Markdown, Word and PDF, and imported again to the same text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docx
import pypandoc
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agreements.models import DSATemplate, TemplateVersion, VersionStatus
from agreements.standards.services import version_document
from agreements.text.document import canonical
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.plain import outline
from collaboratory.errors import DomainError
from tests.agreements.document.conftest import DUA, MASTER, _corpus
from tests.agreements.document.walk import MARKUP
from tests.agreements.document.word_authored import word_file

# What the sources say (tests/agreements/document/test_corpus_import.py has the titles).
SECTION_LETTERS = {DUA: "ABCDEFGHIJKL", MASTER: "ABCDEFGHIJ"}
ATTACHMENTS = {
    DUA: [
        ("ATTACHMENT A:", "SPECIFIC RECORDS AND DATA ELEMENTS"),
        ("ATTACHMENT B:", "LIST OF STAFF WITH ACCESS TO SFUSD DATA"),
    ],
    MASTER: [("ATTACHMENT A:", "SPECIFIC RECORDS OR DATA ELEMENTS")],
}
UNNUMBERED = {DUA: [], MASTER: ["PARTY SIGNATURES TO THE AGREEMENT"]}
# The termination section of both: "1." with (a) and (b) under it, then "2." and "3.".
TERMINATION = [
    {"label": "1.", "items": [{"label": "a."}, {"label": "b."}]},
    {"label": "2."},
    {"label": "3."},
]


@pytest.fixture
def collaboratory(demo):
    return demo["collaboratory"]


def run(command: str, *args: Any) -> tuple[str, str]:
    """Run a management command; (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def import_file(path: Path, template: str = "sfusd", *extra: str) -> tuple[dict, str]:
    """template_import into the demo collaboratory; (printed JSON, stderr)."""
    out, err = run(
        "template_import", path, "--collaboratory", "aims", "--template", template, *extra
    )
    return json.loads(out), err


def source_outline(name: str) -> list[dict]:
    return outline(import_markdown(_corpus(name)).document)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def pandoc_docx(tmp_path: Path, name: str) -> Path:
    """The corpus Markdown as pandoc writes it to Word (bold headings, Word lists, tables)."""
    out = tmp_path / (Path(name).stem + ".docx")
    pypandoc.convert_text(_corpus(name), "docx", format="markdown", outputfile=str(out))
    return out


def lawyers_docx(tmp_path: Path, name: str) -> Path:
    """The corpus agreement as a lawyer's Word file: section letters and list numbers from
    Word's automatic numbering, none of them in the text."""
    document = import_markdown(_corpus(name)).document
    return write(tmp_path, Path(name).stem + "-word.docx", word_file(document, headings="styles"))


def assert_outline_of_the_source(printed: dict, name: str) -> None:
    parts = printed["outline"]
    assert [p["label"] for p in parts if p["kind"] == "section"] == [
        f"{letter}." for letter in SECTION_LETTERS[name]
    ]
    assert [(p["label"], p["title"]) for p in parts if p["kind"] == "attachment"] == ATTACHMENTS[
        name
    ]
    assert [(p["label"], p["title"]) for p in parts if p["kind"] == "unnumbered"] == [
        ("", title) for title in UNNUMBERED[name]
    ]
    assert parts[0]["kind"] == "preamble" and parts[0]["label"] == ""
    termination = next(p for p in parts if p["title"] == "TERMINATION")
    assert termination["items"] == TERMINATION
    # Every part, title, key and list label as the library reads the Markdown source.
    assert parts == source_outline(name)
    assert all(set(p) == {"kind", "label", "title", "key", "items"} for p in parts)


# --- template_import -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [DUA, MASTER])
@pytest.mark.parametrize("via", ["markdown", "pandoc word", "word auto-numbering"])
def test_it_imports_the_corpus_and_prints_the_version_and_its_outline(
    collaboratory, tmp_path, name, via
):
    path = {
        "markdown": lambda: write(tmp_path, name, _corpus(name)),
        "pandoc word": lambda: pandoc_docx(tmp_path, name),
        "word auto-numbering": lambda: lawyers_docx(tmp_path, name),
    }[via]()
    template = DSATemplate.objects.create(collaboratory=collaboratory, name="SFUSD", slug="sfusd")

    printed, _ = import_file(path)

    version = TemplateVersion.objects.get(pk=printed["version_id"])
    assert version.template == template and version.status == VersionStatus.DRAFT
    assert printed["number"] == version.number == 1
    assert printed["status"] == "draft" and printed["title"] == version.title
    assert printed["template"] == "sfusd" and printed["template_created"] is False
    assert version.title.startswith(("DATA USE AGREEMENT", "AGREEMENT FOR CONFIDENTIAL DATA"))
    assert_outline_of_the_source(printed, name)
    assert printed["outline"] == outline(version_document(version))


def test_section_h_of_the_data_use_agreement_lists_its_fourteen_items(collaboratory, tmp_path):
    printed, _ = import_file(write(tmp_path, DUA, _corpus(DUA)), "sfusd", "--create")
    section_h = next(p for p in printed["outline"] if p["label"] == "H.")
    assert section_h["key"] == "stanford-research-organization-responsibilities"
    assert [item["label"] for item in section_h["items"]] == [f"{n}." for n in range(1, 15)]


def test_the_master_agreement_keeps_its_decimal_scope_numbers(collaboratory, tmp_path):
    printed, _ = import_file(lawyers_docx(tmp_path, MASTER), "msa", "--create")
    scope = next(p for p in printed["outline"] if p["title"] == "SCOPE")
    labels = [item["label"] for item in scope["items"]]
    assert labels[:4] == ["1.01", "1.02", "1.03", "2.01"]


def test_warnings_and_notes_of_the_import_go_to_stderr(collaboratory, tmp_path):
    _, err = import_file(write(tmp_path, MASTER, _corpus(MASTER)), "msa", "--create")
    assert "warning: B. PURPOSE: “Exhibit A” names no part of this document" in err
    _, err = import_file(write(tmp_path, DUA, _corpus(DUA)), "sfusd", "--create")
    assert "note: 26 bold or italic runs of only spaces" in err
    assert "Created the template “DATA USE AGREEMENT BETWEEN" in err


def test_create_makes_the_template_once_then_adds_versions(collaboratory, tmp_path):
    path = write(tmp_path, DUA, _corpus(DUA))
    first, _ = import_file(path, "sfusd-dua", "--create", "--name", "SFUSD data use")
    second, err = import_file(path, "sfusd-dua", "--create", "--name", "ignored")
    template = DSATemplate.objects.get(collaboratory=collaboratory, slug="sfusd-dua")
    assert template.name == "SFUSD data use"
    assert (first["template_created"], second["template_created"]) == (True, False)
    assert (first["number"], second["number"]) == (1, 2)
    assert "Created the template" not in err


def test_publish_publishes_the_new_version(collaboratory, tmp_path):
    printed, err = import_file(
        write(tmp_path, MASTER, _corpus(MASTER)), "msa", "--create", "--publish"
    )
    version = TemplateVersion.objects.get(pk=printed["version_id"])
    assert version.is_published and version.published_at is not None
    assert printed["status"] == "published"
    assert "published" in err


# --- refusals: a clear message, a non-zero exit, nothing created -------------------------------


def counts() -> tuple[int, int]:
    return DSATemplate.objects.count(), TemplateVersion.objects.count()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing file", "no such file"),
        ("unknown collaboratory", "No collaboratory with the slug “nowhere”"),
        ("unknown template", "has no template “no-such-template” (known: standard-dsa)"),
        ("not markdown or word", "is neither Markdown nor Word"),
        ("not really word", "not a Word document"),
        ("no clauses", "No section headings found"),
        ("unknown placeholder", "uses the unknown placeholder [[no_such_value]]"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_created(
    collaboratory, tmp_path, case, expected
):
    collaboratory_slug, template, extra = "aims", "no-such-template", ["--create"]
    if case == "missing file":
        path = tmp_path / "absent.md"
    elif case == "unknown collaboratory":
        path, collaboratory_slug = write(tmp_path, "a.md", _corpus(MASTER)), "nowhere"
    elif case == "unknown template":
        path, extra = write(tmp_path, "a.md", _corpus(MASTER)), []
    elif case == "not markdown or word":
        path = write(tmp_path, "agreement.pdf", b"%PDF-1.7\n")
    elif case == "not really word":
        path = write(tmp_path, "agreement.docx", b"this is not a zip")
    elif case == "no clauses":
        path = write(tmp_path, "empty.md", "# Just a title\n")
    else:
        text = "# T\n\n## A. Term {#term}\n\nNotice within [[no_such_value]] days.\n"
        path, extra = write(tmp_path, "t.md", text), ["--create", "--publish"]
    before = counts()
    with pytest.raises(CommandError) as error:
        run(
            "template_import",
            path,
            "--collaboratory",
            collaboratory_slug,
            "--template",
            template,
            *extra,
        )
    assert expected in str(error.value)
    assert counts() == before


def test_a_refused_publication_leaves_neither_template_nor_version(
    collaboratory, tmp_path, monkeypatch
):
    from agreements.management.commands import template_import as command

    def refuse(**kwargs):
        raise DomainError(["Clause “term” is not ready."], code="refused")

    monkeypatch.setattr(command, "template_version_publish", refuse)
    before = counts()
    with pytest.raises(CommandError) as error:
        import_file(write(tmp_path, DUA, _corpus(DUA)), "new", "--create", "--publish")
    assert "could not be published:\n  Clause “term” is not ready." in str(error.value)
    assert counts() == before


def test_a_refused_import_still_reports_its_warnings(collaboratory, tmp_path):
    """A file read with a warning and refused for an unknown placeholder: the warning still
    reaches stderr, the refusal names the placeholder, nothing stays behind."""
    text = "# T\n\n## A. Term {#term}\n\nWithin [[no_such_value]] days, as Section Q says.\n"
    err = io.StringIO()
    before = counts()
    with pytest.raises(CommandError, match="no_such_value"):
        call_command(
            "template_import",
            str(write(tmp_path, "t.md", text)),
            "--collaboratory=aims",
            "--template=t",
            "--create",
            "--publish",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "warning: A. Term: “Section Q” names no part of this document" in err.getvalue()
    assert counts() == before


def test_the_command_line_exits_non_zero_with_the_message_on_stderr(tmp_path):
    """Through manage.py itself (no database needed: the file is refused first)."""
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "template_import",
            str(tmp_path / "absent.docx"),
            "--collaboratory=aims",
            "--template=x",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test"},
    )
    assert done.returncode == 1
    assert "absent.docx: no such file." in done.stderr and done.stdout == ""


# --- template_export -------------------------------------------------------------------------


def export(version_id: int, fmt: str, out: Path) -> Path:
    printed, _ = run("template_export", version_id, "--format", fmt, "--out", out)
    return Path(printed.strip())


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


@pytest.mark.parametrize("name", [DUA, MASTER])
def test_markdown_to_word_export_and_back_is_the_same_text(collaboratory, tmp_path, name):
    first, _ = import_file(write(tmp_path, name, _corpus(name)), "t", "--create")
    original = version_document(TemplateVersion.objects.get(pk=first["version_id"]))
    for fmt in ("docx", "md"):
        written = export(first["version_id"], fmt, tmp_path / f"out.{fmt}")
        again, _ = import_file(written, "t")
        reimported = version_document(TemplateVersion.objects.get(pk=again["version_id"]))
        assert canonical.to_json(reimported) == canonical.to_json(original), fmt
        assert again["outline"] == first["outline"]


def test_exports_are_files_without_markup_in_word_and_pdf(collaboratory, tmp_path):
    printed, _ = import_file(write(tmp_path, DUA, _corpus(DUA)), "sfusd", "--create")
    version_id = printed["version_id"]
    md = export(version_id, "md", tmp_path)  # a folder: the file is named after the template
    assert md.name.endswith("-v1.md") and md.parent == tmp_path
    assert md.read_text().count("## ") >= 14

    word = export(version_id, "docx", tmp_path / "dua.docx")
    document = docx.Document(str(word))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    for markup in (*MARKUP, "{#", "[[", "]{"):
        assert markup not in text and markup not in cells, markup
    assert "THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT" in text
    assert "Chief Technology Officer and Assistant Dean" in cells
    assert "Name of Staff Member" in cells
    numbered = [
        p for p in document.paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None
    ]
    assert len(numbered) > 40  # section letters, list numbers and bullets are Word's own

    pdf = export(version_id, "pdf", tmp_path / "dua.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    words = pdf_text(pdf)
    for markup in MARKUP:
        assert markup not in words, markup
    assert not any(line.startswith("> ") for line in words.splitlines())
    flat = " ".join(words.split())
    for expected in (
        "DATA USE AGREEMENT",
        "A. THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT",
        "L. PARTY SIGNATURES TO THE AGREEMENT",
        "ATTACHMENT B: LIST OF STAFF WITH ACCESS TO SFUSD DATA",
        "Chief Technology Officer and Assistant Dean",
        "Name of Staff Member",
        "14. Stanford Research Organization/Stanford Researcher agrees that the confidential",
        "version 1",
    ):
        assert expected in flat, expected


def test_export_refuses_an_unknown_version_or_folder(collaboratory, tmp_path):
    with pytest.raises(CommandError, match="No template version with the id 999999"):
        export(999999, "md", tmp_path / "x.md")
    version = TemplateVersion.objects.filter(template__collaboratory=collaboratory).first()
    with pytest.raises(CommandError, match="no such folder"):
        export(version.pk, "md", tmp_path / "missing" / "x.md")
    assert not (tmp_path / "x.md").exists()
    with pytest.raises(CommandError, match="invalid choice"):
        export(version.pk, "html", tmp_path / "x.html")


def test_export_is_recorded_in_the_audit_chain(collaboratory, tmp_path):
    from audit.models import AuditAction, AuditEntry

    version = TemplateVersion.objects.filter(template__collaboratory=collaboratory).first()
    export(version.pk, "docx", tmp_path / "v.docx")
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == AuditAction.EXPORT and entry.object_id == str(version.pk)
    assert entry.actor_label == "manage.py template_export"
    assert entry.payload == {"export": "template", "format": "docx", "via": "command"}
