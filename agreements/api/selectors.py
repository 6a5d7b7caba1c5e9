"""What the partner API reads, scoped to the token's organisation (``partners.selectors``'s
one access rule, through ``agreements_visible_to_organisation``), each endpoint loading only
what its response shows.

The API is a large share of all requests (machines poll it), so each read is one query besides
the token's: the list's page carries its parties as JSON, and the detail and the ODRL terms
load their agreement with just the collections they serialise (``collaboratory.json_prefetch``):
not the template's clauses (the consolidated text is derived from the version's id when it is
published, ``agreements.selectors.consolidated_text``), not the people behind each step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.db.models import BooleanField, ExpressionWrapper, F, Field, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agreements.approvals.rules import data_flow_permitted_sql
from agreements.approvals.selectors import RESEARCH_APPROVALS_PREFETCH
from agreements.models import (
    Agreement,
    Approval,
    ClauseOverride,
    DataElement,
    DestructionDuty,
    Signature,
    Transition,
)
from agreements.ownership.selectors import ELEMENT_OWNERSHIP_PREFETCHES
from agreements.selectors import PARTIES_PREFETCH, agreements_visible_to_organisation
from collaboratory.json_prefetch import JsonPrefetch, with_json_prefetch
from collaboratory.prepared import fetch_rows, server_prepared, shaped_count, shaped_rows
from partners.models import ResearchQuestion

# Raw SQL on purpose: an Exists() subquery is re-aliased and deep-copied on every list
# request, which cost more than the whole rest of the query building at 100 rows.
HAS_EXECUTED_DOCUMENT = RawSQL(
    "EXISTS (SELECT 1 FROM agreements_document d WHERE d.agreement_id = "
    "agreements_agreement.id AND d.kind = 'executed' AND d.sealed)",
    (),
    output_field=BooleanField(),
)

#: A list row's parties: each trio member (research, district, developer) with its
#: organisation's id, when it approved the current text (its live approval) and when it signed.
#: In the page's own query: three more queries and their ORM building cost more than the rows.
#: The organisations themselves come in one more query for the whole page
#: (``_with_organisations``): joined here, PostgreSQL scanned the organisation table for every
#: member of every row (a join hashed it, a subquery filtered it: 200 organisations are too few
#: for its index to look cheaper), 2.5 of the page's 3 ms, growing with the platform.
_PARTIES_JSON = RawSQL(
    """
    SELECT COALESCE(json_agg(json_build_object(
        'organisation_id', m.organisation_id,
        'role', m.role,
        'approved_at', (
            SELECT a.created_at FROM agreements_approval a
            WHERE a.agreement_id = agreements_agreement.id
                AND a.organisation_id = m.organisation_id AND a.voided_at IS NULL
            ORDER BY a.created_at DESC LIMIT 1),
        'signed_at', (
            SELECT s.signed_at FROM agreements_signature s
            WHERE s.agreement_id = agreements_agreement.id
                AND s.organisation_id = m.organisation_id
            ORDER BY s.signed_at DESC LIMIT 1)
    ) ORDER BY CASE m.role WHEN 'research' THEN 0 WHEN 'district' THEN 1
        WHEN 'developer' THEN 2 ELSE 9 END, m.role), '[]'::json)
    FROM partners_triomember m
    WHERE m.trio_id = agreements_agreement.trio_id
    """,
    (),
    # A plain json value, which the driver decodes itself (JSONField expects jsonb's text).
    output_field=Field(),
)


def agreement_list_for_organisation(
    organisation_id: int,
    *,
    status: str | None = None,
    trio_id: int | None = None,
    updated_after: dt.datetime | None = None,
    expires_before: dt.date | None = None,
) -> QuerySet[Agreement]:
    """The API's agreement list, newest change first. Count and slice it, then read the page
    with ``agreement_page_rows`` (plain dicts with their parties, no model instances)."""
    queryset = agreements_visible_to_organisation(organisation_id)
    if status:
        queryset = queryset.filter(status=status)
    if trio_id is not None:
        queryset = queryset.filter(trio_id=trio_id)
    if updated_after is not None:
        queryset = queryset.filter(updated_at__gt=updated_after)
    if expires_before is not None:
        queryset = queryset.filter(expires_on__lt=expires_before)
    return queryset.order_by("-updated_at", "id")


def _timestamp(value: str | None) -> dt.datetime | None:
    """A timestamp PostgreSQL wrote into JSON (ISO 8601, UTC), as the datetime a column is."""
    return None if value is None else dt.datetime.fromisoformat(value)


#: The list's filters, as ``agreement_list_for_organisation`` takes them.
LIST_FILTERS = ("status", "trio_id", "updated_after", "expires_before")


def _given(filters: dict[str, Any]) -> dict[str, Any]:
    """The list's filters given a value, in ``LIST_FILTERS``' order: which ones is part of a
    shaped statement's shape, their values its parameters."""
    return {name: filters[name] for name in LIST_FILTERS if filters.get(name) not in (None, "")}


def agreement_page_rows(
    organisation_id: int, filters: dict[str, Any], start: int, stop: int
) -> list[dict[str, Any]]:
    """The list's columns of ``agreement_list_for_organisation(organisation_id, **filters)``'s
    rows ``start`` to ``stop``, each with its ``parties``, in one query.

    The page is chosen on its ids alone (a subquery with the slice's LIMIT and OFFSET, which
    the ``(trio, updated_at, id)`` index answers without reading the table), and only its
    rows get the joins and the parties' JSON. Selecting those columns in the sliced query
    itself made PostgreSQL compute them for every row before the OFFSET too: page 4 built
    200 rows' parties to return 50, and deep pages grew with the organisation's agreements.

    The statement is built and compiled once per process for each set of filters given, page
    position and day (``collaboratory.prepared.shaped_rows``): the organisation and the
    filters' values are its parameters. Building its nested subqueries cost the ORM more
    than PostgreSQL took to run them."""
    given = _given(filters)
    shape = (tuple(given), start, stop, timezone.localdate())
    # Prepared on the server: PostgreSQL planned it for ~1 ms of every request. Measured with
    # PREPARE/EXECUTE on the bench worlds (10,000 and 100,000 agreements), first and fourth
    # page, for the organisation in the most trios and one in a single trio: the generic plan
    # PostgreSQL may keep took 0.2-1.9 ms against the custom plans' 1.1-2.8 ms in every case.
    rows = shaped_rows(
        "api-agreement-list",
        _page_statement,
        shape,
        {"organisation_id": organisation_id, **given},
    )
    for row in rows:
        for party in row["party_rows"]:
            party["approved_at"] = _timestamp(party["approved_at"])
            party["signed_at"] = _timestamp(party["signed_at"])
        row["parties"] = row.pop("party_rows")
    return _with_organisations(rows)


def _with_organisations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each party of ``rows`` with its ``organisation`` (id, slug, name, kind) in place of
    its ``organisation_id``: one query for the page's few distinct organisations."""
    ids = sorted({party["organisation_id"] for row in rows for party in row["parties"]})
    if not ids:
        return rows
    organisations = {
        id_: {"id": id_, "slug": slug, "name": name, "kind": kind}
        for id_, slug, name, kind in fetch_rows(
            "SELECT id, slug, name, kind FROM partners_organisation WHERE id = ANY(%s)", [ids]
        )
    }
    for row in rows:
        row["parties"] = [
            {"organisation": organisations[party.pop("organisation_id")], **party}
            for party in row["parties"]
        ]
    return rows


def agreement_count(organisation_id: int, filters: dict[str, Any]) -> int:
    """How many agreements ``agreement_list_for_organisation(organisation_id, **filters)``
    lists, through a statement built once per process for each set of filters given and run
    prepared (``collaboratory.prepared.shaped_count``): building the access rule's subqueries
    for the count cost the ORM more than PostgreSQL took to count."""
    given = _given(filters)
    return shaped_count(
        "api-agreement-count",
        _count_statement,
        (tuple(given),),
        {"organisation_id": organisation_id, **given},
    )


def _count_statement(
    _given: tuple[str, ...], *, organisation_id: int, **filters: Any
) -> QuerySet[Agreement]:
    return agreement_list_for_organisation(organisation_id, **filters)


def _page_statement(
    _given: tuple[str, ...],  # the shape's filter names: ``filters`` has them as keys
    start: int,
    stop: int,
    today: dt.date,
    *,
    organisation_id: int,
    **filters: Any,
) -> QuerySet:
    listed = agreement_list_for_organisation(organisation_id, **filters)
    page_ids = listed[start:stop].values("id")
    return (
        Agreement.objects.filter(pk__in=page_ids)
        .order_by(*listed.query.order_by)
        .values(
            "id",
            "reference",
            "title",
            "status",
            "status_changed_at",
            "start_date",
            "expires_on",
            "updated_at",
            "trio_id",
            trio_name=F("trio__name"),
            version_id=F("template_version_id"),
            version_number=F("template_version__number"),
            template_name=F("template_version__template__name"),
            has_executed_document=HAS_EXECUTED_DOCUMENT,
            party_rows=_PARTIES_JSON,
            data_flow_permitted=ExpressionWrapper(
                data_flow_permitted_sql(today), output_field=BooleanField()
            ),
        )
    )


def _of_agreement(model, *order: str) -> QuerySet:
    return model.objects.filter(agreement=OuterRef("pk")).order_by(*order)


#: The ODRL terms: the parties, each data element with its source and recipient, and the
#: research approvals (with the template's requirement, selected with the row).
TERMS_PREFETCHES = (
    PARTIES_PREFETCH,
    JsonPrefetch(
        "data_elements",
        _of_agreement(DataElement, "position", "id"),
        select=("source", "recipient"),
    ),
    RESEARCH_APPROVALS_PREFETCH,
)

#: The detail: what the consolidated text is derived from (parties, overrides, data elements
#: with their questions; the clauses of a draft template are read only when it is derived),
#: the open conflicts (overrides with their organisations), approvals, signatures, timeline.
DETAIL_PREFETCHES = (
    PARTIES_PREFETCH,
    JsonPrefetch(
        "overrides",
        _of_agreement(ClauseOverride, "created_at", "id"),
        select=("organisation",),
    ),
    JsonPrefetch(
        "data_elements",
        _of_agreement(DataElement, "position", "id"),
        select=("source", "recipient"),
        children=(
            JsonPrefetch(
                "research_questions",
                ResearchQuestion.objects.filter(data_elements=OuterRef("pk")).order_by(
                    "position", "id"
                ),
            ),
            # The parties' ownership positions (the text's schedule and ``ownership``).
            *ELEMENT_OWNERSHIP_PREFETCHES,
        ),
    ),
    JsonPrefetch("approvals", _of_agreement(Approval, "created_at")),
    JsonPrefetch("signatures", _of_agreement(Signature, "signed_at")),
    JsonPrefetch("transitions", _of_agreement(Transition, "at", "id")),
    RESEARCH_APPROVALS_PREFETCH,
    # Destruction duties (agreements/destruction/): their state travels with the row.
    JsonPrefetch(
        "destruction_duties",
        _of_agreement(DestructionDuty, "data_element_id", "id"),
        select=("recipient",),
    ),
)


def agreement_terms_for_organisation(organisation_id: int) -> QuerySet[Agreement]:
    """Agreements ``organisation_id`` is a party to, loaded for their ODRL policy.

    Run as a server-side prepared statement, as the detail's below."""
    return server_prepared(
        with_json_prefetch(
            agreements_visible_to_organisation(organisation_id).select_related(
                "trio", "template_version__template"
            ),
            *TERMS_PREFETCHES,
        )
    )


def agreement_detail_for_organisation(organisation_id: int) -> QuerySet[Agreement]:
    """Agreements ``organisation_id`` is a party to, loaded for the API's detail.

    Run as a server-side prepared statement (collaboratory.prepared): PostgreSQL took 2.3 ms
    to plan its JSON collections and 0.5 ms to run them, on every call; the organisation
    and the agreement travel as parameters, so every token shares one plan."""
    return server_prepared(
        with_json_prefetch(
            agreements_visible_to_organisation(organisation_id)
            .select_related("trio", "template_version__template")
            .annotate(has_executed_document=HAS_EXECUTED_DOCUMENT),
            *DETAIL_PREFETCHES,
        )
    )


def _detail_statement(*, organisation_id: int, pk: uuid.UUID) -> QuerySet[Agreement]:
    return agreement_detail_for_organisation(organisation_id).filter(pk=pk)


def _terms_statement(*, organisation_id: int, pk: uuid.UUID) -> QuerySet[Agreement]:
    return agreement_terms_for_organisation(organisation_id).filter(pk=pk)


_STATEMENTS = {"detail": _detail_statement, "terms": _terms_statement}


def agreement_for_organisation(
    view: Literal["detail", "terms"], organisation_id: int, pk: uuid.UUID
) -> Agreement | None:
    """Agreement ``pk`` loaded for the API's detail or ODRL terms, if ``organisation_id`` is
    a party to it. Each statement is built and compiled once per process, the organisation
    and the agreement its parameters (``collaboratory.prepared.shaped_rows``): its JSON
    collections cost the ORM more to build and compile than PostgreSQL takes to run them."""
    rows = shaped_rows(
        f"api-agreement-{view}",
        _STATEMENTS[view],
        (),
        {"organisation_id": organisation_id, "pk": pk},
    )
    return rows[0] if rows else None
