"""The student key format language and the rule against keys shaped like names (issue 20,
item 5): parsing, the plain-language description and examples, the format's own validation,
and the name rule as a table and as properties. Pure functions: no database."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collaboratory.errors import DomainError
from partners.student_keys import (
    BASIC_PROBLEM,
    NAME_PROBLEM,
    FormatError,
    KeyFormat,
    check_student_key,
    key_problem,
    looks_like_a_name,
    parse_format,
)

# --- the format language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "description", "regex"),
    [
        ("S#######", "“S” followed by 7 digits", "^(?:S[0-9]{7})$"),
        ("RB-######", "“RB-” followed by 6 digits", r"^(?:RB\-[0-9]{6})$"),
        ("stu-####", "“stu-” followed by 4 digits", r"^(?:stu\-[0-9]{4})$"),
        ("######", "6 digits", "^(?:[0-9]{6})$"),
        (
            "@@-####",
            "2 capital letters followed by “-”, then 4 digits",
            r"^(?:[A-Z]{2}\-[0-9]{4})$",
        ),
        (
            "**.####",
            "2 capital letters or digits followed by “.”, then 4 digits",
            r"^(?:[A-Z0-9]{2}\.[0-9]{4})$",
        ),
        ("STUDENT####", "“STUDENT” followed by 4 digits", "^(?:STUDENT[0-9]{4})$"),
        (
            "S#######, T######",
            "“S” followed by 7 digits, or “T” followed by 6 digits",
            "^(?:S[0-9]{7}|T[0-9]{6})$",
        ),
    ],
)
def test_a_format_is_described_in_words_and_compiles_to_one_anchored_pattern(
    text, description, regex
):
    key_format = parse_format(text)
    assert key_format is not None
    assert key_format.description == description
    assert key_format.regex == regex


@pytest.mark.parametrize("text", ["S#######;T######", "S#######\nT######", "S####### or T######"])
def test_alternatives_may_be_separated_by_commas_semicolons_lines_or_the_word_or(text):
    key_format = parse_format(text)
    assert key_format is not None
    assert key_format.source == "S#######, T######"


def test_an_empty_format_means_no_format():
    assert parse_format("") is None
    assert parse_format("   ") is None


@pytest.mark.parametrize(
    "text", ["S#######", "RB-######", "@#@#@#", "**.####", "S#######, T######", "k-***#"]
)
def test_the_examples_match_the_format_and_are_not_shaped_like_names(text):
    key_format = parse_format(text)
    assert key_format is not None
    examples = key_format.examples()
    assert len(examples) == 2 * len(key_format.shapes)
    assert len(set(examples)) == len(examples)
    for example in examples:
        assert key_format.matches(example)
        assert not re.search(r"[AEIOUY]", example.upper().replace("STU", "").replace("RB", ""))


def test_a_format_matches_exactly_and_is_case_sensitive():
    key_format = parse_format("S#######")
    assert key_format is not None
    assert key_format.matches("S1234567")
    for other in ("s1234567", "S123456", "S12345678", "S1234567\n", " S1234567", "SX234567"):
        assert not key_format.matches(other)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("S ####", "A space (character 2 of “S ####”) cannot be part of a student key"),
        ("S#/###", "“/” (character 3 of “S#/###”) cannot be part of a student key"),
        ("S##", "only 2 position(s) that vary"),
        ("@@@@", "has no digit (#)"),
        ("Maria", "has no digit (#)"),
        ("@@@@##", "4 or more letters in a row, which can spell a name"),
        ("S@@@##", "4 or more letters in a row"),  # a fixed S next to 3 letters: SARA
        ("****####", "4 or more letters in a row"),
        (".####", "must start with a letter, a digit, # @ or *"),
        ("S#######,,T######", "an empty format between two commas"),
        ("S#######, S#######", "“S#######” is given twice"),
        ("#" * 65, "at most 64"),
        (", ".join(f"S{'#' * n}" for n in range(4, 10)), "at most 5 formats"),
    ],
)
def test_a_format_that_cannot_work_or_could_admit_names_is_refused_saying_what_to_fix(text, says):
    with pytest.raises(FormatError) as error:
        parse_format(text)
    assert says in str(error.value)


def test_fixed_letters_are_not_a_run_of_letters_that_could_spell_a_name():
    # A fixed word is the district's choice, not a student's name.
    assert parse_format("STUDENT####") is not None
    assert parse_format("RB-@@####") is not None
    # ... but fixed letters next to varying ones count: RB@@ could spell "RBAN"-like words,
    # S@@@ spells SARA.
    with pytest.raises(FormatError):
        parse_format("RB@@####")


# --- keys shaped like names (no district format) ----------------------------------------------

NAME_SHAPED = [
    "Maria.Lopez",
    "lopez_maria",
    "MLopez",
    "mlopez",
    "Maria-Lopez",
    "LOPEZ",
    "Li.Na",
    "Ng",
    "jsmith2",
    "maria.lopez2013",
    "Lopez1",
    "O-Brien7",
    "ana_garcia_09",
]
NOT_A_KEY_AT_ALL = ["Maria Lopez", "maria@school.org", "-0042", "", "é1234", "S" * 65]
PSEUDONYMOUS = [
    "S1234567",
    "stu-0042",
    "A1B2C3",
    "RB-100001",
    "123456",
    "2026-0001",
    "XK-44-QT",
    "ID_000123",
    "k9x2m4",
    "BRT0042",  # three letters in a row
    "QWRT9",  # four letters but no vowel
]


@pytest.mark.parametrize("key", NAME_SHAPED)
def test_without_a_format_keys_shaped_like_names_are_refused(key):
    assert looks_like_a_name(key)
    assert key_problem(key, None).startswith("This looks like a name")


@pytest.mark.parametrize("key", NOT_A_KEY_AT_ALL)
def test_keys_outside_the_basic_shape_are_refused(key):
    assert key_problem(key, None)


@pytest.mark.parametrize("key", PSEUDONYMOUS)
def test_without_a_format_pseudonymous_keys_pass(key):
    assert not looks_like_a_name(key)
    assert key_problem(key, None) == ""


WORD = st.from_regex(r"[A-Z][a-z]{3,11}", fullmatch=True).filter(
    lambda w: any(c in "aeiouy" for c in w)
)


@given(first=WORD, last=WORD, separator=st.sampled_from([".", "_", "-", ""]), data=st.data())
def test_any_first_and_last_name_joined_is_refused(first, last, separator, data):
    spelling = data.draw(st.sampled_from([str.lower, str.upper, str.title, lambda s: s]))
    key = spelling(f"{first}{separator}{last}")
    # ... even with a year or a number after it (name-derived logins).
    suffix = data.draw(st.sampled_from(["", "1", "2013", "_07"]))
    assert key_problem(key + suffix, None)


@given(
    prefix=st.from_regex(r"([A-Z]{1,3}-?)?", fullmatch=True),
    digits=st.from_regex(r"[0-9]{4,10}", fullmatch=True),
)
def test_any_short_prefix_and_digits_passes(prefix, digits):
    assert key_problem(prefix + digits, None) == ""


@given(key=st.text(max_size=80), with_format=st.booleans())
def test_the_problem_is_one_of_a_few_fixed_messages_whatever_the_key(key, with_format):
    # So it cannot echo the key: the message does not depend on it.
    key_format = parse_format("S#######") if with_format else None
    assert key_problem(key, key_format) in {
        "",
        "The student key is empty.",
        BASIC_PROBLEM,
        NAME_PROBLEM,
        key_problem("Maria.Lopez", parse_format("S#######")),
    }


# --- the one check ----------------------------------------------------------------------------


class District:
    def __init__(self, student_key_format: str) -> None:
        self.student_key_format = student_key_format


def test_check_student_key_applies_the_districts_format_and_never_echoes_the_key():
    district = District("S#######")
    check_student_key(district, "S1234567")
    with pytest.raises(DomainError) as error:
        check_student_key(district, "Maria.Lopez")
    message = str(error.value.message_dict["student_key"])
    assert "Maria" not in message and "Lopez" not in message
    assert "“S” followed by 7 digits" in message
    # A key that would pass the name rule is still refused by the format.
    with pytest.raises(DomainError):
        check_student_key(district, "RB-100001")


def test_check_student_key_without_a_format_refuses_names():
    check_student_key(District(""), "RB-100001")
    check_student_key(None, "A1B2C3")
    with pytest.raises(DomainError, match="looks like a name"):
        check_student_key(District(""), "lopez_maria")


def test_a_stored_format_that_no_longer_parses_admits_nothing():
    # Fail closed: a rule tightened after a format was saved must not let every key through.
    assert key_problem("S1234567", KeyFormat(())) != ""
    with pytest.raises(DomainError):
        check_student_key(District("@@@@##"), "AB12")
