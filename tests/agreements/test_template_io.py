"""Import and export of DSA templates as Markdown and Word, without the database."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from agreements.standards.docx_import import parse_docx
from agreements.standards.limits import DEFAULT_MAX_UNCOMPRESSED_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from agreements.standards.markdown_import import parse_markdown
from agreements.standards.report import MAX_ISSUES, ImportReport, Issue, ParsedClause, derive_key
from agreements.standards.upload import parse_upload
from agreements.text.document.docx_export import docx_export
from agreements.text.document.markdown_export import export_markdown
from agreements.text.document.markdown_import import import_markdown

MIB = 1024 * 1024


def messages(issues: list[Issue]) -> str:
    return "\n".join(str(issue) for issue in issues)


def only_error(report: ImportReport) -> Issue:
    assert not report.clauses or report.errors, "expected the import to fail"
    [error] = report.errors
    return error


# -- Markdown, headings style -----------------------------------------------------------------

GOOD_MARKDOWN = """\
# Standard Data-Sharing Agreement

## 1. Definitions {#definitions}

"District" means [[district_name]].

"Research Partner" means [[research_org_name]].

## 2. Data security

Each Recipient will protect Shared Data.

### Encryption

Data is encrypted at rest and in transit.

```text
## this is code, not a clause
```

## 2.1 Breach notification {#breach-notice}

Notice within [[breach_notice_hours]] hours.

## A. Retention {#data-retention}

Destroyed [[retention_days]] days after [[expires_on]].
"""


def test_it_imports_a_good_markdown_template() -> None:
    report = parse_markdown(GOOD_MARKDOWN)

    assert report.ok, messages(report.errors)
    assert report.warnings == []
    assert report.style == "headings"
    assert report.title == "Standard Data-Sharing Agreement"
    assert report.clauses == [
        ParsedClause(
            key="definitions",
            number="1",
            heading="Definitions",
            body='"District" means [[district_name]].\n\n'
            '"Research Partner" means [[research_org_name]].',
        ),
        ParsedClause(
            key="data-security",
            number="2",
            heading="Data security",
            body="Each Recipient will protect Shared Data.\n\n### Encryption\n\n"
            "Data is encrypted at rest and in transit.\n\n"
            "```text\n## this is code, not a clause\n```",
        ),
        ParsedClause(
            key="breach-notice",
            number="2.1",
            heading="Breach notification",
            body="Notice within [[breach_notice_hours]] hours.",
        ),
        ParsedClause(
            key="data-retention",
            number="A",
            heading="Retention",
            body="Destroyed [[retention_days]] days after [[expires_on]].",
        ),
    ]


def test_derived_keys_leave_the_number_out_so_renumbering_keeps_them() -> None:
    before = parse_markdown("## 4. Data Security & Encryption\n\nx\n\n## 5. Term\n\ny\n")
    after = parse_markdown("## 7. Data Security & Encryption\n\nx\n\n## IX. Term\n\ny\n")
    assert [c.key for c in before.clauses] == ["data-security-encryption", "term"]
    assert [c.key for c in after.clauses] == ["data-security-encryption", "term"]
    assert [c.number for c in after.clauses] == ["7", "IX"]


def test_derived_keys_are_slugs_of_at_most_fifty_characters_cut_at_a_hyphen() -> None:
    assert derive_key("Attachment B: List of Staff with Access to SFUSD Data") == (
        "attachment-b-list-of-staff-with-access-to-sfusd"
    )
    assert derive_key("Données  personnelles — élèves_mineurs") == (
        "donnees-personnelles-eleves-mineurs"
    )
    assert derive_key("§§ —") == ""


def test_crlf_and_a_byte_order_mark_are_accepted() -> None:
    report = parse_markdown("\ufeff# T\r\n\r\n## 1. Term\r\n\r\nOne.\r\nTwo.\r\n")
    assert report.ok
    assert report.title == "T"
    assert report.clauses == [ParsedClause("term", "1", "Term", "One.\nTwo.")]


def test_duplicate_keys_are_an_error_naming_both_lines() -> None:
    text = "## 1. Term\n\nx\n\n## 2. Scope {#term}\n\ny\n\n## 3. Term\n\nz\n"
    report = parse_markdown(text)

    assert not report.ok
    assert [(e.line, e.clause_key) for e in report.errors] == [(5, "term"), (9, "term")]
    assert "Clause key 'term' is used twice: line 1 and line 5" in report.errors[0].message
    assert "line 1 and line 9" in report.errors[1].message
    assert "{#term-2}" in report.errors[0].message


def test_an_unknown_placeholder_is_an_error_with_its_line_and_a_suggestion() -> None:
    text = "# T\n\n## 1. Retention\n\nFirst line.\nKeep [[retention_dayz]] days.\n"
    error = only_error(parse_markdown(text))

    assert error.line == 6
    assert error.clause_key == "retention"
    assert (
        error.message == "Unknown placeholder [[retention_dayz]]: did you mean [[retention_days]]?"
    )
    assert str(error).startswith("Line 6, clause 'retention': Unknown placeholder")


def test_an_unknown_placeholder_without_a_close_match_lists_the_known_ones() -> None:
    error = only_error(parse_markdown("## 1. Study\n\nTitle: [[study_title_text]].\n"))
    assert "[[study_title_text]]" in error.message
    assert "[[district_name]]" in error.message


def test_a_placeholder_in_a_heading_is_checked_too() -> None:
    error = only_error(parse_markdown("## 1. Duties of [[districtname]]\n\nx\n"))
    assert error.line == 1
    assert "[[district_name]]" in error.message


@pytest.mark.parametrize(
    ("line", "snippet", "hint"),
    [
        ("Keep for [[ Retention Days ]] days.", "[[ Retention Days ]]", "[[retention_days]]"),
        ("Keep for [[retention_days days.", "[[retention_days", "not closed"),
        ("Keep for [[]] days.", "[[]]", "no name"),
    ],
)
def test_a_malformed_placeholder_is_an_error_with_its_line(
    line: str, snippet: str, hint: str
) -> None:
    error = only_error(parse_markdown(f"# T\n\n## 1. Retention\n\n{line}\n"))
    assert error.line == 5
    assert f"'{snippet}' is not a valid placeholder" in error.message
    assert hint in error.message


def test_a_clause_without_text_is_a_warning() -> None:
    report = parse_markdown("## 1. Reserved\n\n## 2. Term\n\nx\n")
    assert report.ok
    assert [(w.line, w.clause_key, w.message) for w in report.warnings] == [
        (1, "reserved", "This clause has no text.")
    ]
    assert report.clauses[0].body == ""


def test_text_before_the_first_clause_becomes_a_preamble_with_a_warning() -> None:
    report = parse_markdown("# Title\n\nWHEREAS the parties agree.\n\n## 1. Term\n\nx\n")
    assert report.ok
    assert report.clauses[0] == ParsedClause(
        "preamble", "", "Preamble", "WHEREAS the parties agree."
    )
    [warning] = report.warnings
    assert (warning.line, warning.clause_key) == (3, "preamble")


def test_a_second_title_is_an_error() -> None:
    report = parse_markdown("# One\n\n## 1. Term\n\nx\n\n# Two\n\ny\n")
    [error] = report.errors
    assert error.line == 7
    assert "Only the template title may be a level-1 heading" in error.message


@pytest.mark.parametrize(
    ("heading", "fragment"),
    [
        ("## 1. Term {#Data Retention}", "'Data' is not a valid clause key"),
        ("## 1. Term {#data_retention}", "'data_retention' is not a valid clause key"),
        ("## 1. Term {#" + "x" * 51 + "}", "longer than 50 characters"),
        ("## 1. Term {#ok !!}", "Could not read the attributes"),
        ("## {#term}", "This clause has no heading"),
        ("##", "This clause has no heading"),
        ("## 1.2.3.4.5.6.7 Deep", "longer than 12"),
        ("## " + "Long " * 70, "the limit is 300"),
    ],
)
def test_bad_headings_are_errors(heading: str, fragment: str) -> None:
    report = parse_markdown(f"{heading}\n\nbody\n")
    assert not report.ok
    assert fragment in messages(report.errors)
    assert all(error.line == 1 for error in report.errors)


def test_a_file_without_clause_headings_is_an_error() -> None:
    report = parse_markdown("# Title only\n\nSome text but no clauses.\n")
    assert not report.ok
    assert "No clauses found" in report.errors[0].message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "The file is empty"),
        ("  \n\n", "The file is empty"),
        ("## 1. Term\n\nx\x00y\n", "not a text file"),
    ],
)
def test_empty_and_binary_text_is_refused(text: str, fragment: str) -> None:
    assert fragment in only_error(parse_markdown(text)).message


def test_oversized_markdown_is_refused_without_parsing() -> None:
    error = only_error(parse_markdown("## 1. Term\n\n" + "x" * 200, max_chars=100))
    assert error.line is None
    assert "the limit is 100" in error.message


def test_a_flood_of_problems_is_listed_up_to_a_limit_and_counted_beyond() -> None:
    report = parse_markdown("## 1. T\n\n" + " ".join(f"[[unknown_{i}]]" for i in range(500)))
    assert len(report.errors) == MAX_ISSUES + 1
    assert report.errors[-1].message == "… and 300 more errors."


def test_pandoc_spans_are_reduced_to_text_in_markdown_too() -> None:
    report = parse_markdown("## 1. [Term]{.ul}\n\nEnds on [this day]{.underline .mark}.\n")
    assert report.clauses == [ParsedClause("term", "1", "Term", "Ends on this day.")]


# -- Markdown, bold style (Word converted by pandoc) -------------------------------------------


def test_bold_style_splits_on_numbered_and_capitalised_bold_lines() -> None:
    text = """\
**SERVICES AGREEMENT**

**BETWEEN A AND B**

This Agreement is made between A and B.

**1. Definitions.**

**Important:** words have meanings.

**Note on scope**

Mixed-case bold lines are emphasis inside a clause.

**2. [Term]{.ul}**

Three years.

**SIGNATURES**

  --- ---
  A   B
  --- ---
"""
    report = parse_markdown(text)

    assert report.style == "bold"
    assert report.ok, messages(report.errors)
    assert report.title == "SERVICES AGREEMENT BETWEEN A AND B"
    assert [(c.key, c.number, c.heading) for c in report.clauses] == [
        ("preamble", "", "Preamble"),
        ("definitions", "1", "Definitions."),
        ("term", "2", "Term"),
        ("signatures", "", "SIGNATURES"),
    ]
    assert report.clauses[1].body == (
        "**Important:** words have meanings.\n\n**Note on scope**\n\n"
        "Mixed-case bold lines are emphasis inside a clause."
    )


def test_bold_style_uses_mixed_case_bold_lines_when_there_are_no_other_headings() -> None:
    report = parse_markdown("Intro text.\n\n**Definitions**\n\nx\n\n**Term** {#the-term}\n\ny\n")
    assert report.style == "bold"
    assert [(c.key, c.heading, c.body) for c in report.clauses] == [
        ("preamble", "Preamble", "Intro text."),
        ("definitions", "Definitions", "x"),
        ("the-term", "Term", "y"),
    ]


def test_bold_style_refuses_a_level_1_heading_after_the_text_has_begun() -> None:
    report = parse_markdown("**A. PURPOSE**\n\nx\n\n# Stray title\n\ny\n")
    [error] = report.errors
    assert error.line == 5
    assert "Only the template title may be a level-1 heading" in error.message


def test_the_style_can_be_forced() -> None:
    text = "## 1. Term\n\n**A. NOT A HEADING IN THIS STYLE**\n\nx\n"
    assert [c.key for c in parse_markdown(text, style="headings").clauses] == ["term"]
    with pytest.raises(ValueError, match="Unknown import style"):
        parse_markdown(text, style="html")  # type: ignore[arg-type]


# -- the real agreements in /work/shared/corpus -----------------------------------------------


def corpus_dir() -> Path:
    candidates = [Path(__file__).resolve().parents[2].parent / "shared" / "corpus"]
    if os.environ.get("COLLABORATORY_CORPUS"):
        candidates.append(Path(os.environ["COLLABORATORY_CORPUS"]))
    for candidate in candidates:
        if (candidate / "sfusd-stanford-master-agreement.md").is_file():
            return candidate
    pytest.skip("the corpus of real agreements is not present (set COLLABORATORY_CORPUS)")


@pytest.fixture(scope="module")
def master() -> ImportReport:
    return parse_markdown((corpus_dir() / "sfusd-stanford-master-agreement.md").read_text())


@pytest.fixture(scope="module")
def data_use() -> ImportReport:
    path = corpus_dir() / "sfusd-stanford-data-use-agreement-template.md"
    return parse_markdown(path.read_text())


def test_the_master_agreement_splits_into_its_lettered_sections(master: ImportReport) -> None:
    assert master.ok, messages(master.errors)
    assert master.style == "bold"
    assert master.title == (
        "AGREEMENT FOR CONFIDENTIAL DATA EXCHANGE BETWEEN SAN FRANCISCO UNIFIED SCHOOL DISTRICT "
        "AND STANFORD UNIVERSITY"
    )
    assert [(c.number, c.heading) for c in master.clauses] == [
        ("", "Preamble"),
        ("A", "THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT"),
        ("B", "PURPOSE"),
        ("C", "SCOPE"),
        ("D", "NATURE OF DATA"),
        ("E", "TRANSFER OF DATA"),
        ("F", "PERIOD OF AGREEMENT; EFFECTIVE DATE"),
        ("G", "STANFORD UNIVERSITY RESPONSIBILITIES"),
        ("H", "LIABILITY"),
        ("I", "TERMINATION"),
        ("J", "GENERAL UNDERSTANDING"),
        ("", "PARTY SIGNATURES TO THE AGREEMENT"),
        ("", "ATTACHMENT A: SPECIFIC RECORDS OR DATA ELEMENTS"),
    ]
    assert [c.key for c in master.clauses] == [
        "preamble",
        "the-family-educational-rights-and-privacy-act",
        "purpose",
        "scope",
        "nature-of-data",
        "transfer-of-data",
        "period-of-agreement-effective-date",
        "stanford-university-responsibilities",
        "liability",
        "termination",
        "general-understanding",
        "party-signatures-to-the-agreement",
        "attachment-a-specific-records-or-data-elements",
    ]
    # Only the recitals needed a guess.
    assert [(w.line, w.clause_key) for w in master.warnings] == [(7, "preamble")]


def test_the_master_agreement_bodies_keep_their_text_and_paragraphs(master: ImportReport) -> None:
    clauses = {c.key: c for c in master.clauses}
    assert all(c.body.strip() for c in master.clauses)
    assert clauses["preamble"].body.startswith("This Data Exchange and Warehousing Agreement")
    assert clauses["preamble"].body.endswith("NOW THEREFORE, the Parties agree as follows:")
    assert clauses["preamble"].body.count("\n\nWHEREAS") == 2
    scope = clauses["scope"].body
    assert scope.startswith("Part 1: Cooperation in Providing the Data\n\n1.01 SFUSD agrees")
    assert "\n\nPart 5: Timeline\n\n5.01 CEPA agrees" in scope
    termination = clauses["termination"].body
    assert "\n\n> a\\. By either party immediately" in termination
    assert "\n>\n> b\\. By either party after 30 days" in termination
    assert termination.endswith("approved methods of secure electronic file destruction.")
    assert "**For STANFORD UNIVERSITY**" in clauses["party-signatures-to-the-agreement"].body
    assert clauses["attachment-a-specific-records-or-data-elements"].body.endswith(
        "*[Variables listed here]*"
    )
    # No heading or title line leaked into a body.
    source = (corpus_dir() / "sfusd-stanford-master-agreement.md").read_text().splitlines()
    bold_lines = {line for line in source if line.startswith("**") and line.endswith("**")}
    assert len(bold_lines) == 15  # 3 title lines, 10 lettered sections, signatures, attachment
    for clause in master.clauses:
        assert not bold_lines & set(clause.body.splitlines()), clause.key
    assert "{.ul}" not in "".join(c.heading + c.body for c in master.clauses)


def test_the_data_use_agreement_splits_into_its_sections(data_use: ImportReport) -> None:
    assert data_use.ok, messages(data_use.errors)
    assert data_use.title == (
        "DATA USE AGREEMENT BETWEEN SAN FRANCISCO UNIFIED SCHOOL DISTRICT AND STANFORD RESEARCH "
        "ORGANIZATION"
    )
    assert [(c.number, c.heading) for c in data_use.clauses] == [
        ("", "Preamble"),
        ("A", "THE FAMILY EDUCATIONAL RIGHTS AND PRIVACY ACT"),
        ("B", "PURPOSE"),
        ("C", "SCOPE"),
        ("D", "NATURE OF DATA"),
        ("E", "IRB APPROVAL FROM STANFORD UNIVERSITY"),
        ("F", "TRANSFER OF DATA"),
        ("G", "PERIOD OF AGREEMENT"),
        ("H", "STANFORD RESEARCH ORGANIZATION RESPONSIBILITIES"),
        ("I", "LIABILITY"),
        ("J", "TERMINATION"),
        ("K", "GENERAL UNDERSTANDING"),
        ("L", "PARTY SIGNATURES TO THE AGREEMENT"),
        ("", "ATTACHMENT A: SPECIFIC RECORDS AND DATA ELEMENTS"),
        ("", "ATTACHMENT B: LIST OF STAFF WITH ACCESS TO SFUSD DATA"),
    ]
    assert data_use.clauses[-1].key == "attachment-b-list-of-staff-with-access-to-sfusd"
    assert all(c.body.strip() for c in data_use.clauses)
    clauses = {c.key: c for c in data_use.clauses}
    # The table before the title stays with the recitals; the title lines do not.
    assert clauses["preamble"].body.startswith("  ------")
    assert "DATA USE AGREEMENT" not in clauses["preamble"].body
    assert clauses["purpose"].body.endswith("research questions:\n\n*Research Questions*")
    assert "+======" in clauses["party-signatures-to-the-agreement"].body
    assert (
        "designate *Name*, *[title]* as the person"
        in clauses["stanford-research-organization-responsibilities"].body
    )
    assert "{.ul}" not in "".join(c.heading + c.body for c in data_use.clauses)


def test_the_data_use_agreement_fill_in_blanks_are_kept_readable_and_warned_about(
    data_use: ImportReport,
) -> None:
    preamble = data_use.clauses[0].body
    assert "Principal Investigator, *[Fill in Researcher name here]*," in preamble
    assert "dated for convenience *[date]*." in preamble
    assert "[[" not in preamble
    blanks = [
        (w.line, w.message.split("'")[1]) for w in data_use.warnings if "fill-in blank" in w.message
    ]
    assert blanks == [
        (2, "[Fill in Title of Research Study here]"),
        (2, "[Fill in Stanford Principal Investigator name here]"),
        (13, "[Fill in Researcher name here]"),
        (13, "[date]"),
    ]


def test_both_corpus_documents_share_keys_for_their_common_clauses(
    master: ImportReport, data_use: ImportReport
) -> None:
    for report in (master, data_use):
        keys = [c.key for c in report.clauses]
        assert len(keys) == len(set(keys))
    shared = {c.key for c in master.clauses} & {c.key for c in data_use.clauses}
    assert {"purpose", "scope", "liability", "termination", "general-understanding"} <= shared


def test_corpus_imports_are_stable(master: ImportReport) -> None:
    again = parse_markdown((corpus_dir() / "sfusd-stanford-master-agreement.md").read_text())
    assert again == master


# -- Word --------------------------------------------------------------------------------------


def docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def word_template() -> bytes:
    """A small Word template as the old reader expects one: a title, one Heading 2 clause."""
    document = docx.Document()
    document.add_heading("T", level=1)
    document.add_heading("1. Term", level=2)
    document.add_paragraph("Three years.")
    return docx_bytes(document)


def test_it_imports_a_word_document_with_heading_styles() -> None:
    document = docx.Document()
    document.add_heading("Standard DSA", level=1)
    document.add_paragraph("Made between the parties.")
    document.add_heading("1. Purpose", level=2)
    document.add_paragraph("To learn [[purpose_summary]].")
    document.add_paragraph("")  # Word users space paragraphs with empty ones
    second = document.add_paragraph("Second paragraph,")
    second.add_run().add_break()
    second.add_run("with a line break.")
    document.add_heading("Details", level=3)
    document.add_heading("2. Data Elements", level=2)
    table = document.add_table(rows=2, cols=2)
    rows = [("Element", "Source"), ("Scores | grade 8", "District")]
    for row, cells in zip(table.rows, rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text

    report = parse_docx(docx_bytes(document))

    assert report.ok, messages(report.errors)
    assert report.style == "headings"
    assert report.title == "Standard DSA"
    assert report.clauses == [
        ParsedClause("preamble", "", "Preamble", "Made between the parties."),
        ParsedClause(
            "purpose",
            "1",
            "Purpose",
            "To learn [[purpose_summary]].\n\nSecond paragraph,\nwith a line break.\n\nDetails",
        ),
        ParsedClause(
            "data-elements",
            "2",
            "Data Elements",
            "| Element | Source |\n|---|---|\n| Scores \\| grade 8 | District |",
        ),
    ]
    [warning] = report.warnings
    assert (warning.line, warning.clause_key) == (2, "preamble")  # paragraph 2


def test_word_errors_point_at_the_paragraph() -> None:
    document = docx.Document()
    document.add_heading("1. Retention", level=2)
    document.add_paragraph("First.")
    document.add_paragraph("Keep for [[ Retention Days ]] days.")
    error = only_error(parse_docx(docx_bytes(document)))
    assert error.line == 3
    assert "[[retention_days]]" in error.message


def test_word_clauses_may_be_heading_1_under_a_title_style() -> None:
    document = docx.Document()
    document.add_heading("The Agreement", level=0)  # the Title style
    document.add_heading("1. Purpose", level=1)
    document.add_paragraph("p")
    document.add_heading("2. Term", level=1)
    document.add_paragraph("t")
    report = parse_docx(docx_bytes(document))
    assert report.title == "The Agreement"
    assert [(c.key, c.number, c.body) for c in report.clauses] == [
        ("purpose", "1", "p"),
        ("term", "2", "t"),
    ]


def test_a_word_document_without_heading_styles_splits_on_bold_paragraphs() -> None:
    document = docx.Document()
    document.add_paragraph().add_run("DATA USE AGREEMENT").bold = True
    document.add_paragraph("This Agreement is made between the parties.")
    document.add_paragraph().add_run("A. PURPOSE").bold = True
    mixed = document.add_paragraph()
    mixed.add_run("Partly ").bold = True
    mixed.add_run("bold text is body.")
    document.add_paragraph().add_run("B. SCOPE").bold = True
    document.add_paragraph("All grade 8 students.")

    report = parse_docx(docx_bytes(document))

    assert report.ok, messages(report.errors)
    assert report.style == "bold"
    assert report.title == "DATA USE AGREEMENT"
    assert [(c.key, c.number, c.heading, c.body) for c in report.clauses] == [
        ("preamble", "", "Preamble", "This Agreement is made between the parties."),
        ("purpose", "A", "PURPOSE", "Partly bold text is body."),
        ("scope", "B", "SCOPE", "All grade 8 students."),
    ]


def test_word_tracked_changes_are_warned_about() -> None:
    document = docx.Document()
    document.add_heading("1. Term", level=2)
    paragraph = document.add_paragraph("Three years")
    paragraph._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="1" w:author="Counsel" w:date="2026-01-01T00:00:00Z">'
            "<w:r><w:t> and one day</w:t></w:r></w:ins>"
        )
    )
    report = parse_docx(docx_bytes(document))
    assert report.clauses[0].body == "Three years"
    assert "tracked changes" in report.warnings[0].message


# -- Word uploads that must be refused ---------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "The file is empty"),
        (b"hello", "This is not a Word document"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "This is not a Word document"),
        (b"%PDF-1.7\n", "This is not a Word document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old-format Word file (.doc)"),
        (b"PK\x03\x04" + b"garbage" * 10, "damaged or not a Word document"),
        (zip_bytes({"xl/workbook.xml": b"<x/>", "[Content_Types].xml": b"<x/>"}), "another Office"),
        (
            zip_bytes({"word/document.xml": b"<not xml", "[Content_Types].xml": b"<x/>"}),
            "could not be read as a Word document",
        ),
    ],
)
def test_it_refuses_uploads_that_are_not_word_documents(data: bytes, fragment: str) -> None:
    error = only_error(parse_docx(data))
    assert error.line is None
    assert fragment in error.message


def test_it_refuses_oversized_uploads() -> None:
    data = b"PK\x03\x04" + b"\x00" * DEFAULT_MAX_UPLOAD_BYTES
    assert "the limit is 5.0 MiB" in only_error(parse_docx(data)).message
    small_limit = parse_docx(word_template(), max_bytes=1000)
    assert "the limit is 0.0 MiB" in only_error(small_limit).message


def test_it_refuses_a_zip_bomb_before_unpacking_it() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"\x00" * MIB
            for _ in range(DEFAULT_MAX_UNCOMPRESSED_BYTES // MIB + 1):
                member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < DEFAULT_MAX_UPLOAD_BYTES  # small on the wire, huge unpacked

    error = only_error(parse_docx(data))
    assert "unpacks to 51.0 MiB" in error.message
    assert "it was not opened" in error.message


def test_it_refuses_a_zip_with_too_many_members() -> None:
    members = {f"word/media/{index}.bin": b"" for index in range(1001)}
    error = only_error(parse_docx(zip_bytes(members)))
    assert "1,001 parts" in error.message


def test_the_unpacked_size_limit_is_a_parameter() -> None:
    data = word_template()
    assert parse_docx(data).ok
    assert "unpacks to" in only_error(parse_docx(data, max_uncompressed_bytes=1000)).message


# -- uploads of either kind --------------------------------------------------------------------


def test_parse_upload_reads_markdown_and_word_by_content() -> None:
    document = import_markdown("# T\n\n## 1. Term {#term}\n\nx\n").document
    markdown = parse_upload(export_markdown(document).encode())
    word = parse_upload(docx_export(document), filename="upload.bin")
    for report in (markdown, word):
        assert report.title == "T"
        assert [(c.key, c.number, c.heading, c.body) for c in report.clauses] == [
            ("term", "1.", "Term", "x")
        ]
    assert "not a Word document" in only_error(parse_upload(b"x", filename="a.docx")).message
    assert "UTF-8" in only_error(parse_upload("## 1. Café\n\nx".encode("latin-1"))).message
    assert "the limit is" in only_error(parse_upload(b"x" * 11, max_bytes=10)).message
