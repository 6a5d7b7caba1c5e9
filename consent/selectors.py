"""Consent reads: who may see what, coverage, the roster, and the summary the API uses.

Access, on top of the one access rule (``agreements_visible_to``):

* consent pages of an agreement open only to people of the agreement's three organisations
  (collaboratory staff who otherwise see every trio do not see consent);
* student-level data (the student list, a student's history, receipts, imports and the
  roster) only to the people of the agreement's district;
* the research partner and the developer see aggregate coverage only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Field,
    IntegerField,
    OuterRef,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agreements.access import acting_parties, acts_for_party, party_ids
from agreements.dashboard import (
    access_key,
    access_sql,
    compose_sql,
    link,
    signed_in,
    sql_value,
)
from agreements.extensions import DashboardSection
from agreements.models import Agreement, DataElement, Identifiability
from agreements.models import Status as AgreementStatus
from agreements.selectors import PARTIES_PREFETCH, agreements_visible_to
from collaboratory.json_prefetch import JsonPrefetch, with_json_prefetch
from collaboratory.prepared import fetch_rows, prepared_rows, shaped_rows
from consent.models import (
    ConsentExport,
    ConsentForm,
    ConsentImport,
    ConsentRecord,
    ConsentRequirement,
    CoverageSnapshot,
    StudentConsent,
)
from consent.rules import (
    Action,
    Bucket,
    ConsentKind,
    Decision,
    GivenBy,
    State,
    bucket_of,
    effective_state,
    roster_columns,
    strictest,
)
from partners.models import Organisation, TrioRole
from partners.selectors import AnyUser, viewer_as_rule_reads

STUDENT_LEVEL_IDENTIFIABILITY = (Identifiability.IDENTIFIABLE, Identifiability.PSEUDONYMOUS)


# --- access -------------------------------------------------------------------------------


def consent_agreements_for_user(user: AnyUser) -> QuerySet[Agreement]:
    """Agreements whose consent pages ``user`` may open: the access rule, narrowed to people
    who act for one of the parties (``agreements.access``; facilitators act for none)."""
    return agreements_visible_to(user).filter(acts_for_party(user))


@dataclass(frozen=True)
class ConsentAccess:
    """What ``user`` may see of one agreement's consent."""

    organisation_ids: frozenset[int]
    district_id: int | None

    @property
    def student_level(self) -> bool:
        """Student-level data: only the district's people."""
        return self.district_id is not None and self.district_id in self.organisation_ids


def consent_access(user: AnyUser, agreement: Agreement) -> ConsentAccess | None:
    """None when ``user`` acts for none of the agreement's parties (``agreements.access``).
    Uses the agreement's prefetched trio members; one query for the user's memberships."""
    mine = frozenset(acting_parties(user, agreement))
    if not mine:
        return None
    return ConsentAccess(
        organisation_ids=mine, district_id=party_ids(agreement).get(TrioRole.DISTRICT)
    )


#: The agreement's parties and data elements travel with it (one query; see json_prefetch).
CONSENT_PREFETCHES = (
    PARTIES_PREFETCH,
    JsonPrefetch(
        "data_elements",
        DataElement.objects.filter(agreement=OuterRef("pk")).order_by("position", "id"),
        select=("source", "recipient"),
    ),
)


def _consent_statement(superuser: bool, *, user_id: int, pk: uuid.UUID) -> QuerySet[Agreement]:
    viewer = viewer_as_rule_reads(user_id, superuser=superuser)
    candidates = agreements_visible_to(viewer).select_related("trio__collaboratory").filter(pk=pk)
    return with_json_prefetch(candidates, *CONSENT_PREFETCHES)


def consent_agreement_for_user(user: AnyUser, pk) -> tuple[Agreement, ConsentAccess] | None:
    """The agreement with its trio, parties and data elements, and the user's access, or
    None (the view answers 404).

    The access rule, then whether the user acts for a party: ``consent_access`` asks that of
    the loaded agreement (the query it needs anyway), which is what
    ``consent_agreements_for_user`` asks in SQL. The statement is built and compiled once per
    process, the viewer's id and the agreement its parameters
    (``collaboratory.prepared.shaped_rows``): building it was ~40% of the consent page."""
    if not user.is_authenticated or not user.is_active:
        return None
    try:
        pk = pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))
    except ValueError:
        return None
    rows = shaped_rows(
        "consent-agreement",
        _consent_statement,
        (user.is_superuser,),
        {"user_id": user.pk, "pk": pk},
    )
    if not rows:
        return None
    agreement = rows[0]
    access = consent_access(user, agreement)
    if access is None:
        return None
    return agreement, access


# --- requirements and forms ---------------------------------------------------------------


_REQUIREMENT_ORDER = ("data_element__position", "data_element_id", "id")

#: The agreement page fetches the requirements in its own query (agreements.extensions).
REQUIREMENTS_PREFETCH = JsonPrefetch(
    "consent_requirements",
    ConsentRequirement.objects.filter(agreement=OuterRef("pk")).order_by(*_REQUIREMENT_ORDER),
    select=("data_element",),
)


def requirements_of(agreement: Agreement) -> list[ConsentRequirement]:
    """The agreement's requirements with their data elements: those its row came with
    (``REQUIREMENTS_PREFETCH``), else one query."""
    prefetched = getattr(agreement, "_prefetched_objects_cache", {}).get("consent_requirements")
    if prefetched is not None:
        return list(prefetched)
    return list(
        ConsentRequirement.objects.filter(agreement_id=agreement.pk)
        .select_related("data_element")
        .order_by(*_REQUIREMENT_ORDER)
    )


def governing_kind(requirements: list[ConsentRequirement]) -> str | None:
    """The strictest requirement of the agreement: one roster serves all its elements."""
    return strictest(r.kind for r in requirements)


def forms_of(agreement: Agreement) -> list[ConsentForm]:
    return list(
        ConsentForm.objects.filter(agreement_id=agreement.pk)
        .select_related("created_by")
        .order_by("language", "-version")
    )


# --- coverage -----------------------------------------------------------------------------


@dataclass
class CoverageRow:
    school: str
    grade: int | None
    buckets: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.buckets.values())

    @property
    def grade_label(self) -> str:
        if self.grade is None:
            return "—"
        return "K" if self.grade == 0 else str(self.grade)

    @property
    def cells(self) -> list[int | None]:
        """Counts in the dashboard's column order (Bucket order)."""
        return [self.buckets.get(b, 0) for b in Bucket.values]


@dataclass
class Coverage:
    as_of: dt.date
    kind: str | None
    states: Counter
    rows: list[CoverageRow]

    @property
    def total(self) -> int:
        return sum(self.states.values())

    @property
    def buckets(self) -> dict[str, int]:
        counts = dict.fromkeys(Bucket.values, 0)
        for state, count in self.states.items():
            counts[bucket_of(state)] += count
        return counts

    @property
    def permitted(self) -> int:
        return self.buckets[Bucket.PERMITTED]

    def by_school(self) -> list[CoverageRow]:
        schools: dict[str, CoverageRow] = {}
        for row in self.rows:
            target = schools.setdefault(row.school, CoverageRow(row.school, None))
            for bucket, count in row.buckets.items():
                target.buckets[bucket] = target.buckets.get(bucket, 0) + count
        return [schools[name] for name in sorted(schools)]


COVERAGE_SQL = """
SELECT school, grade, state, students FROM consent_coveragecount WHERE agreement_id = %s
UNION ALL
SELECT NULL, NULL, NULL, count(*) FROM consent_studentconsent
WHERE agreement_id = %s AND state_valid_until <= %s
"""


def coverage(agreement: Agreement, *, kind: str | None, today: dt.date | None = None) -> Coverage:
    """Students per state, school and grade, today.

    Reads the maintained counts (``CoverageCount``: a few rows per school and grade), then
    corrects for the students whose state aged out since it was written (a student turned
    18 and the daily refresh has not run yet), so the answer is right even before the
    refresh.
    """
    today = today or timezone.localdate()
    cells: dict[tuple[str, int | None], Counter] = defaultdict(Counter)
    aged_out = 0
    for school, grade, state, count in fetch_rows(
        COVERAGE_SQL, [agreement.pk, agreement.pk, today]
    ):
        if state is None:  # the UNION's last row: how many states aged out
            aged_out = count
        else:
            cells[(school, grade)][state] += count
    if kind is not None and aged_out:
        for stale in StudentConsent.objects.filter(
            agreement_id=agreement.pk, state_valid_until__lte=today
        ):
            now = effective_state(
                stored_decisions(stale), kind=kind, birth_year=stale.birth_year, as_of=today
            ).state
            cells[(stale.school, stale.grade)][stale.state] -= 1
            cells[(stale.school, stale.grade)][now] += 1
    states: Counter = Counter()
    rows = []
    for (school, grade), counter in sorted(
        cells.items(), key=lambda item: (item[0][0], -1 if item[0][1] is None else item[0][1])
    ):
        row = CoverageRow(school, grade)
        for state, count in counter.items():
            if count:
                states[state] += count
                bucket = bucket_of(state)
                row.buckets[bucket] = row.buckets.get(bucket, 0) + count
        rows.append(row)
    return Coverage(as_of=today, kind=kind, states=states, rows=rows)


#: Non-district viewers see counts below this as “fewer than MIN_CELL”.
MIN_CELL = 5


@dataclass
class MaskedRow:
    """A coverage row for viewers outside the district: small counts hidden (None)."""

    school: str
    grade_label: str
    buckets: dict[str, int | None]
    total: int

    @property
    def cells(self) -> list[int | None]:
        return [self.buckets.get(b, 0) for b in Bucket.values]


def suppress_small_cells(rows: list[CoverageRow], *, minimum: int = MIN_CELL) -> list[MaskedRow]:
    """Hide counts from 1 to ``minimum - 1`` per school and grade. When only one count of a
    row is hidden it could be worked out from the total, so the next smallest is hidden too
    (secondary suppression)."""
    masked = []
    for row in rows:
        buckets: dict[str, int | None] = dict(row.buckets)
        small = [b for b, n in row.buckets.items() if 0 < n < minimum]
        if len(small) == 1:
            others = sorted((n, b) for b, n in row.buckets.items() if n and b not in small)
            if others:
                small.append(others[0][1])
        for bucket in small:
            buckets[bucket] = None
        masked.append(MaskedRow(row.school, row.grade_label, buckets, row.total))
    return masked


def stored_decisions(student: StudentConsent) -> list[Decision]:
    """The latest decision of each giver, as kept on the student's state row."""
    decisions = []
    if student.parent_action and student.parent_decided_on is not None:
        decisions.append(
            Decision(
                student.parent_action,
                GivenBy.PARENT,
                student.parent_decided_on,
                student.parent_record_id or 0,
            )
        )
    if student.student_action and student.student_decided_on is not None:
        decisions.append(
            Decision(
                student.student_action,
                GivenBy.STUDENT,
                student.student_decided_on,
                student.student_record_id or 0,
            )
        )
    return decisions


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    buckets: dict[str, int]


def coverage_trend(agreement: Agreement, current: Coverage) -> list[TrendPoint]:
    """Stored snapshots before today, then today's live coverage."""
    points = []
    for snapshot in CoverageSnapshot.objects.filter(
        agreement_id=agreement.pk, day__lt=current.as_of
    ).order_by("day"):
        buckets = dict.fromkeys(Bucket.values, 0)
        for state, count in snapshot.counts.items():
            buckets[bucket_of(state)] += count
        points.append(TrendPoint(snapshot.day, buckets))
    points.append(TrendPoint(current.as_of, current.buckets))
    return points


# --- student-level reads (district only: callers check ConsentAccess.student_level) ---------


def student_list(
    agreement: Agreement,
    *,
    state: str | None = None,
    school: str | None = None,
    grade: int | None = None,
    key_prefix: str | None = None,
) -> QuerySet[StudentConsent]:
    queryset = StudentConsent.objects.filter(agreement_id=agreement.pk)
    if state:
        queryset = queryset.filter(state=state)
    if school:
        queryset = queryset.filter(school=school)
    if grade is not None:
        queryset = queryset.filter(grade=grade)
    if key_prefix:
        queryset = queryset.filter(student_key__startswith=key_prefix)
    return queryset.order_by("student_key")


def schools_of(agreement: Agreement) -> list[str]:
    return list(
        StudentConsent.objects.filter(agreement_id=agreement.pk)
        .order_by("school")
        .values_list("school", flat=True)
        .distinct()
    )


def student_history(agreement: Agreement, student: StudentConsent) -> list[ConsentRecord]:
    """Every record of the student, in the order the rules read them."""
    return list(
        ConsentRecord.objects.filter(agreement_id=agreement.pk, student_key=student.student_key)
        .select_related("form", "recorded_by", "source_import")
        .order_by("decided_on", "id")
    )


def imports_of(agreement: Agreement) -> QuerySet[ConsentImport]:
    return (
        ConsentImport.objects.filter(agreement_id=agreement.pk)
        .defer("content")
        .select_related("uploaded_by", "finished_by", "default_form")
    )


def exports_of(agreement: Agreement) -> QuerySet[ConsentExport]:
    return ConsentExport.objects.filter(agreement_id=agreement.pk).select_related(
        "recipient", "exported_by"
    )


# --- the roster ---------------------------------------------------------------------------


def roster_recipients(agreement: Agreement) -> list[tuple[Organisation, tuple[str, ...]]]:
    """Organisations that receive district data under the agreement, with the roster
    columns their data elements allow (``rules.roster_columns``); uses prefetched elements."""
    district_id = next(
        (m.organisation_id for m in agreement.trio.members.all() if m.role == "district"), None
    )
    levels: dict[int, list[str]] = defaultdict(list)
    organisations: dict[int, Organisation] = {}
    for element in agreement.data_elements.all():
        if element.source_id == district_id:
            levels[element.recipient_id].append(element.identifiability)
            organisations[element.recipient_id] = element.recipient
    return [
        (organisations[org_id], roster_columns(levels[org_id]))
        for org_id in sorted(levels, key=lambda o: organisations[o].name)
    ]


LATEST_AS_OF_SQL = """
SELECT DISTINCT ON (student_key, given_by) student_key, given_by, action, decided_on, id
FROM consent_consentrecord
WHERE agreement_id = %s AND decided_on <= %s
ORDER BY student_key, given_by, decided_on DESC, id DESC
"""


def latest_decisions_as_of(agreement_id, as_of: dt.date) -> dict[str, list[Decision]]:
    """Each student's latest decision per giver on ``as_of`` (one DISTINCT ON query)."""
    latest: dict[str, list[Decision]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(LATEST_AS_OF_SQL, [agreement_id, as_of])
        for key, given_by, action, decided_on, record_id in cursor.fetchall():
            latest[key].append(Decision(action, given_by, decided_on, record_id))
    return latest


def roster_rows(
    agreement: Agreement, *, kind: str, as_of: dt.date, columns: tuple[str, ...]
) -> list[tuple]:
    """The students permitted on ``as_of``, with only ``columns``, sorted by key.

    Evaluated from the history as of that day (not from today's state rows), so a roster for
    a past date is what was true then.
    """
    latest = latest_decisions_as_of(agreement.pk, as_of)
    rows = []
    for student in (
        StudentConsent.objects.filter(agreement_id=agreement.pk)
        .order_by("student_key")
        .only("student_key", "school", "grade", "birth_year")
    ):
        effective = effective_state(
            latest.get(student.student_key, ()),
            kind=kind,
            birth_year=student.birth_year,
            as_of=as_of,
        )
        if effective.permitted:
            values = {
                "student_key": student.student_key,
                "school": student.school,
                "grade": student.grade_label,
                "birth_year": "" if student.birth_year is None else str(student.birth_year),
            }
            rows.append(tuple(values[c] for c in columns))
    return rows


# --- the summary (aggregates only: safe for any party and for the API) --------------------


class _Unset(Enum):
    """Not given (None is a meaningful kind: no requirement)."""

    UNSET = auto()


_UNSET = _Unset.UNSET


def consent_summary(
    agreement: Agreement,
    *,
    recipient_id: int | None = None,
    today: dt.date | None = None,
    current: Coverage | None = None,
    kind: str | None | _Unset = _UNSET,
) -> dict:
    """Aggregate consent counts of ``agreement`` (never a student row): students per state
    and bucket, the last roster export (sent to ``recipient_id``, when that is not the
    agreement's district) and what changed
    for the students on it since: withdrawals recorded, and students no longer permitted.
    A caller that already computed the coverage and governing kind may pass them."""
    if isinstance(kind, _Unset):
        kind = governing_kind(requirements_of(agreement))
    if current is None:
        current = coverage(agreement, kind=kind, today=today)
    district_ids = {m.organisation_id for m in agreement.trio.members.all() if m.role == "district"}
    if recipient_id in district_ids:
        recipient_id = None  # a recipient sees its own rosters; the district (sender) all
    last, recipient = _last_export(agreement, recipient_id=recipient_id, today=current.as_of) or (
        None,
        "",
    )
    summary: dict = {
        "agreement": agreement.reference,
        "as_of": current.as_of.isoformat(),
        "requirement": kind,
        "students": current.total,
        "permitted": current.permitted,
        "buckets": current.buckets,
        "states": {state: current.states.get(state, 0) for state in State.values},
        "last_export": None,
        "withdrawals_since_last_export": 0,
        "no_longer_permitted_since_last_export": 0,
    }
    if last is not None:
        on_roster = StudentConsent.objects.filter(agreement_id=agreement.pk, last_export=last)
        summary["last_export"] = {
            "exported_at": last.exported_at.isoformat(),
            "as_of": last.as_of.isoformat(),
            "recipient": recipient,
            "row_count": last.row_count,
            "sha256": last.sha256,
        }
        summary["withdrawals_since_last_export"] = last.withdrawals_since or 0
        summary["no_longer_permitted_since_last_export"] = _not_permitted_now(
            on_roster,
            kind=kind,
            today=current.as_of,
            not_permitted=last.not_permitted_since,
            aged_out=last.aged_out_on_roster,
        )
    return summary


#: The last roster export of an agreement (to one recipient, or to any) with, per export:
#: withdrawals recorded since among its students, and its students now not permitted or whose
#: state aged out. Plain SQL: the ORM built these three correlated counts anew on every
#: consent page (~3 ms of CPU, a third of the page), for an export most agreements lack.
_LAST_EXPORT_SQL = """
SELECT e.*, r.name AS recipient_name,
    (SELECT count(*) FROM consent_consentrecord c
     WHERE c.agreement_id = e.agreement_id AND c.action = %(withdrawn)s
        AND c.recorded_at > e.exported_at
        AND c.student_key IN (
            SELECT s.student_key FROM consent_studentconsent s
            WHERE s.agreement_id = e.agreement_id AND s.last_export_id = e.id)
    ) AS withdrawals_since,
    (SELECT count(*) FROM consent_studentconsent s
     WHERE s.agreement_id = e.agreement_id AND s.last_export_id = e.id AND NOT s.permitted
        AND (s.state_valid_until IS NULL OR s.state_valid_until > %(today)s)
    ) AS not_permitted_since,
    (SELECT count(*) FROM consent_studentconsent s
     WHERE s.agreement_id = e.agreement_id AND s.last_export_id = e.id
        AND s.state_valid_until <= %(today)s
    ) AS aged_out_on_roster
FROM consent_consentexport e JOIN partners_organisation r ON r.id = e.recipient_id
WHERE e.agreement_id = %(agreement)s
    AND (%(recipient)s::bigint IS NULL OR e.recipient_id = %(recipient)s)
ORDER BY e.exported_at DESC, e.id DESC
LIMIT 1
"""


def _last_export(
    agreement: Agreement, *, recipient_id: int | None, today: dt.date
) -> tuple[ConsentExport, str] | None:
    """The agreement's last roster export (to ``recipient_id`` when given), annotated with
    what changed for its students since (``_LAST_EXPORT_SQL``), and its recipient's name."""
    found = ConsentExport.objects.raw(
        _LAST_EXPORT_SQL,
        {
            "agreement": agreement.pk,
            "recipient": recipient_id,
            "today": today,
            "withdrawn": Action.WITHDRAWN.value,
        },
    )
    last = next(iter(found), None)
    return None if last is None else (last, last.recipient_name)  # type: ignore[attr-defined]


def _not_permitted_now(
    students: QuerySet[StudentConsent],
    *,
    kind: str | None,
    today: dt.date,
    not_permitted: int | None,
    aged_out: int | None,
) -> int:
    """Students of ``students`` not permitted today: ``not_permitted`` among those whose
    stored state still holds, plus those of the ``aged_out`` whose state changed since."""
    if kind is None:
        return 0
    count = not_permitted or 0
    if not aged_out:
        return count
    for stale in students.filter(state_valid_until__lte=today):
        count += not effective_state(
            stored_decisions(stale), kind=kind, birth_year=stale.birth_year, as_of=today
        ).permitted
    return count


# --- the director's dashboard: consent coverage --------------------------------------------

DASHBOARD_LIMIT = 30


@dataclass(frozen=True)
class ConsentRow:
    agreement: Agreement
    requirement: str | None  # the strictest requirement's label, None when unset
    students: int
    permitted: int
    masked: bool  # a non-district viewer and a count small enough to identify students

    @property
    def url(self) -> str:
        return link("consent-dashboard", self.agreement.pk)

    @property
    def percent(self) -> int | None:
        if not self.students:
            return None
        return round(100 * self.permitted / self.students)


#: Consent coverage's rows (``agreements.dashboard.compose_sql``): the active agreements
#: the user may see and acts for a party of (``consent_agreements_for_user``), with the
#: counts of the maintained per-student state rows, which PostgreSQL takes only for the rows
#: kept, after the order and limit.
_COVERAGE_SQL = {
    # The first rows by expiry, chosen before anything is counted.
    "coverage": (
        "agreements_agreement.id IN (SELECT a.id FROM agreements_agreement a "
        "WHERE a.trio_id = ANY({visible}) AND a.status = {active} "
        "AND EXISTS (SELECT 1 FROM partners_triomember tm "
        "WHERE tm.trio_id = a.trio_id AND tm.organisation_id IN ({acting})) "
        "ORDER BY a.expires_on, a.reference LIMIT {limit})"
    ),
    "students": (
        "(SELECT count(*) FROM consent_studentconsent sc "
        "WHERE sc.agreement_id = agreements_agreement.id)"
    ),
    "permitted": (
        "(SELECT count(*) FROM consent_studentconsent sc "
        "WHERE sc.agreement_id = agreements_agreement.id AND sc.permitted)"
    ),
    "kinds": (
        "ARRAY(SELECT cr.kind FROM consent_consentrequirement cr "
        "WHERE cr.agreement_id = agreements_agreement.id)"
    ),
    # The district's people see every count (``agreements.access.acts_for_party``).
    "is_district": (
        "EXISTS (SELECT 1 FROM partners_triomember tm "
        "WHERE tm.trio_id = agreements_agreement.trio_id AND tm.role = {district} "
        "AND tm.organisation_id IN ({acting}))"
    ),
}


def consent_coverage(user: AnyUser) -> list[ConsentRow]:
    """Consent coverage of each active agreement whose consent the user may see (people of
    the trio's own organisations), from the maintained per-student state rows — one query.
    Counts below ``MIN_CELL`` are hidden from everyone but the district's people."""
    person = signed_in(user)
    if person is None:
        return []
    access = access_sql(person)
    parts = {
        "visible": access.visible_trios,
        "acting": access.acting,
        "active": sql_value(AgreementStatus.ACTIVE),
        "district": sql_value(TrioRole.DISTRICT),
        "limit": sql_value(DASHBOARD_LIMIT),
    }

    def raw(fragment: str, output_field: Field | None = None) -> RawSQL:
        sql, params = compose_sql(_COVERAGE_SQL[fragment], parts)
        return RawSQL(sql, params, output_field=output_field)  # noqa: S611 - composed SQL

    def build(*_key: object) -> QuerySet[Any]:  # annotated rows
        return (
            Agreement.objects.filter(raw("coverage", BooleanField()))
            .annotate(
                students=raw("students", IntegerField()),
                permitted=raw("permitted", IntegerField()),
                kinds=raw("kinds"),
                is_district=raw("is_district", BooleanField()),
            )
            .order_by("expires_on", "reference")[:DASHBOARD_LIMIT]
        )

    # Compiled once per user (collaboratory.prepared): the statement depends on nothing else.
    rows = prepared_rows("consent-coverage", build, *access_key(person))
    result = []
    for agreement in rows:
        kind = strictest(agreement.kinds or [])
        masked = (
            not agreement.is_district
            and 0 < min(agreement.permitted, agreement.students - agreement.permitted) < MIN_CELL
        )
        result.append(
            ConsentRow(
                agreement=agreement,
                requirement=ConsentKind(kind).label if kind else None,
                students=agreement.students,
                permitted=agreement.permitted,
                masked=masked,
            )
        )
    return result


def consent_dashboard_section(user: AnyUser) -> DashboardSection:
    """The dashboard's "Consent coverage" panel (registered in consent/apps.py)."""
    return DashboardSection(
        template="consent/dashboard_section.html",
        context={"rows": consent_coverage(user), "min_cell": MIN_CELL},
    )
