"""Reads of ownership positions: what the pages and the API prefetch with each data element,
so a page or a detail answer reads every position in its own single query."""

from __future__ import annotations

from django.db.models import OuterRef

from agreements.ownership.models import (
    OwnershipConfirmation,
    OwnershipDifference,
    OwnershipPosition,
)
from collaboratory.json_prefetch import JsonPrefetch

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
