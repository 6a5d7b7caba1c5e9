"""Terms that are derived from other terms, each computed in one place.

Every output that states such a term (the dashboard, the calendar feed, the partner API's
ODRL policy, the PDF cover) calls the function here, so what the director sees is what the
API announces and what was signed. Where a query must filter or sort on the term, its SQL
form sits right next to the Python one and states the same rule (tests/agreements/
test_terms.py checks that they agree).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import DateField, ExpressionWrapper, F
from django.db.models.functions import Coalesce

from agreements.models import Agreement


def destruction_deadline(agreement: Agreement) -> dt.date:
    """The day by which every recipient must have destroyed the shared data: the agreed
    destruction date, or else the expiry plus the retention period."""
    if agreement.destruction_date is not None:
        return agreement.destruction_date
    return agreement.expires_on + dt.timedelta(days=agreement.retention_days)


def destruction_deadline_sql() -> Coalesce:
    """``destruction_deadline`` as a query expression over ``Agreement`` rows (PostgreSQL's
    ``date + integer`` adds days), for ``annotate()``, ``filter()`` and ``order_by()``."""
    return Coalesce(
        F("destruction_date"),
        ExpressionWrapper(F("expires_on") + F("retention_days"), output_field=DateField()),
        output_field=DateField(),
    )
