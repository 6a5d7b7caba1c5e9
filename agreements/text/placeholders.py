"""Typed placeholders in clause text, filled by plain string substitution.

The one syntax: ``[[name]]``, where ``name`` matches ``[a-z][a-z0-9_]*`` (lowercase letters,
digits and underscores, starting with a letter, no spaces), e.g. ``[[retention_days]]``. Anything
else that opens with ``[[`` (``[[ Retention Days ]]``, ``[[x`` with no ``]]``, ``[[]]``) is
*malformed*: :func:`malformed_placeholders` reports it so the author can fix it, and
:func:`fill` leaves it untouched. A run of more than two opening brackets, as in
``[[[district_name]]]``, is a placeholder with literal brackets around it.

Each known placeholder has a type (:class:`PlaceholderType`): ``text``, ``number`` (a whole number
of days, hours or months), ``date`` or ``organisation`` (an organisation's name). The registry is
:data:`PLACEHOLDERS`.

Clause text is data, never code (DOMAIN.md): :func:`fill` is one ``re.sub`` pass with a function,
not a template engine. Values are inserted literally, even if they contain ``[[...]]``, ``{{ }}``
or ``{% %}``, and the inserted text is never searched for placeholders again.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.core.exceptions import ValidationError

PLACEHOLDER_RE = re.compile(r"\[\[([a-z][a-z0-9_]*)\]\]")
NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
_OPENING_RUN_RE = re.compile(r"\[{2,}")

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WRITTEN_DATE_RE = re.compile(r"([0-9]{1,2})\s+([A-Za-z]+)\s+([0-9]{4})")
_WHOLE_NUMBER_RE = re.compile(r"[0-9]{1,9}")
# Control characters other than tab and newline have no business in agreement text.
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

DEFAULT_TEXT_MAX_LENGTH = 2000
DEFAULT_ORGANISATION_MAX_LENGTH = 200

PlaceholderValue = str | int | date


class PlaceholderType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class PlaceholderSpec:
    """What one placeholder stands for and which values it accepts.

    ``unit`` names what a number counts ("days", "hours", "months"); ``min_value`` and
    ``max_value`` bound numbers; ``max_length`` bounds text and organisation names.
    """

    name: str
    type: PlaceholderType
    label: str
    help_text: str
    unit: str = ""
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class MalformedPlaceholder:
    """Something that opens like a placeholder but is not one.

    ``text`` is the offending snippet as written, ``start`` its offset in the text searched,
    ``problem`` what is wrong and how to fix it.
    """

    text: str
    start: int
    problem: str

    @property
    def message(self) -> str:
        return f"'{self.text}' is not a valid placeholder: {self.problem}"

    def __str__(self) -> str:
        return self.message


_ORG = PlaceholderType.ORGANISATION
_DATE = PlaceholderType.DATE
_NUMBER = PlaceholderType.NUMBER
_TEXT = PlaceholderType.TEXT

PLACEHOLDERS: dict[str, PlaceholderSpec] = {
    spec.name: spec
    for spec in (
        PlaceholderSpec(
            "district_name",
            _ORG,
            "District",
            "Legal name of the school district or state education agency that owns the data.",
            max_length=DEFAULT_ORGANISATION_MAX_LENGTH,
        ),
        PlaceholderSpec(
            "research_org_name",
            _ORG,
            "Research partner",
            "Legal name of the university, lab or research organisation.",
            max_length=DEFAULT_ORGANISATION_MAX_LENGTH,
        ),
        PlaceholderSpec(
            "developer_name",
            _ORG,
            "Curriculum developer",
            "Legal name of the curriculum developer (often an ed-tech company).",
            max_length=DEFAULT_ORGANISATION_MAX_LENGTH,
        ),
        PlaceholderSpec(
            "effective_date",
            _DATE,
            "Effective date",
            "The day the agreement takes effect.",
        ),
        PlaceholderSpec(
            "expires_on",
            _DATE,
            "Expiry date",
            "The last day the agreement is in force; data may not flow after it.",
        ),
        PlaceholderSpec(
            "destruction_date",
            _DATE,
            "Destruction deadline",
            "The day by which every recipient must have destroyed the shared data.",
        ),
        PlaceholderSpec(
            "retention_days",
            _NUMBER,
            "Retention period (days)",
            "How many days a recipient may keep shared data after the end of the term.",
            unit="days",
            min_value=0,
            max_value=3650,
        ),
        PlaceholderSpec(
            "breach_notice_hours",
            _NUMBER,
            "Breach notice window (hours)",
            "Within how many hours of becoming aware of a security incident a recipient must "
            "notify the district.",
            unit="hours",
            min_value=1,
            max_value=720,
        ),
        PlaceholderSpec(
            "term_months",
            _NUMBER,
            "Term (months)",
            "How many months the agreement runs from its effective date.",
            unit="months",
            min_value=1,
            max_value=120,
        ),
        PlaceholderSpec(
            "termination_notice_days",
            _NUMBER,
            "Termination notice (days)",
            "How many days of written notice a party must give to terminate for convenience.",
            unit="days",
            min_value=0,
            max_value=365,
        ),
        PlaceholderSpec(
            "cure_days",
            _NUMBER,
            "Cure period (days)",
            "How many days a party in breach has, after written notice, to cure the breach "
            "before the agreement may be terminated for it.",
            unit="days",
            min_value=0,
            max_value=365,
        ),
        PlaceholderSpec(
            "publication_review_days",
            _NUMBER,
            "Pre-publication review (days)",
            "How many days before publication the other parties receive a draft to review.",
            unit="days",
            min_value=0,
            max_value=365,
        ),
        PlaceholderSpec(
            "governing_state",
            _TEXT,
            "Governing law (state)",
            "The US state whose law governs the agreement, e.g. California.",
            max_length=100,
        ),
        PlaceholderSpec(
            "purpose_summary",
            _TEXT,
            "Purpose",
            "One or two sentences on what the partnership wants to learn and why it needs "
            "the data.",
            max_length=DEFAULT_TEXT_MAX_LENGTH,
        ),
        PlaceholderSpec(
            "data_custodian_title",
            _TEXT,
            "Data custodian's title",
            "Job title of the district officer who releases and oversees the data, e.g. "
            "Director of Research and Assessment.",
            max_length=200,
        ),
    )
}


# -- finding placeholders ------------------------------------------------------------------


def find_placeholders(text: str) -> list[str]:
    """Names of the well-formed placeholders in ``text``, in order of first appearance."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER_RE.finditer(text)))


def unknown_placeholders(text: str, known: Container[str] = PLACEHOLDERS) -> list[str]:
    """Names of well-formed placeholders in ``text`` that are not in ``known``, in order."""
    return [name for name in find_placeholders(text) if name not in known]


def suggest_placeholder(name: str, known: Iterable[str] = PLACEHOLDERS) -> str | None:
    """The known placeholder name closest to a misspelt ``name``, if one is close enough."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)
    return matches[0] if matches else None


def malformed_placeholders(text: str) -> list[MalformedPlaceholder]:
    """Every ``[[`` that does not open a well-formed placeholder, with what to fix.

    Problems are looked for within one line: a placeholder never spans lines.
    """
    found: list[MalformedPlaceholder] = []
    for run in _OPENING_RUN_RE.finditer(text):
        opening = run.end() - 2  # extra leading brackets are literal text
        if PLACEHOLDER_RE.match(text, opening):
            continue
        found.append(_describe_malformed(text, run.start(), opening))
    return found


# How far after "[[" to look for the closing "]]": no sensible name is longer, and a bound keeps
# a text full of "[[" from taking quadratic time.
_LOOKAHEAD = 120


def _describe_malformed(text: str, start: int, opening: int) -> MalformedPlaceholder:
    inner_start = opening + 2
    window_end = min(len(text), inner_start + _LOOKAHEAD)
    line_end = text.find("\n", opening, window_end)
    if line_end == -1:
        line_end = window_end
    closing = text.find("]]", inner_start, line_end)
    next_opening = text.find("[[", inner_start, line_end)
    if closing == -1 or (next_opening != -1 and next_opening < closing):
        word = re.match(r"[^\s\[]*", text[inner_start:line_end])
        snippet = text[start:inner_start] + (word.group(0) if word else "")
        return MalformedPlaceholder(snippet, start, "it is not closed with ']]' on the same line.")
    snippet = text[start : closing + 2]
    inner = text[inner_start:closing]
    if not inner.strip():
        return MalformedPlaceholder(
            snippet,
            start,
            "it has no name; write one between the brackets, e.g. [[district_name]].",
        )
    problem = (
        "names use only lowercase letters, digits and underscores, start with a letter and have "
        "no spaces, e.g. [[retention_days]]"
    )
    candidate = re.sub(r"[^a-z0-9]+", "_", inner.strip().lower()).strip("_")
    if NAME_RE.fullmatch(candidate):
        problem += f"; did you mean [[{candidate}]]?"
    else:
        problem += "."
    return MalformedPlaceholder(snippet, start, problem)


def missing_values(text: str, values: Mapping[str, object]) -> list[str]:
    """Placeholders in ``text`` that ``values`` gives no value for (absent, None or "")."""
    return [name for name in find_placeholders(text) if _is_blank(values.get(name))]


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- values ----------------------------------------------------------------------------------


def format_date(value: date) -> str:
    """A date as agreements write it, e.g. "1 September 2026" (independent of the locale)."""
    return f"{value.day} {MONTH_NAMES[value.month - 1]} {value.year}"


def format_value(spec: PlaceholderSpec, value: PlaceholderValue) -> str:
    """The text that replaces ``[[spec.name]]`` for ``value``.

    Dates read "1 September 2026", numbers are written plainly ("72"), text and organisation
    names are inserted exactly as given. A ``str`` value for a date or number placeholder is
    parsed as :func:`validate_value` does, so "2026-09-01" also reads "1 September 2026";
    a value of the wrong Python type is a programming error (``TypeError``).
    """
    if isinstance(value, str) and spec.type in (PlaceholderType.DATE, PlaceholderType.NUMBER):
        value = _parse(spec, value)
    if spec.type is PlaceholderType.DATE:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{spec.name} needs a date, got {type(value).__name__}")
        return format_date(value)
    if spec.type is PlaceholderType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{spec.name} needs an int, got {type(value).__name__}")
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"{spec.name} needs a str, got {type(value).__name__}")
    return value


def _spec_for(name: str, specs: Mapping[str, PlaceholderSpec]) -> PlaceholderSpec:
    # A placeholder outside the registry can still be filled; its value is taken as text.
    return specs.get(name) or PlaceholderSpec(name, PlaceholderType.TEXT, name, "")


def fill(
    text: str,
    values: Mapping[str, PlaceholderValue | None],
    *,
    specs: Mapping[str, PlaceholderSpec] = PLACEHOLDERS,
    strict: bool = False,
) -> str:
    """``text`` with each ``[[name]]`` that has a value replaced by its formatted value.

    One pass of ``re.sub`` with a function: replacements are literal and never filled again.
    Placeholders without a value (absent, None or "") stay as written, so a draft shows what
    is still open; with ``strict=True`` they raise a ``ValidationError`` listing them instead.
    Malformed placeholders are left as they are.
    """
    if strict and (missing := missing_values(text, values)):
        raise ValidationError(
            "No value for " + ", ".join(f"[[{name}]]" for name in missing) + ".",
            code="placeholder_missing",
        )

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None or _is_blank(value):
            return match.group(0)
        return format_value(_spec_for(name, specs), value)

    return PLACEHOLDER_RE.sub(replace, text)


def validate_value(
    name: str, raw: str, *, specs: Mapping[str, PlaceholderSpec] = PLACEHOLDERS
) -> PlaceholderValue:
    """Parse a value a user typed for placeholder ``name``; return it as its type.

    Numbers come back as ``int``, dates as ``date`` (typed as 2026-09-01 or 1 September 2026),
    text and organisation names as the stripped string. Anything else raises
    ``ValidationError`` with a message that names the placeholder and says what to fix.
    """
    spec = specs.get(name)
    if spec is None:
        raise ValidationError(f"[[{name}]] is not a known placeholder.", code="placeholder_unknown")
    return _parse(spec, raw)


def _parse(spec: PlaceholderSpec, raw: str) -> PlaceholderValue:
    value = raw.strip()
    if not value:
        raise _invalid(f"{spec.name} is empty: enter {_expected(spec)}.")
    if spec.type is PlaceholderType.NUMBER:
        return _parse_number(spec, raw, value)
    if spec.type is PlaceholderType.DATE:
        return _parse_date(spec, raw, value)
    if _CONTROL_CHARS_RE.search(value):
        raise _invalid(f"{spec.name} contains a control character; retype it as plain text.")
    if spec.type is PlaceholderType.ORGANISATION and "\n" in value:
        raise _invalid(f"{spec.name} must be an organisation name on one line.")
    limit = spec.max_length or DEFAULT_TEXT_MAX_LENGTH
    if len(value) > limit:
        raise _invalid(
            f"{spec.name} must be at most {limit} characters, got {len(value)} characters."
        )
    return value


def _parse_number(spec: PlaceholderSpec, raw: str, value: str) -> int:
    if not _WHOLE_NUMBER_RE.fullmatch(value):
        raise _invalid(f"{spec.name} must be {_expected(spec)}, got {_quote(raw)}.")
    number = int(value)
    if spec.min_value is not None and number < spec.min_value:
        limit = _amount(spec.min_value, spec.unit)
        raise _invalid(f"{spec.name} must be at least {limit}, got {number}.")
    if spec.max_value is not None and number > spec.max_value:
        limit = _amount(spec.max_value, spec.unit)
        raise _invalid(f"{spec.name} must be at most {limit}, got {number}.")
    return number


def _amount(number: int, unit: str) -> str:
    if not unit:
        return str(number)
    return f"{number} {unit.removesuffix('s') if number == 1 else unit}"


def _parse_date(spec: PlaceholderSpec, raw: str, value: str) -> date:
    try:
        if _ISO_DATE_RE.fullmatch(value):
            return date.fromisoformat(value)
        if (written := _WRITTEN_DATE_RE.fullmatch(value)) and (
            month := _MONTH_NUMBERS.get(written.group(2).lower())
        ):
            return date(int(written.group(3)), month, int(written.group(1)))
    except ValueError:
        raise _invalid(
            f"{spec.name}: {_quote(raw)} is not a real calendar date; check the day and month."
        ) from None
    raise _invalid(f"{spec.name} must be {_expected(spec)}, got {_quote(raw)}.")


def _expected(spec: PlaceholderSpec) -> str:
    if spec.type is PlaceholderType.NUMBER:
        return f"a whole number of {spec.unit}" if spec.unit else "a whole number"
    if spec.type is PlaceholderType.DATE:
        return "a date written as YYYY-MM-DD (e.g. 2026-09-01) or as 1 September 2026"
    if spec.type is PlaceholderType.ORGANISATION:
        return "the organisation's name"
    return "some text"


def _quote(raw: str) -> str:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return f"'{shown}'"


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="placeholder_invalid")
