"""Terms that are derived from other terms, each computed in one place.

Every output that states such a term (the dashboard, the calendar feed, the partner API's
ODRL policy, the PDF cover) calls the function here, so what the director sees is what the
API announces and what was signed. Where a query must filter or sort on the term, its SQL
form sits right next to the Python one and states the same rule (tests/agreements/
test_terms.py checks that they agree).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import DateField, ExpressionWrapper, F
from django.db.models.functions import Coalesce, Least

if TYPE_CHECKING:  # agreements.models indexes the SQL forms below
    from agreements.models import Agreement


def end_date(agreement: Agreement) -> dt.date:
    """The agreement's actual last day in force: the day a termination takes effect
    (``ends_on``, set when notice is given) or else its expiry; never after the expiry (a
    notice period that would run past it changes nothing: the agreement simply expires)."""
    if agreement.ends_on is not None and agreement.ends_on < agreement.expires_on:
        return agreement.ends_on
    return agreement.expires_on


def end_date_sql() -> Least:
    """``end_date`` as a query expression over ``Agreement`` rows."""
    return Least(Coalesce(F("ends_on"), F("expires_on")), F("expires_on"), output_field=DateField())


def destruction_deadline(agreement: Agreement) -> dt.date:
    """The day by which every recipient must have destroyed the shared data. The text:
    "within [[retention_days]] days after the end of the Term, and in any event no later
    than [[destruction_date]]": the actual end (``end_date``, so a termination moves it)
    plus the retention period, or the agreed destruction date when that is earlier."""
    by_retention = end_date(agreement) + dt.timedelta(days=agreement.retention_days)
    if agreement.destruction_date is not None and agreement.destruction_date < by_retention:
        return agreement.destruction_date
    return by_retention


def destruction_deadline_sql() -> Least:
    """``destruction_deadline`` as a query expression over ``Agreement`` rows (PostgreSQL's
    ``date + integer`` adds days), for ``annotate()``, ``filter()`` and ``order_by()``."""
    by_retention = ExpressionWrapper(end_date_sql() + F("retention_days"), output_field=DateField())
    return Least(
        by_retention, Coalesce(F("destruction_date"), by_retention), output_field=DateField()
    )
