"""Markdown export -> import gives the identical canonical text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from agreements.text.document.canonical import to_json
from agreements.text.document.markdown_export import export_markdown
from agreements.text.document.markdown_import import import_markdown

from .strategies import documents
from .walk import MARKUP


def round_trip(document):
    text = export_markdown(document)
    report = import_markdown(text)
    assert report.ok, report.messages()
    return text, report


@pytest.mark.parametrize("name", ["master", "dua"])
def test_the_real_agreements_come_back_identical(name, request):
    document = request.getfixturevalue(name).document
    text, report = round_trip(document)
    assert to_json(report.document) == to_json(document)
    assert not report.findings or all("Exhibit" in str(f) for f in report.findings)
    # What a person reads: typed numbers as typed, lists as lists, no literal-span clutter
    # around ordinary words.
    if name == "master":
        assert "\n1.01 SFUSD agrees" in text
        assert "[Section I](#termination)" in text
    assert "{.literal}" not in text


def test_the_export_has_no_markup_the_import_would_misread():
    from agreements.text.document.model import Document, Paragraph, Part, PartKind, Text, Underline

    document = Document(
        parts=(
            Part(
                "notes",
                PartKind.SECTION,
                (Text("NOTES"),),
                (
                    Paragraph((Text("1.2 is a number; [Name] and ____ and [[x_y]] are text"),)),
                    Paragraph((Text("See Section A and Month, Day, Year."),)),
                    Paragraph((Underline((Text("Name"),)), Text(" is underlined"))),
                ),
            ),
        )
    )
    _text, report = round_trip(document)
    assert to_json(report.document) == to_json(document)


# No shrinking: each example runs pandoc twice, and shrinking a failure would take minutes.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(documents())
def test_any_document_survives_markdown(document):
    text, report = round_trip(document)
    assert to_json(report.document) == to_json(document), text
    for markup in MARKUP[1:]:
        assert markup not in text or markup == "+---"
