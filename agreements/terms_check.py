"""The invariant: what the text states is what every structured output says.

:func:`term_problems` reads an agreement's consolidated text and each output that states its
terms (the key-terms summary behind the Terms panel and the PDF cover, the partner API's
detail, the ODRL policy of ``/terms``, the iCalendar feed) and lists every disagreement, in
words a lawyer can act on. It runs on every move to review and to signing (a problem blocks
the move), in ``manage.py verify_terms`` and in the tests over every demo agreement and over
generated ones.

Two kinds of problem:

- **A term typed over.** A clause the standard writes with a parameter
  (``[[breach_notice_hours]] hours``) no longer refers to it: the text states a value of its
  own (found and quoted where it can be) while the outputs still publish the parameter's.
- **An output that disagrees.** The value an output publishes differs from the value the
  text states, or from what the text's own rule gives (the destruction deadline is the end of
  the term plus the retention period, and no later than the agreed destruction date).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from agreements import parameters
from agreements.api.odrl import agreement_policy
from agreements.calendar import calendar_events
from agreements.models import Agreement
from agreements.selectors import consolidated_text, placeholder_values
from agreements.term_sheet import key_terms_json
from agreements.terms import end_date
from agreements.text.consolidation import ConsolidatedText
from agreements.text.placeholders import PlaceholderType, validate_value

_DURATION_RE = re.compile(r"PT(\d+)H")


@dataclass(frozen=True)
class TermProblem:
    term: str  # the parameter or derived term
    where: str  # "the text", "the Terms panel and PDF cover", "the partner API (/terms)", ...
    message: str

    def __str__(self) -> str:
        return self.message


def term_problems(agreement: Agreement, text: ConsolidatedText | None = None) -> list[TermProblem]:
    """Every disagreement between the text and the outputs (empty when they agree). Use on a
    row from ``agreement_detail_for_user`` or ``with_agreement_detail``."""
    text = text or consolidated_text(agreement)
    values = placeholder_values(agreement)
    problems = list(_typed_over(text, values))
    problems += _outputs_disagree(agreement, _stated_values(agreement, text, values))
    return problems


# --- terms typed over -----------------------------------------------------------------------


def _typed_over(text: ConsolidatedText, values: dict[str, Any]) -> Iterable[TermProblem]:
    for clause in text.clauses:
        for name in clause.template_parameters:
            if name not in parameters.TERMS or name in clause.parameters:
                continue
            # What the clause's remaining parameters filled in is theirs, not a literal.
            body = clause.body
            for other in clause.parameters:
                if values.get(other) not in (None, ""):
                    body = body.replace(parameters.filled(other, values[other]), " ")
            literal, value = _literal(name, body)
            if not literal or value == values.get(name):
                continue
            published = parameters.stated(name, values.get(name))
            yield TermProblem(
                name,
                "the text",
                f"“{clause.heading}” no longer refers to the {parameters.label(name).lower()} "
                f"([[{name}]]): it says “{literal}”, while the Terms panel, the PDF cover, the "
                f"API and the calendar say {published}. Propose the clause again with "
                f"[[{name}]] in place, and change the term itself if its value should change.",
            )


def _literal(name: str, body: str) -> tuple[str, Any]:
    """A value of ``name``'s kind written in ``body`` ("48 hours") and the value it states;
    ("", None) if there is none."""
    spec = parameters.spec(name)
    if spec.type is PlaceholderType.NUMBER and spec.unit:
        unit = spec.unit.removesuffix("s")
        match = re.search(rf"\b(\d{{1,9}})\)?\s+{unit}s?\b", body)
        return (match.group(0), int(match.group(1))) if match else ("", None)
    if spec.type is PlaceholderType.DATE:
        for match in re.finditer(r"\b\d{1,2}\s+[A-Z][a-z]+\s+\d{4}\b|\b\d{4}-\d{2}-\d{2}\b", body):
            try:
                return match.group(0), validate_value(name, match.group(0))
            except ValidationError:
                continue
    return "", None


# --- outputs --------------------------------------------------------------------------------


def _stated_values(
    agreement: Agreement, text: ConsolidatedText, values: dict[str, Any]
) -> dict[str, Any]:
    """The value of each term as the text states it (the parameters the text refers to are
    filled with ``values``), and the destruction deadline that the text's own rule gives from
    them: within the retention period after the (actual) end of the term, and no later than
    the agreed date. The rule is restated here on purpose, so the check does not take
    ``terms.destruction_deadline`` (which every output calls) on trust."""
    referred = {name for clause in text.clauses for name in clause.parameters}
    stated: dict[str, Any] = {
        name: values.get(name) for name in parameters.TERMS if name in referred
    }
    deadline = end_date(agreement) + dt.timedelta(days=values["retention_days"])
    if values.get("destruction_date") is not None:
        deadline = min(deadline, values["destruction_date"])
    stated["destruction_deadline"] = deadline
    return stated


def _outputs_disagree(agreement: Agreement, stated: dict[str, Any]) -> list[TermProblem]:
    published: list[tuple[str, str, Any]] = []  # (where, term, value)
    summary = key_terms_json(agreement)
    for name in (
        "effective_date",
        "expires_on",
        "breach_notice_hours",
        "retention_days",
        "termination_notice_days",
        "cure_days",
        "term_months",
        "destruction_deadline",
    ):
        if name in summary:
            value = summary[name]
            if isinstance(value, str) and name in (
                "effective_date",
                "expires_on",
                "destruction_deadline",
            ):
                value = dt.date.fromisoformat(value)
            published.append(("the Terms panel and the PDF cover", name, value))
    published += _odrl(agreement)
    published += _calendar(agreement)
    problems = []
    for where, name, value in published:
        if name not in stated or stated[name] is None:
            continue
        if value != stated[name]:
            problems.append(
                TermProblem(
                    name,
                    where,
                    f"{where[0].upper() + where[1:]} {'say' if where.endswith('s') else 'says'} "
                    f"{_read(name, value)} for the {_label(name)}, but the text states "
                    f"{_read(name, stated[name])}.",
                )
            )
    return problems


def _label(name: str) -> str:
    if name == "destruction_deadline":
        return "destruction deadline"
    return parameters.label(name).lower()


def _read(name: str, value: Any) -> str:
    if name == "destruction_deadline":
        return parameters.stated("destruction_date", value)
    return parameters.stated(name, value)


def _odrl(agreement: Agreement) -> list[tuple[str, str, Any]]:
    where = "the partner API's policy (/terms)"
    policy = agreement_policy(agreement)
    found: list[tuple[str, str, Any]] = []
    for duty in policy.get("obligation", []):
        for constraint in duty.get("constraint", []):
            operand = constraint.get("rightOperand")
            if duty.get("action") == "inform" and constraint.get("leftOperand") == "elapsedTime":
                match = _DURATION_RE.fullmatch(str(operand.get("@value", "")))
                if match:
                    found.append((where, "breach_notice_hours", int(match.group(1))))
            if duty.get("action") == "delete" and constraint.get("leftOperand") == "dateTime":
                found.append((where, "destruction_deadline", _day(operand)))
    return found


def _calendar(agreement: Agreement) -> list[tuple[str, str, Any]]:
    events = calendar_events([agreement], base_url="", uid_domain="check")
    return [
        ("the calendar feed", "destruction_deadline", event.day)
        for event in events
        if event.uid.startswith(f"{agreement.pk}-destruction@")
    ]


def _day(operand: Any) -> dt.date | None:
    value = operand.get("@value") if isinstance(operand, dict) else operand
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
