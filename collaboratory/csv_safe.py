"""CSV files that a spreadsheet opens as data, never as formulas (CSV or formula injection).

The rule, as OWASP's "CSV Injection" page gives it: a text cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a single quote ``'`` in front, so Excel,
LibreOffice and Google Sheets show it as text instead of evaluating it (``=HYPERLINK(...)``,
``@SUM(...)``, ``-2+3``, DDE payloads). The ``csv`` module's quoting takes care of commas,
quotes and line breaks inside the cell. Numbers (``int``, ``float``, ``Decimal``, not ``bool``)
are written as they are: ``-3`` written from an ``int`` is a number, not a formula. ``None``
becomes an empty cell, as ``csv`` writes it.

Every CSV the platform hands to people goes through :func:`writer` (or :func:`cell` for a
single value): the consented roster (``consent.services.roster_export``) and the deviation
report (``agreements.review.analytics.deviation_csv``). Legitimate data stays readable: a
roster's student keys start with a letter or digit, grades are ``K`` or 1-12 and birth years
four digits, so only a school name that begins with one of these characters gains the quote.
"""

from __future__ import annotations

import csv
import decimal
from collections.abc import Iterable
from typing import Any, Protocol

#: What a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet runs as a formula (the rule above)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`cell`."""

    def __init__(self, target: _Writable, **fmtparams: Any) -> None:
        self._writer = csv.writer(target, **fmtparams)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(target: _Writable, **fmtparams: Any) -> SafeWriter:
    """Like ``csv.writer(target, **fmtparams)``, with every cell neutralised."""
    return SafeWriter(target, **fmtparams)
