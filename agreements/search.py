"""Full-text search across what a user may see: agreements (title, purpose, reference),
trios, organisations, standard clause text (clauses of the template versions their visible
agreements use) and the clause text the parties proposed (overrides of visible agreements).

PostgreSQL does the matching and ranking (``websearch_to_tsquery``, ``ts_rank``) and cuts the
highlighted excerpts (``ts_headline``). Excerpts are user text, so :func:`highlight` escapes
them whole and only then turns the random markers PostgreSQL put around matches into
``<mark>`` elements: nothing a clause or proposal says can become markup.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db.models import F, OuterRef, Q, QuerySet
from django.db.models.functions import JSONObject
from django.utils.html import escape
from django.utils.safestring import SafeString

from agreements.models import Agreement, Clause, ClauseOverride
from agreements.selectors import agreements_visible_to
from agreements.text.search_documents import CONFIG, agreement_document, override_document
from collaboratory.safe_html import sanitised
from partners.models import Organisation, TrioMember
from partners.selectors import AnyUser, organisations_visible_to, trios_visible_to

KINDS = {
    "agreements": "Agreements",
    "trios": "Partnerships",
    "organisations": "Organisations",
    "clauses": "Standard clauses",
    "changes": "Proposed clause text",
}
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Markers:
    """Random start/stop strings for ``ts_headline``: no text can contain them by chance or
    by design, so after escaping they are the only places a <mark> may go."""

    start: str
    stop: str

    @classmethod
    def new(cls) -> Markers:
        token = secrets.token_hex(8)
        return cls(start=f"@@hl{token}@@", stop=f"@@/hl{token}@@")


def highlight(text: str | None, markers: Markers) -> SafeString:
    """Escape ``text`` (a ts_headline excerpt of user text) completely, then replace the
    escaped markers with <mark>/</mark>. Unbalanced markers cannot occur (PostgreSQL emits
    them in pairs), but a stray stop marker is dropped rather than closing foreign markup."""
    escaped = str(escape(text or ""))
    start, stop = str(escape(markers.start)), str(escape(markers.stop))
    out: list[str] = []
    open_mark = False
    for index, part in enumerate(escaped.split(start)):
        if index > 0:
            out.append("<mark>")
            open_mark = True
        if open_mark and stop in part:
            before, _, after = part.partition(stop)
            out.append(before + "</mark>" + after.replace(stop, ""))
            open_mark = False
        else:
            out.append(part.replace(stop, ""))
    if open_mark:
        out.append("</mark>")
    # Everything above is escaped text plus the literal <mark> and </mark> tags; nh3 makes
    # sure of it.
    return sanitised("".join(out))


@dataclass(frozen=True)
class Filters:
    kind: str = ""  # one of KINDS, or "" for every kind
    status: str = ""
    trio_id: int | None = None


def _query(text: str) -> SearchQuery:
    return SearchQuery(text[:MAX_QUERY_LENGTH], search_type="websearch", config=CONFIG)


def _headline(field: str, query: SearchQuery, markers: Markers, **options) -> SearchHeadline:
    return SearchHeadline(
        field,
        query,
        config=CONFIG,
        start_sel=markers.start,
        stop_sel=markers.stop,
        **options,
    )


def _excerpt(field: str, query: SearchQuery, markers: Markers) -> SearchHeadline:
    return _headline(
        field,
        query,
        markers,
        max_words=30,
        min_words=12,
        max_fragments=2,
        fragment_delimiter=" … ",
    )


def _whole(field: str, query: SearchQuery, markers: Markers) -> SearchHeadline:
    return _headline(field, query, markers, highlight_all=True)


def _visible_agreements(user: AnyUser, filters: Filters) -> QuerySet[Agreement]:
    agreements = agreements_visible_to(user)
    if filters.status:
        agreements = agreements.filter(status=filters.status)
    if filters.trio_id:
        agreements = agreements.filter(trio_id=filters.trio_id)
    return agreements


def search_agreements(user: AnyUser, text: str, filters: Filters, markers: Markers) -> QuerySet:
    query = _query(text)
    vector = agreement_document()  # GIN-indexed (agreements.models.Agreement.Meta)
    return (
        _visible_agreements(user, filters)
        .annotate(document=vector)
        .filter(Q(document=query) | Q(reference__iexact=text.strip()))
        .annotate(
            rank=SearchRank(vector, query),
            title_hl=_whole("title", query, markers),
            purpose_hl=_excerpt("purpose", query, markers),
        )
        .select_related("trio__collaboratory")
        .order_by("-rank", "-updated_at", "pk")
    )


def search_trios(user: AnyUser, text: str, filters: Filters, markers: Markers) -> QuerySet:
    query = _query(text)
    vector = SearchVector("name", weight="A", config=CONFIG) + SearchVector(
        "description", weight="B", config=CONFIG
    )
    trios = trios_visible_to(user)
    if filters.trio_id:
        trios = trios.filter(pk=filters.trio_id)
    return (
        trios.annotate(document=vector)
        .filter(document=query)
        .annotate(
            rank=SearchRank(vector, query),
            name_hl=_whole("name", query, markers),
            description_hl=_excerpt("description", query, markers),
        )
        .select_related("collaboratory")
        .order_by("-rank", "name", "pk")
    )


def search_organisations(
    user: AnyUser, text: str, filters: Filters, markers: Markers
) -> QuerySet[Organisation]:
    query = _query(text)
    vector = SearchVector("name", weight="A", config=CONFIG) + SearchVector(
        "contact_name", weight="C", config=CONFIG
    )
    organisations = organisations_visible_to(user)
    if filters.trio_id:
        organisations = organisations.filter(
            id__in=TrioMember.objects.filter(trio_id=filters.trio_id).values("organisation_id")
        )
    return (
        organisations.annotate(document=vector)
        .filter(document=query)
        .annotate(rank=SearchRank(vector, query), name_hl=_whole("name", query, markers))
        .order_by("-rank", "name", "pk")
    )


def search_clauses(user: AnyUser, text: str, filters: Filters, markers: Markers) -> QuerySet:
    """Standard clauses of the template versions the user's visible agreements use, each
    with (up to five of) those agreements to open it in."""
    query = _query(text)
    agreements = _visible_agreements(user, filters)
    vector = SearchVector("heading", weight="A", config=CONFIG) + SearchVector(
        "body", weight="B", config=CONFIG
    )
    used_by = ArraySubquery(
        agreements.filter(template_version_id=OuterRef("version_id"))
        .order_by("-updated_at")
        .values(json=JSONObject(pk="pk", reference="reference", title="title"))[:5]
    )
    return (
        Clause.objects.filter(version_id__in=agreements.values("template_version_id"))
        .annotate(document=vector)
        .filter(document=query)
        .annotate(
            rank=SearchRank(vector, query),
            heading_hl=_whole("heading", query, markers),
            body_hl=_excerpt("body", query, markers),
            used_by=used_by,
        )
        .select_related("version__template")
        .order_by("-rank", "version_id", "order")
    )


def search_changes(user: AnyUser, text: str, filters: Filters, markers: Markers) -> QuerySet:
    """Clause text the parties proposed (clause overrides) in visible agreements."""
    query = _query(text)
    vector = override_document()  # GIN-indexed (agreements.models.ClauseOverride.Meta)
    return (
        ClauseOverride.objects.filter(
            agreement_id__in=_visible_agreements(user, filters).values("pk")
        )
        .annotate(document=vector)
        .filter(document=query)
        .annotate(
            rank=SearchRank(vector, query),
            body_hl=_excerpt("body", query, markers),
            rationale_hl=_excerpt("rationale", query, markers),
            reference=F("agreement__reference"),
            agreement_title=F("agreement__title"),
        )
        .select_related("organisation")
        .order_by("-rank", "-created_at", "pk")
    )


SEARCHES = {
    "agreements": search_agreements,
    "trios": search_trios,
    "organisations": search_organisations,
    "clauses": search_clauses,
    "changes": search_changes,
}


def search(user: AnyUser, text: str, filters: Filters, markers: Markers) -> dict[str, QuerySet]:
    """One lazy queryset per kind the filters ask for (every kind when none is chosen)."""
    kinds = [filters.kind] if filters.kind in SEARCHES else list(SEARCHES)
    return {kind: SEARCHES[kind](user, text, filters, markers) for kind in kinds}
