"""An agreement's parameters: the one home of every structured term.

The text refers to a term by its parameter (``[[breach_notice_hours]] hours``); the agreement
holds its value, in a field (``FIELDS``) or, for parameters without one, in
``placeholder_values``. The text is filled from that value, and every structured output (the
Terms panel, the PDF cover, ODRL ``/terms``, the API, the calendar, the dashboard) reads the
same field, so they cannot say different things.

A proposal changes a term by changing the parameter (``ClauseOverride.parameters``, applied
here when the proposal is accepted), never by typing a literal over it:
:func:`literals_over_parameters` finds where a proposed text replaced a parameter with a value,
so the proposer can be offered to change the parameter instead.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from agreements.models import Agreement
from agreements.text.entry import normalise_text
from agreements.text.placeholders import (
    PLACEHOLDERS,
    PlaceholderSpec,
    PlaceholderType,
    PlaceholderValue,
    format_value,
    validate_value,
)

#: Parameters whose value is a field of the agreement (name -> field).
FIELDS: dict[str, str] = {
    "effective_date": "start_date",
    "term_months": "term_months",
    "expires_on": "expires_on",
    "breach_notice_hours": "breach_notice_hours",
    "retention_days": "retention_days",
    "destruction_date": "destruction_date",
    "termination_notice_days": "termination_notice_days",
    "cure_days": "cure_days",
    "purpose_summary": "purpose",
}

#: The terms the structured outputs publish: the text must keep stating each of them where
#: the standard does (agreements.terms_check).
TERMS: tuple[str, ...] = (
    "effective_date",
    "term_months",
    "expires_on",
    "breach_notice_hours",
    "retention_days",
    "destruction_date",
    "termination_notice_days",
    "cure_days",
    "purpose_summary",
)

#: Why a parameter cannot be changed by a proposal.
FIXED: dict[str, str] = {
    "district_name": "it is the district's name as its organisation record gives it",
    "research_org_name": "it is the research partner's name as its organisation record gives it",
    "developer_name": "it is the curriculum developer's name as its organisation record gives it",
    "expires_on": "it follows from the effective date and the term: change [[term_months]] or "
    "[[effective_date]] instead",
}


def spec(name: str) -> PlaceholderSpec:
    return PLACEHOLDERS.get(name) or PlaceholderSpec(name, PlaceholderType.TEXT, name, "")


def label(name: str) -> str:
    """The parameter's name as a sentence uses it: "Breach notice window" (an input's label
    says the unit, "(hours)"; a sentence states it with the value)."""
    found = PLACEHOLDERS.get(name)
    return re.sub(r"\s*\([^)]*\)$", "", found.label) if found else name


def filled(name: str, value: PlaceholderValue) -> str:
    """The words ``[[name]]`` becomes in the text for ``value`` ("48", "1 May 2028")."""
    return format_value(spec(name), value)


def stated(name: str, value: PlaceholderValue | None) -> str:
    """How ``value`` reads in the text, with its unit: "48 hours", "1 September 2027"."""
    if value is None or value == "":
        return "(no value)"
    found = spec(name)
    text = format_value(found, value)
    if found.type is PlaceholderType.NUMBER and found.unit:
        unit = found.unit.removesuffix("s") if value == 1 else found.unit
        return f"{text} {unit}"
    return text


def to_json(value: PlaceholderValue | None) -> Any:
    """A value as ``ClauseOverride.parameters`` stores it (dates as ISO strings)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_json(name: str, value: Any) -> PlaceholderValue | None:
    if value is None or value == "":
        return None
    if spec(name).type is PlaceholderType.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if spec(name).type is PlaceholderType.NUMBER and isinstance(value, str):
        return int(value)
    return value


def current(agreement: Agreement, name: str) -> PlaceholderValue | None:
    """The value the text is filled with now."""
    if name in FIELDS:
        return getattr(agreement, FIELDS[name])
    stored = (agreement.placeholder_values or {}).get(name)
    return None if stored in ("", None) else from_json(name, stored)


def parse_changes(
    agreement: Agreement, raw: Mapping[str, str]
) -> dict[str, tuple[PlaceholderValue | None, PlaceholderValue]]:
    """The changes a proposer typed (name -> text), checked: ``{name: (from, to)}`` for each
    value that differs from the current one. Raises ``ValidationError`` naming what to fix."""
    errors: list[str] = []
    changes: dict[str, tuple[PlaceholderValue | None, PlaceholderValue]] = {}
    for name, typed in raw.items():
        if name in FIXED:
            errors.append(f"[[{name}]] cannot be changed by a proposal: {FIXED[name]}.")
            continue
        try:
            value = validate_value(name, normalise_text(str(typed)))
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        before = current(agreement, name)
        if isinstance(value, str) and isinstance(before, str):
            if value == normalise_text(before).strip():
                continue  # the same words, as a browser sends them back
        if value != before:
            changes[name] = (before, value)
    if errors:
        raise ValidationError(errors)
    return changes


def stored_changes(
    changes: Mapping[str, tuple[PlaceholderValue | None, PlaceholderValue]],
) -> dict[str, dict[str, Any]]:
    return {name: {"from": to_json(a), "to": to_json(b)} for name, (a, b) in changes.items()}


def overlay(
    values: Mapping[str, PlaceholderValue | None], stored: Mapping[str, Any] | None, end: str
) -> dict[str, PlaceholderValue | None]:
    """``values`` with a proposal's stored changes applied (``end="to"``) or undone
    (``end="from"``), and ``expires_on`` following the effective date and the term."""
    out = dict(values)
    for name, change in (stored or {}).items():
        out[name] = from_json(name, change.get(end))
    if stored and ({"effective_date", "term_months"} & set(stored)):
        start, months = out.get("effective_date"), out.get("term_months")
        if isinstance(start, dt.date) and isinstance(months, int):
            out["expires_on"] = add_months(start, months)
    return out


def before_changes(
    values: Mapping[str, PlaceholderValue | None], accepted: Iterable[Any]
) -> dict[str, PlaceholderValue | None]:
    """``values`` as they were before the ``accepted`` proposals changed terms (latest
    first undone): the values the standard text is read with, so a negotiated term shows
    as a change against the standard."""
    out = dict(values)
    for override in sorted(
        accepted, key=lambda o: (o.decided_at is None, o.decided_at), reverse=True
    ):
        if override.parameters:
            out = overlay(out, override.parameters, "from")
    return out


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, on the same day of the month or the month's
    last day (31 January + 1 month is 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def apply(agreement: Agreement, stored: Mapping[str, Any] | None, end: str = "to") -> list[str]:
    """Write a proposal's stored changes onto the agreement (``end="to"`` when it is accepted,
    ``"from"`` to undo an accepted one that is withdrawn or superseded). Validates the result
    and saves the fields changed; returns their names. A value someone has changed since is
    left alone when undoing."""
    if not stored:
        return []
    changed: set[str] = set()
    placeholder_values = dict(agreement.placeholder_values or {})
    other_end = "to" if end == "from" else "from"
    for name, change in stored.items():
        if end == "from" and to_json(current(agreement, name)) != change.get(other_end):
            continue
        value = from_json(name, change.get(end))
        if name in FIELDS:
            setattr(agreement, FIELDS[name], value)
            changed.add(FIELDS[name])
        else:
            if value is None:
                placeholder_values.pop(name, None)
            else:
                placeholder_values[name] = to_json(value)
            changed.add("placeholder_values")
    if "placeholder_values" in changed:
        agreement.placeholder_values = placeholder_values
    if changed & {"start_date", "term_months"} and agreement.term_months:
        agreement.expires_on = add_months(agreement.start_date, agreement.term_months)
        changed.add("expires_on")
    if not changed:
        return []
    agreement.full_clean(validate_unique=False, validate_constraints=False)
    if agreement.expires_on <= agreement.start_date:
        raise ValidationError("The agreement would end before it starts.")
    agreement.save(update_fields=[*sorted(changed), "updated_at"])
    return sorted(changed)


# --- literals typed over a parameter --------------------------------------------------------

_TOKEN_RE = re.compile(r"\[\[[a-z][a-z0-9_]*\]\]|\w+|[^\w\s]")
_PARAM_RE = re.compile(r"\[\[([a-z][a-z0-9_]*)\]\]")
_NUMBER_RE = re.compile(r"\d{1,9}")
_DATE_PATTERNS = (
    re.compile(r"\d{4}-\d{2}-\d{2}"),
    re.compile(r"\d{1,2}\s+[A-Za-z]+\s+\d{4}"),
    re.compile(r"([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})"),
)


@dataclass(frozen=True)
class LiteralOverParameter:
    """Where a proposed text replaced ``[[name]]`` with something else.

    ``typed`` is what replaced it; ``value`` the parameter value read from it (None when none
    could be read); ``restored`` the proposed text with the parameter put back in its place.
    """

    name: str
    typed: str
    value: PlaceholderValue | None
    restored: str
    span: tuple[int, int] = (0, 0)  # where ``typed`` is in the proposed text

    @property
    def label(self) -> str:
        return label(self.name)


def restore(after: str, found: Iterable[LiteralOverParameter]) -> str | None:
    """``after`` with every typed-over parameter put back in its place, or None when one of
    them has no value to offer (then the proposer must edit the text)."""
    items = sorted(found, key=lambda item: item.span, reverse=True)
    if not items or any(item.value is None for item in items):
        return None
    for item in items:
        start, end = item.span
        after = after[:start] + f"[[{item.name}]]" + after[end:]
    return after


def literals_over_parameters(
    before: str, after: str, names: Iterable[str] | None = None
) -> list[LiteralOverParameter]:
    """Each parameter of ``before`` (of ``names``, if given) that ``after`` no longer refers to
    anywhere, with what replaced it. Both are clause texts as Markdown."""
    kept = set(_PARAM_RE.findall(after))
    wanted = set(names) if names is not None else None
    old = [m.group(0) for m in _TOKEN_RE.finditer(before)]
    new_matches = list(_TOKEN_RE.finditer(after))
    new = [m.group(0) for m in new_matches]
    found: list[LiteralOverParameter] = []
    seen: set[str] = set()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op not in ("replace", "delete"):
            continue
        for token in old[i1:i2]:
            match = _PARAM_RE.fullmatch(token)
            if not match or (name := match.group(1)) in kept or name in seen:
                continue
            if wanted is not None and name not in wanted:
                continue
            seen.add(name)
            value: PlaceholderValue | None = None
            span: tuple[int, int] | None = None
            if op == "replace" and j1 < j2:
                start = new_matches[j1].start()
                value, span = _read_value(name, after[start : new_matches[j2 - 1].end()])
                if span is not None:
                    span = (start + span[0], start + span[1])
            if span is None:
                # A rewritten clause aligns loosely: look for the value where the words
                # around the parameter in the old text ("[[x]] hours") are in the new one.
                value, span = _by_context(name, before, after)
            if span is None:
                found.append(LiteralOverParameter(name, "", None, after, (0, 0)))
                continue
            start, end = span
            restored = after[:start] + f"[[{name}]]" + after[end:]
            found.append(LiteralOverParameter(name, after[start:end], value, restored, span))
    return found


def _by_context(
    name: str, before: str, after: str
) -> tuple[PlaceholderValue | None, tuple[int, int] | None]:
    """A value of ``name``'s kind in ``after`` that is followed by the word that follows the
    parameter in ``before`` (a number and its unit), or, for a date, a date ``before`` does
    not have."""
    kind = spec(name).type
    if kind is PlaceholderType.NUMBER:
        for following in re.finditer(rf"\[\[{name}\]\]\s*\)?\s*([A-Za-z]+)", before):
            word = re.escape(following.group(1))
            for match in re.finditer(rf"(?<![\w.])(\d{{1,9}})\)?\s+{word}\b", after):
                value, _ = _read_value(name, match.group(1))
                if value is not None:
                    return value, match.span(1)
        return None, None
    if kind is PlaceholderType.DATE:
        for pattern in _DATE_PATTERNS:
            for match in pattern.finditer(after):
                if match.group(0) in before:
                    continue
                value, span = _read_value(name, match.group(0))
                if value is not None and span is not None:
                    return value, match.span()
    return None, None


def _read_value(name: str, typed: str) -> tuple[PlaceholderValue | None, tuple[int, int] | None]:
    """The parameter value ``typed`` states and where in it, or (None, None)."""
    kind = spec(name).type
    if kind is PlaceholderType.NUMBER:
        match = _NUMBER_RE.search(typed)
        if match:
            try:
                return validate_value(name, match.group(0)), match.span()
            except ValidationError:
                return int(match.group(0)), match.span()
        return None, None
    if kind is PlaceholderType.DATE:
        for pattern in _DATE_PATTERNS:
            match = pattern.search(typed)
            if not match:
                continue
            written = match.group(0)
            if pattern is _DATE_PATTERNS[2]:
                written = f"{match.group(2)} {match.group(1)} {match.group(3)}"
            try:
                return validate_value(name, written), match.span()
            except ValidationError:
                continue
        return None, None
    if kind is PlaceholderType.ORGANISATION:
        return None, None
    stripped = typed.strip()
    if not stripped:
        return None, None
    start = typed.index(stripped)
    return stripped, (start, start + len(stripped))
