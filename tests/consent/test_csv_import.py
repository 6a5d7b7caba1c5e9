"""CSV checks without the database: every problem is reported with its row and column."""

import datetime as dt

import pytest

from consent.csv_import import (
    FileRejected,
    FormRef,
    KnownStudent,
    check_file,
    decode,
)
from consent.rules import Decision

TODAY = dt.date(2026, 10, 15)
FORM = FormRef(id=1, language="en", version=1, effective_date=dt.date(2026, 8, 1))
FORM_ES = FormRef(id=2, language="es", version=1, effective_date=dt.date(2026, 9, 1))
HEADER = "student_key,decision,given_by,method,date,school,grade,birth_year,witness"


def check(lines, *, known=None, history=None, max_rows=1000, header=HEADER):
    text = "\n".join([header, *lines] if header else lines) + "\n"
    return check_file(
        text,
        max_rows=max_rows,
        today=TODAY,
        default_form=FORM,
        forms=[FORM, FORM_ES],
        lookup=lambda keys, withdrawing: (known or {}, history or {}),
    )


def problems(result):
    return [(e.row, e.column) for e in result.errors]


def message(result, row, column):
    return next(e.message for e in result.errors if (e.row, e.column) == (row, column))


def test_a_clean_file_yields_its_rows():
    result = check(
        [
            "S1,granted,parent,paper,2026-09-01,Cedar Hill,7,2013,",
            "S1,granted,student,electronic,2026-09-02,Cedar Hill,7,2013,",
            "S2,,,,,Riverside,K,,",
        ]
    )
    assert result.ok, result.errors
    assert [r.student_key for r in result.rows] == ["S1", "S1", "S2"]
    assert result.rows[2].action is None and result.rows[2].grade == 0
    assert result.counts() == {
        "granted": 2,
        "refused": 0,
        "withdrawn": 0,
        "no_decision": 1,
        "students": 2,
    }


def test_unknown_and_missing_columns_are_reported_on_the_header_row():
    result = check(
        ["student_key,decision,given_by,date,first_name", "S1,granted,parent,2026-09-01,Ann"],
        header=None,
    )
    assert (1, "first_name") in problems(result)
    assert (1, "method") in problems(result)
    assert "Unknown column “first_name”" in message(result, 1, "first_name")
    assert result.rows == []


def test_bad_dates_are_reported_with_row_and_column():
    result = check(
        [
            "S1,granted,parent,paper,09/01/2026,,,,",
            "S2,granted,parent,paper,2026-02-30,,,,",
            "S3,granted,parent,paper,2027-01-01,,,,",
            "S4,granted,parent,paper,2026-07-01,,,,",
        ]
    )
    assert problems(result) == [(2, "date"), (3, "date"), (4, "date"), (5, "date")]
    assert "use YYYY-MM-DD" in message(result, 2, "date")
    assert "in the future" in message(result, 4, "date")
    assert "before the form version" in message(result, 5, "date")


def test_unknown_decisions_givers_and_methods_are_reported():
    result = check(["S1,maybe,uncle,fax,2026-09-01,,,,"])
    assert problems(result) == [(2, "decision"), (2, "given_by"), (2, "method")]
    assert "“maybe” is not a decision" in message(result, 2, "decision")


def test_duplicate_rows_are_reported_against_the_first():
    result = check(
        [
            "S1,granted,parent,paper,2026-09-01,,,,",
            "S1,granted,parent,electronic,2026-09-01,,,,",
        ]
    )
    assert problems(result) == [(3, "(row)")]
    assert message(result, 3, "(row)") == "Duplicate of row 2."


def test_two_different_decisions_on_the_same_day_are_refused():
    result = check(
        [
            "S1,granted,parent,paper,2026-09-01,,,,",
            "S1,refused,parent,paper,2026-09-01,,,,",
        ]
    )
    assert problems(result) == [(3, "decision")]


def test_a_parent_cannot_decide_for_a_student_who_is_an_adult():
    result = check(["S1,granted,parent,paper,2026-09-01,,12,2007,"])
    assert problems(result) == [(2, "birth_year")]
    assert "18 or older" in message(result, 2, "birth_year")


def test_the_age_rule_uses_the_stored_birth_year_when_the_file_has_none():
    result = check(["S1,granted,parent,paper,2026-09-01,,,,"], known={"S1": KnownStudent(2007)})
    assert problems(result) == [(2, "given_by")]


def test_an_implausible_birth_year_is_reported():
    result = check(["S1,granted,parent,paper,2026-09-01,,,2025,"])
    assert problems(result) == [(2, "birth_year")]


def test_conflicting_birth_years_for_one_student_are_reported():
    result = check(
        [
            "S1,granted,parent,paper,2026-09-01,,,2013,",
            "S1,granted,student,paper,2026-09-02,,,2012,",
        ]
    )
    assert (3, "birth_year") in problems(result)


def test_a_withdrawal_needs_an_earlier_grant_by_the_same_giver():
    result = check(
        [
            "S1,withdrawn,parent,paper,2026-09-05,,,,",
            "S2,granted,student,paper,2026-09-01,,,,",
            "S2,withdrawn,parent,paper,2026-09-05,,,,",
            "S3,granted,parent,paper,2026-09-01,,,,",
            "S3,withdrawn,parent,paper,2026-09-05,,,,",
        ]
    )
    assert problems(result) == [(2, "decision"), (4, "decision")]
    assert "Nothing to withdraw" in message(result, 2, "decision")


def test_a_withdrawal_may_follow_a_stored_grant():
    stored = {"S1": [Decision("granted", "parent", dt.date(2026, 8, 20), 7)]}
    assert check(["S1,withdrawn,parent,paper,2026-09-05,,,,"], history=stored).ok


def test_a_verbal_decision_needs_a_witness():
    result = check(
        [
            "S1,granted,parent,verbal,2026-09-01,,,,",
            "S2,granted,parent,verbal,2026-09-01,,,,Ms. Alvarez",
        ]
    )
    assert problems(result) == [(2, "witness")]


def test_a_name_in_the_key_column_is_refused_without_being_echoed():
    result = check(["Jane Doe,granted,parent,paper,2026-09-01,,,,"])
    assert problems(result) == [(2, "student_key")]
    assert "Jane" not in message(result, 2, "student_key")


def test_form_language_and_version_pick_the_form_seen():
    text = (
        HEADER + ",form_language,form_version\n"
        "S1,granted,parent,paper,2026-09-10,,,,,es,1\n"
        "S2,granted,parent,paper,2026-09-10,,,,,fr,1\n"
    )
    result = check_file(text, max_rows=10, today=TODAY, default_form=FORM, forms=[FORM, FORM_ES])
    assert problems(result) == [(3, "form_version")]
    assert result.rows[0].form_id == FORM_ES.id


def test_a_registration_row_must_leave_the_decision_fields_empty():
    result = check(["S1,,parent,,2026-09-01,,,,"])
    assert problems(result) == [(2, "given_by"), (2, "date")]


# --- the file -----------------------------------------------------------------------------


def test_non_utf8_files_are_refused_with_a_clear_message():
    with pytest.raises(FileRejected, match="not UTF-8"):
        decode("student_key\nJosé".encode("latin-1"), max_bytes=1000)


def test_spreadsheets_and_binary_files_are_refused():
    with pytest.raises(FileRejected, match="Excel workbook"):
        decode(b"PK\x03\x04rest", max_bytes=1000)
    with pytest.raises(FileRejected, match="binary data"):
        decode(b"student_key\x00\x01", max_bytes=1000)


def test_files_over_the_size_limit_are_refused():
    with pytest.raises(FileRejected, match="the limit is"):
        decode(b"x" * 101, max_bytes=100)


def test_a_byte_order_mark_is_accepted():
    assert decode("\ufeffstudent_key".encode(), max_bytes=100) == "student_key"


def test_files_with_too_many_rows_are_refused():
    lines = [f"S{i},granted,parent,paper,2026-09-01,,,," for i in range(6)]
    with pytest.raises(FileRejected, match="more than 5 rows"):
        check(lines, max_rows=5)


def test_one_pass_reports_every_problem_of_a_row():
    result = check(["S1,granted,parent,verbal,2026-09-01,,,2006,"])
    assert problems(result) == [(2, "witness"), (2, "birth_year")]
    assert result.rows == []
