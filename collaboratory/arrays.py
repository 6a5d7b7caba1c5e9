"""``field = ANY(%s)`` with the ids as one array parameter, however many there are.

An ``__in`` lookup writes one parameter per id: a statement compiled once
(``collaboratory.prepared.shaped_rows``) could not take another number of ids, and
PostgreSQL plans a long list as it plans a long statement. With the array from a subquery,
PostgreSQL computes it once and the field's index serves it beside other conditions (a
plain ``IN (SELECT ...)`` would be a join the planner cannot OR with a full-text match).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db.models import BigIntegerField, BooleanField, F, Func, Value


class AnyOf(Func):
    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


class _Ids(ArrayField):
    """Ids read from the database: sent as they are. (ArrayField converts each element
    through its base field: for a facilitator's thousand trios, in each of search's
    statements, that cost more than the statements' own planning.)"""

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return list(value)


def among(field: str, ids: list[int]) -> AnyOf:
    """``field`` is one of ``ids`` (integers)."""
    return AnyOf(F(field), Value(ids, output_field=_Ids(BigIntegerField())))
