"""Reading template uploads as users make them: :func:`parse_upload`, the one reader, on Markdown
and Word files, and what :func:`template_import` then refuses. Only the last tests need the
database."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from agreements.models import DSATemplate
from agreements.standards.limits import DEFAULT_MAX_UNCOMPRESSED_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from agreements.standards.report import ImportReport, Issue
from agreements.standards.services import template_import
from agreements.standards.upload import parse_upload
from agreements.text.document.docx_export import docx_export
from agreements.text.document.docx_import import docx_import
from agreements.text.document.import_report import MAX_FINDINGS
from agreements.text.document.markdown_export import export_markdown
from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.plain import plain_text

MIB = 1024 * 1024


def markdown(text: str | bytes) -> ImportReport:
    return parse_upload(text.encode() if isinstance(text, str) else text, filename="t.md")


def word(data: bytes) -> ImportReport:
    return parse_upload(data, filename="t.docx")


def messages(issues: list[Issue]) -> str:
    return "\n".join(str(issue) for issue in issues)


def only_error(report: ImportReport) -> Issue:
    assert not report.clauses, "expected the import to fail"
    [error] = report.errors
    return error


def texts(report: ImportReport) -> dict[str, str]:
    """Each clause's text as a reader sees it (no Markdown), by key."""
    assert report.ok, messages(report.errors)
    return {clause.key: plain_text(clause.blocks or ()).strip() for clause in report.clauses}


# -- Markdown ---------------------------------------------------------------------------------

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
    report = markdown(GOOD_MARKDOWN)

    assert report.ok, messages(report.errors)
    assert report.style == "markdown"
    assert report.title == "Standard Data-Sharing Agreement"
    # Explicit keys are kept; a heading without one gets its words as the key.
    assert [c.key for c in report.clauses] == [
        "definitions",
        "data-security",
        "breach-notice",
        "data-retention",
    ]
    assert [c.heading for c in report.clauses][:2] == ["Definitions", "Data security"]
    assert "Breach notification" in report.clauses[2].heading
    assert report.clauses[3].heading == "Retention"
    text = texts(report)
    assert text["definitions"] == (
        '"District" means [[district_name]].\n\n"Research Partner" means [[research_org_name]].'
    )
    # A level-3 heading and a code fence are the clause's text, not clauses of their own.
    assert "Encryption" in text["data-security"]
    assert "## this is code, not a clause" in text["data-security"]
    assert text["breach-notice"] == "Notice within [[breach_notice_hours]] hours."
    assert text["data-retention"] == "Destroyed [[retention_days]] days after [[expires_on]]."
    assert "heading level 3: Read as a bold paragraph" in messages(report.notes)


def test_derived_keys_leave_the_number_out_so_renumbering_keeps_them() -> None:
    before = markdown("## 4. Data Security & Encryption\n\nx\n\n## 5. Term\n\ny\n")
    after = markdown("## 7. Data Security & Encryption\n\nx\n\n## IX. Term\n\ny\n")
    assert [c.key for c in before.clauses] == ["data-security-encryption", "term"]
    assert [c.key for c in after.clauses] == ["data-security-encryption", "term"]
    assert [c.number for c in after.clauses] == ["7.", "IX."]


def test_derived_keys_are_slugs_of_at_most_fifty_characters_cut_at_a_hyphen() -> None:
    long_heading = "Data Security Incident Response and Notification Obligations of Each Recipient"
    report = markdown(
        f"## 1. {long_heading}\n\nx\n\n## 2. Données  personnelles — élèves_mineurs\n\ny\n\n"
        "## 3. §§ —\n\nz\n"
    )
    long_key, accented, no_letters = (c.key for c in report.clauses)
    full = "data-security-incident-response-and-notification-obligations-of-each-recipient"
    assert len(long_key) <= 50 and full.startswith(long_key + "-")
    assert accented == "donnees-personnelles-eleves-mineurs"
    assert no_letters and no_letters not in (long_key, accented)  # still a key of its own


def test_crlf_and_a_byte_order_mark_are_accepted() -> None:
    data = "\ufeff# T\r\n\r\n## 1. Term\r\n\r\nKeep it.\r\nThen destroy it.\r\n".encode()
    report = markdown(data)
    assert report.ok, messages(report.errors)
    assert report.title == "T"
    assert [(c.key, c.number, c.heading) for c in report.clauses] == [("term", "1.", "Term")]
    assert texts(report) == {"term": "Keep it. Then destroy it."}
    assert "\r" not in report.clauses[0].body


def test_a_key_used_twice_is_reported_and_keys_stay_unique() -> None:
    report = markdown("## 1. Term\n\nx\n\n## 2. Scope {#term}\n\ny\n\n## 3. Term\n\nz\n")
    keys = [c.key for c in report.clauses]
    assert keys[0] == "term" and len(set(keys)) == 3
    said = messages(report.warnings)
    for heading, key in zip(("2. Scope", "3. Term"), keys[1:], strict=True):
        assert f"{heading}”: The key “term” was used before; this part is “{key}”" in said


def test_an_unknown_placeholder_is_an_error_naming_its_clause_and_a_suggestion() -> None:
    text = "# T\n\n## 1. Retention\n\nFirst line.\nKeep [[retention_dayz]] days.\n"
    error = only_error(markdown(text))

    assert error.clause_key == "retention"
    assert error.message == (
        "uses the unknown placeholder [[retention_dayz]]: did you mean [[retention_days]]?"
    )
    assert str(error).startswith("Clause 'retention': uses the unknown placeholder")


def test_an_unknown_placeholder_without_a_close_match_lists_the_known_ones() -> None:
    error = only_error(markdown("## 1. Study\n\nTitle: [[study_title_text]].\n"))
    assert "[[study_title_text]]" in error.message
    assert "[[district_name]]" in error.message and "[[retention_days]]" in error.message


def test_a_placeholder_in_a_heading_is_checked_too() -> None:
    error = only_error(markdown("## 1. Duties of [[districtname]]\n\nx\n"))
    assert error.clause_key == "duties-of-districtname"
    assert "[[districtname]]: did you mean [[district_name]]?" in error.message


def test_an_unclosed_placeholder_is_an_error_naming_its_clause() -> None:
    error = only_error(markdown("# T\n\n## 1. Retention\n\nKeep for [[retention_days days.\n"))
    assert error.clause_key == "retention"
    assert "'[[retention_days' is not a valid placeholder" in error.message
    assert "not closed" in error.message


def test_a_placeholder_with_spaces_is_read_as_a_fill_in_blank_and_said_so() -> None:
    report = markdown("# T\n\n## 1. Retention\n\nKeep for [[ Retention Days ]] days.\n")
    assert texts(report) == {"retention": "Keep for [Retention Days] days."}
    assert "[[Retention Days]]” is not a parameter name" in messages(report.warnings)
    assert "fill-in blank" in messages(report.warnings)


def test_text_before_the_first_clause_is_kept_as_the_preamble() -> None:
    report = markdown("# Title\n\nWHEREAS the parties agree.\n\n## 1. Term\n\nx\n")
    preamble = report.clauses[0]
    assert (preamble.key, preamble.kind, preamble.number) == ("preamble", "preamble", "")
    assert texts(report)["preamble"] == "WHEREAS the parties agree."


@pytest.mark.parametrize("attributes", ["{#Data Retention}", "{#ok !!}"])
def test_a_key_that_cannot_be_read_is_an_error_not_part_of_the_heading(attributes: str) -> None:
    error = only_error(markdown(f"## 1. Term {attributes}\n\nbody\n"))
    assert f"the heading ends in “{attributes}”, which is not a key" in error.message
    assert error.clause_key


@pytest.mark.parametrize("key", ["data_retention", "x" * 51])
def test_an_invalid_key_is_replaced_by_one_from_the_heading_and_said_so(key: str) -> None:
    report = markdown(f"## 1. Term {{#{key}}}\n\nbody\n")
    assert [(c.key, c.heading) for c in report.clauses] == [("term", "Term")]
    assert f"The key '{key}' is not a valid part key" in messages(report.warnings)


def test_a_file_without_clause_headings_is_an_error() -> None:
    error = only_error(markdown("# Title only\n\nSome text but no clauses.\n"))
    assert "No section headings found" in error.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "The file is empty"),
        (b"  \n\n", "The file is empty"),
        (b"\xef\xbb\xbf \r\n", "The file is empty"),
        (b"## 1. Term\n\nx\x00y\n", "not a text file"),
    ],
)
def test_empty_and_binary_text_is_refused(data: bytes, fragment: str) -> None:
    for filename in ("t.md", ""):
        error = only_error(parse_upload(data, filename=filename))
        assert error.line is None
        assert fragment in error.message


def test_oversized_markdown_is_refused_without_reading_it() -> None:
    error = only_error(markdown("## 1. Term\n\n" + "x" * 2_000_000))
    assert "characters long; the limit is 2,000,000" in error.message


def test_a_flood_of_problems_is_listed_up_to_a_limit_and_counted_beyond() -> None:
    report = markdown("## 1. T\n\n" + " ".join(f"[[unknown_{i}]]" for i in range(500)))
    assert len(report.errors) == MAX_FINDINGS + 1
    assert report.errors[-1].message == "... and 300 more errors."
    assert not report.clauses


def test_findings_past_the_limit_are_counted_under_their_own_severity() -> None:
    document = docx.Document()
    document.add_heading("1. Term", level=2)
    for _ in range(MAX_FINDINGS + 10):
        document.add_paragraph("Text.").add_run().add_break(WD_BREAK.PAGE)
    report = word(docx_bytes(document))
    assert report.ok, messages(report.errors)
    assert len(report.notes) == MAX_FINDINGS + 1
    assert report.notes[-1].message == "... and 10 more notes."
    assert "more" not in messages(report.warnings)


def test_pandoc_spans_leave_no_markup_in_headings() -> None:
    report = markdown("## 1. [Term]{.ul}\n\nEnds on [this day]{.underline .mark}.\n")
    assert [(c.key, c.heading) for c in report.clauses] == [("term", "Term")]
    assert texts(report) == {"term": "Ends on this day."}
    assert "mark" in messages(report.notes)  # the highlight that was not kept is said


# -- Markdown: bold lines as headings (Word converted by pandoc) ------------------------------


def test_bold_lines_that_are_numbered_or_capitalised_are_headings() -> None:
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
    report = markdown(text)

    assert report.ok, messages(report.errors)
    assert report.title == "SERVICES AGREEMENT BETWEEN A AND B"
    assert [(c.key, c.number, c.heading) for c in report.clauses] == [
        ("preamble", "", ""),
        ("definitions", "1.", "Definitions."),
        ("term", "2.", "Term"),
        ("signatures", "", "SIGNATURES"),
    ]
    assert texts(report)["definitions"] == (
        "Important: words have meanings.\n\nNote on scope\n\n"
        "Mixed-case bold lines are emphasis inside a clause."
    )


def test_mixed_case_bold_lines_are_headings_when_there_are_no_other_headings() -> None:
    report = markdown("Intro text.\n\n**Definitions**\n\nx\n\n**Term**\n\ny\n")
    assert [(c.key, c.heading) for c in report.clauses] == [
        ("preamble", ""),
        ("definitions", "Definitions"),
        ("term", "Term"),
    ]
    assert texts(report) == {"preamble": "Intro text.", "definitions": "x", "term": "y"}
    assert "every bold line was read as a heading" in messages(report.warnings)


# -- the real agreements in /work/shared/corpus -----------------------------------------------


def corpus_file(name: str) -> bytes:
    candidates = [Path(__file__).resolve().parents[2].parent / "shared" / "corpus"]
    if os.environ.get("COLLABORATORY_CORPUS"):
        candidates.append(Path(os.environ["COLLABORATORY_CORPUS"]))
    for candidate in candidates:
        if (candidate / name).is_file():
            return (candidate / name).read_bytes()
    pytest.skip("the corpus of real agreements is not present (set COLLABORATORY_CORPUS)")


MASTER = "sfusd-stanford-master-agreement.md"
DATA_USE = "sfusd-stanford-data-use-agreement-template.md"


@pytest.fixture(scope="module")
def master() -> ImportReport:
    return parse_upload(corpus_file(MASTER), filename=MASTER)


@pytest.fixture(scope="module")
def data_use() -> ImportReport:
    return parse_upload(corpus_file(DATA_USE), filename=DATA_USE)


def test_the_master_agreement_splits_into_its_lettered_sections(master: ImportReport) -> None:
    assert master.ok, messages(master.errors)
    assert master.title == (
        "AGREEMENT FOR CONFIDENTIAL DATA EXCHANGE BETWEEN SAN FRANCISCO UNIFIED SCHOOL DISTRICT "
        "AND STANFORD UNIVERSITY"
    )
    assert [(c.number, c.heading) for c in master.clauses] == [
        ("", ""),
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
        ("", "PARTY SIGNATURES TO THE AGREEMENT"),
        ("ATTACHMENT A:", "SPECIFIC RECORDS OR DATA ELEMENTS"),
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
        "specific-records-or-data-elements",
    ]
    kinds = ["preamble"] + ["section"] * 10 + ["unnumbered", "attachment"]
    assert [c.kind for c in master.clauses] == kinds
    # Nothing about the structure was guessed: the only warnings are about its references.
    assert all("names no part of this document" in w.message for w in master.warnings)


def test_the_master_agreement_bodies_keep_their_text_and_paragraphs(master: ImportReport) -> None:
    text = texts(master)
    assert all(text.values())
    assert text["preamble"].startswith("This Data Exchange and Warehousing Agreement")
    assert text["preamble"].endswith("NOW THEREFORE, the Parties agree as follows:")
    assert text["preamble"].count("\n\nWHEREAS") == 2
    assert text["scope"].startswith(
        "Part 1: Cooperation in Providing the Data\n\n1.01 SFUSD agrees"
    )
    assert "\n\nPart 5: Timeline\n\n5.01 CEPA agrees" in text["scope"]
    termination = text["termination"]
    assert "\n    a. By either party immediately" in termination
    assert "\n    b. By either party after 30 days" in termination
    assert termination.endswith("approved methods of secure electronic file destruction.")
    assert "For STANFORD UNIVERSITY" in text["party-signatures-to-the-agreement"]
    assert text["specific-records-or-data-elements"].endswith("[Variables listed here]")
    # No heading or title line leaked into a body.
    source = corpus_file(MASTER).decode().splitlines()
    bold_lines = {line for line in source if line.startswith("**") and line.endswith("**")}
    assert len(bold_lines) == 15  # 3 title lines, 10 lettered sections, signatures, attachment
    for clause in master.clauses:
        assert not bold_lines & set(clause.body.splitlines()), clause.key
    assert not any("{" in c.heading for c in master.clauses)


def test_the_data_use_agreement_splits_into_its_sections(data_use: ImportReport) -> None:
    assert data_use.ok, messages(data_use.errors)
    assert data_use.title == (
        "DATA USE AGREEMENT BETWEEN SAN FRANCISCO UNIFIED SCHOOL DISTRICT AND STANFORD RESEARCH "
        "ORGANIZATION"
    )
    assert [(c.number, c.heading) for c in data_use.clauses] == [
        ("", ""),
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
        ("ATTACHMENT A:", "SPECIFIC RECORDS AND DATA ELEMENTS"),
        ("ATTACHMENT B:", "LIST OF STAFF WITH ACCESS TO SFUSD DATA"),
    ]
    assert data_use.clauses[-1].key == "list-of-staff-with-access-to-sfusd-data"
    text = texts(data_use)
    assert all(text.values())
    # The table before the title stays with the recitals; the title lines do not.
    assert data_use.clauses[0].body.startswith("+-----")
    assert "DATA USE AGREEMENT" not in text["preamble"]
    assert text["purpose"].endswith("research questions:\n\nResearch Questions")
    assert "FOR SAN FRANCISCO UNIFIED SCHOOL DISTRICT" in text["party-signatures-to-the-agreement"]
    assert (
        "shall designate [Name], [title] as the person"
        in text["stanford-research-organization-responsibilities"]
    )


def test_the_data_use_agreement_fill_in_blanks_are_blanks_not_placeholders(
    data_use: ImportReport,
) -> None:
    preamble = data_use.clauses[0]
    assert "Principal Investigator, [Fill in Researcher name here]," in texts(data_use)["preamble"]
    assert "dated for convenience [date]." in texts(data_use)["preamble"]
    assert '[Fill in Researcher name here]{.blank kind="name"}' in preamble.body
    assert '[date]{.blank kind="date"}' in preamble.body
    assert "[[" not in preamble.body


def test_both_corpus_documents_share_keys_for_their_common_clauses(
    master: ImportReport, data_use: ImportReport
) -> None:
    for report in (master, data_use):
        keys = [c.key for c in report.clauses]
        assert len(keys) == len(set(keys))
    shared = {c.key for c in master.clauses} & {c.key for c in data_use.clauses}
    assert {"purpose", "scope", "liability", "termination", "general-understanding"} <= shared


def test_corpus_imports_are_stable(master: ImportReport) -> None:
    assert parse_upload(corpus_file(MASTER), filename=MASTER) == master


# -- Word --------------------------------------------------------------------------------------


def docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def word_template() -> bytes:
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

    report = word(docx_bytes(document))

    assert report.ok, messages(report.errors)
    assert report.style == "word"
    assert report.title == "Standard DSA"
    assert [(c.key, c.kind, c.number, c.heading) for c in report.clauses] == [
        ("preamble", "preamble", "", ""),
        ("purpose", "section", "1.", "Purpose"),
        ("data-elements", "section", "2.", "Data Elements"),
    ]
    text = texts(report)
    assert text["preamble"] == "Made between the parties."
    assert text["purpose"] == (
        "To learn [[purpose_summary]].\n\nSecond paragraph,\nwith a line break.\n\nDetails"
    )
    for cell in ("Element", "Source", "Scores | grade 8", "District"):
        assert cell in text["data-elements"]
    assert "paragraph 7: a Heading 3 paragraph is kept as a bold paragraph" in messages(
        report.notes
    )


def test_word_errors_name_the_clause_and_the_placeholder() -> None:
    document = docx.Document()
    document.add_heading("1. Retention", level=2)
    document.add_paragraph("First.")
    document.add_paragraph("Keep for [[retention_dayz]] days.")
    error = only_error(word(docx_bytes(document)))
    assert error.clause_key == "retention"
    assert "[[retention_dayz]]: did you mean [[retention_days]]?" in error.message


def test_a_key_typed_into_a_word_heading_is_an_error_not_part_of_the_heading() -> None:
    document = docx.Document()
    document.add_heading("1. Term {#data-retention}", level=2)
    document.add_paragraph("Three years.")
    error = only_error(word(docx_bytes(document)))
    assert "the heading ends in “{#data-retention}”, which is not a key" in error.message


def test_word_clauses_may_be_heading_1_under_a_title_style() -> None:
    document = docx.Document()
    document.add_heading("The Agreement", level=0)  # the Title style
    document.add_heading("1. Purpose", level=1)
    document.add_paragraph("p")
    document.add_heading("2. Term", level=1)
    document.add_paragraph("t")
    report = word(docx_bytes(document))
    assert report.title == "The Agreement"
    assert [(c.key, c.number) for c in report.clauses] == [("purpose", "1."), ("term", "2.")]
    assert texts(report) == {"purpose": "p", "term": "t"}


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

    report = word(docx_bytes(document))

    assert report.ok, messages(report.errors)
    assert report.title == "DATA USE AGREEMENT"
    assert [(c.key, c.number, c.heading) for c in report.clauses] == [
        ("preamble", "", ""),
        ("purpose", "A.", "PURPOSE"),
        ("scope", "B.", "SCOPE"),
    ]
    assert texts(report) == {
        "preamble": "This Agreement is made between the parties.",
        "purpose": "Partly bold text is body.",
        "scope": "All grade 8 students.",
    }


def test_word_tracked_changes_are_taken_as_accepted_and_said_so() -> None:
    document = docx.Document()
    document.add_heading("1. Term", level=2)
    paragraph = document.add_paragraph("Three years")
    paragraph._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="1" w:author="Counsel" w:date="2026-01-01T00:00:00Z">'
            "<w:r><w:t> and one day</w:t></w:r></w:ins>"
        )
    )
    report = word(docx_bytes(document))
    assert texts(report) == {"term": "Three years and one day"}
    assert "paragraph 2: tracked change accepted: “and one day” inserted by Counsel" in messages(
        report.warnings
    )


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
            "The part word/document.xml is damaged",
        ),
    ],
)
def test_it_refuses_uploads_that_are_not_word_documents(data: bytes, fragment: str) -> None:
    error = only_error(word(data))
    assert error.line is None
    assert fragment in error.message


def test_an_old_word_file_is_refused_by_its_content_whatever_its_name() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
    assert "old-format Word file (.doc)" in only_error(parse_upload(data)).message


def test_it_refuses_oversized_uploads() -> None:
    data = b"PK\x03\x04" + b"\x00" * DEFAULT_MAX_UPLOAD_BYTES
    assert "the limit is 5.0 MiB" in only_error(word(data)).message
    small_limit = parse_upload(word_template(), filename="t.docx", max_bytes=1000)
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

    error = only_error(word(data))
    assert "unpacks to 51.0 MiB" in error.message
    assert "it was not opened" in error.message


def test_it_refuses_a_zip_with_too_many_members() -> None:
    members = {f"word/media/{index}.bin": b"" for index in range(1001)}
    error = only_error(word(zip_bytes(members)))
    assert "1,001 parts" in error.message


def test_the_unpacked_size_limit_is_a_parameter_of_the_word_reader() -> None:
    data = word_template()
    assert docx_import(data).ok
    refused = docx_import(data, max_uncompressed_bytes=1000)
    assert refused.document is None
    assert "unpacks to" in refused.errors[0].message


# -- uploads of either kind --------------------------------------------------------------------


def test_parse_upload_reads_markdown_and_word_by_content() -> None:
    document = import_markdown("# T\n\n## 1. Term {#term}\n\nx\n").document
    from_markdown = parse_upload(export_markdown(document).encode())
    from_word = parse_upload(docx_export(document), filename="upload.bin")
    for report in (from_markdown, from_word):
        assert report.title == "T"
        assert [(c.key, c.number, c.heading, c.body) for c in report.clauses] == [
            ("term", "1.", "Term", "x")
        ]
    assert "not a Word document" in only_error(parse_upload(b"x", filename="a.docx")).message
    assert "UTF-8" in only_error(parse_upload("## 1. Café\n\nx".encode("latin-1"))).message
    assert "the limit is" in only_error(parse_upload(b"x" * 11, max_bytes=10)).message


# -- what the import service refuses (the database) --------------------------------------------


@pytest.fixture
def template(demo) -> DSATemplate:
    return DSATemplate.objects.get(slug="standard-dsa")


def test_a_heading_too_long_for_a_clause_is_refused_naming_the_clause(template) -> None:
    before = template.versions.count()
    long_heading = "Long " * 70  # a paragraph of text formatted as a heading
    data = f"# T\n\n## 1. Term\n\nx\n\n## 2. {long_heading}\n\ny\n".encode()
    version, report = template_import(template=template, filename="t.md", data=data)
    assert version is None
    [error] = report.errors
    assert str(error).startswith("Clause '") and "long-long-long" in str(error)
    assert "heading: Ensure this value has at most 300 characters" in str(error)
    assert template.versions.count() == before
