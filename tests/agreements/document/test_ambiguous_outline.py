"""Where the outline is ambiguous the import report says so: nothing is merged silently."""

from agreements.text.document.markdown_import import import_markdown
from agreements.text.document.model import PartKind


def test_bold_section_lines_among_markdown_headings_are_reported_where_they_are():
    report = import_markdown(
        "**A. PURPOSE**\n\nText of A.\n\n**B. SCOPE**\n\nText of B.\n\n# Stray title\n\nMore.\n"
    )
    assert report.document is not None
    flagged = [f for f in report.findings if "looks like a section heading" in f.message]
    assert [f.where for f in flagged] == ["“A. PURPOSE”", "“B. SCOPE”"]


def test_a_bold_line_in_mixed_case_inside_a_headed_section_is_not_reported():
    report = import_markdown(
        "## 1. Purpose {#purpose}\n\n**Note.** The purpose is narrow.\n\n## 2. Term {#term}\n\nx\n"
    )
    assert report.document is not None
    assert [p.kind for p in report.document.parts] == [PartKind.SECTION, PartKind.SECTION]
    assert not [f for f in report.findings if "looks like a section heading" in f.message]
