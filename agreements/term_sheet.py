"""The key terms of an agreement, as every summary states them.

The Terms panel of the agreement page, the sealed PDF's cover and the partner API's ``terms``
object all render :func:`key_terms`: one list, read from the agreement's parameters
(``agreements.parameters``) and the derived terms (``agreements.terms``), so no summary can
say something the text does not. ``agreements.terms_check`` verifies it against the text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agreements import parameters
from agreements.models import Agreement
from agreements.terms import destruction_deadline, end_date
from agreements.text.placeholders import format_date


@dataclass(frozen=True)
class KeyTerm:
    """One line of the summary: ``name`` is the parameter (or derived term) it states,
    ``label`` and ``text`` how people read it, ``value`` the machine value (the API's)."""

    name: str
    label: str
    text: str
    value: Any


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def key_terms(agreement: Agreement) -> list[KeyTerm]:
    """The agreement's key terms, in the order a reader expects them."""
    deadline = destruction_deadline(agreement)
    expires = format_date(agreement.expires_on)
    rows = [
        KeyTerm(
            "effective_date",
            "Effective date",
            format_date(agreement.start_date),
            agreement.start_date,
        ),
        KeyTerm("expires_on", "Expires", expires, agreement.expires_on),
    ]
    if (ends_on := end_date(agreement)) < agreement.expires_on:
        rows.append(KeyTerm("ends_on", "Ends early", format_date(ends_on), ends_on))
    rows += [
        KeyTerm(
            "term_months",
            "Term",
            f"{agreement.term_months} months" if agreement.term_months else "until the expiry date",
            agreement.term_months,
        ),
        KeyTerm(
            "sharing_mode",
            "Sharing mode",
            agreement.get_sharing_mode_display(),
            agreement.sharing_mode,
        ),
        KeyTerm(
            "breach_notice_hours",
            "Breach notice",
            f"within {parameters.stated('breach_notice_hours', agreement.breach_notice_hours)}"
            " of discovering a security incident",
            agreement.breach_notice_hours,
        ),
        KeyTerm(
            "retention_days",
            "Retention",
            f"{_days(agreement.retention_days)} after the end of the term",
            agreement.retention_days,
        ),
        KeyTerm("destruction_deadline", "Destroy data by", format_date(deadline), deadline),
        KeyTerm(
            "termination_notice_days",
            "Termination for convenience",
            f"{_days(agreement.termination_notice_days)}' written notice",
            agreement.termination_notice_days,
        ),
        KeyTerm(
            "cure_days",
            "Cure period for a breach",
            f"{_days(agreement.cure_days)} after notice",
            agreement.cure_days,
        ),
    ]
    return rows


def key_terms_json(agreement: Agreement) -> dict[str, Any]:
    """The key terms as the API gives them: name -> value (dates as ISO strings)."""
    return {
        term.name: term.value.isoformat() if isinstance(term.value, dt.date) else term.value
        for term in key_terms(agreement)
    }
