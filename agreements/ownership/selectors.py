"""Reads of ownership positions: what the pages and the API prefetch with each data element,
so a page or a detail answer reads every position in its own single query."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.db.models import OuterRef

from agreements.ownership.models import (
    OwnershipConfirmation,
    OwnershipDifference,
    OwnershipPosition,
)
from collaboratory.json_prefetch import JsonPrefetch, store_prefetched

#: Children of a data-element prefetch (``JsonPrefetch("data_elements", ..., children=...)``):
#: each party's position and the live agreement to differ with its confirmations.
ELEMENT_OWNERSHIP_PREFETCHES = (
    JsonPrefetch(
        "ownership_positions",
        OwnershipPosition.objects.filter(data_element=OuterRef("pk")).order_by(
            "organisation_id", "id"
        ),
    ),
    JsonPrefetch(
        "ownership_differences",
        OwnershipDifference.objects.filter(
            data_element=OuterRef("pk"), voided_at__isnull=True
        ).order_by("id"),
        children=(
            JsonPrefetch(
                "confirmations",
                OwnershipConfirmation.objects.filter(difference=OuterRef("pk")).order_by("id"),
            ),
        ),
    ),
)


def ownership_as_of(
    element: Any, current: Any, at: dt.datetime, positions: list[OwnershipPosition]
) -> None:
    """Put on ``element`` (a data element rebuilt from history) its ownership rows as they
    stood at ``at``: ``positions``, the parties' positions then (rebuilt from their recorded
    states by the caller), and, from ``current`` (the same element now, prefetched), the
    agreement to differ live then with the confirmations given by then."""
    differences = []
    for live in current.ownership_differences.all() if current else []:
        if live.created_at <= at and (live.voided_at is None or live.voided_at > at):
            then = copy.copy(live)  # the current row keeps its own confirmations
            then.__dict__.pop("_prefetched_objects_cache", None)
            store_prefetched(
                then, "confirmations", [c for c in live.confirmations.all() if c.confirmed_at <= at]
            )
            differences.append(then)
    store_prefetched(element, "ownership_positions", positions)
    store_prefetched(element, "ownership_differences", differences)
