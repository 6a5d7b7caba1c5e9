"""Every consent write goes through these services.

Each checks who acts (people of the agreement's organisations; the district's people for
anything about individual students), refuses with ``DomainError`` and changes nothing when a
rule is broken. Consent writes of one agreement are serialised by a transaction-scoped
advisory lock, so the maintained per-student state (``StudentConsent``) is updated in the
same transaction as the records it summarises and never races.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from agreements import lifecycle
from agreements.access import User, acting_party
from agreements.approvals.selectors import approval_problems
from agreements.models import Agreement, DataElement, Status
from agreements.notifications import notify
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory import csv_safe
from collaboratory.errors import DomainError
from consent import csv_import, selectors, student_keys
from consent.csv_import import DecidedRow, FormRef, KnownStudent, Row, is_decided
from consent.models import (
    ConsentExport,
    ConsentForm,
    ConsentImport,
    ConsentPurgeLog,
    ConsentRecord,
    ConsentRequirement,
    CoverageCount,
    CoverageSnapshot,
    ImportStatus,
    StudentConsent,
)
from consent.rules import (
    Action,
    ConsentKind,
    Decision,
    Effective,
    GivenBy,
    State,
    effective_state,
)
from consent.trend import StudentHistory, checkpoints, trend_counts
from partners.models import Organisation

DEFAULT_MAX_IMPORT_BYTES = 20_000_000
DEFAULT_MAX_IMPORT_ROWS = 200_000
DEFAULT_RETENTION_DAYS = 365 * 3


def max_import_bytes() -> int:
    return getattr(settings, "CONSENT_IMPORT_MAX_BYTES", DEFAULT_MAX_IMPORT_BYTES)


def max_import_rows() -> int:
    return getattr(settings, "CONSENT_IMPORT_MAX_ROWS", DEFAULT_MAX_IMPORT_ROWS)


def retention_days() -> int:
    return getattr(settings, "CONSENT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)


# --- who acts (the rule is agreements.access.acting_party) ----------------------------------

#: What only the district's people may do: individual students' consent is the district's.
STUDENT_LEVEL = "see or change individual students' consent"


def _lock(agreement: Agreement) -> None:
    """Serialise consent writes of one agreement until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"consent:{agreement.pk}"])


def _fresh(agreement: Agreement) -> Agreement:
    return (
        Agreement.objects.select_related("trio")
        .prefetch_related("trio__members__organisation", "data_elements__recipient")
        .get(pk=agreement.pk)
    )


def _collecting_kind(agreement: Agreement) -> str:
    """The governing requirement, when the agreement collects consent."""
    if agreement.status in lifecycle.FINAL:
        raise DomainError(
            f"The agreement is {agreement.get_status_display().lower()}; no more consent is "
            "recorded under it.",
            code="agreement_over",
        )
    kind = selectors.governing_kind(selectors.requirements_of(agreement))
    if kind is None:
        raise DomainError(
            "Set the agreement's consent requirement before recording consent.",
            code="no_requirement",
        )
    if kind == ConsentKind.NONE:
        raise DomainError(
            "This agreement needs no consent (a legal basis is recorded instead), so there is "
            "nothing to record.",
            code="no_consent_needed",
        )
    return kind


# --- requirements and forms ---------------------------------------------------------------


@transaction.atomic
def consent_requirement_set(
    *,
    agreement: Agreement,
    by: User,
    kind: str,
    legal_basis: str = "",
    data_element: DataElement | None = None,
    today: dt.date | None = None,
) -> ConsentRequirement:
    """Set the consent requirement of the agreement (or of one data element). Part of the
    terms: it may change only while the agreement is a draft or being negotiated. When the
    governing requirement changes, every student's state is re-derived."""
    agreement = _fresh(agreement)
    acting_party(by, agreement)
    if agreement.status not in lifecycle.EDITABLE:
        raise DomainError(
            "The consent requirement is part of the terms: it can change only while the "
            f"agreement is a draft or being negotiated; it is "
            f"{agreement.get_status_display().lower()}.",
            code="wrong_status",
        )
    if data_element is not None and data_element.agreement_id != agreement.pk:
        raise DomainError({"data_element": "Choose a data element of this agreement."})
    if kind not in ConsentKind.values:
        raise DomainError({"kind": "Choose one of the consent requirements offered."})
    if kind == ConsentKind.NONE and not legal_basis.strip():
        raise DomainError(
            {
                "legal_basis": "Record the legal basis for needing no consent, e.g. the FERPA "
                "studies exception for de-identified data."
            },
            code="legal_basis_missing",
        )
    _lock(agreement)
    before = selectors.governing_kind(selectors.requirements_of(agreement))
    requirement = ConsentRequirement.objects.filter(
        agreement=agreement, data_element=data_element
    ).first() or ConsentRequirement(agreement=agreement, data_element=data_element)
    requirement.kind = kind
    requirement.legal_basis = legal_basis.strip() if kind == ConsentKind.NONE else ""
    requirement.set_by = by
    requirement.full_clean(validate_constraints=False)
    requirement.save()
    after = selectors.governing_kind(selectors.requirements_of(agreement))
    if after != before:
        _rederive_all(agreement, kind=after, today=today or timezone.localdate())
    return requirement


@transaction.atomic
def consent_requirement_remove(
    *, requirement: ConsentRequirement, by: User, today: dt.date | None = None
) -> None:
    agreement = _fresh(requirement.agreement)
    acting_party(by, agreement)
    if agreement.status not in lifecycle.EDITABLE:
        raise DomainError(
            "The consent requirement can change only while the agreement is a draft or being "
            "negotiated.",
            code="wrong_status",
        )
    _lock(agreement)
    before = selectors.governing_kind(selectors.requirements_of(agreement))
    requirement.delete()
    after = selectors.governing_kind(selectors.requirements_of(agreement))
    if after != before:
        _rederive_all(agreement, kind=after, today=today or timezone.localdate())


@transaction.atomic
def consent_form_add(
    *,
    agreement: Agreement,
    by: User,
    language: str,
    title: str,
    body: str,
    effective_date: dt.date,
) -> ConsentForm:
    """A new version of the consent form in ``language``; earlier versions stay as they
    were, because records point at the exact version a family saw."""
    agreement = _fresh(agreement)
    acting_party(by, agreement)
    if agreement.status in lifecycle.FINAL:
        raise DomainError(
            "The agreement is over; its consent forms can no longer change.", code="agreement_over"
        )
    _lock(agreement)
    language = language.strip()
    latest = ConsentForm.objects.filter(agreement=agreement, language=language).aggregate(
        m=Max("version")
    )["m"]
    form = ConsentForm(
        agreement=agreement,
        language=language,
        version=(latest or 0) + 1,
        title=title.strip(),
        body=body.strip(),
        body_sha256=hashlib.sha256(body.strip().encode()).hexdigest(),
        effective_date=effective_date,
        created_by=by,
    )
    form.full_clean()
    form.save()
    return form


# --- per-student state --------------------------------------------------------------------


@dataclass(slots=True)
class _Student:
    """A student's state row while a write is being prepared."""

    key: str
    id: int | None = None
    school: str = ""
    grade: int | None = None
    birth_year: int | None = None
    parent: Decision | None = None
    student: Decision | None = None
    state: str = State.NO_RESPONSE
    permitted: bool = False
    valid_until: dt.date | None = None
    last_export_id: int | None = None
    was_permitted: bool = False
    #: (school, grade, state) as stored, for the coverage count deltas; None when new.
    was: tuple | None = None
    touched: bool = field(default=False, repr=False)

    def decisions(self) -> list[Decision]:
        return [d for d in (self.parent, self.student) if d is not None]

    def apply(self, decision: Decision) -> None:
        """Keep the latest decision of each giver, by (date, order recorded)."""
        slot = "parent" if decision.given_by == GivenBy.PARENT else "student"
        current = getattr(self, slot)
        if current is None or (decision.decided_on, decision.sequence) >= (
            current.decided_on,
            current.sequence,
        ):
            setattr(self, slot, decision)

    def evaluate(self, *, kind: str, today: dt.date) -> Effective:
        effective = effective_state(
            self.decisions(), kind=kind, birth_year=self.birth_year, as_of=today
        )
        self.state, self.permitted = effective.state, effective.permitted
        self.valid_until = effective.valid_until
        return effective


STUDENT_COLUMNS = (
    "id, student_key, school, grade, birth_year, parent_action, parent_decided_on, "
    "parent_record_id, student_action, student_decided_on, student_record_id, state, "
    "permitted, last_export_id"
)


def _from_db(values: Sequence) -> _Student:
    (
        pk,
        key,
        school,
        grade,
        birth_year,
        p_action,
        p_on,
        p_id,
        s_action,
        s_on,
        s_id,
        state,
        permitted,
        last_export_id,
    ) = values
    return _Student(
        key=key,
        id=pk,
        school=school,
        grade=grade,
        birth_year=birth_year,
        parent=Decision(p_action, GivenBy.PARENT, p_on, p_id or 0) if p_action else None,
        student=Decision(s_action, GivenBy.STUDENT, s_on, s_id or 0) if s_action else None,
        state=state,
        permitted=permitted,
        was_permitted=permitted,
        last_export_id=last_export_id,
        was=(school, grade, state),
    )


def _load_students(agreement: Agreement, keys: Iterable[str] | None) -> dict[str, _Student]:
    """State rows by key (every row of the agreement when ``keys`` is None)."""
    sql = f"SELECT {STUDENT_COLUMNS} FROM consent_studentconsent WHERE agreement_id = %s"  # noqa: S608
    params: list = [agreement.pk]
    if keys is not None:
        sql += " AND student_key = ANY(%s)"
        params.append(list(keys))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[1]: _from_db(row) for row in cursor.fetchall()}


def _histories(agreement: Agreement, keys: Iterable[str]) -> dict[str, list[Decision]]:
    keys = list(keys)
    if not keys:
        return {}
    history: dict[str, list[Decision]] = defaultdict(list)
    for key, action, given_by, decided_on, pk in ConsentRecord.objects.filter(
        agreement_id=agreement.pk, student_key__in=keys
    ).values_list("student_key", "action", "given_by", "decided_on", "id"):
        history[key].append(Decision(action, given_by, decided_on, pk))
    return history


_record_sequence: list[str] = []


def _allocate_record_ids(count: int) -> list[int]:
    """Reserve ``count`` record ids in one round trip, so the state rows can name their
    records before either is written (both the COPY and the ORM path use them)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        if not _record_sequence:
            # Looked up once: resolving it per row made allocation 14 times slower.
            cursor.execute("SELECT pg_get_serial_sequence('consent_consentrecord', 'id')")
            _record_sequence.append(cursor.fetchone()[0])
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [_record_sequence[0], count],
        )
        return [row[0] for row in cursor.fetchall()]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    """Free text in PostgreSQL's COPY text format (keys and choices never need escaping)."""
    return value.translate(_COPY_ESCAPES) if value else ""


def _nullable(value) -> str:
    return "\\N" if value is None else str(value)


def _copy(cursor, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    buffer = io.StringIO()
    buffer.writelines(lines)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


RECORD_COLUMNS = (
    "id",
    "student_key",
    "action",
    "given_by",
    "method",
    "witness",
    "decided_on",
    "form_id",
)


def _write_records_copy(
    agreement, by, rows: list[tuple[int, DecidedRow]], source_import_id
) -> None:
    """COPY the rows into a temporary table, then one INSERT ... SELECT adds what every row
    shares (agreement, recorder, time, import) and a receipt id."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")  # sort 100,000 rows in memory
        cursor.execute(
            "CREATE TEMPORARY TABLE consent_incoming (id bigint, student_key text, action text, "
            "given_by text, method text, witness text, decided_on date, form_id bigint) "
            "ON COMMIT DROP"
        )
        _copy(
            cursor,
            "consent_incoming",
            RECORD_COLUMNS,
            (
                f"{pk}\t{r.student_key}\t{r.action}\t{r.given_by}\t{r.method}\t"
                f"{_text(r.witness)}\t{r.decided_on}\t{r.form_id}\n"
                for pk, r in rows
            ),
        )
        cursor.execute(
            "INSERT INTO consent_consentrecord (id, agreement_id, student_key, action, given_by, "
            "method, witness, decided_on, form_id, receipt_id, recorded_by_id, recorded_at, "
            "source_import_id) "
            "SELECT id, %s, student_key, action, given_by, method, witness, decided_on, form_id, "
            "md5(%s || id::text)::uuid, %s, %s, %s FROM consent_incoming "
            # In index order: the history index grows in order instead of at random.
            "ORDER BY student_key, given_by, decided_on, id",
            # Receipt ids: unique per record (a random salt per import, then the record id);
            # cheaper than a cryptographically random UUID per row.
            [
                agreement.pk,
                uuid.uuid4().hex,
                by.pk if by else None,
                timezone.now(),
                source_import_id,
            ],
        )
        cursor.execute("DROP TABLE consent_incoming")


def _write_records_orm(agreement, by, rows: list[tuple[int, DecidedRow]], source_import_id) -> None:
    now = timezone.now()
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                id=pk,
                agreement_id=agreement.pk,
                student_key=r.student_key,
                action=r.action,
                given_by=r.given_by,
                method=r.method,
                witness=r.witness,
                decided_on=r.decided_on,
                form_id=r.form_id,
                recorded_by=by,
                recorded_at=now,
                source_import_id=source_import_id,
            )
            for pk, r in rows
        ],
        batch_size=5000,
    )


STATE_FIELDS = (
    "school",
    "grade",
    "birth_year",
    "parent_action",
    "parent_decided_on",
    "parent_record_id",
    "student_action",
    "student_decided_on",
    "student_record_id",
    "state",
    "permitted",
    "state_as_of",
    "state_valid_until",
    "updated_at",
)


def _state_values(student: _Student, today: dt.date, now) -> tuple:
    p, s = student.parent, student.student
    return (
        student.school,
        student.grade,
        student.birth_year,
        p.action if p else "",
        p.decided_on if p else None,
        p.sequence if p else None,
        s.action if s else "",
        s.decided_on if s else None,
        s.sequence if s else None,
        student.state,
        student.permitted,
        today,
        student.valid_until,
        now,
    )


def _state_line(student: _Student, today: dt.date, now: str) -> str:
    p, s = student.parent, student.student
    return (
        f"{student.key}\t{_text(student.school)}\t{_nullable(student.grade)}\t"
        f"{_nullable(student.birth_year)}\t"
        + (f"{p.action}\t{p.decided_on}\t{p.sequence}\t" if p else "\t\\N\t\\N\t")
        + (f"{s.action}\t{s.decided_on}\t{s.sequence}\t" if s else "\t\\N\t\\N\t")
        + f"{student.state}\t{'t' if student.permitted else 'f'}\t{today}\t"
        f"{_nullable(student.valid_until)}\t{now}\n"
    )


def _count_changes(agreement, students: Iterable[_Student]) -> None:
    """Move each written student between coverage cells: one upsert of the net deltas."""
    deltas: Counter = Counter()
    for student in students:
        if student.was is not None:
            deltas[student.was] -= 1
        deltas[(student.school, student.grade, student.state)] += 1
    changed = [(cell, delta) for cell, delta in deltas.items() if delta]
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO consent_coveragecount (agreement_id, school, grade, state, students) "
            "SELECT %s, school, grade, state, delta FROM unnest(%s::text[], %s::smallint[], "
            "%s::text[], %s::integer[]) AS d(school, grade, state, delta) "
            "ON CONFLICT (agreement_id, school, grade, state) "
            "DO UPDATE SET students = consent_coveragecount.students + EXCLUDED.students",
            [
                agreement.pk,
                [cell[0] for cell, _ in changed],
                [cell[1] for cell, _ in changed],
                [cell[2] for cell, _ in changed],
                [delta for _, delta in changed],
            ],
        )
        cursor.execute(
            "DELETE FROM consent_coveragecount WHERE agreement_id = %s AND students = 0",
            [agreement.pk],
        )
    for student in students:
        student.was = (student.school, student.grade, student.state)


def _recount(agreement) -> None:
    """Recount the coverage cells of ``agreement`` from its state rows."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_coveragecount WHERE agreement_id = %s", [agreement.pk])
        cursor.execute(
            "INSERT INTO consent_coveragecount (agreement_id, school, grade, state, students) "
            "SELECT agreement_id, school, grade, state, count(*) FROM consent_studentconsent "
            "WHERE agreement_id = %s GROUP BY agreement_id, school, grade, state",
            [agreement.pk],
        )


def _write_students_copy(agreement, students: list[_Student], today: dt.date) -> None:
    """Upsert state rows: COPY into a temporary table, then INSERT ... ON CONFLICT."""
    now = timezone.now()
    columns = ("student_key", *STATE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE consent_states (student_key text, school text, grade "
            "smallint, birth_year smallint, parent_action text, parent_decided_on date, "
            "parent_record_id bigint, student_action text, student_decided_on date, "
            "student_record_id bigint, state text, permitted boolean, state_as_of date, "
            "state_valid_until date, updated_at timestamptz) ON COMMIT DROP"
        )
        stamp = now.isoformat()
        _copy(
            cursor,
            "consent_states",
            columns,
            (_state_line(s, today, stamp) for s in sorted(students, key=lambda s: s.key)),
        )
        # Column names are the constants above, never input.
        fields = ", ".join(STATE_FIELDS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in STATE_FIELDS)
        cursor.execute(
            f"INSERT INTO consent_studentconsent (agreement_id, student_key, {fields}, "  # noqa: S608
            f"created_at) SELECT %s, student_key, {fields}, updated_at FROM consent_states "
            f"ON CONFLICT (agreement_id, student_key) DO UPDATE SET {updates}",
            [agreement.pk],
        )
        cursor.execute("DROP TABLE consent_states")
    _count_changes(agreement, students)


def _write_students_orm(agreement, students: list[_Student], today: dt.date) -> None:
    now = timezone.now()
    rows = []
    for student in students:
        values = dict(zip(STATE_FIELDS, _state_values(student, today, now), strict=True))
        rows.append(
            StudentConsent(
                agreement_id=agreement.pk,
                student_key=student.key,
                created_at=now,
                **values,
            )
        )
    StudentConsent.objects.bulk_create(
        rows,
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["agreement", "student_key"],
        update_fields=list(STATE_FIELDS),
    )
    _count_changes(agreement, students)


@dataclass
class WriteSummary:
    records_created: int = 0
    students_created: int = 0
    students_updated: int = 0
    record_ids: list[int] = field(default_factory=list)


def _write_decisions(
    agreement: Agreement,
    *,
    by: User | None,
    kind: str,
    rows: list[Row],
    students: dict[str, _Student],
    today: dt.date,
    source_import_id: int | None = None,
    method: str = "copy",
) -> WriteSummary:
    """Write validated ``rows`` (records and attributes) and the affected students' state,
    in the caller's transaction; flag newly lost permission to roster recipients."""
    decided = sorted((r for r in rows if is_decided(r)), key=attrgetter("decided_on", "number"))
    ids = _allocate_record_ids(len(decided))
    numbered = list(zip(ids, decided, strict=True))
    summary = WriteSummary(records_created=len(numbered), record_ids=ids)
    for row in rows:  # in file order: a later row's attributes win
        student = students.get(row.student_key)
        if student is None:
            student = students[row.student_key] = _Student(key=row.student_key)
        student.touched = True
        if row.school is not None:
            student.school = row.school
        if row.grade is not None:
            student.grade = row.grade
        if row.birth_year is not None:
            student.birth_year = row.birth_year
    for pk, decided_row in numbered:
        students[decided_row.student_key].apply(
            Decision(decided_row.action, decided_row.given_by, decided_row.decided_on, pk)
        )
    touched = [s for s in students.values() if s.touched]
    for student in touched:
        student.evaluate(kind=kind, today=today)
        if student.id is None:
            summary.students_created += 1
        else:
            summary.students_updated += 1
    if method == "copy":
        _write_records_copy(agreement, by, numbered, source_import_id)
        _write_students_copy(agreement, touched, today)
    else:
        _write_records_orm(agreement, by, numbered, source_import_id)
        _write_students_orm(agreement, touched, today)
    _flag_lost_permission(agreement, touched, by=by)
    _after_change(agreement)
    return summary


def _flag_lost_permission(
    agreement: Agreement, students: Iterable[_Student], *, by: User | None, reason: str = ""
) -> None:
    """Tell each roster recipient how many students on a roster they received may no
    longer be included (counts only; they ask the district for a fresh roster)."""
    lost = Counter(
        s.last_export_id
        for s in students
        if s.was_permitted and not s.permitted and s.last_export_id is not None
    )
    if not lost:
        return
    by_recipient: Counter = Counter()
    for export in ConsentExport.objects.filter(pk__in=list(lost)).select_related("recipient"):
        by_recipient[export.recipient_id] += lost[export.pk]
    for recipient_id, count in sorted(by_recipient.items()):
        notify(
            "consent_withdrawn",
            agreement,
            actor=by,
            organisation_ids=[recipient_id],
            count=count,
            students=f"{count} student{'s' if count != 1 else ''}",
            reason=reason,
        )


def _after_change(agreement: Agreement) -> None:
    from consent.tasks import rebuild_trend

    agreement_id = str(agreement.pk)
    transaction.on_commit(lambda: rebuild_trend.delay(agreement_id), robust=True)


def _rederive_all(agreement: Agreement, *, kind: str | None, today: dt.date) -> None:
    students = list(_load_students(agreement, None).values())
    if not students:
        return
    for student in students:
        if kind is None:
            student.state, student.permitted, student.valid_until = State.NO_RESPONSE, False, None
        else:
            student.evaluate(kind=kind, today=today)
    _write_students_copy(agreement, students, today)
    _flag_lost_permission(agreement, students, by=None, reason="the consent requirement changed")


# --- recording decisions ------------------------------------------------------------------


def _form_ref(form: ConsentForm) -> FormRef:
    return FormRef(form.pk, form.language, form.version, form.effective_date)


def _known(students: dict[str, _Student]) -> dict[str, KnownStudent]:
    return {key: KnownStudent(birth_year=s.birth_year) for key, s in students.items()}


@transaction.atomic
def consent_record(
    *,
    agreement: Agreement,
    by: User,
    student_key: str,
    action: str,
    given_by: str,
    method: str,
    decided_on: dt.date,
    form: ConsentForm,
    witness: str = "",
    school: str | None = None,
    grade: int | None = None,
    birth_year: int | None = None,
    today: dt.date | None = None,
) -> ConsentRecord:
    """Record one decision about one student (district people only). Same checks as an
    import row: form of this agreement and in effect, date not in the future, witness for
    a verbal decision, age rules, and a withdrawal only after a grant by the same giver."""
    agreement = _fresh(agreement)
    acting_party(by, agreement, party_role="district", action=STUDENT_LEVEL)
    kind = _collecting_kind(agreement)
    today = today or timezone.localdate()
    _lock(agreement)
    if form.agreement_id != agreement.pk:
        raise DomainError({"form": "Choose a consent form of this agreement."})
    errors: dict[str, list[str]] = defaultdict(list)
    key = (student_key or "").strip()
    # A student already in the cohort keeps their key; a new one must satisfy the district's
    # format (or, without one, not look like a name). The error never echoes the key.
    students = _load_students(agreement, [key]) if csv_import.STUDENT_KEY_RE.fullmatch(key) else {}
    key_problem = student_keys.key_rule(agreement, known=students)(key)
    if key_problem:
        errors["student_key"].append(key_problem)
    if action not in Action.values:
        errors["action"].append("Choose granted, refused or withdrawn.")
    if given_by not in GivenBy.values:
        errors["given_by"].append("Say who decided: the parent or guardian, or the student.")
    if method not in csv_import.METHODS.values():
        errors["method"].append("Choose how the decision was given.")
    if method == "verbal" and not witness.strip():
        errors["witness"].append(
            "A verbal decision needs the name of the staff member who witnessed it."
        )
    if decided_on > today:
        errors["decided_on"].append(f"{decided_on} is in the future.")
    if decided_on < form.effective_date:
        errors["decided_on"].append(
            f"The decision is dated before the form version took effect ({form.effective_date})."
        )
    if grade is not None and not 0 <= grade <= 12:
        errors["grade"].append("Use a grade from K (0) to 12.")
    if errors:
        raise DomainError(dict(errors))
    row = Row(
        number=1,
        student_key=key,
        action=action,
        given_by=given_by,
        method=method,
        witness=witness.strip(),
        decided_on=decided_on,
        form_id=form.pk,
        school=school,
        grade=grade,
        birth_year=birth_year,
    )
    result = csv_import.CheckResult(rows=[row], row_count=1)
    csv_import.check_rows(
        result,
        known=_known(students),
        history=_histories(agreement, [key]) if action == Action.WITHDRAWN else {},
    )
    if not result.ok:
        field_names = {"(row)": "__all__", "decision": "action"}
        raise DomainError({field_names.get(e.column, e.column): e.message for e in result.errors})
    summary = _write_decisions(
        agreement, by=by, kind=kind, rows=[row], students=students, today=today, method="orm"
    )
    return ConsentRecord.objects.get(pk=summary.record_ids[0])


def consent_withdraw(
    *,
    agreement: Agreement,
    by: User,
    student_key: str,
    given_by: str,
    method: str,
    decided_on: dt.date,
    form: ConsentForm,
    witness: str = "",
    today: dt.date | None = None,
) -> ConsentRecord:
    """Withdraw a consent: a new record, never an edit; the history stays."""
    return consent_record(
        agreement=agreement,
        by=by,
        student_key=student_key,
        action=Action.WITHDRAWN,
        given_by=given_by,
        method=method,
        decided_on=decided_on,
        form=form,
        witness=witness,
        today=today,
    )


# --- CSV import ---------------------------------------------------------------------------


def _check_import(
    agreement: Agreement, text: str, default_form: ConsentForm, today: dt.date
) -> tuple[csv_import.CheckResult, dict[str, _Student]]:
    forms = [_form_ref(f) for f in ConsentForm.objects.filter(agreement_id=agreement.pk)]
    loaded: dict[str, _Student] = {}

    def lookup(keys: set[str], withdrawing: set[str]):
        loaded.update(_load_students(agreement, keys))
        return _known(loaded), _histories(agreement, withdrawing)

    result = csv_import.check_file(
        text,
        max_rows=max_import_rows(),
        today=today,
        default_form=_form_ref(default_form),
        forms=forms,
        lookup=lookup,
        key_problem=student_keys.key_rule(agreement),
    )
    return result, loaded


@transaction.atomic
def consent_import_preview(
    *,
    agreement: Agreement,
    by: User,
    filename: str,
    content: bytes,
    default_form: ConsentForm,
    today: dt.date | None = None,
) -> ConsentImport:
    """Check an uploaded CSV without importing it. A readable file is kept, with its
    SHA-256, for confirmation; problems are listed by row and column. A file that cannot be
    read at all (too large, binary, not UTF-8, too many rows) is refused outright."""
    agreement = _fresh(agreement)
    acting_party(by, agreement, party_role="district", action=STUDENT_LEVEL)
    _collecting_kind(agreement)
    if default_form.agreement_id != agreement.pk:
        raise DomainError({"default_form": "Choose a consent form of this agreement."})
    try:
        text = csv_import.decode(content, max_bytes=max_import_bytes())
        result, loaded = _check_import(agreement, text, default_form, today or timezone.localdate())
    except csv_import.FileRejected as error:
        raise DomainError({"file": str(error)}, code="file_rejected") from None
    counts = result.counts()
    counts["new_students"] = len({r.student_key for r in result.rows} - set(loaded))
    consent_import = ConsentImport(
        agreement=agreement,
        status=ImportStatus.PREVIEWED if result.ok else ImportStatus.REJECTED,
        filename=(filename or "upload.csv")[-255:],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content if result.ok else b"",
        default_form=default_form,
        row_count=result.row_count,
        error_count=result.error_count,
        errors=[e.as_dict() for e in result.errors],
        counts=counts,
        uploaded_by=by,
    )
    consent_import.save()
    return consent_import


def consent_import_confirm(
    *,
    consent_import: ConsentImport,
    by: User,
    method: str = "copy",
    today: dt.date | None = None,
) -> ConsentImport:
    """Import exactly the previewed file, all or nothing, in one transaction. The file is
    checked again (records may have changed since the preview); if it no longer passes,
    nothing is imported, the import is marked rejected with its errors, and DomainError
    says so."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = ConsentImport.objects.select_for_update().get(pk=consent_import.pk)
        if locked.status != ImportStatus.PREVIEWED:
            raise DomainError(
                f"This file is {locked.get_status_display().lower()}; upload it again to "
                "import it.",
                code="import_not_pending",
            )
        agreement = _fresh(locked.agreement)
        acting_party(by, agreement, party_role="district", action=STUDENT_LEVEL)
        kind = _collecting_kind(agreement)
        content = bytes(locked.content)
        if hashlib.sha256(content).hexdigest() != locked.sha256:
            raise DomainError(
                "The stored file does not match the one previewed; upload it again.",
                code="import_tampered",
            )
        started = time.perf_counter()
        _lock(agreement)
        result, students = _check_import(
            agreement,
            csv_import.decode(content, max_bytes=max(len(content), 1)),
            locked.default_form,
            today,
        )
        if result.ok:
            summary = _write_decisions(
                agreement,
                by=by,
                kind=kind,
                rows=result.rows,
                students=students,
                today=today,
                source_import_id=locked.pk,
                method=method,
            )
            locked.status = ImportStatus.IMPORTED
            locked.records_created = summary.records_created
            locked.students_created = summary.students_created
            locked.students_updated = summary.students_updated
        else:
            locked.status = ImportStatus.REJECTED
            locked.error_count = result.error_count
            locked.errors = [e.as_dict() for e in result.errors]
        locked.content = b""
        locked.finished_by = by
        locked.finished_at = timezone.now()
        locked.duration_ms = int((time.perf_counter() - started) * 1000)
        locked.save()
    if locked.status == ImportStatus.REJECTED:
        raise DomainError(
            f"Nothing was imported: the file no longer passes the checks ({locked.error_count} "
            "problem(s), listed on the import page).",
            code="import_rejected",
        )
    return locked


@transaction.atomic
def consent_import_discard(*, consent_import: ConsentImport, by: User) -> ConsentImport:
    locked = ConsentImport.objects.select_for_update().get(pk=consent_import.pk)
    acting_party(by, _fresh(locked.agreement), party_role="district", action=STUDENT_LEVEL)
    if locked.status != ImportStatus.PREVIEWED:
        raise DomainError("Only a previewed file waiting for confirmation can be discarded.")
    locked.status = ImportStatus.DISCARDED
    locked.content = b""
    locked.finished_by = by
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "content", "finished_by", "finished_at"])
    return locked


# --- the consented roster -----------------------------------------------------------------


@dataclass(frozen=True)
class RosterFile:
    export: ConsentExport
    filename: str
    content: bytes


@transaction.atomic
def roster_export(
    *,
    agreement: Agreement,
    by: User,
    recipient: Organisation,
    as_of: dt.date,
    today: dt.date | None = None,
) -> RosterFile:
    """The consented roster for ``recipient`` on ``as_of``: only students whose effective
    state permits sharing that day, only the columns the recipient's data elements allow.
    District people only, while the agreement is active and the research approvals its
    template requires are current today (the refusal names the approval to renew). Every
    export is logged (who, when, recipient, row count, SHA-256 of the file) and marks the
    students it lists, so a later withdrawal can be flagged to the recipient."""
    agreement = _fresh(agreement)
    acting_party(by, agreement, party_role="district", action=STUDENT_LEVEL)
    today = today or timezone.localdate()
    if agreement.status != Status.ACTIVE:
        raise DomainError(
            "A roster can be exported only while the agreement is active (data may flow only "
            f"then); it is {agreement.get_status_display().lower()}.",
            code="wrong_status",
        )
    # No student data flows without the research approvals the template requires, current
    # today (agreements.approvals.rules: the one definition); the refusal names what to renew.
    missing_approvals = approval_problems(agreement, day=today, action="exporting the roster")
    if missing_approvals:
        raise DomainError(" ".join(missing_approvals), code="approvals_not_current")
    if as_of > today:
        raise DomainError({"as_of": "Choose today or an earlier day: future consent is unknown."})
    if not agreement.start_date <= as_of <= agreement.expires_on:
        raise DomainError(
            {
                "as_of": f"Choose a day within the agreement's term "
                f"({agreement.start_date} to {agreement.expires_on})."
            }
        )
    allowed = dict((org.pk, columns) for org, columns in selectors.roster_recipients(agreement))
    if recipient.pk not in allowed:
        raise DomainError(
            {"recipient": "This organisation receives no district data under the agreement."}
        )
    columns = allowed[recipient.pk]
    if not columns:
        raise DomainError(
            {
                "recipient": "The agreement shares only de-identified or aggregate data with this "
                "organisation, so no roster of students may go to it."
            },
            code="no_roster_allowed",
        )
    kind = selectors.governing_kind(selectors.requirements_of(agreement))
    if kind is None:
        raise DomainError("Set the agreement's consent requirement first.", code="no_requirement")
    _lock(agreement)
    rows = selectors.roster_rows(agreement, kind=kind, as_of=as_of, columns=columns)
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    content = buffer.getvalue().encode("utf-8")
    export = ConsentExport.objects.create(
        agreement=agreement,
        recipient=recipient,
        as_of=as_of,
        columns=list(columns),
        row_count=len(rows),
        sha256=hashlib.sha256(content).hexdigest(),
        exported_by=by,
    )
    keys = [row[0] for row in rows]
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE consent_studentconsent SET last_export_id = %s "
                "WHERE agreement_id = %s AND student_key = ANY(%s)",
                [export.pk, agreement.pk, keys],
            )
    audit_record(
        action=AuditAction.EXPORT,
        target=agreement,
        actor=by,
        organisation_id=recipient.pk,
        payload={
            "export": "consent_roster",
            "format": "csv",
            "consent_export_id": export.pk,
            "recipient": recipient.slug,
            "rows": len(rows),
            "sha256": export.sha256,
        },
    )
    filename = f"{agreement.reference}-consented-roster-{as_of.isoformat()}.csv"
    return RosterFile(export=export, filename=filename, content=content)


# --- scheduled ----------------------------------------------------------------------------


def consent_states_refresh(*, today: dt.date) -> int:
    """Re-derive the states that age out today or earlier (a student became an adult);
    flag lost permission to roster recipients. Safe to rerun: refreshed rows get a later
    ``state_valid_until`` (or none) and are not picked again."""
    refreshed = 0
    agreement_ids = (
        StudentConsent.objects.filter(state_valid_until__lte=today)
        .values_list("agreement_id", flat=True)
        .distinct()
    )
    for agreement_id in list(agreement_ids):
        with transaction.atomic():
            agreement = _fresh(Agreement(pk=agreement_id))
            _lock(agreement)
            kind = selectors.governing_kind(selectors.requirements_of(agreement))
            keys = list(
                StudentConsent.objects.filter(
                    agreement_id=agreement_id, state_valid_until__lte=today
                ).values_list("student_key", flat=True)
            )
            students = list(_load_students(agreement, keys).values())
            if kind is None or not students:
                continue
            for student in students:
                student.evaluate(kind=kind, today=today)
            _write_students_copy(agreement, students, today)
            _flag_lost_permission(
                agreement,
                students,
                by=None,
                reason="students turned 18 without giving their own consent",
            )
            _after_change(agreement)
            refreshed += len(students)
    return refreshed


def consent_states_rebuild(*, agreement: Agreement, today: dt.date | None = None) -> int:
    """Re-derive every student's state row of ``agreement`` from the full history (a repair
    and verification tool: the rows are normally maintained write by write). Returns how
    many rows were wrong and are now corrected."""
    today = today or timezone.localdate()
    with transaction.atomic():
        agreement = _fresh(agreement)
        _lock(agreement)
        kind = selectors.governing_kind(selectors.requirements_of(agreement))
        latest = selectors.latest_decisions_as_of(agreement.pk, today)
        students = _load_students(agreement, None)
        wrong = []
        for key, student in students.items():
            before = (student.parent, student.student, student.state, student.permitted)
            by_giver = {d.given_by: d for d in latest.get(key, ())}
            student.parent = by_giver.get(GivenBy.PARENT)
            student.student = by_giver.get(GivenBy.STUDENT)
            if kind is None:
                student.state, student.permitted = State.NO_RESPONSE, False
            else:
                student.evaluate(kind=kind, today=today)
            if (student.parent, student.student, student.state, student.permitted) != before:
                wrong.append(student)
        if wrong:
            _write_students_copy(agreement, wrong, today)
        _recount(agreement)
        return len(wrong)


def consent_purge_expired(*, today: dt.date, days: int | None = None) -> list[ConsentPurgeLog]:
    """Delete the consent records and student rows of agreements that ended (expired or
    terminated) more than ``days`` ago (CONSENT_RETENTION_DAYS). Leaves a log with counts
    only. Safe to rerun: an agreement with nothing left to purge is skipped."""
    days = retention_days() if days is None else days
    cutoff = today - dt.timedelta(days=days)
    with_students = (
        Agreement.objects.filter(status__in=lifecycle.FINAL, status_changed_at__date__lte=cutoff)
        .filter(pk__in=StudentConsent.objects.values("agreement_id"))
        .values_list("pk", flat=True)
    )
    candidates = {
        *with_students,
        *Agreement.objects.filter(
            status__in=lifecycle.FINAL,
            status_changed_at__date__lte=cutoff,
            pk__in=ConsentRecord.objects.values("agreement_id"),
        ).values_list("pk", flat=True),
    }
    logs = []
    for pk in sorted(candidates, key=str):
        with transaction.atomic():
            agreement = Agreement.objects.select_for_update().get(pk=pk)
            if agreement.status not in lifecycle.FINAL:
                continue
            _lock(agreement)
            with connection.cursor() as cursor:
                # The append-only trigger lets the purge, and only the purge, delete records.
                cursor.execute("SET LOCAL consent.purging = 'on'")
            records, _ = ConsentRecord.objects.filter(agreement=agreement).delete()
            students, _ = StudentConsent.objects.filter(agreement=agreement).delete()
            snapshots, _ = CoverageSnapshot.objects.filter(agreement=agreement).delete()
            CoverageCount.objects.filter(agreement=agreement).delete()
            ConsentImport.objects.filter(agreement=agreement).update(content=b"", errors=[])
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL consent.purging = 'off'")
            logs.append(
                ConsentPurgeLog.objects.create(
                    agreement=agreement,
                    agreement_reference=agreement.reference,
                    agreement_status=agreement.status,
                    ended_on=timezone.localdate(agreement.status_changed_at),
                    retention_days=days,
                    records_deleted=records,
                    students_deleted=students,
                    snapshots_deleted=snapshots,
                )
            )
    return logs


def coverage_trend_rebuild(*, agreement_id, today: dt.date | None = None) -> int:
    """Recompute the trend snapshots of one agreement from its full history (it may have
    changed in the past: imports of paper forms are often backdated). Reads outside any
    lock; the replacement is one short transaction. Safe to run twice."""
    today = today or timezone.localdate()
    agreement = _fresh(Agreement(pk=agreement_id))
    kind = selectors.governing_kind(selectors.requirements_of(agreement))
    students = {
        key: (created_at.date(), birth_year)
        for key, created_at, birth_year in StudentConsent.objects.filter(
            agreement_id=agreement_id
        ).values_list("student_key", "created_at", "birth_year")
    }
    if kind is None or not students:
        CoverageSnapshot.objects.filter(agreement_id=agreement_id).delete()
        return 0
    decisions: dict[str, list[Decision]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT student_key, action, given_by, decided_on, id FROM consent_consentrecord "
            "WHERE agreement_id = %s",
            [agreement_id],
        )
        for key, action, given_by, decided_on, pk in cursor.fetchall():
            decisions[key].append(Decision(action, given_by, decided_on, pk))
    histories = [
        StudentHistory(
            enrolled_on=enrolled, birth_year=birth_year, decisions=tuple(decisions.get(key, ()))
        )
        for key, (enrolled, birth_year) in students.items()
    ]
    first = min(min([h.enrolled_on, *(d.decided_on for d in h.decisions)]) for h in histories)
    days = checkpoints(first, today)
    points = trend_counts(histories, days, kind=kind)
    with transaction.atomic():
        _lock(agreement)  # two rebuilds replace the snapshots one after the other
        CoverageSnapshot.objects.filter(agreement_id=agreement_id).delete()
        CoverageSnapshot.objects.bulk_create(
            CoverageSnapshot(agreement_id=agreement_id, day=day, counts=counts)
            for day, counts in zip(days, points, strict=True)
        )
    return len(days)
