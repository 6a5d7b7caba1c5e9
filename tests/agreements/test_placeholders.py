"""Typed placeholders: finding, checking, validating and filling them without a template engine."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError

from agreements.text.placeholders import (
    PLACEHOLDERS,
    PlaceholderType,
    fill,
    find_placeholders,
    format_value,
    malformed_placeholders,
    missing_values,
    suggest_placeholder,
    unknown_placeholders,
    validate_value,
)

REQUIRED = {
    "district_name": PlaceholderType.ORGANISATION,
    "research_org_name": PlaceholderType.ORGANISATION,
    "developer_name": PlaceholderType.ORGANISATION,
    "effective_date": PlaceholderType.DATE,
    "expires_on": PlaceholderType.DATE,
    "destruction_date": PlaceholderType.DATE,
    "retention_days": PlaceholderType.NUMBER,
    "breach_notice_hours": PlaceholderType.NUMBER,
    "term_months": PlaceholderType.NUMBER,
    "publication_review_days": PlaceholderType.NUMBER,
    "governing_state": PlaceholderType.TEXT,
    "purpose_summary": PlaceholderType.TEXT,
    "data_custodian_title": PlaceholderType.TEXT,
}


def error_text(excinfo: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(excinfo.value.messages)


# -- registry --------------------------------------------------------------------------------


def test_the_registry_has_every_agreed_placeholder_with_its_type() -> None:
    for name, type_ in REQUIRED.items():
        assert PLACEHOLDERS[name].type is type_, name


def test_every_registered_placeholder_has_a_valid_name_label_and_help_text() -> None:
    for name, spec in PLACEHOLDERS.items():
        assert spec.name == name
        assert find_placeholders(f"[[{name}]]") == [name]
        assert spec.label and spec.help_text
        if spec.type is PlaceholderType.NUMBER:
            assert spec.unit in ("days", "hours", "months")


# -- finding ----------------------------------------------------------------------------------


def test_it_finds_placeholders_in_order_without_duplicates() -> None:
    text = "[[district_name]] and [[research_org_name]] and again [[district_name]] [[x1_y]]"
    assert find_placeholders(text) == ["district_name", "research_org_name", "x1_y"]


def test_it_ignores_text_that_only_looks_similar() -> None:
    text = "[district_name] {{ district_name }} \\[\\[district_name\\]\\] [[ district_name ]]"
    assert find_placeholders(text) == []


def test_extra_brackets_around_a_placeholder_are_literal_text() -> None:
    text = "[[[district_name]]]"
    assert find_placeholders(text) == ["district_name"]
    assert malformed_placeholders(text) == []
    assert fill(text, {"district_name": "SFUSD"}) == "[SFUSD]"


def test_it_reports_names_that_are_not_registered() -> None:
    text = "[[district_name]] [[retention_dayz]] [[foo]] [[retention_dayz]]"
    assert unknown_placeholders(text) == ["retention_dayz", "foo"]
    assert unknown_placeholders(text, known={"foo", "district_name"}) == ["retention_dayz"]
    assert suggest_placeholder("retention_dayz") == "retention_days"
    assert suggest_placeholder("completely_different") is None


@pytest.mark.parametrize(
    ("text", "snippet", "problem_part"),
    [
        ("keep for [[ Retention Days ]] days", "[[ Retention Days ]]", "[[retention_days]]"),
        ("a [[Retention-Days]] b", "[[Retention-Days]]", "did you mean [[retention_days]]"),
        ("keep for [[x and then", "[[x", "not closed"),
        ("keep for [[retention_days] days", "[[retention_days]", "not closed"),
        ("empty [[]] here", "[[]]", "no name"),
        ("blank [[   ]] here", "[[   ]]", "no name"),
        ("number first [[1st_party]]", "[[1st_party]]", "start with a letter"),
        ("[[x then [[district_name]]", "[[x", "not closed"),
    ],
)
def test_it_reports_malformed_placeholders_with_what_to_fix(
    text: str, snippet: str, problem_part: str
) -> None:
    [malformed] = malformed_placeholders(text)
    assert malformed.text == snippet
    assert malformed.start == text.index(snippet)
    assert problem_part in malformed.message
    assert snippet in str(malformed)


def test_a_placeholder_never_spans_lines() -> None:
    [malformed] = malformed_placeholders("[[district\n_name]]")
    assert malformed.text == "[[district"
    assert find_placeholders("[[district\n_name]]") == []


def test_well_formed_text_has_no_malformed_placeholders() -> None:
    assert malformed_placeholders("[[district_name]], [a link](x), [[b]] and [[c_2]]") == []


# -- validating user input ---------------------------------------------------------------------


def test_it_parses_each_type() -> None:
    assert validate_value("retention_days", " 30 ") == 30
    assert validate_value("effective_date", "2026-09-01") == date(2026, 9, 1)
    assert validate_value("expires_on", "1 September 2026") == date(2026, 9, 1)
    assert validate_value("expires_on", "30 june 2027") == date(2027, 6, 30)
    assert validate_value("district_name", "  San Francisco USD ") == "San Francisco USD"
    assert validate_value("purpose_summary", "Line one.\nLine two.") == "Line one.\nLine two."


def test_a_number_that_is_not_whole_names_the_placeholder_and_the_input() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("retention_days", "abc")
    assert error_text(excinfo) == "retention_days must be a whole number of days, got 'abc'."


@pytest.mark.parametrize("raw", ["-5", "1.5", "30 days", "1e3", "٣٠", "9" * 5000])
def test_it_refuses_numbers_that_are_not_plain_whole_numbers(raw: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("breach_notice_hours", raw)
    assert "breach_notice_hours must be a whole number of hours" in error_text(excinfo)


def test_it_refuses_numbers_out_of_range() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("breach_notice_hours", "0")
    assert error_text(excinfo) == "breach_notice_hours must be at least 1 hour, got 0."
    with pytest.raises(ValidationError) as excinfo:
        validate_value("term_months", "121")
    assert error_text(excinfo) == "term_months must be at most 120 months, got 121."


@pytest.mark.parametrize("raw", ["01/09/2026", "September 1, 2026", "tomorrow", "2026-9-1"])
def test_it_refuses_dates_in_other_formats_and_says_which_are_accepted(raw: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("effective_date", raw)
    message = error_text(excinfo)
    assert message.startswith("effective_date must be a date written as YYYY-MM-DD")
    assert f"'{raw}'" in message


@pytest.mark.parametrize("raw", ["2026-02-30", "31 April 2026", "2026-13-01"])
def test_it_refuses_dates_that_do_not_exist(raw: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("destruction_date", raw)
    assert "destruction_date" in error_text(excinfo)
    assert "not a real calendar date" in error_text(excinfo)


def test_it_refuses_empty_values_and_says_what_to_enter() -> None:
    with pytest.raises(ValidationError) as excinfo:
        validate_value("district_name", "   ")
    assert error_text(excinfo) == "district_name is empty: enter the organisation's name."


def test_it_refuses_organisation_names_on_several_lines_and_overlong_text() -> None:
    with pytest.raises(ValidationError, match="district_name must be an organisation name"):
        validate_value("district_name", "Acme\nSchools")
    with pytest.raises(ValidationError, match="governing_state must be at most 100 characters"):
        validate_value("governing_state", "x" * 101)
    with pytest.raises(ValidationError, match="control character"):
        validate_value("purpose_summary", "bell\x07")


def test_it_refuses_unknown_placeholders() -> None:
    with pytest.raises(ValidationError, match=r"\[\[nope\]\] is not a known placeholder"):
        validate_value("nope", "1")


# -- formatting and filling -------------------------------------------------------------------


def test_it_formats_dates_in_words_and_numbers_plainly() -> None:
    assert format_value(PLACEHOLDERS["effective_date"], date(2026, 9, 1)) == "1 September 2026"
    assert format_value(PLACEHOLDERS["expires_on"], "2027-06-30") == "30 June 2027"
    assert format_value(PLACEHOLDERS["retention_days"], 1000) == "1000"
    assert format_value(PLACEHOLDERS["retention_days"], "45") == "45"
    assert format_value(PLACEHOLDERS["district_name"], "  kept as given ") == "  kept as given "


def test_it_refuses_values_of_the_wrong_python_type() -> None:
    with pytest.raises(TypeError):
        format_value(PLACEHOLDERS["effective_date"], 5)
    with pytest.raises(TypeError):
        format_value(PLACEHOLDERS["effective_date"], datetime(2026, 9, 1, 12, 0))  # noqa: DTZ001
    with pytest.raises(TypeError):
        format_value(PLACEHOLDERS["retention_days"], True)
    with pytest.raises(TypeError):
        format_value(PLACEHOLDERS["district_name"], date(2026, 9, 1))
    with pytest.raises(ValidationError, match="retention_days must be a whole number"):
        format_value(PLACEHOLDERS["retention_days"], "thirty")


def test_it_fills_typed_values() -> None:
    text = (
        "Between [[district_name]] and [[research_org_name]], from [[effective_date]]; "
        "data is destroyed [[retention_days]] days after the term."
    )
    filled = fill(
        text,
        {
            "district_name": "SFUSD",
            "research_org_name": "Stanford University",
            "effective_date": date(2026, 9, 1),
            "retention_days": 30,
        },
    )
    assert filled == (
        "Between SFUSD and Stanford University, from 1 September 2026; "
        "data is destroyed 30 days after the term."
    )


def test_it_leaves_placeholders_without_a_value_and_malformed_ones_as_written() -> None:
    text = "[[district_name]] / [[retention_days]] / [[governing_state]] / [[ Bad ]] / [[x"
    filled = fill(text, {"district_name": "SFUSD", "retention_days": None, "governing_state": ""})
    assert filled == "SFUSD / [[retention_days]] / [[governing_state]] / [[ Bad ]] / [[x"


def test_strict_fill_refuses_missing_values_and_names_them() -> None:
    with pytest.raises(ValidationError) as excinfo:
        fill("[[district_name]] [[expires_on]] [[term_months]]", {"term_months": 12}, strict=True)
    assert error_text(excinfo) == "No value for [[district_name]], [[expires_on]]."


def test_missing_values_lists_placeholders_without_a_usable_value() -> None:
    text = "[[district_name]] [[expires_on]] [[term_months]] [[governing_state]] [[district_name]]"
    values = {"expires_on": date(2027, 1, 1), "term_months": 0, "governing_state": "  "}
    assert missing_values(text, values) == ["district_name", "governing_state"]


def test_a_placeholder_outside_the_registry_is_filled_as_text() -> None:
    assert fill("Study: [[study_title]]", {"study_title": "Algebra I"}) == "Study: Algebra I"


# -- clause text is data, never code ----------------------------------------------------------


def test_template_syntax_in_clause_text_comes_through_literally() -> None:
    text = "{{ settings.SECRET_KEY }} {% debug %} {# note #} [[district_name]] {{district_name}}"
    filled = fill(text, {"district_name": "SFUSD"})
    assert filled == "{{ settings.SECRET_KEY }} {% debug %} {# note #} SFUSD {{district_name}}"


def test_template_syntax_in_values_comes_through_literally() -> None:
    value = "{{ settings.SECRET_KEY }}{% debug %}{% load static %}<script>"
    assert fill("[[purpose_summary]]", {"purpose_summary": value}) == value


def test_values_are_not_filled_again() -> None:
    values = {
        "district_name": "[[research_org_name]]",
        "research_org_name": "[[district_name]] Lab",
        "governing_state": "[[governing_state]]",
    }
    text = "[[district_name]] / [[research_org_name]] / [[governing_state]]"
    assert (
        fill(text, values) == "[[research_org_name]] / [[district_name]] Lab / [[governing_state]]"
    )


def test_backslashes_and_group_references_in_values_are_inserted_literally() -> None:
    value = r"C:\new\table \1 \g<0> $1"
    assert fill("x [[governing_state]] y", {"governing_state": value}) == f"x {value} y"


def test_filling_keeps_what_has_no_parameter_as_the_same_objects():
    """The walks hand back what they leave alone, so the standard's clauses stay shared
    between agreements (agreements.text.document.memo derives from them once)."""
    from agreements.text.consolidation import fill_blocks
    from agreements.text.document.model import (
        BulletList,
        ListItem,
        Paragraph,
        Param,
        Strong,
        Text,
    )

    plain = Paragraph((Text("The Recipient shall "), Strong((Text("not"),)), Text(" sell data.")))
    listed = BulletList((ListItem((Paragraph((Text("Names"),)),)),))
    with_term = Paragraph((Text("Within "), Strong((Param("breach_notice_hours"),)), Text(".")))
    blocks = (plain, listed, with_term)
    assert fill_blocks((plain, listed), {"breach_notice_hours": 72}) == (plain, listed)
    same = (plain, listed)
    assert fill_blocks(same, {}) is same
    filled = fill_blocks(blocks, {"breach_notice_hours": 72})
    assert filled[0] is plain and filled[1] is listed
    assert filled[2] == Paragraph((Text("Within "), Strong((Text("72"),)), Text(".")))


def test_texts_on_one_template_share_the_clauses_without_terms_and_fill_their_own():
    from types import SimpleNamespace

    from agreements.text.consolidation import consolidate, storable
    from agreements.text.document.model import Paragraph, Param, Text

    def clause(key, *inlines):
        blocks = storable((Paragraph(tuple(inlines)),))
        return SimpleNamespace(key=key, heading=key.title(), body="", blocks=blocks)

    clauses = [
        clause("security", Text("The Recipient keeps Student Data secure.")),
        clause("breach", Text("Notice within "), Param("breach_notice_hours"), Text(" hours.")),
    ]

    def text(hours):
        return consolidate(
            clauses=clauses, accepted_overrides=[], values={"breach_notice_hours": hours}
        )

    first, second = text(72), text(24)
    assert first.clause("breach").body == "Notice within 72 hours."
    assert second.clause("breach").body == "Notice within 24 hours."
    assert first.clause("breach").parameters == ("breach_notice_hours",)
    assert first.clause("security").parameters == ()
    # The clause without a term is the very same object in both texts.
    assert first.clause("security").part.blocks is second.clause("security").part.blocks
    assert first.sha256 != second.sha256


def test_a_clause_whose_terms_read_the_same_is_filled_once_and_missing_terms_still_show():
    """Filling is kept by the clause and how each of its terms reads: texts whose terms read
    the same share the filled clause (so its HTML and plain text are derived once), while a
    text with the term missing, or another value, gets its own, and still says what is
    missing and which terms the clause uses, whichever text came first."""
    from types import SimpleNamespace

    from agreements.text.consolidation import consolidate, storable
    from agreements.text.document.model import Paragraph, Param, Text

    blocks = storable(
        (
            Paragraph(
                (
                    Text("Notice within "),
                    Param("breach_notice_hours"),
                    Text(" hours, kept "),
                    Param("retention_days"),
                    Text(" days."),
                )
            ),
        )
    )
    clauses = [SimpleNamespace(key="breach", heading="Breach", body="", blocks=blocks)]

    def text(**values):
        return consolidate(clauses=clauses, accepted_overrides=[], values=values)

    first = text(breach_notice_hours=72, retention_days=30)
    missing = text(breach_notice_hours=72)
    again = text(breach_notice_hours=72, retention_days=30)
    other = text(breach_notice_hours=72, retention_days=31)
    assert again.clause("breach").part.blocks is first.clause("breach").part.blocks
    assert other.clause("breach").part.blocks is not first.clause("breach").part.blocks
    assert first.clause("breach").body == again.clause("breach").body
    assert again.clause("breach").body == "Notice within 72 hours, kept 30 days."
    assert other.clause("breach").body == "Notice within 72 hours, kept 31 days."
    assert missing.clause("breach").body == "Notice within 72 hours, kept [[retention_days]] days."
    assert missing.unfilled == ("retention_days",) and again.unfilled == ()
    # The same missing term again: the filled clause is kept, and so is what it lacks.
    missing_again = text(breach_notice_hours=72)
    assert missing_again.clause("breach").part.blocks is missing.clause("breach").part.blocks
    assert missing_again.unfilled == ("retention_days",)
    for each in (first, missing, again, other):
        assert each.clause("breach").parameters == ("breach_notice_hours", "retention_days")
    assert first.sha256 == again.sha256 != other.sha256
