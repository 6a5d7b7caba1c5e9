"""Reads of templates and agreements, through the one access rule (partners.selectors)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import (
    CharField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agreements.models import (
    OPEN_OVERRIDE_STATUSES,
    Agreement,
    Approval,
    Clause,
    ClauseComment,
    ClauseOverride,
    DataElement,
    OverrideResponse,
    OverrideStatus,
    RenderJob,
    Signature,
    TemplateVersion,
    Transition,
    VersionStatus,
)
from agreements.ownership.selectors import ELEMENT_OWNERSHIP_PREFETCHES
from agreements.terms import end_date_sql
from agreements.text.consolidation import (
    ConsolidatedText,
    ScheduleRow,
    consolidate,
    read_frame,
)
from agreements.text.placeholders import PlaceholderValue
from collaboratory.derived import derived, source_version
from collaboratory.json_prefetch import JsonPrefetch, store_prefetched, with_json_prefetch
from collaboratory.prepared import server_prepared
from partners.models import ResearchQuestion, Trio, TrioMember
from partners.selectors import AnyUser, scope_to_user


def agreements_visible_to(user: AnyUser) -> QuerySet[Agreement]:
    """Agreements of the trios ``user`` may see; everything else is invisible (404)."""
    return scope_to_user(Agreement.objects.all(), user)


# What the list's "Open proposals" column counts, per row: a correlated subquery (by the
# override's agreement index) that PostgreSQL evaluates only for the rows the LIMIT keeps,
# where a JOIN + GROUP BY would aggregate every visible agreement before sorting them.
_OPEN_PROPOSALS = RawSQL(
    "SELECT COUNT(*) FROM agreements_clauseoverride o WHERE o.agreement_id = "
    "agreements_agreement.id AND o.status = %s",
    (OverrideStatus.PROPOSED.value,),
    output_field=IntegerField(),
)
# The row's partnership name, the same way: a join to the trios let PostgreSQL, misjudging how
# many agreements expire soon (an expression it has no statistics for), loop over every trio
# for every match (48 ms at 100,000 agreements).
_TRIO_NAME = RawSQL(
    "SELECT t.name FROM partners_trio t WHERE t.id = agreements_agreement.trio_id",
    (),
    output_field=CharField(),
)
#: The columns a list row shows (and ``ending`` reads): the rest of the row stays in the table.
LIST_FIELDS = (
    "id",
    "reference",
    "title",
    "status",
    "expires_on",
    "ends_on",
    "termination_ground",
    "termination_noticed_on",
    "updated_at",
    "trio_id",
)


def agreements_listed_for_user(
    user: AnyUser,
    *,
    trios: list[int] | QuerySet[Trio] | None = None,
    status: str | None = None,
    trio_id: int | None = None,
    partnership: str = "",
    expiring_within_days: int | None = None,
    today: dt.date | None = None,
) -> QuerySet[Agreement]:
    """The visible agreements the list's filters keep, unordered and without the row's
    columns: what the list pages through and counts (a bounded count).

    ``trios`` is ``trios_visible_to(user)`` when the caller already has it: as the ids it
    just read (a person in a few partnerships: PostgreSQL then knows how few rows they hold
    and reads them by the trio index instead of scanning the table), or as the queryset
    itself (built once per request instead of once for the page and once for the count).
    """
    if trios is None:
        queryset = agreements_visible_to(user)
    elif isinstance(trios, list):
        queryset = Agreement.objects.filter(trio_id__in=trios)
    else:
        queryset = Agreement.objects.filter(trio_id__in=trios.values("id"))
    if status:
        queryset = queryset.filter(status=status)
    if trio_id:
        queryset = queryset.filter(trio_id=trio_id)
    if partnership:
        queryset = queryset.filter(trio__name__icontains=partnership)
    if expiring_within_days is not None:
        today = today or timezone.localdate()
        # By the actual last day: a notice of termination brings the end forward.
        queryset = queryset.annotate(last_day=end_date_sql()).filter(
            status="active",
            last_day__gte=today,
            last_day__lte=today + dt.timedelta(days=expiring_within_days),
        )
    return queryset


def agreement_list_rows(queryset: QuerySet[Agreement]) -> QuerySet[Agreement]:
    """What each list row shows, newest change first (the id breaks ties, so a keyset page
    boundary is exact): one query for a page, whatever the number of agreements."""
    return (
        queryset.only(*LIST_FIELDS)
        .annotate(open_overrides=_OPEN_PROPOSALS, trio_name=_TRIO_NAME)
        .order_by("-updated_at", "-id")
    )


def agreement_detail_for_user(user: AnyUser) -> QuerySet[Agreement]:
    """Everything the detail page and the consolidated text need, prefetched."""
    return with_agreement_detail(agreements_visible_to(user))


def with_agreement_detail(queryset: QuerySet[Agreement]) -> QuerySet[Agreement]:
    """Add the detail's related rows to ``queryset``: one query in all, the collections
    travelling as JSON with each agreement (collaboratory.json_prefetch). Services use it on
    rows their caller already found through ``agreement_detail_for_user``."""
    return with_json_prefetch(
        queryset.select_related("trio__collaboratory", "template_version__template", "created_by"),
        *DETAIL_PREFETCHES,
    )


def agreement_page_for_user(user: AnyUser, *extra: JsonPrefetch) -> QuerySet[Agreement]:
    """``agreement_detail_for_user`` (and ``extra``) for the agreement page, except that a
    published version's clauses do not travel with the row: ``with_version_clauses`` puts
    them in place from the clauses derived once per version (a draft's travel as before)."""
    queryset = agreements_visible_to(user).select_related(
        "trio__collaboratory", "template_version__template", "created_by"
    )
    others = [spec for spec in DETAIL_PREFETCHES if spec is not CLAUSES_PREFETCH]
    # Run as a server-side prepared statement: planning its dozen JSON collections took
    # PostgreSQL ~7 ms of every page view, executing them ~1 ms (collaboratory.prepared).
    return server_prepared(
        with_json_prefetch(
            with_json_prefetch(queryset, *others, RENDER_JOBS_PREFETCH, *extra),
            CLAUSES_PREFETCH,
            when=~Q(template_version__status=VersionStatus.PUBLISHED),
        )
    )


_CLAUSE_COLUMNS = [f.attname for f in Clause._meta.concrete_fields]
CLAUSES_CODE = source_version("agreements.models", "agreements.selectors")


def with_version_clauses(agreement: Agreement) -> Agreement:
    """Put the clauses of ``agreement``'s published version where the clauses prefetch puts
    them, unless they are there already. A published version never changes, so its clauses'
    rows are derived once per version (collaboratory.derived, keyed by ``version_inputs``)
    and each request makes its own model instances from them."""
    version = agreement.template_version
    cached = getattr(version, "_prefetched_objects_cache", {})
    if "clauses" in cached or not version.is_published:
        return agreement
    rows = derived(
        "version-clauses",
        {"version": version_inputs(version), "columns": _CLAUSE_COLUMNS},
        lambda: tuple(
            tuple(row)
            for row in Clause.objects.filter(version=version)
            .order_by("order")
            .values_list(*_CLAUSE_COLUMNS)
        ),
        code=CLAUSES_CODE,
    )
    clauses = [Clause.from_db(version._state.db, _CLAUSE_COLUMNS, row) for row in rows]
    for clause in clauses:
        Clause.version.field.set_cached_value(clause, version)
    store_prefetched(version, "clauses", clauses)
    return agreement


def _of_agreement(model, *order: str) -> QuerySet:
    return model.objects.filter(agreement=OuterRef("pk")).order_by(*order)


#: The agreement's parties (its trio's members with their organisations), by role.
PARTIES_PREFETCH = JsonPrefetch(
    "members",
    TrioMember.objects.filter(trio=OuterRef("trio_id")).order_by("role"),
    select=("organisation",),
    via="trio",
)

#: The clauses of the agreement's template version (the largest collection: ~150 kB of JSON
#: for a standard's 40 clauses).
CLAUSES_PREFETCH = JsonPrefetch(
    "clauses",
    Clause.objects.filter(version=OuterRef("template_version_id")).order_by("order"),
    via="template_version",
)

#: What the consolidated text reads besides the agreement row: its parties, its template's
#: clauses, the overrides (with their answers) and the data elements (with their questions).
TEXT_PREFETCHES = (
    PARTIES_PREFETCH,
    CLAUSES_PREFETCH,
    JsonPrefetch(
        "overrides",
        _of_agreement(ClauseOverride, "created_at", "id"),
        select=("organisation", "proposed_by"),
        children=(
            JsonPrefetch(
                "responses",
                OverrideResponse.objects.filter(override=OuterRef("pk")).order_by(
                    "created_at", "id"
                ),
                select=("organisation", "user"),
            ),
        ),
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
            # Each party's ownership position and the live agreement to differ (the
            # schedule states them: agreements.ownership).
            *ELEMENT_OWNERSHIP_PREFETCHES,
        ),
    ),
)

#: What the detail page reads besides the text's rows: questions, approvals, signatures and
#: the status timeline.
#: The page's documents section (agreements.documents.jobs.render_jobs_for): the render
#: jobs with their documents, newest first, in the page's query instead of one of their own.
RENDER_JOBS_PREFETCH = JsonPrefetch(
    "render_jobs", _of_agreement(RenderJob, "-created_at", "-id"), select=("document",)
)

DETAIL_PREFETCHES = (
    *TEXT_PREFETCHES,
    JsonPrefetch(
        "research_questions",
        ResearchQuestion.objects.filter(agreements=OuterRef("pk")).order_by("position", "id"),
    ),
    JsonPrefetch(
        "approvals", _of_agreement(Approval, "created_at"), select=("organisation", "user")
    ),
    JsonPrefetch(
        "signatures", _of_agreement(Signature, "signed_at"), select=("organisation", "user")
    ),
    JsonPrefetch("transitions", _of_agreement(Transition, "at", "id"), select=("by",)),
)

#: The clause comments, which only the agreement page shows.
COMMENTS = JsonPrefetch(
    "comments", _of_agreement(ClauseComment, "created_at", "id"), select=("organisation", "author")
)


def published_versions() -> QuerySet[TemplateVersion]:
    return TemplateVersion.objects.filter(status=VersionStatus.PUBLISHED).select_related("template")


def parties(agreement: Agreement) -> list[TrioMember]:
    """The agreement's parties (the trio's members), research, district, developer order."""
    order = {"research": 0, "district": 1, "developer": 2}
    return sorted(agreement.trio.members.all(), key=lambda m: order.get(m.role, 9))


def placeholder_values(agreement: Agreement) -> dict[str, PlaceholderValue | None]:
    """Values for every placeholder: derived from the agreement's fields and parties first,
    then the free values stored on the agreement."""
    members = {m.role: m.organisation.name for m in agreement.trio.members.all()}
    derived: dict[str, PlaceholderValue | None] = {
        "district_name": members.get("district"),
        "research_org_name": members.get("research"),
        "developer_name": members.get("developer"),
        "effective_date": agreement.start_date,
        "expires_on": agreement.expires_on,
        "destruction_date": agreement.destruction_date,
        "retention_days": agreement.retention_days,
        "breach_notice_hours": agreement.breach_notice_hours,
        "term_months": agreement.term_months,
        "termination_notice_days": agreement.termination_notice_days,
        "cure_days": agreement.cure_days,
        "purpose_summary": agreement.purpose,
    }
    stored = {k: v for k, v in (agreement.placeholder_values or {}).items() if v not in ("", None)}
    return {**derived, **stored}


def _accepted_overrides(agreement: Agreement) -> list[ClauseOverride]:
    return [o for o in agreement.overrides.all() if o.status == OverrideStatus.ACCEPTED]


#: The code the consolidated text is derived by: a deployment that changes it derives anew.
TEXT_CODE = source_version("agreements.text", "agreements.selectors")


def _header(agreement: Agreement) -> list[tuple[str, str]]:
    return [
        ("Title", agreement.title),
        ("Reference", agreement.reference),
        *[(f"Party ({m.get_role_display()})", m.organisation.name) for m in parties(agreement)],
        ("Sharing mode", agreement.get_sharing_mode_display()),
        ("Effective", agreement.start_date.isoformat()),
        ("Expires", agreement.expires_on.isoformat()),
    ]


def _schedule(agreement: Agreement) -> list[ScheduleRow]:
    # Imported here: the ownership rules read the negotiation helpers, which read this module.
    from agreements.ownership.rules import element_ownership, ownership_row

    members = parties(agreement)
    return [
        ScheduleRow(
            name=element.name,
            source=element.source.name,
            recipient=element.recipient.name,
            identifiability=element.get_identifiability_display(),
            research_questions=tuple(q.text for q in element.research_questions.all()),
            description=element.description,
            ownership=ownership_row(element_ownership(element, members)),
        )
        for element in agreement.data_elements.all()
    ]


def version_inputs(version: TemplateVersion) -> Any:
    """A published version never changes (a database trigger refuses it): its id and the
    moments it was made and published name its clauses and frame (the id alone is reused
    after a database is flushed or restored while the shared cache keeps its entries). A
    draft's are named by their content."""
    if version.is_published:
        return [
            "published",
            version.pk,
            version.created_at.isoformat(),
            version.published_at.isoformat() if version.published_at else None,
        ]
    clauses = [
        [c.pk, c.key, c.number, c.heading, c.body, c.blocks, c.kind, c.label, c.generated]
        for c in version.clauses.all()
    ]
    return ["draft", version.pk, version.frame, clauses]


def override_inputs(override: ClauseOverride) -> list[Any]:
    """What a text or a page derives from one override (its content and where it stands)."""
    return [
        override.pk,
        override.status,
        override.kind,
        override.clause_key,
        override.new_key,
        override.heading,
        override.body,
        override.blocks,
        override.parameters,
        override.organisation_id,
        override.decided_at,
    ]


def text_inputs(agreement: Agreement) -> dict[str, Any]:
    """Everything :func:`consolidated_text` reads, as plain data (collaboratory.derived)."""
    return {
        "version": version_inputs(agreement.template_version),
        "accepted": [override_inputs(o) for o in _accepted_overrides(agreement)],
        "values": sorted(placeholder_values(agreement).items()),
        "header": _header(agreement),
        "schedule": [dataclasses.astuple(row) for row in _schedule(agreement)],
        "attested": agreement.text_hash,
        "fillins": agreement.fillins,
    }


def consolidated_text(agreement: Agreement) -> ConsolidatedText:
    """The agreement's consolidated text (use with agreement_detail_for_user's prefetches).

    Derived once per distinct input (``text_inputs``) and shared by every page, service and
    worker (collaboratory.derived): an accepted proposal, a changed term or data element is a
    different input, so the text is never stale."""
    return derived("text", text_inputs(agreement), lambda: _consolidate(agreement), code=TEXT_CODE)


def _consolidate(agreement: Agreement) -> ConsolidatedText:
    # A published version's clauses from those derived once per version, unless they came
    # with the row (a draft's always do, or are read here).
    with_version_clauses(agreement)
    text = consolidate(
        clauses=list(agreement.template_version.clauses.all()),
        accepted_overrides=_accepted_overrides(agreement),
        values=placeholder_values(agreement),
        header=_header(agreement),
        schedule=_schedule(agreement),
        frame=read_frame(agreement.template_version.frame),
        attested_hash=agreement.text_hash,
        fillins=agreement.fillins,
    )
    text.sha256  # noqa: B018 - derived with the text, so that it travels with it
    return text


def open_overrides(agreement: Agreement) -> list[ClauseOverride]:
    return [o for o in agreement.overrides.all() if o.status in OPEN_OVERRIDE_STATUSES]


def conflicts(agreement: Agreement) -> dict[str, list[ClauseOverride]]:
    """Clauses that two or more parties change at once: key -> their open overrides.

    Inserted clauses have keys of their own, so only replace/delete proposals collide.
    """
    by_key: dict[str, list[ClauseOverride]] = defaultdict(list)
    for override in open_overrides(agreement):
        if override.kind != "insert":
            by_key[override.clause_key].append(override)
    return {
        key: overrides
        for key, overrides in by_key.items()
        if len({o.organisation_id for o in overrides}) > 1
    }


def live_approvals(agreement: Agreement) -> list[Approval]:
    return [a for a in agreement.approvals.all() if a.voided_at is None]


# --- The partner API: an organisation (its token) is the caller -----------------------------


def agreements_visible_to_organisation(organisation_id: int) -> QuerySet[Agreement]:
    """Agreements ``organisation_id`` is a party to (a member of the agreement's trio)."""
    from partners.selectors import scope_to_organisation

    return scope_to_organisation(Agreement.objects.all(), organisation_id)


def _executed_documents() -> QuerySet:
    from agreements.models import Document, DocumentKind

    return Document.objects.filter(kind=DocumentKind.EXECUTED, sealed=True)


def latest_executed_document(agreement: Agreement):
    """The newest sealed executed PDF of ``agreement`` (already access-checked), or None."""
    return _executed_documents().filter(agreement=agreement).order_by("-created_at", "-id").first()
